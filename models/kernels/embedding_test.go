package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestEmbeddingGather(t *testing.T) {
	table := []float64{
		0, 0, // row 0: padding
		1, 2,
		3, 4,
		5, 6,
	}
	ids := []int32{2, -1, 3, 2, 0, 1}
	out := make([]float64, len(ids)*2)
	for i := range out {
		out[i] = math.NaN() // overwritten
	}
	EmbeddingGather(table, 2, ids, out)
	want := []float64{3, 4, 0, 0, 5, 6, 3, 4, 0, 0, 1, 2}
	if !slices.Equal(out, want) {
		t.Errorf("EmbeddingGather = %v, want %v", out, want)
	}
}

// TestEmbeddingGatherLarge exercises the parallel path against a loop.
func TestEmbeddingGatherLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	const rows, d, n = 1000, 64, 5000
	table := lsConv[float32](randSlice(rng, rows*d, 1))
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(rng.IntN(rows+1)) - 1
	}
	got, want := make([]float32, n*d), make([]float32, n*d)
	EmbeddingGather(table, d, ids, got)
	for r, id := range ids {
		if id >= 0 {
			copy(want[r*d:(r+1)*d], table[int(id)*d:])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("EmbeddingGather of %d ids differs from a loop", n)
	}
}

// TestEmbeddingScatter: repeated ids sum, negative ids are skipped, the
// gradient is added to what the table held, and rows are touched in
// first-touch order.
func TestEmbeddingScatter(t *testing.T) {
	for _, sparse := range []bool{true, false} {
		p := NewParam[float64]("emb", 4, 2)
		p.Sparse = sparse
		p.Grad[6] = 1 // row 3 holds gradient from an earlier use
		ids := []int32{2, -1, 3, 2, -5}
		dOut := []float64{1, 2, 100, 100, 3, 4, 5, 6, 100, 100}
		EmbeddingScatter(p, ids, dOut, 0.5)
		want := []float64{0, 0, 0, 0, 3, 4, 2.5, 2}
		if !slices.Equal(p.Grad, want) {
			t.Errorf("sparse=%v: Grad = %v, want %v", sparse, p.Grad, want)
		}
		wantRows := []int{2, 3}
		if !sparse {
			wantRows = nil
		}
		if got := p.TouchedRows(); !slices.Equal(got, wantRows) {
			t.Errorf("sparse=%v: TouchedRows() = %v, want %v", sparse, got, wantRows)
		}
	}
}

// TestEmbeddingScatterIsGatherBackward checks EmbeddingScatter against
// central differences of a weighted sum of EmbeddingGather's output.
func TestEmbeddingScatterIsGatherBackward(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	const rows, d = 6, 3
	ids := []int32{1, 4, -1, 1, 0, 5, 1}
	p := NewParam[float64]("emb", rows, d)
	p.Sparse = true
	copy(p.Value, randSlice(rng, rows*d, 1))
	w := randSlice(rng, len(ids)*d, 1)
	out := make([]float64, len(ids)*d)
	loss := func() float64 {
		EmbeddingGather(p.Value, d, ids, out)
		return weightedSum(w, out)
	}
	want := finiteDiff(loss, p.Value, lsStep)
	EmbeddingScatter(p, ids, w, 1)
	assertClose(t, "EmbeddingScatter", p.Grad, want, lsGradTol)
}

func TestEmbeddingPanics(t *testing.T) {
	p := NewParam[float32]("emb", 3, 2)
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"gather id", "id 3 out of [0, 3)", func() { EmbeddingGather(p.Value, 2, []int32{0, 3}, make([]float32, 4)) }},
		{"gather out", "len(out)", func() { EmbeddingGather(p.Value, 2, []int32{0, 1}, make([]float32, 3)) }},
		{"gather d", "not a multiple", func() { EmbeddingGather(p.Value, 4, []int32{0}, make([]float32, 4)) }},
		{"scatter id", "id 7 out of [0, 3)", func() { EmbeddingScatter(p, []int32{7}, make([]float32, 2), 1) }},
		{"scatter dOut", "len(dOut)", func() { EmbeddingScatter(p, []int32{1}, make([]float32, 3), 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "kernels: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want one with prefix %q containing %q", msg, "kernels: ", tc.want)
				}
			}()
			tc.f()
		})
	}
}
