package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The vector kernels (vec*SIMD) against their scalar references (vec*Ref)
// on every length 0..67 (16-lane bodies, unaligned tails, tails alone) and
// offsets 0..2 into the backing array. Bounds, with u = 2^-23 (one float32
// ulp at 1):
//
//	Add, Scale, Axpy, LNGrad, Center's y   exact (same operations per element)
//	Sum            |got - want| <= 2 n u sum |x_i|             (reordered sum)
//	Center's sum   |got - want| <= 2 n u sum (x_i - mean)^2
//	Dot            |got - want| <= 2 n u sum |x_i y_i|         (reordered sum, gamma_n)
//	SiLU           |got - want| <= 8 u |want| + 1e-37          (exp16 vs exp32)
//	SiLU gradient  |got - want| <= 8 u (|dx| + |dy| s (1 + |x| (1-s))) + 1e-37
//
// Without GOEXPERIMENT=simd (or without AVX-512) the SIMD functions are the
// references and the test checks that trivially; TestSIMDReport says which.
const vecU = 0x1p-23

func vecRand(rng *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = (2*rng.Float32() - 1) * scale
	}
	return x
}

func TestSIMDReport(t *testing.T) {
	t.Logf("simdAvailable = %v, SIMD() = %v", simdAvailable(), SIMD())
}

func TestVecKernelsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 18))
	for n := 0; n <= 67; n++ {
		for off := 0; off <= 2; off++ {
			x := vecRand(rng, n+off, 4)[off:]
			y := vecRand(rng, n+off, 4)[off:]
			wide := vecRand(rng, n+off, 100)[off:] // SiLU over the clamp range too

			// Add, Scale: exact.
			a, b := append([]float32{}, y...), append([]float32{}, y...)
			vecAddSIMD(a, x)
			vecAddRef(b, x)
			vecScaleSIMD(a, 0.37)
			vecScaleRef(b, 0.37)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("n=%d off=%d: Add+Scale[%d] = %v, want %v", n, off, i, a[i], b[i])
				}
			}

			// Axpy.
			const al = -1.7
			a, b = append([]float32{}, y...), append([]float32{}, y...)
			vecAxpySIMD(al, x, a)
			vecAxpyRef(al, x, b)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("n=%d off=%d: Axpy[%d] = %v, want %v", n, off, i, a[i], b[i])
				}
			}

			// Dot.
			var mag float32
			for i := range x {
				mag += abs32(x[i] * y[i])
			}
			got, want := vecDotSIMD(x, y), vecDotRef(x, y)
			if tol := 2 * float32(n) * vecU * mag; abs32(got-want) > tol {
				t.Fatalf("n=%d off=%d: Dot = %v, want %v (tol %v)", n, off, got, want, tol)
			}

			// SiLU forward, out of place and in place.
			a, b = make([]float32, n), make([]float32, n)
			vecSiLUSIMD(wide, a)
			vecSiLURef(wide, b)
			in := append([]float32{}, wide...)
			vecSiLUSIMD(in, in)
			for i := range a {
				if tol := 8*vecU*abs32(b[i]) + 1e-37; abs32(a[i]-b[i]) > tol || in[i] != a[i] {
					t.Fatalf("n=%d off=%d: SiLU(%v) = %v (in place %v), want %v", n, off, wide[i], a[i], in[i], b[i])
				}
			}

			// Sum, Center (LayerNorm's mean and variance), LNGrad.
			if got, want := vecSumSIMD(x), vecSumRef(x); abs32(got-want) > 2*float32(n)*vecU*4*float32(n) {
				t.Fatalf("n=%d off=%d: Sum = %v, want %v", n, off, got, want)
			}
			a, b = make([]float32, n), make([]float32, n)
			cg, cw := vecCenterSIMD(x, a, 0.3), vecCenterRef(x, b, 0.3)
			if abs32(cg-cw) > 2*float32(n)*vecU*cw {
				t.Fatalf("n=%d off=%d: Center sum of squares = %v, want %v", n, off, cg, cw)
			}
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("n=%d off=%d: Center[%d] = %v, want %v", n, off, i, a[i], b[i])
				}
			}
			a, b = append([]float32{}, x...), append([]float32{}, x...)
			vecLNGradSIMD(wide, y, a, 1.3, 0.2, -0.7)
			vecLNGradRef(wide, y, b, 1.3, 0.2, -0.7)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("n=%d off=%d: LNGrad[%d] = %v, want %v", n, off, i, a[i], b[i])
				}
			}

			// SiLU gradient.
			a, b = append([]float32{}, x...), append([]float32{}, x...)
			vecSiLUGradSIMD(wide, y, a)
			vecSiLUGradRef(wide, y, b)
			for i := range a {
				s := Sigmoid(wide[i])
				tol := 8*vecU*(abs32(x[i])+abs32(y[i])*s*(1+abs32(wide[i])*(1-s))) + 1e-37
				if abs32(a[i]-b[i]) > tol {
					t.Fatalf("n=%d off=%d: SiLU grad at %v = %v, want %v (tol %v)", n, off, wide[i], a[i], b[i], tol)
				}
			}
		}
	}
}

// TestVecSiLUSpecialValues: NaN stays NaN, the clamp ends match the
// reference, 0 maps to 0.
func TestVecSiLUSpecialValues(t *testing.T) {
	x := []float32{float32(math.NaN()), 0, -87, -200, 88, 200, float32(math.Inf(1)), float32(math.Inf(-1))}
	a, b := make([]float32, len(x)), make([]float32, len(x))
	vecSiLUSIMD(x, a)
	vecSiLURef(x, b)
	for i := range x {
		na, nb := a[i] != a[i], b[i] != b[i]
		if na != nb || (!na && abs32(a[i]-b[i]) > 8*vecU*abs32(b[i])+1e-37) {
			t.Errorf("SiLU(%v) = %v, want %v", x[i], a[i], b[i])
		}
	}
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

// TestVecMaxExpSumMatchReference: Max exactly; ExpSum's elements within
// 8u relative (exp16 vs exp32) and its sum within 2 n u relative (16
// float32 lanes vs one float64 sum), on lengths 1..67 and a row of 12,000.
func TestVecMaxExpSumMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 19))
	lengths := make([]int, 0, 68)
	for n := 1; n <= 67; n++ {
		lengths = append(lengths, n)
	}
	for _, n := range append(lengths, 12000) {
		for off := 0; off <= 2; off++ {
			x := vecRand(rng, n+off, 20)[off:]
			x[rng.IntN(n)] = 25 // the maximum anywhere, the tail too
			if got, want := vecMaxSIMD(x), vecMaxRef(x); got != want || want != 25 {
				t.Fatalf("n=%d off=%d: Max = %v, ref %v, want 25", n, off, got, want)
			}
			a, b := append([]float32{}, x...), append([]float32{}, x...)
			zg, zw := vecExpSumSIMD(a, 25), vecExpSumRef(b, 25)
			if math.Abs(zg-zw) > 2*float64(n)*vecU*zw || zw < 1 {
				t.Fatalf("n=%d off=%d: ExpSum = %v, want %v", n, off, zg, zw)
			}
			for i := range a {
				if want := float32(math.Exp(float64(x[i] - 25))); abs32(b[i]-want) > 4*vecU*want+1e-37 || abs32(a[i]-b[i]) > 8*vecU*b[i]+1e-37 {
					t.Fatalf("n=%d off=%d: exp(%v-25) = %v (ref %v), want %v", n, off, x[i], a[i], b[i], want)
				}
			}
		}
	}
}
