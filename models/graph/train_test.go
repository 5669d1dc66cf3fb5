package graph_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/genrec/genrec/models/graph"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
)

// TestStepMatchesHeadStep checks a training step of the graph (dropout
// 0.3, sampled negatives) against sequential.Head.Step from the same rng
// state: the same loss and count, every gradient bit for bit, the same
// touched item rows (as a set: the item table's compact gradient keeps
// them in touch order, which differs between the paths), and the rng left in the same
// state. Two steps in a row check that the rng streams stay in step.
func TestStepMatchesHeadStep(t *testing.T) {
	const items, maxLen, k = 50, 8, 16
	lens := []int{8, 3, 1, 5}
	for _, tc := range []struct {
		name   string
		hier   hstu.HierarchicalParams
		noTime bool
	}{
		{name: "full attention"},
		{name: "windows and summaries, no time bias", hier: hstu.HierarchicalParams{Level1WindowSize: 2, Level2WindowSize: 1}, noTime: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hstu.Config{
				Items: items, MaxSeqLen: maxLen,
				Transformer:  hstu.TransformerParams{NumLayers: 2, NumHeads: 2, HiddenSize: 16, Dropout: 0.3},
				Hierarchical: tc.hier, NoTimeBias: tc.noTime,
			}
			m, err := hstu.New[float32](cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			loss := sequential.LossConfig{Negatives: k}
			head := &sequential.Head{Loss: loss}
			directRNG, graphRNG := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
			for step := range 2 {
				b := newBatch(items, maxLen, lens, uint64(3+step))

				zeroGrads(m)
				wantLoss, wantCount, err := head.Step(m, b, directRNG)
				if err != nil {
					t.Fatal(err)
				}
				want := grads(m)
				wantTouched := slices.Sorted(slices.Values(m.ItemTable().TouchedRows()))

				zeroGrads(m)
				gotLoss, gotCount, err := graph.Step(m, b, graphRNG, loss)
				if err != nil {
					t.Fatal(err)
				}
				if gotLoss != wantLoss || gotCount != wantCount {
					t.Errorf("step %d: graph loss %v over %d positions, Head.Step %v over %d", step, gotLoss, gotCount, wantLoss, wantCount)
				}
				for i, p := range m.Params() {
					for j, g := range p.DenseGrad() {
						if math.Float32bits(g) != math.Float32bits(want[i][j]) {
							t.Fatalf("step %d: %s[%d]: graph gradient %v, Head.Step %v", step, p.Name, j, g, want[i][j])
						}
					}
				}
				if got := slices.Sorted(slices.Values(m.ItemTable().TouchedRows())); !slices.Equal(got, wantTouched) {
					t.Errorf("step %d: graph touched item rows %v, Head.Step %v", step, got, wantTouched)
				}
				t.Logf("step %d: loss %.7g over %d positions on both paths", step, gotLoss, gotCount)
			}
			if a, b := directRNG.Uint64(), graphRNG.Uint64(); a != b {
				t.Errorf("rng states differ after the steps: next draws %d (Head.Step) and %d (graph)", a, b)
			}
		})
	}
}

// TestDropoutChangesTheLoss checks that the training graph does apply
// dropout: with dropout 0.3 its loss differs from the eval-mode graph's
// on the same negatives, and with dropout 0 it equals it.
func TestDropoutChangesTheLoss(t *testing.T) {
	const items, maxLen, k = 50, 8, 16
	b := newBatch(items, maxLen, []int{8, 3, 1, 5}, 3)
	for _, p := range []float64{0, 0.3} {
		m, err := hstu.New[float32](hstu.Config{Items: items, MaxSeqLen: maxLen,
			Transformer: hstu.TransformerParams{NumLayers: 1, NumHeads: 1, HiddenSize: 16, Dropout: p}}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		loss := sequential.LossConfig{Negatives: k}
		train, _, err := graph.Step(m, b, rand.New(rand.NewPCG(7, 8)), loss)
		if err != nil {
			t.Fatal(err)
		}
		// The eval graph with the negatives the training step drew: with
		// p = 0 dropout draws nothing, so they are the rng's first draws.
		neg := make([]int32, b.Positions()*k)
		rng := rand.New(rand.NewPCG(7, 8))
		for i := range neg {
			neg[i] = int32(1 + rng.IntN(items-1))
		}
		g, err := graph.BuildHSTU(m, b, neg, loss)
		if err != nil {
			t.Fatal(err)
		}
		eval, _, err := g.Step()
		g.Close()
		if err != nil {
			t.Fatal(err)
		}
		if (p == 0) != (train == eval) {
			t.Errorf("dropout %v: training loss %v, eval loss %v", p, train, eval)
		}
	}
}

func TestStepErrors(t *testing.T) {
	m := newModel(t, 20, 4, 1, 1, 8, hstu.HierarchicalParams{}, false, 1)
	b := newBatch(20, 4, []int{4, 2}, 1)
	if _, _, err := graph.Step(m, b, nil, sequential.LossConfig{Negatives: 4}); err == nil {
		t.Error("Step without an rng: no error")
	}
	if _, _, err := graph.Step(m, b, rand.New(rand.NewPCG(1, 1)), sequential.LossConfig{}); err == nil {
		t.Error("Step with the full softmax: no error")
	}
}
