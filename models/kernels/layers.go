package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// lyParallelMin is the number of elements above which row-wise and
// elementwise kernels split their work over Parallel.
const lyParallelMin = 32 << 10

// lyBlocks calls fn(lo, hi) on blocks of [0, rows) whose union is [0, rows):
// serially when rows*width <= lyParallelMin, else on Parallel.
func lyBlocks(rows, width int, fn func(lo, hi int)) {
	w := Workers()
	if rows*width <= lyParallelMin || w <= 1 || rows < 2 {
		fn(0, rows)
		return
	}
	size := (rows + 4*w - 1) / (4 * w)
	size = max(size, (lyParallelMin/4+width-1)/max(width, 1)) // keep blocks worth a goroutine hand-off
	nb := (rows + size - 1) / size
	Parallel(nb, func(i int) { fn(i*size, min(rows, (i+1)*size)) })
}

// lyLen panics when a slice length differs from the one a kernel needs.
func lyLen(fn, name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("kernels: %s: len(%s) = %d, want %d", fn, name, got, want))
	}
}

// lyShape panics on negative dimensions.
func lyShape(fn string, dims ...int) {
	for _, d := range dims {
		if d < 0 {
			panic(fmt.Sprintf("kernels: %s: negative dimension %v", fn, dims))
		}
	}
}

// LayerNormForward normalises each row of x (rows x d) to zero mean and unit
// variance, without affine parameters, writing y (rows x d; y may be x):
//
//	mean_r  = (1/d) sum_i x[r,i]
//	var_r   = (1/d) sum_i (x[r,i] - mean_r)^2      (biased)
//	rstd[r] = 1 / sqrt(var_r + eps)
//	y[r,i]  = (x[r,i] - mean_r) * rstd[r]
//
// rstd (len rows) is saved for LayerNormBackward. Ba et al. 2016, arXiv
// 1607.06450. rows == 0 does nothing; d < 1 or mismatched lengths panic.
func LayerNormForward[T Float](x, y []T, rows, d int, eps float64, rstd []T) {
	const fn = "LayerNormForward"
	lyShape(fn, rows, d)
	if d < 1 {
		panic("kernels: LayerNormForward: d < 1")
	}
	lyLen(fn, "x", len(x), rows*d)
	lyLen(fn, "y", len(y), rows*d)
	lyLen(fn, "rstd", len(rstd), rows)
	inv := 1 / T(d)
	lyBlocks(rows, d, func(lo, hi int) {
		if is32[T]() {
			for r := lo; r < hi; r++ {
				xr, yr := f32s(x[r*d:(r+1)*d]), f32s(y[r*d:(r+1)*d])
				mean := vecSum(xr) * float32(inv)
				ss := vecCenter(xr, yr, mean)
				rs := float32(1 / math.Sqrt(float64(ss*float32(inv))+eps))
				vecScale(yr, rs)
				rstd[r] = T(rs)
			}
			return
		}
		for r := lo; r < hi; r++ {
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			var s T
			for _, v := range xr {
				s += v
			}
			mean := s * inv
			var ss T
			for i, v := range xr {
				c := v - mean
				yr[i] = c
				ss += c * c
			}
			rs := T(1 / math.Sqrt(float64(ss*inv)+eps))
			for i := range yr {
				yr[i] *= rs
			}
			rstd[r] = rs
		}
	})
}

// LayerNormBackward accumulates the input gradient of LayerNormForward from
// its saved output y (rows x d), rstd (rows) and the output gradient dy:
//
//	dx[r,i] += rstd[r] * (dy[r,i] - mean_j dy[r,j] - y[r,i] * mean_j dy[r,j] y[r,j])
//
// Mismatched lengths panic.
func LayerNormBackward[T Float](y, rstd, dy, dx []T, rows, d int) {
	const fn = "LayerNormBackward"
	lyShape(fn, rows, d)
	if d < 1 {
		panic("kernels: LayerNormBackward: d < 1")
	}
	lyLen(fn, "y", len(y), rows*d)
	lyLen(fn, "rstd", len(rstd), rows)
	lyLen(fn, "dy", len(dy), rows*d)
	lyLen(fn, "dx", len(dx), rows*d)
	inv := 1 / T(d)
	lyBlocks(rows, d, func(lo, hi int) {
		if is32[T]() {
			for r := lo; r < hi; r++ {
				yr, dyr, dxr := f32s(y[r*d:(r+1)*d]), f32s(dy[r*d:(r+1)*d]), f32s(dx[r*d:(r+1)*d])
				m, my := vecSum(dyr)*float32(inv), vecDot(dyr, yr)*float32(inv)
				vecLNGrad(yr, dyr, dxr, float32(rstd[r]), m, my)
			}
			return
		}
		for r := lo; r < hi; r++ {
			yr, dyr, dxr := y[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
			var s, sy T
			for i, g := range dyr {
				s += g
				sy += g * yr[i]
			}
			m, my, rs := s*inv, sy*inv, rstd[r]
			for i, g := range dyr {
				dxr[i] += rs * (g - m - yr[i]*my)
			}
		}
	})
}

// lyMap2 checks that a and b have equal lengths and calls fn on matching
// blocks of [0, len(a)), in parallel when large.
func lyMap2[T Float](fn string, a, b []T, f func(lo, hi int)) {
	lyLen(fn, "y", len(b), len(a))
	lyBlocks(len(a), 1, f)
}

// lyMap3 is lyMap2 for x, dy, dx.
func lyMap3[T Float](fn string, x, dy, dx []T, f func(lo, hi int)) {
	lyLen(fn, "dy", len(dy), len(x))
	lyLen(fn, "dx", len(dx), len(x))
	lyBlocks(len(x), 1, f)
}

// SiLUForward writes y = SiLU(x) elementwise (y may be x):
//
//	y = x * sigmoid(x)
//
// Elfwing et al. 2017, arXiv 1702.03118. Mismatched lengths panic.
func SiLUForward[T Float](x, y []T) {
	lyMap2("SiLUForward", x, y, func(lo, hi int) {
		if is32[T]() {
			vecSiLU(f32s(x[lo:hi]), f32s(y[lo:hi]))
			return
		}
		for i := lo; i < hi; i++ {
			y[i] = x[i] * Sigmoid(x[i])
		}
	})
}

// SiLUBackward accumulates the input gradient of SiLUForward:
//
//	dx += dy * sigmoid(x) * (1 + x * (1 - sigmoid(x)))
//
// Mismatched lengths panic.
func SiLUBackward[T Float](x, dy, dx []T) {
	lyMap3("SiLUBackward", x, dy, dx, func(lo, hi int) {
		if is32[T]() {
			vecSiLUGrad(f32s(x[lo:hi]), f32s(dy[lo:hi]), f32s(dx[lo:hi]))
			return
		}
		for i := lo; i < hi; i++ {
			s := Sigmoid(x[i])
			dx[i] += dy[i] * s * (1 + x[i]*(1-s))
		}
	})
}

// GELUForward writes y = GELU(x) elementwise with the exact erf form
// (torch.nn.functional.gelu's default; y may be x):
//
//	y = x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2)))
//
// Hendrycks & Gimpel 2016, arXiv 1606.08415. Mismatched lengths panic.
func GELUForward[T Float](x, y []T) {
	lyMap2("GELUForward", x, y, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			y[i] = T(0.5 * v * (1 + math.Erf(v/math.Sqrt2)))
		}
	})
}

// GELUBackward accumulates the input gradient of GELUForward:
//
//	dx += dy * (Phi(x) + x * exp(-x^2/2) / sqrt(2 pi))
//
// Mismatched lengths panic.
func GELUBackward[T Float](x, dy, dx []T) {
	const invSqrt2Pi = 0.3989422804014327
	lyMap3("GELUBackward", x, dy, dx, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			v := float64(x[i])
			g := 0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-0.5*v*v)*invSqrt2Pi
			dx[i] += dy[i] * T(g)
		}
	})
}

// ReLUForward writes y = max(x, 0) elementwise (y may be x). Mismatched
// lengths panic.
func ReLUForward[T Float](x, y []T) {
	lyMap2("ReLUForward", x, y, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			y[i] = max(x[i], 0)
		}
	})
}

// ReLUBackward accumulates the input gradient of ReLUForward (0 at x == 0):
//
//	dx += dy * [x > 0]
//
// Mismatched lengths panic.
func ReLUBackward[T Float](x, dy, dx []T) {
	lyMap3("ReLUBackward", x, dy, dx, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if x[i] > 0 {
				dx[i] += dy[i]
			}
		}
	})
}

// LinearForward computes a dense layer with Gemm, overwriting y:
//
//	y (m x n) = x (m x k) w (k x n) + b (n, broadcast over rows)
//
// A nil b means no bias. k == 0 gives y = b (or 0). Mismatched lengths panic.
func LinearForward[T Float](x, w, b, y []T, m, k, n int) {
	const fn = "LinearForward"
	lyShape(fn, m, k, n)
	lyLen(fn, "x", len(x), m*k)
	lyLen(fn, "w", len(w), k*n)
	lyLen(fn, "y", len(y), m*n)
	if b != nil {
		lyLen(fn, "b", len(b), n)
	}
	if m == 0 || n == 0 {
		return
	}
	var beta T
	if b != nil {
		lyBlocks(m, n, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				copy(y[r*n:(r+1)*n], b)
			}
		})
		beta = 1
	} else if k == 0 {
		clear(y)
	}
	if k > 0 {
		Gemm(false, false, m, n, k, 1, x, k, w, n, beta, y, n)
	}
}

// LinearBackward accumulates the gradients of LinearForward from dy (m x n):
//
//	dx (m x k) += dy w^T
//	dw (k x n) += x^T dy
//	db (n)     += sum over rows of dy
//
// A nil dx, dw or db skips that gradient. Mismatched lengths panic.
func LinearBackward[T Float](x, w, dy, dx, dw, db []T, m, k, n int) {
	const fn = "LinearBackward"
	lyShape(fn, m, k, n)
	lyLen(fn, "x", len(x), m*k)
	lyLen(fn, "w", len(w), k*n)
	lyLen(fn, "dy", len(dy), m*n)
	if dx != nil {
		lyLen(fn, "dx", len(dx), m*k)
	}
	if dw != nil {
		lyLen(fn, "dw", len(dw), k*n)
	}
	if db != nil {
		lyLen(fn, "db", len(db), n)
	}
	if m == 0 || n == 0 {
		return
	}
	if dx != nil && k > 0 {
		Gemm(false, true, m, k, n, 1, dy, n, w, n, 1, dx, k)
	}
	if dw != nil && k > 0 {
		Gemm(true, false, k, n, m, 1, x, k, dy, n, 1, dw, n)
	}
	if db != nil {
		lyColumnSums(dy, db, m, n)
	}
}

// lyColumnSums adds the column sums of a (m x n) to s (n), reducing partial
// sums of row blocks when a is large.
func lyColumnSums[T Float](a, s []T, m, n int) {
	w := Workers()
	if m*n <= lyParallelMin || w <= 1 {
		for r := range m {
			Axpy(1, a[r*n:(r+1)*n], s)
		}
		return
	}
	nb := min(w, m)
	size := (m + nb - 1) / nb
	nb = (m + size - 1) / size
	part := make([]T, nb*n)
	Parallel(nb, func(i int) {
		p := part[i*n : (i+1)*n]
		for r := i * size; r < min(m, (i+1)*size); r++ {
			Axpy(1, a[r*n:(r+1)*n], p)
		}
	})
	for i := range nb {
		Axpy(1, part[i*n:(i+1)*n], s)
	}
}

// L2NormalizeForward scales each row of x (rows x d) to unit Euclidean norm,
// writing y (rows x d; y may be x) and the clamped norms (rows):
//
//	norms[r] = max(||x[r]||_2, eps)
//	y[r]     = x[r] / norms[r]
//
// With eps > 0 an all-zero row gives a zero y row. Mismatched lengths panic.
func L2NormalizeForward[T Float](x, y, norms []T, rows, d int, eps float64) {
	const fn = "L2NormalizeForward"
	lyShape(fn, rows, d)
	lyLen(fn, "x", len(x), rows*d)
	lyLen(fn, "y", len(y), rows*d)
	lyLen(fn, "norms", len(norms), rows)
	e := T(eps)
	lyBlocks(rows, d, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			nr := max(Sqrt(Dot(xr, xr)), e)
			inv := 1 / nr
			for i, v := range xr {
				yr[i] = v * inv
			}
			norms[r] = nr
		}
	})
}

// L2NormalizeBackward accumulates the input gradient of L2NormalizeForward
// from its saved output y, norms and the output gradient dy:
//
//	dx[r] += (dy[r] - y[r] <dy[r], y[r]>) / norms[r]    where norms[r] > eps
//	dx[r] += dy[r] / eps                                where the norm was clamped
//
// Mismatched lengths panic.
func L2NormalizeBackward[T Float](y, norms, dy, dx []T, rows, d int, eps float64) {
	const fn = "L2NormalizeBackward"
	lyShape(fn, rows, d)
	lyLen(fn, "y", len(y), rows*d)
	lyLen(fn, "norms", len(norms), rows)
	lyLen(fn, "dy", len(dy), rows*d)
	lyLen(fn, "dx", len(dx), rows*d)
	e := T(eps)
	lyBlocks(rows, d, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			yr, dyr, dxr := y[r*d:(r+1)*d], dy[r*d:(r+1)*d], dx[r*d:(r+1)*d]
			nr := norms[r]
			if !(nr > e) {
				Axpy(1/e, dyr, dxr)
				continue
			}
			dot, inv := Dot(dyr, yr), 1/nr
			for i, g := range dyr {
				dxr[i] += (g - yr[i]*dot) * inv
			}
		}
	})
}

// DropoutForward zeroes each element of x with probability p and scales the
// kept ones (inverted dropout), writing y (y may be x) and mask:
//
//	mask[i] ~ Bernoulli(1 - p)
//	y[i]    = x[i] * mask[i] / (1 - p)
//
// p == 0 copies x and sets mask all true (rng may then be nil). Draws one
// rng.Float64 per element, serially. Srivastava et al. 2014, JMLR 15(56).
// p outside [0, 1), a nil rng with p > 0 or mismatched lengths panic.
func DropoutForward[T Float](x, y []T, p float64, rng *rand.Rand, mask []bool) {
	const fn = "DropoutForward"
	lyLen(fn, "y", len(y), len(x))
	lyLen(fn, "mask", len(mask), len(x))
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("kernels: DropoutForward: p = %v outside [0, 1)", p))
	}
	if p == 0 {
		copy(y, x)
		for i := range mask {
			mask[i] = true
		}
		return
	}
	if rng == nil {
		panic("kernels: DropoutForward: nil rng with p > 0")
	}
	scale := T(1 / (1 - p))
	for i, v := range x {
		keep := rng.Float64() >= p
		mask[i] = keep
		if keep {
			y[i] = v * scale
		} else {
			y[i] = 0
		}
	}
}

// DropoutBackward accumulates the input gradient of DropoutForward:
//
//	dx[i] += dy[i] * mask[i] / (1 - p)
//
// p outside [0, 1) or mismatched lengths panic.
func DropoutBackward[T Float](mask []bool, p float64, dy, dx []T) {
	const fn = "DropoutBackward"
	lyLen(fn, "dy", len(dy), len(mask))
	lyLen(fn, "dx", len(dx), len(mask))
	if !(p >= 0 && p < 1) {
		panic(fmt.Sprintf("kernels: DropoutBackward: p = %v outside [0, 1)", p))
	}
	scale := T(1 / (1 - p))
	lyBlocks(len(mask), 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if mask[i] {
				dx[i] += dy[i] * scale
			}
		}
	})
}

// AddTo adds x to y elementwise (a residual connection):
//
//	y += x
//
// Mismatched lengths panic.
func AddTo[T Float](y, x []T) {
	lyLen("AddTo", "x", len(x), len(y))
	lyBlocks(len(y), 1, func(lo, hi int) {
		if is32[T]() {
			vecAdd(f32s(y[lo:hi]), f32s(x[lo:hi]))
			return
		}
		for i := lo; i < hi; i++ {
			y[i] += x[i]
		}
	})
}

// ScaleBy multiplies x by s in place:
//
//	x *= s
func ScaleBy[T Float](x []T, s T) {
	lyBlocks(len(x), 1, func(lo, hi int) {
		if is32[T]() {
			vecScale(f32s(x[lo:hi]), float32(s))
			return
		}
		for i := lo; i < hi; i++ {
			x[i] *= s
		}
	})
}
