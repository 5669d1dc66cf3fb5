package evaluate_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/genrec/genrec/pipelines/evaluate"
	"github.com/genrec/genrec/pipelines/internal/pipetest"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/runners"
)

// BenchmarkEvaluate measures users/s of the Beam pipeline on prism (job
// submission, reading Parquet, one shuffle, ranking, writing the outputs)
// against the in-memory reference pipetest.Evaluate (reading the same folder and
// checkpoint, ranking), on synthetic data sets of 1,000 items and a ladder
// of users, with an untrained 2-layer HSTU of width 64 (the speed does not
// depend on the weights). Run it briefly:
//
//	go test -run '^$' -bench BenchmarkEvaluate -benchtime 1x ./pipelines/evaluate/
func BenchmarkEvaluate(b *testing.B) {
	ctx := context.Background()
	for _, users := range []int{1000, 4000, 16000} {
		dir := b.TempDir()
		data := makeData(b, dir, users, 1000)
		sum, err := preprocess.ReadSummary(ctx, data)
		if err != nil {
			b.Fatal(err)
		}
		ckpt := filepath.Join(dir, "model", "best.ckpt")
		saveUntrained(b, ckpt, sum.Items, sum.MaxSeqLen, 2, 64)
		ranked := sum.Rows["test"]
		b.Run(fmt.Sprintf("users=%d/beam", users), func(b *testing.B) {
			for b.Loop() {
				if _, err := evaluate.Run(ctx, evaluate.Config{Data: data, Checkpoint: ckpt}, runners.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ranked)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
		})
		b.Run(fmt.Sprintf("users=%d/in-process", users), func(b *testing.B) {
			for b.Loop() {
				if _, err := pipetest.EvaluateErr(data, ckpt, "", nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ranked)*float64(b.N)/b.Elapsed().Seconds(), "users/s")
		})
	}
}
