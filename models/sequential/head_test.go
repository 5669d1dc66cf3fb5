package sequential_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// headBatch is a batch of len(lens) sequences over items 1..items-1, every
// valid position labelled with the next item.
func headBatch(items, l int, lens []int, seed uint64) *sequential.Batch {
	rng := rand.New(rand.NewPCG(seed, 2))
	nb := len(lens)
	b := &sequential.Batch{
		B: nb, L: l, Lens: lens,
		Items: make([]int32, nb*l), Times: make([]int64, nb*l), QueryTimes: make([]int64, nb*l),
		Labels: make([]int32, nb*l), Users: make([]int64, nb), Rows: make([]int, nb),
	}
	for bi, n := range lens {
		t := int64(1_600_000_000)
		for i := range n {
			p := bi*l + i
			t += 1 + rng.Int64N(86400)
			b.Items[p], b.Labels[p] = int32(1+rng.IntN(items-1)), int32(1+rng.IntN(items-1))
			b.Times[p], b.QueryTimes[p] = t, t+1
		}
	}
	return b
}

func headModel(t testing.TB, items, d int, dropout float64) *hstu.Model[float32] {
	t.Helper()
	m, err := hstu.New[float32](hstu.Config{Items: items, MaxSeqLen: 8,
		Transformer: hstu.TransformerParams{NumLayers: 1, NumHeads: 1, HiddenSize: d, Dropout: dropout}}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// denseStep is the head's step as it was before the candidate gather: the
// whole table normalised, SampledSoftmax on global ids, the normalisation
// backward into a catalogue-sized gradient. It returns the loss, the
// count and the item table's dense gradient (the other params' gradients
// are in the model). The rng is consumed as Head.Step consumes it.
func denseStep(m *hstu.Model[float32], b *sequential.Batch, rng *rand.Rand, k int, shared bool) (float64, int, []float32) {
	d := m.Dim()
	user := m.Forward(b, rng)
	table := m.ItemTable()
	n := table.Rows()
	items, norms := make([]float32, n*d), make([]float32, n)
	kernels.L2NormalizeForward(table.Value, items, norms, n, d, 1e-12)
	rows := b.Positions()
	neg := make([]int32, rows*k)
	if shared {
		kernels.UniformNegatives(rng, n, neg[:k])
		for r := 1; r < rows; r++ {
			copy(neg[r*k:(r+1)*k], neg[:k])
		}
	} else {
		kernels.UniformNegatives(rng, n, neg)
	}
	du, dItems := make([]float32, len(user)), make([]float32, n*d)
	var touched []int
	loss, count := kernels.SampledSoftmax(user, rows, d, items, b.Labels, neg, k, 0.05, du, dItems, func(id int) { touched = append(touched, id) })
	m.Backward(du)
	grad := table.DenseGrad()
	for _, id := range touched {
		kernels.L2NormalizeBackward(items[id*d:(id+1)*d], norms[id:id+1], dItems[id*d:(id+1)*d], grad[id*d:(id+1)*d], 1, d, 1e-12)
	}
	return loss, count, grad
}

// TestHeadStepEqualsDense: Head.Step, which normalises and scores only the
// batch's candidate rows, gives the loss and every gradient of the dense
// path (whole table normalised, global ids, SampledSoftmax) bit for bit
// with per-position negatives, and within 1e-5 of each tensor's largest
// gradient (loss 1e-6) with shared negatives (SharedSampledSoftmax's
// matrix products sum in another order), over two steps, and leaves the
// rng in the same state.
func TestHeadStepEqualsDense(t *testing.T) {
	const items, k = 300, 16
	for _, shared := range []bool{false, true} {
		m := headModel(t, items, 16, 0.2)
		head := &sequential.Head{Loss: sequential.LossConfig{Negatives: k, NegativesShared: shared}}
		hr, dr := rand.New(rand.NewPCG(4, 4)), rand.New(rand.NewPCG(4, 4))
		for step := range 2 {
			b := headBatch(items, 8, []int{8, 3, 1, 6}, uint64(step))
			zero(m)
			loss, count, err := head.Step(m, b, hr)
			if err != nil {
				t.Fatal(err)
			}
			got := grads(m)
			touched := slices.Sorted(slices.Values(m.ItemTable().TouchedRows()))
			zero(m)
			wantLoss, wantCount, table := denseStep(m, b, dr, k, shared)
			want := grads(m)
			want[0] = table // item_emb is Params()[0]
			if m.Params()[0] != m.ItemTable() {
				t.Fatal("the item table is not Params()[0]")
			}
			if count != wantCount || (!shared && loss != wantLoss) || math.Abs(loss-wantLoss) > 1e-6*math.Abs(wantLoss) {
				t.Errorf("shared %v step %d: loss %v over %d, dense path %v over %d", shared, step, loss, count, wantLoss, wantCount)
			}
			for i, p := range m.Params() {
				if shared {
					// Matrix products instead of per-row dots: a tolerance.
					if e := relErr(got[i], want[i]); e > 1e-5 {
						t.Fatalf("shared step %d: %s: relative error %.3g against the dense path, want <= 1e-5", step, p.Name, e)
					}
					continue
				}
				for j := range got[i] {
					if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
						t.Fatalf("step %d: %s[%d] = %v, dense path %v", step, p.Name, j, got[i][j], want[i][j])
					}
				}
			}
			var nonzero []int
			for r := range items {
				if slices.ContainsFunc(table[r*16:(r+1)*16], func(v float32) bool { return v != 0 }) {
					nonzero = append(nonzero, r)
				}
			}
			for _, r := range nonzero {
				if _, ok := slices.BinarySearch(touched, r); !ok {
					t.Errorf("shared %v step %d: row %d has gradient but is not touched", shared, step, r)
				}
			}
			if shared && head.CandidateRows() > b.Targets()+k {
				t.Errorf("shared step %d: %d candidate rows, want <= targets %d + negatives %d", step, head.CandidateRows(), b.Targets(), k)
			}
		}
		if a, b := hr.Uint64(), dr.Uint64(); a != b {
			t.Errorf("shared %v: rng states differ after the steps", shared)
		}
	}
}

// TestHeadStepCatalogueIndependent: a sampled step allocates the same
// (small) number of bytes on a catalogue of 1e3 and of 1e6 items, and the
// head and table keep no catalogue-sized float buffer between steps (only
// the 4-byte slot indices): nothing catalogue-sized is allocated,
// normalised or cleared per step. With shared
// negatives the step scores at most B·L + N candidate rows, and the table
// gradient holds only the touched rows.
func TestHeadStepCatalogueIndependent(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 1e6-item model")
	}
	const k, d = 32, 8
	lens := []int{8, 8, 5, 7}
	perStep := map[int]uint64{}
	for _, items := range []int{1_000, 1_000_000} {
		m := headModel(t, items, d, 0)
		head := &sequential.Head{Loss: sequential.LossConfig{Negatives: k, NegativesShared: true}}
		rng := rand.New(rand.NewPCG(2, 2))
		b := headBatch(items, 8, lens, 1)
		var built runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&built)
		step := func() {
			zero(m)
			if _, _, err := head.Step(m, b, rng); err != nil {
				t.Fatal(err)
			}
		}
		step() // grows the buffers and the slot index
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const steps = 5
		for range steps {
			step()
		}
		runtime.ReadMemStats(&after)
		perStep[items] = (after.TotalAlloc - before.TotalAlloc) / steps
		var held runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&held)
		// The slot indices of the head and the table are 8 bytes per item;
		// a normalised copy or a dense gradient of the table would add
		// 4·d = 32 bytes per item each.
		if grown := int64(held.HeapAlloc) - int64(built.HeapAlloc); grown > int64(items)*16+1<<20 {
			t.Errorf("items %d: the steps keep %d more bytes than the built model, want <= 16 per item + 1 MB", items, grown)
		}
		runtime.KeepAlive(m)
		if c := head.CandidateRows(); c > b.Targets()+k {
			t.Errorf("items %d: %d candidate rows, want <= %d targets + %d negatives", items, c, b.Targets(), k)
		}
		table := m.ItemTable()
		if got, want := len(table.Grad), len(table.TouchedRows())*d; got != want || len(table.TouchedRows()) > b.Targets()+k+b.Targets() {
			t.Errorf("items %d: len(Grad) %d for %d touched rows (want %d, at most history + candidates)", items, got, len(table.TouchedRows()), want)
		}
	}
	// 1e6 items x d=8 float32 is 32 MB: any catalogue-sized buffer per step
	// would show here as megabytes.
	small, large := perStep[1_000], perStep[1_000_000]
	t.Logf("bytes allocated per step: %d at 1e3 items, %d at 1e6", small, large)
	if large > small+64<<10 {
		t.Errorf("a step allocates %d bytes at 1e6 items, %d at 1e3: want no catalogue-sized allocation", large, small)
	}
}

func zero(m *hstu.Model[float32]) {
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
}

// grads copies every param's gradient, the item table's as DenseGrad.
func grads(m *hstu.Model[float32]) [][]float32 {
	var out [][]float32
	for _, p := range m.Params() {
		out = append(out, slices.Clone(p.DenseGrad()))
	}
	return out
}

// relErr is max|got - want| / max|want|.
func relErr(got, want []float32) float64 {
	var num, den float64
	for i := range got {
		num = math.Max(num, math.Abs(float64(got[i])-float64(want[i])))
		den = math.Max(den, math.Abs(float64(want[i])))
	}
	if den == 0 {
		return num
	}
	return num / den
}
