//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"simd/archsimd"
)

// The AVX-512 implementations of vec.go's kernels: 16 float32 lanes, the
// tail (len % 16) through the masked SlicePart loads and stores, which pad
// with zeros (harmless in every sum below). Every kernel ends with
// ClearAVXUpperBits (VZEROUPPER): Go 1.26 does not emit it, and the scalar
// SSE code that runs next was then ~500 ns slower per call (BenchmarkVec
// dot n=64: 530 ns without, 22 ns with).

func simdAvailable() bool { return archsimd.X86.AVX512() }

type f16 = archsimd.Float32x16

func bc(v float32) f16 { return archsimd.BroadcastFloat32x16(v) }

// vecDotSIMD keeps two 16-lane partial sums (i mod 32 < 16 and >= 16) and
// adds their lanes in order at the end. Products are rounded before the
// add, as in the reference.
func vecDotSIMD(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	var s0, s1 f16
	i := 0
	for ; i+32 <= n; i += 32 {
		s0 = s0.Add(archsimd.LoadFloat32x16Slice(x[i:]).Mul(archsimd.LoadFloat32x16Slice(y[i:])))
		s1 = s1.Add(archsimd.LoadFloat32x16Slice(x[i+16:]).Mul(archsimd.LoadFloat32x16Slice(y[i+16:])))
	}
	for ; i < n; i += 16 {
		s0 = s0.Add(archsimd.LoadFloat32x16SlicePart(x[i:]).Mul(archsimd.LoadFloat32x16SlicePart(y[i:])))
	}
	var lanes [16]float32
	s0.Add(s1).Store(&lanes)
	archsimd.ClearAVXUpperBits()
	var s float32
	for _, v := range lanes {
		s += v
	}
	return s
}

// vecAxpySIMD is y += a*x, multiply then add, bit for bit the reference.
func vecAxpySIMD(a float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	av := bc(a)
	i := 0
	for ; i+16 <= n; i += 16 {
		archsimd.LoadFloat32x16Slice(x[i:]).Mul(av).Add(archsimd.LoadFloat32x16Slice(y[i:])).StoreSlice(y[i:])
	}
	if i < n {
		archsimd.LoadFloat32x16SlicePart(x[i:]).Mul(av).Add(archsimd.LoadFloat32x16SlicePart(y[i:])).StoreSlicePart(y[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// vecAddSIMD is y += x (exact, as the reference).
func vecAddSIMD(y, x []float32) {
	n := len(y)
	x = x[:n]
	i := 0
	for ; i+16 <= n; i += 16 {
		archsimd.LoadFloat32x16Slice(y[i:]).Add(archsimd.LoadFloat32x16Slice(x[i:])).StoreSlice(y[i:])
	}
	if i < n {
		archsimd.LoadFloat32x16SlicePart(y[i:]).Add(archsimd.LoadFloat32x16SlicePart(x[i:])).StoreSlicePart(y[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// vecScaleSIMD is x *= s (exact, as the reference).
func vecScaleSIMD(x []float32, s float32) {
	n := len(x)
	sv := bc(s)
	i := 0
	for ; i+16 <= n; i += 16 {
		archsimd.LoadFloat32x16Slice(x[i:]).Mul(sv).StoreSlice(x[i:])
	}
	if i < n {
		archsimd.LoadFloat32x16SlicePart(x[i:]).Mul(sv).StoreSlicePart(x[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// exp16 is exp32 on 16 lanes: x clamped to [-87, 88], n = round(x log2 e)
// (to even), r = x - n ln 2 in two fused steps (Cody-Waite), the Cephes
// expf polynomial by Horner with fused multiply-adds, and 2^n applied with
// VSCALEFPS. It differs from exp32 by at most a few ulps (the fused steps
// round once where exp32 rounds twice).
func exp16(x f16) f16 {
	x = x.Max(bc(-87)).Min(bc(88))
	n := x.Mul(bc(math.Log2E)).RoundToEvenScaled(0)
	r := n.MulAdd(bc(-0.693359375), x)
	r = n.MulAdd(bc(2.12194440e-4), r)
	p := bc(1.9875691500e-4).MulAdd(r, bc(1.3981999507e-3))
	p = p.MulAdd(r, bc(8.3334519073e-3))
	p = p.MulAdd(r, bc(4.1665795894e-2))
	p = p.MulAdd(r, bc(1.6666665459e-1))
	p = p.MulAdd(r, bc(5.0000001201e-1))
	e := p.Mul(r).MulAdd(r, r.Add(bc(1)))
	return e.Scale(n)
}

// sigmoid16 is 1 / (1 + exp16(-x)).
func sigmoid16(x f16) f16 {
	one := bc(1)
	return one.Div(one.Add(exp16(x.Mul(bc(-1)))))
}

// vecSiLUSIMD is y = x * sigmoid(x); y may be x.
func vecSiLUSIMD(x, y []float32) {
	n := len(x)
	y = y[:n]
	i := 0
	for ; i+16 <= n; i += 16 {
		v := archsimd.LoadFloat32x16Slice(x[i:])
		v.Mul(sigmoid16(v)).StoreSlice(y[i:])
	}
	if i < n {
		v := archsimd.LoadFloat32x16SlicePart(x[i:])
		v.Mul(sigmoid16(v)).StoreSlicePart(y[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// vecSiLUGradSIMD is dx += dy * s * (1 + x*(1-s)), s = sigmoid(x).
func vecSiLUGradSIMD(x, dy, dx []float32) {
	n := len(x)
	dy, dx = dy[:n], dx[:n]
	one := bc(1)
	g := func(v, d, acc f16) f16 {
		s := sigmoid16(v)
		return d.Mul(s).MulAdd(v.MulAdd(one.Sub(s), one), acc)
	}
	i := 0
	for ; i+16 <= n; i += 16 {
		g(archsimd.LoadFloat32x16Slice(x[i:]), archsimd.LoadFloat32x16Slice(dy[i:]), archsimd.LoadFloat32x16Slice(dx[i:])).StoreSlice(dx[i:])
	}
	if i < n {
		g(archsimd.LoadFloat32x16SlicePart(x[i:]), archsimd.LoadFloat32x16SlicePart(dy[i:]), archsimd.LoadFloat32x16SlicePart(dx[i:])).StoreSlicePart(dx[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// hsum adds the 16 lanes of v in order.
func hsum(v f16) float32 {
	var lanes [16]float32
	v.Store(&lanes)
	var s float32
	for _, l := range lanes {
		s += l
	}
	return s
}

// vecSumSIMD is sum_i x[i] in 16 lane-wise partial sums.
func vecSumSIMD(x []float32) float32 {
	n := len(x)
	var s f16
	for i := 0; i < n; i += 16 {
		s = s.Add(archsimd.LoadFloat32x16SlicePart(x[i:]))
	}
	r := hsum(s)
	archsimd.ClearAVXUpperBits()
	return r
}

// vecCenterSIMD writes y = x - mean (y may be x) and returns sum_i y[i]^2;
// the padded tail lanes are zeroed before they reach the sum.
func vecCenterSIMD(x, y []float32, mean float32) float32 {
	n := len(x)
	y = y[:n]
	mv := bc(mean)
	var ss f16
	i := 0
	for ; i+16 <= n; i += 16 {
		c := archsimd.LoadFloat32x16Slice(x[i:]).Sub(mv)
		c.StoreSlice(y[i:])
		ss = ss.Add(c.Mul(c))
	}
	if i < n {
		c := archsimd.LoadFloat32x16SlicePart(x[i:]).Sub(mv)
		c.StoreSlicePart(y[i:])
		c = archsimd.LoadFloat32x16SlicePart(y[i:])
		ss = ss.Add(c.Mul(c))
	}
	r := hsum(ss)
	archsimd.ClearAVXUpperBits()
	return r
}

// vecLNGradSIMD is dx += rs * (dy - m - y*my), the operations of the
// reference in its order (bit for bit).
func vecLNGradSIMD(y, dy, dx []float32, rs, m, my float32) {
	n := len(dy)
	y, dx = y[:n], dx[:n]
	rv, mv, myv := bc(rs), bc(m), bc(my)
	i := 0
	for ; i+16 <= n; i += 16 {
		g := archsimd.LoadFloat32x16Slice(dy[i:]).Sub(mv).Sub(archsimd.LoadFloat32x16Slice(y[i:]).Mul(myv))
		archsimd.LoadFloat32x16Slice(dx[i:]).Add(rv.Mul(g)).StoreSlice(dx[i:])
	}
	if i < n {
		g := archsimd.LoadFloat32x16SlicePart(dy[i:]).Sub(mv).Sub(archsimd.LoadFloat32x16SlicePart(y[i:]).Mul(myv))
		archsimd.LoadFloat32x16SlicePart(dx[i:]).Add(rv.Mul(g)).StoreSlicePart(dx[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// vecMaxSIMD is max_i x[i] over 16 lanes; the padded tail is filled with
// x[0] so its zeros cannot win.
func vecMaxSIMD(x []float32) float32 {
	n := len(x)
	mv := bc(x[0])
	i := 0
	for ; i+16 <= n; i += 16 {
		mv = mv.Max(archsimd.LoadFloat32x16Slice(x[i:]))
	}
	var lanes [16]float32
	mv.Store(&lanes)
	archsimd.ClearAVXUpperBits()
	mx := lanes[0]
	for _, l := range lanes {
		mx = max(mx, l)
	}
	for _, v := range x[i:] {
		mx = max(mx, v)
	}
	return mx
}

// vecExpSumSIMD is x[i] = exp16(x[i] - m) with 16 lane-wise float32 partial
// sums, added in float64 at the end; the tail goes through the scalar
// reference so padding adds nothing.
func vecExpSumSIMD(x []float32, m float32) float64 {
	n := len(x)
	mv := bc(m)
	var s f16
	i := 0
	for ; i+16 <= n; i += 16 {
		e := exp16(archsimd.LoadFloat32x16Slice(x[i:]).Sub(mv))
		e.StoreSlice(x[i:])
		s = s.Add(e)
	}
	var lanes [16]float32
	s.Store(&lanes)
	archsimd.ClearAVXUpperBits()
	var z float64
	for _, l := range lanes {
		z += float64(l)
	}
	return z + vecExpSumRef(x[i:], m)
}
