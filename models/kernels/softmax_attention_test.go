package kernels

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// saInputs returns random q, k, v for a.
func saInputs(rng *rand.Rand, a SoftmaxAttention) (q, k, v []float64) {
	rows := a.B * a.L
	return randSlice(rng, rows*a.H*a.DK, 1), randSlice(rng, rows*a.H*a.DK, 1), randSlice(rng, rows*a.H*a.DV, 1)
}

// saPair runs SoftmaxAttentionForward and SoftmaxAttentionReference in T
// with NaN-filled outputs and returns out, probs of each.
func saPair[T Float](a SoftmaxAttention, q, k, v []float64, lens []int) (fo, fp, ro, rp []float64) {
	qt, kt, vt := lyConv[T](q), lyConv[T](k), lyConv[T](v)
	no, np := a.B*a.L*a.H*a.DV, a.B*a.H*a.L*a.L
	o1, p1, o2, p2 := lyNaNs[T](no), lyNaNs[T](np), lyNaNs[T](no), lyNaNs[T](np)
	SoftmaxAttentionForward(a, qt, kt, vt, lens, o1, p1)
	SoftmaxAttentionReference(a, qt, kt, vt, lens, o2, p2)
	return lyConv[float64](o1), lyConv[float64](p1), lyConv[float64](o2), lyConv[float64](p2)
}

func TestSoftmaxAttentionMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 1))
	for _, tc := range []struct {
		a    SoftmaxAttention
		lens []int // nil: random in [0, L]
	}{
		{SoftmaxAttention{B: 1, L: 1, H: 1, DK: 1, DV: 1}, []int{1}},
		{SoftmaxAttention{B: 0, L: 3, H: 1, DK: 2, DV: 2}, []int{}},
		{SoftmaxAttention{B: 3, L: 5, H: 2, DK: 3, DV: 4}, []int{0, 1, 5}},
		{SoftmaxAttention{B: 4, L: 7, H: 3, DK: 5, DV: 2, Scale: 0.5}, []int{7, 3, 0, 6}},
		{SoftmaxAttention{B: 8, L: 50, H: 2, DK: 16, DV: 24}, nil},
		{SoftmaxAttention{B: 3, L: 200, H: 1, DK: 50, DV: 50}, []int{200, 17, 199}},
	} {
		lens := tc.lens
		if lens == nil {
			lens = make([]int, tc.a.B)
			for b := range lens {
				lens[b] = rng.IntN(tc.a.L + 1)
			}
		}
		q, k, v := saInputs(rng, tc.a)
		for _, pr := range lyPrecisions {
			run := saPair[float64]
			if pr.name == "float32" {
				run = saPair[float32]
			}
			fo, fp, ro, rp := run(tc.a, q, k, v, lens)
			assertClose(t, pr.name+" out", fo, ro, pr.tol)
			assertClose(t, pr.name+" probs", fp, rp, pr.tol)
		}
	}
}

func TestSoftmaxAttentionBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 2))
	for _, tc := range []struct {
		a    SoftmaxAttention
		lens []int
	}{
		{SoftmaxAttention{B: 3, L: 4, H: 2, DK: 3, DV: 2}, []int{0, 1, 4}},
		{SoftmaxAttention{B: 2, L: 5, H: 1, DK: 2, DV: 3, Scale: 0.7}, []int{5, 3}},
	} {
		a := tc.a
		q, k, v := saInputs(rng, a)
		w := randSlice(rng, len(v), 1)
		out, probs := make([]float64, len(v)), make([]float64, a.B*a.H*a.L*a.L)
		loss := func() float64 {
			SoftmaxAttentionForward(a, q, k, v, tc.lens, out, probs)
			return weightedSum(w, out)
		}
		wq, wk, wv := finiteDiff(loss, q, lyStep), finiteDiff(loss, k, lyStep), finiteDiff(loss, v, lyStep)
		loss()
		dq, dk, dv := lyFilled(len(q)), lyFilled(len(k)), lyFilled(len(v))
		SoftmaxAttentionBackward(a, q, k, v, tc.lens, probs, w, dq, dk, dv)
		assertClose(t, "SoftmaxAttention dq", lyAdded(dq), wq, lyGradTol)
		assertClose(t, "SoftmaxAttention dk", lyAdded(dk), wk, lyGradTol)
		assertClose(t, "SoftmaxAttention dv", lyAdded(dv), wv, lyGradTol)
	}
}

// TestSoftmaxAttentionPadding checks that padding query rows output zero
// (over NaN-filled buffers), that padding rows get exactly zero gradient even
// when dOut is non-zero there, and that valid rows ignore padding keys.
func TestSoftmaxAttentionPadding(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 3))
	a := SoftmaxAttention{B: 3, L: 6, H: 2, DK: 4, DV: 3}
	lens := []int{0, 2, 6}
	q, k, v := saInputs(rng, a)
	out, probs := lyNaNs[float64](len(v)), lyNaNs[float64](a.B*a.H*a.L*a.L)
	SoftmaxAttentionForward(a, q, k, v, lens, out, probs)
	dq, dk, dv := make([]float64, len(q)), make([]float64, len(k)), make([]float64, len(v))
	SoftmaxAttentionBackward(a, q, k, v, lens, probs, randSlice(rng, len(v), 1), dq, dk, dv)
	hk, hv := a.H*a.DK, a.H*a.DV
	for b, n := range lens {
		for i := n; i < a.L; i++ {
			r := b*a.L + i
			for name, s := range map[string][]float64{"out": out[r*hv : (r+1)*hv], "dv": dv[r*hv : (r+1)*hv], "dq": dq[r*hk : (r+1)*hk], "dk": dk[r*hk : (r+1)*hk]} {
				for c, x := range s {
					if x != 0 {
						t.Errorf("batch row %d position %d (lens %d): %s[%d] got %v, want 0", b, i, n, name, c, x)
					}
				}
			}
		}
	}
	// Changing padding keys and values leaves every output unchanged.
	k2, v2 := append([]float64(nil), k...), append([]float64(nil), v...)
	for i := 2; i < a.L; i++ {
		r := 1*a.L + i
		for c := r * hk; c < (r+1)*hk; c++ {
			k2[c] = 100
		}
		for c := r * hv; c < (r+1)*hv; c++ {
			v2[c] = 100
		}
	}
	out2 := make([]float64, len(v))
	SoftmaxAttentionForward(a, q, k2, v2, lens, out2, probs)
	assertClose(t, "out with changed padding", out2, out, 0)
}

// TestSoftmaxAttentionBackwardFloat32 checks the float32 backward against
// the float64 one (gemm strides and scratch reuse are type-independent, the
// rounding is not).
func TestSoftmaxAttentionBackwardFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 4))
	a := SoftmaxAttention{B: 5, L: 30, H: 2, DK: 8, DV: 8}
	lens := []int{30, 0, 1, 17, 29}
	q, k, v := saInputs(rng, a)
	dOut := randSlice(rng, len(v), 1)
	run := func(f32 bool) (dq, dk, dv []float64) {
		if !f32 {
			out, probs := make([]float64, len(v)), make([]float64, a.B*a.H*a.L*a.L)
			SoftmaxAttentionForward(a, q, k, v, lens, out, probs)
			dq, dk, dv = make([]float64, len(q)), make([]float64, len(k)), make([]float64, len(v))
			SoftmaxAttentionBackward(a, q, k, v, lens, probs, dOut, dq, dk, dv)
			return dq, dk, dv
		}
		q32, k32, v32 := lyConv[float32](q), lyConv[float32](k), lyConv[float32](v)
		out, probs := make([]float32, len(v)), make([]float32, a.B*a.H*a.L*a.L)
		SoftmaxAttentionForward(a, q32, k32, v32, lens, out, probs)
		g := [3][]float32{make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))}
		SoftmaxAttentionBackward(a, q32, k32, v32, lens, probs, lyConv[float32](dOut), g[0], g[1], g[2])
		return lyConv[float64](g[0]), lyConv[float64](g[1]), lyConv[float64](g[2])
	}
	q64, k64, v64 := run(false)
	q32, k32, v32 := run(true)
	assertClose(t, "float32 dq", q32, q64, lyTol32)
	assertClose(t, "float32 dk", k32, k64, lyTol32)
	assertClose(t, "float32 dv", v32, v64, lyTol32)
}

func TestSoftmaxAttentionPanicsOnBadInput(t *testing.T) {
	a := SoftmaxAttention{B: 2, L: 3, H: 1, DK: 2, DV: 2}
	q, out, probs := make([]float64, 12), make([]float64, 12), make([]float64, 18)
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"lens too long", func() { SoftmaxAttentionForward(a, q, q, q, []int{1, 4}, out, probs) }},
		{"negative lens", func() { SoftmaxAttentionForward(a, q, q, q, []int{-1, 0}, out, probs) }},
		{"len(lens)", func() { SoftmaxAttentionForward(a, q, q, q, []int{1}, out, probs) }},
		{"probs", func() { SoftmaxAttentionForward(a, q, q, q, []int{1, 2}, out, probs[:9]) }},
		{"DK = 0", func() {
			SoftmaxAttentionForward(SoftmaxAttention{B: 2, L: 3, H: 1, DV: 2}, q[:0], q[:0], q, []int{1, 2}, out, probs)
		}},
		{"dq", func() { SoftmaxAttentionBackward(a, q, q, q, []int{1, 2}, probs, out, q[:5], q, q) }},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "kernels: ") {
					t.Errorf("%s: got panic %q, want one starting %q", tc.name, msg, "kernels: ")
				}
			}()
			tc.call()
		}()
	}
}
