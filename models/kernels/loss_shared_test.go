package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSharedSampledSoftmaxMatchesSampled checks SharedSampledSoftmax
// against SampledSoftmax (its reference) fed the shared negatives repeated
// on every row, on random shapes with padding rows, repeated negatives and
// accidental hits (a negative equal to some rows' positive): loss, du,
// dItems (buffers start at lsAccum: the kernels add) and the touched set,
// within lsTol64 in float64 and lsTol32 in float32.
func TestSharedSampledSoftmaxMatchesSampled(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	for _, sh := range []struct{ m, d, catalogue, k int }{
		{1, 3, 5, 2}, {7, 4, 9, 6}, {70, 8, 40, 16}, {200, 16, 1000, 33}, {130, 5, 3, 4},
	} {
		c := newLSCase(rng, sh.m, sh.d, sh.catalogue, sh.k, 0.1)
		shared := make([]int32, sh.k)
		UniformNegatives(rng, sh.catalogue, shared)
		shared[0] = c.pos[0] // an accidental hit for row 0 (and any row with that positive)
		if sh.k > 2 {
			shared[2] = shared[1] // a repeated negative
		}
		full := make([]int32, sh.m*sh.k)
		for r := range sh.m {
			copy(full[r*sh.k:], shared)
		}
		wantDu, wantDi := lsFilled(sh.m*sh.d), lsFilled(sh.catalogue*sh.d)
		var wantTouched, gotTouched []int
		wantLoss, wantCount := SampledSoftmax(c.u, sh.m, sh.d, c.items, c.pos, full, sh.k, c.temp, wantDu, wantDi, func(id int) { wantTouched = append(wantTouched, id) })
		gotDu, gotDi := lsFilled(sh.m*sh.d), lsFilled(sh.catalogue*sh.d)
		gotLoss, gotCount := SharedSampledSoftmax(c.u, sh.m, sh.d, c.items, c.pos, shared, c.temp, gotDu, gotDi, func(id int) { gotTouched = append(gotTouched, id) })
		if gotCount != wantCount {
			t.Fatalf("%+v: count %d, want %d", sh, gotCount, wantCount)
		}
		assertClose(t, "loss", []float64{gotLoss}, []float64{wantLoss}, lsTol64)
		assertClose(t, "du", gotDu, wantDu, lsTol64)
		assertClose(t, "dItems", gotDi, wantDi, lsTol64)
		slices.Sort(wantTouched)
		slices.Sort(gotTouched)
		if !slices.Equal(gotTouched, wantTouched) {
			t.Errorf("%+v: touched %v, want %v", sh, gotTouched, wantTouched)
		}

		// float32 against the float64 result.
		u32, it32 := lsTo32(c.u), lsTo32(c.items)
		du32, di32 := make([]float32, len(gotDu)), make([]float32, len(gotDi))
		l32, _ := SharedSampledSoftmax(u32, sh.m, sh.d, it32, c.pos, shared, c.temp, du32, di32, nil)
		want0Du, want0Di := make([]float64, len(gotDu)), make([]float64, len(gotDi))
		SharedSampledSoftmax(c.u, sh.m, sh.d, c.items, c.pos, shared, c.temp, want0Du, want0Di, nil)
		assertClose(t, "float32 loss", []float64{l32}, []float64{gotLoss}, lsTol32)
		assertClose(t, "float32 du", lsTo64(du32), want0Du, lsTol32)
		assertClose(t, "float32 dItems", lsTo64(di32), want0Di, lsTol32)
	}
	// No labelled row: nothing written.
	du := lsFilled(6)
	if l, n := SharedSampledSoftmax(make([]float64, 6), 2, 3, make([]float64, 9), []int32{0, -1}, []int32{1, 2}, 0.1, du, nil, nil); l != 0 || n != 0 || du[0] != lsAccum {
		t.Errorf("all padding: loss %v count %d du[0] %v, want 0, 0, untouched", l, n, du[0])
	}
}

func lsTo32(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func lsTo64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}
