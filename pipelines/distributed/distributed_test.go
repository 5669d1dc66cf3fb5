package distributed_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/hllm"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/pipelines/distributed"
	"github.com/genrec/genrec/pipelines/internal/pipetest"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

// TestOneShardEqualsFit checks that one-shard rounds take
// GenRecTrainer.Fit's steps: after the same number of steps the weights,
// AdamW moments and step count are equal bit for bit, with one epoch per
// round and with rounds of K steps that end mid-epoch.
func TestOneShardEqualsFit(t *testing.T) {
	ctx := context.Background()
	data := smallData(t)
	const epochs = 2
	fitDir := t.TempDir()
	if _, err := train.Run(ctx, train.Config{TrainSpec: trainConfig(data, fitDir, epochs)}, nil, nil); err != nil {
		t.Fatal(err)
	}
	fit := loadCheckpoint(t, filepath.Join(fitDir, "last.ckpt"))
	steps := fit.Step / epochs // Fit's batches per epoch
	k := 0                     // a round length that does not divide the epoch
	for c := 2; c < steps; c++ {
		if (epochs*steps)%c == 0 && steps%c != 0 {
			k = c
			break
		}
	}
	cases := []struct {
		name          string
		stepsPerRound int
		rounds        int
	}{
		{"epoch rounds", 0, epochs},
		{"mid-epoch rounds", k, epochs * steps / max(k, 1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "mid-epoch rounds" && k == 0 {
				t.Skipf("no round length divides %d epochs of %d steps but not one epoch", epochs, steps)
			}
			dir := t.TempDir()
			res, err := distributed.Run(ctx, distributed.Config{Train: trainConfig(data, dir, epochs), Shards: 1, StepsPerRound: tc.stepsPerRound, Rounds: tc.rounds}, runners.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rounds != tc.rounds || len(res.Log) != tc.rounds {
				t.Fatalf("%d rounds, %d logged, want %d", res.Rounds, len(res.Log), tc.rounds)
			}
			got := loadCheckpoint(t, filepath.Join(dir, "last.ckpt"))
			sameParams(t, got, fit)
			if got.Step != fit.Step {
				t.Errorf("step %d, want Fit's %d", got.Step, fit.Step)
			}
		})
	}
}

// TestAverage checks the element-wise weighted mean on a hand-computed
// two-shard example (exact in float32: every mean below is a dyadic
// fraction).
func TestAverage(t *testing.T) {
	a := distributed.ShardUpdate{Shard: 0, Examples: 1, LossSum: 2, Labels: 4, AdamSteps: 5, State: distributed.ShardState{Step: 5},
		Params: []export.Tensor{{Name: "w", Shape: []int{2}, Value: []float32{1, 2}, M: []float32{0.5, 0}, V: []float32{1, 1}}}}
	b := distributed.ShardUpdate{Shard: 1, Examples: 3, LossSum: 6, Labels: 4, AdamSteps: 6, State: distributed.ShardState{Step: 6},
		Params: []export.Tensor{{Name: "w", Shape: []int{2}, Value: []float32{5, -2}, M: []float32{0.5, 1}, V: []float32{3, 0}}}}
	// w = (1·[1 2] + 3·[5 -2]) / 4 = [4 -1]; m = [0.5 0.75]; v = [2.5 0.25].
	want := export.Tensor{Name: "w", Shape: []int{2}, Value: []float32{4, -1}, M: []float32{0.5, 0.75}, V: []float32{2.5, 0.25}}
	for _, order := range [][]distributed.ShardUpdate{{a, b}, {b, a}} {
		got, err := distributed.Average(2, order...)
		if err != nil {
			t.Fatal(err)
		}
		g := got.Params[0]
		if g.Name != want.Name || !equal(g.Value, want.Value) || !equal(g.M, want.M) || !equal(g.V, want.V) {
			t.Errorf("average %+v, want %+v", g, want)
		}
		if got.Examples != 4 || got.Loss() != 1 || got.AdamSteps != 6 || got.States[0].Step != 5 || got.States[1].Step != 6 {
			t.Errorf("examples %d, loss %v, adam steps %d, states %+v; want 4, 1, 6, shard 0 then 1", got.Examples, got.Loss(), got.AdamSteps, got.States)
		}
	}
	// A shard without rows does not weigh; one shard comes back unchanged.
	empty := distributed.ShardUpdate{Shard: 1}
	got, err := distributed.Average(2, a, empty)
	if err != nil || !equal(got.Params[0].Value, a.Params[0].Value) || !equal(got.Params[0].V, a.Params[0].V) {
		t.Errorf("with an empty shard: %+v, %v; want shard 0's parameters", got.Params, err)
	}
	for _, tc := range []struct {
		name    string
		updates []distributed.ShardUpdate
		want    string
	}{
		{"missing shard", []distributed.ShardUpdate{a}, "1 of 2 shards"},
		{"twice", []distributed.ShardUpdate{a, a}, "reported twice"},
		{"no rows", []distributed.ShardUpdate{{Shard: 0}, empty}, "no shard saw"},
	} {
		if _, err := distributed.Average(2, tc.updates...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestResume interrupts a two-shard run after its first round and reruns
// it: the rerun continues at round 2 and ends with the weights of an
// uninterrupted run.
func TestResume(t *testing.T) {
	ctx := context.Background()
	data := smallData(t)
	cfg := func(dir string) distributed.Config {
		return distributed.Config{Train: trainConfig(data, dir, 1), Shards: 2, StepsPerRound: 2, Rounds: 3}
	}
	whole := t.TempDir()
	if _, err := distributed.Run(ctx, cfg(whole), runners.Options{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cctx, cancel := context.WithCancel(ctx)
	c := cfg(dir)
	c.OnRound = func(e distributed.RoundLog) {
		if e.Round == 1 {
			cancel()
		}
	}
	if _, err := distributed.Run(cctx, c, runners.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	cancel()
	// A crash inside round 2 may leave its checkpoint behind: it is redone.
	os.WriteFile(filepath.Join(dir, "round-002.ckpt"), []byte("partial"), 0o644)
	res, err := distributed.Run(ctx, cfg(dir), runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Rounds != 3 || len(res.Log) != 2 || res.Log[0].Round != 2 {
		t.Errorf("resumed %v, rounds %d, this run's log %+v; want rounds 2 and 3 run again", res.Resumed, res.Rounds, res.Log)
	}
	sameParams(t, loadCheckpoint(t, filepath.Join(dir, "last.ckpt")), loadCheckpoint(t, filepath.Join(whole, "last.ckpt")))
	b, err := transforms.ReadFile(ctx, filepath.Join(dir, distributed.RoundsLog))
	if n := strings.Count(string(b), "\n"); err != nil || n != 3 {
		t.Errorf("%s: %d lines, %v; want 3", distributed.RoundsLog, n, err)
	}
	// Another configuration in the same folder is refused.
	other := cfg(dir)
	other.Shards = 3
	if _, err := distributed.Run(ctx, other, runners.Options{}); err == nil || !strings.Contains(err.Error(), "written by another run") {
		t.Errorf("other configuration: err = %v", err)
	}
}

// TestTwoShardsLearn trains two shards for three epoch rounds and checks
// that validation NDCG@10 beats the untrained model's; it logs one
// shard's figure beside it.
func TestTwoShardsLearn(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models")
	}
	ctx := context.Background()
	data := smallData(t)
	ndcg := map[int]float64{}
	var untrained float64
	for _, shards := range []int{1, 2} {
		dir := t.TempDir()
		res, err := distributed.Run(ctx, distributed.Config{Train: trainConfig(data, dir, 3), Shards: shards}, runners.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ndcg[shards] = res.Valid.Map()["NDCG@10"]
		if shards == 1 {
			rep, err := pipetest.EvaluateErr(data, filepath.Join(dir, "round-000.ckpt"), transforms.SplitValid, []int{10})
			if err != nil {
				t.Fatal(err)
			}
			untrained = rep.Map()["NDCG@10"]
		}
		t.Logf("%d shard(s): best round %d, valid NDCG@10 %.4f, losses %v", shards, res.BestRound, ndcg[shards], losses(res.Log))
	}
	t.Logf("untrained: valid NDCG@10 %.4f", untrained)
	if !(ndcg[2] > untrained) || math.IsNaN(ndcg[2]) {
		t.Errorf("two shards: valid NDCG@10 %.4f, want above the untrained model's %.4f", ndcg[2], untrained)
	}
}

func losses(log []distributed.RoundLog) []float64 {
	var out []float64
	for _, e := range log {
		out = append(out, math.Round(e.Loss*1000)/1000)
	}
	return out
}

var _ = sequential.Evaluate

// TestOneShardEqualsFitHLLM: an HLLM model (text+ID fusion, the frozen
// text table carried through the rounds' checkpoints) trained in one-shard
// rounds ends with Fit's weights and moments to the bit.
func TestOneShardEqualsFitHLLM(t *testing.T) {
	ctx := context.Background()
	data := smallData(t)
	cfg := synthetic.DefaultConfig()
	cfg.Users, cfg.Items, cfg.MeanLength = 300, 120, 15
	var b bytes.Buffer
	if err := synthetic.WriteItemsCSV(&b, cfg); err != nil {
		t.Fatal(err)
	}
	items := filepath.Join(t.TempDir(), "items.csv")
	if err := os.WriteFile(items, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	hllmConfig := func(dir string) models.TrainSpec {
		c := trainConfig(data, dir, 2)
		c.Spec = models.Spec{Name: "hllm", LLM: hllm.LLMParams{HiddenSize: 16, NumHeads: 1, NumLayers: 1, Dropout: 0.2},
			Fusion: hllm.FusionParams{FusionType: hllm.FusionConcat}, ItemText: &models.ItemText{Items: items, Dim: 16}}
		return c
	}
	fitDir := t.TempDir()
	if _, err := train.Run(ctx, train.Config{TrainSpec: hllmConfig(fitDir)}, nil, nil); err != nil {
		t.Fatal(err)
	}
	fit := loadCheckpoint(t, filepath.Join(fitDir, "last.ckpt"))
	dir := t.TempDir()
	if _, err := distributed.Run(ctx, distributed.Config{Train: hllmConfig(dir), Shards: 1, Rounds: 2}, runners.Options{}); err != nil {
		t.Fatal(err)
	}
	got := loadCheckpoint(t, filepath.Join(dir, "last.ckpt"))
	if got.Model != "hllm" || got.Param("text_emb") == nil {
		t.Fatalf("round checkpoint holds %s, text_emb %v", got.Model, got.Param("text_emb") != nil)
	}
	sameParams(t, got, fit)
}
