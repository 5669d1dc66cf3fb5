package kernels

import (
	"math"
	"runtime"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// Float is the element type of every kernel.
type Float interface{ ~float32 | ~float64 }

// Gemm computes C = alpha * op(A) op(B) + beta * C with op(X) = X or X^T as
// transA/transB say; op(A) is m x k, op(B) is k x n, C is m x n, all
// row-major with leading dimensions lda, ldb, ldc.
func Gemm[T Float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	switch a := any(a).(type) {
	case []float32:
		blas32.Implementation().Sgemm(ta, tb, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(ta, tb, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	default:
		panic("kernels: unsupported float type")
	}
}

// MatMul computes C (m x n) = A (m x k) B (k x n), overwriting C.
func MatMul[T Float](a, b, c []T, m, k, n int) {
	Gemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
}

// Dot returns sum_i x[i]*y[i].
func Dot[T Float](x, y []T) T {
	if is32[T]() {
		return T(vecDot(f32s(x), f32s(y)))
	}
	var s T
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

// Axpy computes y += alpha*x.
func Axpy[T Float](alpha T, x, y []T) {
	if is32[T]() {
		vecAxpy(float32(alpha), f32s(x), f32s(y))
		return
	}
	for i := range x {
		y[i] += alpha * x[i]
	}
}

// Sigmoid returns 1/(1+exp(-x)); in float32 through exp32, without a
// round trip through float64.
func Sigmoid[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(1 / (1 + exp32(-float32(x))))
	}
	return T(1 / (1 + math.Exp(-float64(x))))
}

// Exp is math.Exp in T (float32 through exp32, about 1 ulp).
func Exp[T Float](x T) T {
	if unsafe.Sizeof(x) == 4 {
		return T(exp32(float32(x)))
	}
	return T(math.Exp(float64(x)))
}

// Sqrt is math.Sqrt in T.
func Sqrt[T Float](x T) T { return T(math.Sqrt(float64(x))) }

// Parallel calls fn(i) for i in [0, n) on up to Workers() goroutines and
// returns when all calls have. Calls for different i must not write the same
// memory.
func Parallel(n int, fn func(i int)) {
	w := min(Workers(), n)
	if w <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range w {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if int(i) >= n {
					return
				}
				fn(int(i))
			}
		}()
	}
	wg.Wait()
}

var workers = runtime.GOMAXPROCS(0)

// Workers is the number of goroutines Parallel uses (GOMAXPROCS at start-up).
func Workers() int { return workers }

// SetWorkers sets the number of goroutines Parallel uses; n < 1 means 1.
// Not safe to call while kernels run.
func SetWorkers(n int) { workers = max(1, n) }

// exp32 is exp(x) in float32 to about 1 ulp, without a call into
// float64: x = n ln 2 + r with |r| <= ln 2 / 2, exp(r) by the Cephes expf
// polynomial, 2^n by building the exponent bits. x is clamped to
// [-87, 88], so exp of very negative x is ~1e-38 rather than 0 and of
// large x ~1.6e38 rather than +Inf; NaN gives NaN (through p). Small enough
// to inline.
func exp32(x float32) float32 {
	if x < -87 {
		x = -87
	} else if x > 88 {
		x = 88
	}
	n := (x*math.Log2E + 0x1.8p23) - 0x1.8p23 // round to an integer
	r := x - n*0.693359375 + n*2.12194440e-4
	p := ((((1.9875691500e-4*r+1.3981999507e-3)*r+8.3334519073e-3)*r+4.1665795894e-2)*r+1.6666665459e-1)*r + 5.0000001201e-1
	return (p*r*r + r + 1) * math.Float32frombits(uint32(int32(n)+127)<<23)
}
