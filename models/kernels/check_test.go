package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// finiteDiff returns the central-difference gradient of f with respect to
// every element of x (f must read x), with step h.
func finiteDiff(f func() float64, x []float64, h float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		old := x[i]
		x[i] = old + h
		fp := f()
		x[i] = old - h
		fm := f()
		x[i] = old
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

// assertClose fails t when any |got-want| > tol*(1+|want|).
func assertClose(t *testing.T, name string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len(got) = %d, len(want) = %d", name, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i := range got {
		e := math.Abs(got[i]-want[i]) / (1 + math.Abs(want[i]))
		if e > worst || math.IsNaN(got[i]) {
			worst, at = e, i
		}
	}
	if worst > tol || math.IsNaN(worst) {
		t.Errorf("%s: element %d: got %.10g, want %.10g (rel err %.3g > tol %.3g)", name, at, got[at], want[at], worst, tol)
	}
}

// randSlice returns n values uniform in [-scale, scale).
func randSlice(rng *rand.Rand, n int, scale float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = (rng.Float64()*2 - 1) * scale
	}
	return x
}

// weightedSum returns sum_i w[i]*y[i]: a scalar loss whose gradient with
// respect to y is w, used to check backward passes.
func weightedSum(w, y []float64) float64 {
	s := 0.0
	for i := range y {
		s += w[i] * y[i]
	}
	return s
}

func TestGemmMatchesLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		ta, tb  bool
		m, n, k int
	}{{false, false, 3, 4, 5}, {true, false, 2, 3, 4}, {false, true, 5, 1, 3}, {true, true, 4, 4, 2}} {
		a := randSlice(rng, tc.m*tc.k, 1)
		b := randSlice(rng, tc.k*tc.n, 1)
		c := randSlice(rng, tc.m*tc.n, 1)
		want := make([]float64, len(c))
		for i := range tc.m {
			for j := range tc.n {
				s := 0.0
				for p := range tc.k {
					av := a[i*tc.k+p]
					if tc.ta {
						av = a[p*tc.m+i]
					}
					bv := b[p*tc.n+j]
					if tc.tb {
						bv = b[j*tc.k+p]
					}
					s += av * bv
				}
				want[i*tc.n+j] = 2*s + 0.5*c[i*tc.n+j]
			}
		}
		lda, ldb := tc.k, tc.n
		if tc.ta {
			lda = tc.m
		}
		if tc.tb {
			ldb = tc.k
		}
		Gemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, 2, a, lda, b, ldb, 0.5, c, tc.n)
		assertClose(t, "gemm", c, want, 1e-12)
	}
}
