package distributed_test

import (
	"context"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/genrec/genrec/pipelines/internal/pipetest"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// makeData is the shared fixture: a preprocessed synthetic data set.
func makeData(tb testing.TB, dir string, users, items int) string {
	return pipetest.MakeData(tb, dir, users, items, 0)
}

var (
	smallOnce sync.Once
	smallDir  string
)

// smallData is a data set of 300 users and 120 items shared by the tests.
func smallData(t *testing.T) string {
	smallOnce.Do(func() {
		dir, err := os.MkdirTemp("", "distributed-test")
		if err != nil {
			t.Fatal(err)
		}
		smallDir = makeData(t, dir, 300, 120)
	})
	if smallDir == "" {
		t.Fatal("no test data")
	}
	return smallDir
}

// trainConfig is a 1-layer HSTU of width 16 with dropout and sampled
// negatives (both draw from the step's random stream), trained by AdamW
// with warmup and cosine decay (the schedule's position matters).
func trainConfig(data, modelPath string, epochs int) models.TrainSpec {
	return models.TrainSpec{
		Data: data,
		Spec: models.Spec{Name: "hstu", Transformer: hstu.TransformerParams{NumLayers: 1, NumHeads: 1, HiddenSize: 16, Dropout: 0.2}},
		Options: trainer.Options{Epochs: epochs, BatchSize: 64, EarlyStopPatience: -1, Seed: 3, ModelPath: modelPath,
			Loss:      sequential.LossConfig{Negatives: 16},
			Optimizer: trainer.OptimizerParams{LR: 5e-3, WarmupSteps: 3, Cosine: true, MinLR: 1e-4, ClipNorm: 1}},
	}
}

func loadCheckpoint(t *testing.T, path string) *export.Checkpoint {
	t.Helper()
	ck, err := export.LoadCheckpoint(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// sameParams reports the first parameter whose values or moments differ
// in any bit.
func sameParams(t *testing.T, got, want *export.Checkpoint) {
	t.Helper()
	if len(got.Params) != len(want.Params) {
		t.Fatalf("%d parameters, want %d", len(got.Params), len(want.Params))
	}
	for i, w := range want.Params {
		g := got.Params[i]
		if g.Name != w.Name || !slices.Equal(g.Value, w.Value) || !slices.Equal(g.M, w.M) || !slices.Equal(g.V, w.V) {
			t.Fatalf("parameter %s differs (got %s): values equal %v, M equal %v, V equal %v",
				w.Name, g.Name, slices.Equal(g.Value, w.Value), slices.Equal(g.M, w.M), slices.Equal(g.V, w.V))
		}
	}
	if got.AdamSteps != want.AdamSteps {
		t.Errorf("AdamSteps %d, want %d", got.AdamSteps, want.AdamSteps)
	}
}
