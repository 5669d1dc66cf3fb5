package distributed_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines/distributed"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

// BenchmarkRound times one epoch round of the demo's model (2-layer HSTU
// of width 32, 64 sampled negatives, batch 128) on the demo's synthetic
// data (2000 users, 1000 items) with 1 and 2 shards, on in-process prism.
// It reports training windows per second over all shards and the
// process's peak resident memory (VmHWM; it includes preprocessing) and
// the Go heap's size after the round.
func BenchmarkRound(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	d := synthetic.DefaultConfig()
	data := makeData(b, dir, d.Users, d.Items)
	cfg := models.TrainSpec{Data: data, Spec: models.Spec{Name: "hstu", Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 1, HiddenSize: 32, Dropout: 0.2}},
		Options: trainer.Options{Epochs: 1, BatchSize: 128, Seed: 1, Loss: sequential.LossConfig{Negatives: 64}, Optimizer: trainer.OptimizerParams{LR: 2e-3}}}
	loaded, err := transforms.LoadDataset(ctx, data)
	if err != nil {
		b.Fatal(err)
	}
	mc, err := cfg.Resolve(ctx, loaded)
	if err != nil {
		b.Fatal(err)
	}
	m, err := models.Build(mc, 1)
	if err != nil {
		b.Fatal(err)
	}
	ck := &export.Checkpoint{Model: m.Name(), ModelConfig: mc.JSON(), Best: math.Inf(-1)}
	for _, p := range m.Params() {
		ck.Params = append(ck.Params, export.Tensor{Name: p.Name, Shape: p.Shape, Value: p.Value})
	}
	from := filepath.Join(dir, "round-000.ckpt")
	if err := ck.Save(ctx, from); err != nil {
		b.Fatal(err)
	}
	for _, shards := range []int{1, 2} {
		b.Run("shards="+strconv.Itoa(shards), func(b *testing.B) {
			to := filepath.Join(b.TempDir(), "round-001.ckpt")
			var windows int
			var elapsed time.Duration
			for b.Loop() {
				p, s := beam.NewPipelineWithRoot()
				distributed.Pipeline(s, distributed.Round{Data: data, Options: cfg.Options, Shards: shards, Rounds: 1, Round: 1, From: from, To: to})
				start := time.Now()
				if _, err := runners.Run(ctx, p, runners.Options{}); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				out, err := export.LoadCheckpoint(ctx, to)
				if err != nil {
					b.Fatal(err)
				}
				windows += roundExamples(b, out)
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(windows)/elapsed.Seconds(), "seqs/s")
			b.ReportMetric(float64(vmHWM())/1024, "peak-RSS-MiB")
			b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heap-sys-MiB")
		})
	}
}

// roundExamples reads the training windows a round saw from its
// checkpoint's round state.
func roundExamples(b *testing.B, ck *export.Checkpoint) int {
	i := bytes.Index(ck.RNG, []byte(`"examples":`))
	if i < 0 {
		b.Fatalf("no examples in the round state %s", ck.RNG)
	}
	rest := ck.RNG[i+len(`"examples":`):]
	j := bytes.IndexAny(rest, ",}")
	n, err := strconv.Atoi(string(rest[:j]))
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// vmHWM is the process's peak resident set in KiB (0 where /proc is not).
func vmHWM() int {
	s, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(s), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	return 0
}
