package kernels

import (
	"math/rand/v2"
	"testing"
)

func caInputs(rng *rand.Rand, a CrossAttention) (q, k, v []float64) {
	return randSlice(rng, a.B*a.Lq*a.H*a.DK, 1), randSlice(rng, a.B*a.Lk*a.H*a.DK, 1), randSlice(rng, a.B*a.Lk*a.H*a.DV, 1)
}

func caPair[T Float](a CrossAttention, q, k, v []float64, ql, kl []int) (fo, fp, ro, rp []float64) {
	qt, kt, vt := lyConv[T](q), lyConv[T](k), lyConv[T](v)
	no, np := a.B*a.Lq*a.H*a.DV, a.B*a.H*a.Lq*a.Lk
	o1, p1, o2, p2 := lyNaNs[T](no), lyNaNs[T](np), lyNaNs[T](no), lyNaNs[T](np)
	CrossAttentionForward(a, qt, kt, vt, ql, kl, o1, p1)
	CrossAttentionReference(a, qt, kt, vt, ql, kl, o2, p2)
	return lyConv[float64](o1), lyConv[float64](p1), lyConv[float64](o2), lyConv[float64](p2)
}

type caCase struct {
	a      CrossAttention
	ql, kl []int
}

var caCases = []caCase{
	{CrossAttention{B: 1, Lq: 1, Lk: 1, H: 1, DK: 1, DV: 1}, []int{1}, []int{1}},
	{CrossAttention{B: 0, Lq: 2, Lk: 3, H: 1, DK: 2, DV: 2}, []int{}, []int{}},
	{CrossAttention{B: 3, Lq: 4, Lk: 6, H: 2, DK: 3, DV: 2}, []int{4, 2, 0}, []int{6, 0, 3}},
	{CrossAttention{B: 2, Lq: 5, Lk: 5, H: 3, DK: 2, DV: 3, Causal: true}, []int{5, 3}, []int{5, 4}},
	{CrossAttention{B: 2, Lq: 5, Lk: 7, H: 2, DK: 4, DV: 3, Scale: 0.4}, []int{5, 1}, []int{2, 7}},
}

func TestCrossAttentionMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 1))
	cases := append(caCases, caCase{CrossAttention{B: 4, Lq: 5, Lk: 81, H: 2, DK: 32, DV: 32}, []int{5, 5, 5, 5}, []int{81, 9, 40, 1}})
	for _, tc := range cases {
		q, k, v := caInputs(rng, tc.a)
		for _, pr := range lyPrecisions {
			run := caPair[float64]
			if pr.name == "float32" {
				run = caPair[float32]
			}
			fo, fp, ro, rp := run(tc.a, q, k, v, tc.ql, tc.kl)
			assertClose(t, pr.name+" out", fo, ro, pr.tol)
			assertClose(t, pr.name+" probs", fp, rp, pr.tol)
		}
	}
}

func TestCrossAttentionBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2))
	for _, tc := range caCases {
		a := tc.a
		q, k, v := caInputs(rng, a)
		w := randSlice(rng, a.B*a.Lq*a.H*a.DV, 1)
		out, probs := make([]float64, len(w)), make([]float64, a.B*a.H*a.Lq*a.Lk)
		loss := func() float64 {
			CrossAttentionForward(a, q, k, v, tc.ql, tc.kl, out, probs)
			return weightedSum(w, out)
		}
		wq, wk, wv := finiteDiff(loss, q, lyStep), finiteDiff(loss, k, lyStep), finiteDiff(loss, v, lyStep)
		loss()
		dq, dk, dv := lyFilled(len(q)), lyFilled(len(k)), lyFilled(len(v))
		CrossAttentionBackward(a, q, k, v, tc.ql, tc.kl, probs, w, dq, dk, dv)
		assertClose(t, "CrossAttention dq", lyAdded(dq), wq, lyGradTol)
		assertClose(t, "CrossAttention dk", lyAdded(dk), wk, lyGradTol)
		assertClose(t, "CrossAttention dv", lyAdded(dv), wv, lyGradTol)
	}
}

// TestCrossAttentionMasks checks that a query ignores padding keys and,
// when causal, later keys: changing them leaves out unchanged.
func TestCrossAttentionMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	a := CrossAttention{B: 1, Lq: 4, Lk: 4, H: 1, DK: 2, DV: 2, Causal: true}
	q, k, v := caInputs(rng, a)
	out1, probs := make([]float64, 8), make([]float64, 16)
	CrossAttentionForward(a, q, k, v, []int{4}, []int{3}, out1, probs)
	k[7], v[7], k[5], v[5] = 9, 9, 9, 9 // key 3 (padding) and key 2 (after query 1)
	out2 := make([]float64, 8)
	CrossAttentionForward(a, q, k, v, []int{4}, []int{3}, out2, probs)
	for i := range 4 { // queries 0 and 1 see neither changed key
		if out1[i] != out2[i] {
			t.Errorf("out[%d] = %v then %v: a masked key leaked in", i, out1[i], out2[i])
		}
	}
	if out1[4] == out2[4] {
		t.Errorf("query 2 did not see key 2")
	}
}
