package graph_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/genrec/genrec/models/graph"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// newModel builds an HSTU model without dropout.
func newModel(tb testing.TB, items, maxLen, layers, heads, d int, hier hstu.HierarchicalParams, noTime bool, seed uint64) *hstu.Model[float32] {
	tb.Helper()
	cfg := hstu.Config{
		Items: items, MaxSeqLen: maxLen,
		Transformer:  hstu.TransformerParams{NumLayers: layers, NumHeads: heads, HiddenSize: d},
		Hierarchical: hier, NoTimeBias: noTime,
	}
	m, err := hstu.New[float32](cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// newBatch is a training batch of random items with the given lengths:
// every valid position is labelled with the next item, timestamps grow by
// random steps from a second to a month.
func newBatch(items, l int, lens []int, seed uint64) *sequential.Batch {
	rng := rand.New(rand.NewPCG(seed, 2))
	nb := len(lens)
	b := &sequential.Batch{
		B: nb, L: l, Lens: lens,
		Items: make([]int32, nb*l), Times: make([]int64, nb*l), QueryTimes: make([]int64, nb*l),
		Labels: make([]int32, nb*l), Users: make([]int64, nb), Rows: make([]int, nb),
	}
	for bi, n := range lens {
		t := int64(1_600_000_000)
		seq := make([]int32, n+1)
		times := make([]int64, n+1)
		for i := range seq {
			seq[i] = int32(1 + rng.IntN(items-1))
			t += 1 + rng.Int64N(30*24*3600)
			times[i] = t
		}
		for i := range n {
			p := bi*l + i
			b.Items[p], b.Times[p] = seq[i], times[i]
			b.Labels[p], b.QueryTimes[p] = seq[i+1], times[i+1]
		}
	}
	return b
}

// direct is the kernel path of sequential.Head.Step with given negatives
// instead of sampled ones: Model.Forward, the normalised table, the
// sampled-softmax kernel, Model.Backward and the table's normalisation
// backward on the touched rows.
type direct struct {
	items, norms, dItems, du []float32
	touched                  []int
}

func (s *direct) step(m *hstu.Model[float32], b *sequential.Batch, neg []int32, k int, temperature float64) (float64, int) {
	d := m.Dim()
	user := m.Forward(b, nil)
	table := m.ItemTable()
	n := table.Rows()
	s.items, s.norms = resize(s.items, n*d), resize(s.norms, n)
	kernels.L2NormalizeForward(table.Value, s.items, s.norms, n, d, 1e-12)
	s.dItems, s.du = resize(s.dItems, n*d), resize(s.du, len(user))
	clear(s.dItems)
	clear(s.du)
	s.touched = s.touched[:0]
	loss, count := kernels.SampledSoftmax(user, b.Positions(), d, s.items, b.Labels, neg, k, temperature, s.du, s.dItems,
		func(id int) { s.touched = append(s.touched, id) })
	m.Backward(s.du)
	for _, id := range s.touched {
		kernels.L2NormalizeBackward(s.items[id*d:(id+1)*d], s.norms[id:id+1], s.dItems[id*d:(id+1)*d], table.GradRow(id), 1, d, 1e-12)
	}
	return loss, count
}

func resize(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func zeroGrads(m *hstu.Model[float32]) {
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
}

func grads(m *hstu.Model[float32]) [][]float32 {
	var out [][]float32
	for _, p := range m.Params() {
		out = append(out, append([]float32(nil), p.DenseGrad()...))
	}
	return out
}

// relErr is max|got - want| / max|want|, the error relative to the
// tensor's scale (elementwise ratios blow up at gradients near zero).
func relErr(got, want []float32) float64 {
	var diff, scale float64
	for i := range want {
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

// TestBuildHSTUMatchesDirect checks the graph against the direct path,
// sequential.Head.Step on hstu.Model: same loss within 1e-4 relative and
// every parameter's gradient within 1e-3 of that gradient's largest
// magnitude (float32; both paths call the same kernels, only gradient
// sums are added in a different order). Head.Step draws its negatives
// first from its rng (dropout is 0, so Forward draws nothing); the graph
// gets the same draws.
func TestBuildHSTUMatchesDirect(t *testing.T) {
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
			m := newModel(t, items, maxLen, 2, 2, 16, tc.hier, tc.noTime, 1)
			b := newBatch(items, maxLen, lens, 3)
			cfg := sequential.LossConfig{Negatives: k}

			zeroGrads(m)
			head := &sequential.Head{Loss: cfg}
			wantLoss, wantCount, err := head.Step(m, b, rand.New(rand.NewPCG(5, 6)))
			if err != nil {
				t.Fatal(err)
			}
			want := grads(m)

			neg := make([]int32, b.Positions()*k)
			kernels.UniformNegatives(rand.New(rand.NewPCG(5, 6)), items, neg)

			zeroGrads(m)
			var s direct
			if loss, count := s.step(m, b, neg, k, cfg.WithDefaults().Temperature); loss != wantLoss || count != wantCount {
				t.Fatalf("direct helper: loss %v count %d, Head.Step: loss %v count %d", loss, count, wantLoss, wantCount)
			}

			g, err := graph.BuildHSTU(m, b, neg, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			for run := range 2 { // the second run checks the machine's reset
				zeroGrads(m)
				loss, count, err := g.Step()
				if err != nil {
					t.Fatal(err)
				}
				if count != wantCount || math.Abs(loss-wantLoss) > 1e-4*math.Abs(wantLoss) {
					t.Errorf("run %d: loss %v over %d positions, want %v over %d", run, loss, count, wantLoss, wantCount)
				}
				worst := 0.0
				for i, p := range m.Params() {
					e := relErr(p.DenseGrad(), want[i])
					if e > 1e-3 || math.IsNaN(e) {
						t.Errorf("run %d: %s: gradient relative error %.3g, want <= 1e-3", run, p.Name, e)
					}
					worst = math.Max(worst, e)
				}
				t.Logf("run %d: loss %.7g (direct %.7g), largest gradient relative error %.3g", run, loss, wantLoss, worst)
			}
		})
	}
}
