package kernels

import (
	"os"
	"unsafe"
)

// The float32 vector kernels below are the element-wise hot loops of the
// layers (SiLU, Dot, Axpy, AddTo, ScaleBy). Each has a scalar reference
// (vec*Ref, plain Go, the behaviour of the code before vectorisation) and,
// on amd64 built with GOEXPERIMENT=simd on a CPU with AVX-512, an
// implementation on simd/archsimd 16-lane vectors (vec_simd_amd64.go).
// Elsewhere, or with the environment variable GENREC_SIMD=off, the
// reference runs. Both are deterministic and independent of the number of
// goroutines; they differ in the last bits (lane-wise partial sums in Dot,
// fused multiply-add in exp), within the bounds stated in vec_test.go.

// simdOn says whether the vector implementations run.
var simdOn = simdAvailable() && os.Getenv("GENREC_SIMD") != "off"

// SIMD reports whether the float32 kernels run on vector instructions
// (AVX-512 through simd/archsimd) in this process.
func SIMD() bool { return simdOn }

func vecDot(x, y []float32) float32 {
	if simdOn {
		return vecDotSIMD(x, y)
	}
	return vecDotRef(x, y)
}

func vecAxpy(a float32, x, y []float32) {
	if simdOn {
		vecAxpySIMD(a, x, y)
		return
	}
	vecAxpyRef(a, x, y)
}

func vecAdd(y, x []float32) {
	if simdOn {
		vecAddSIMD(y, x)
		return
	}
	vecAddRef(y, x)
}

func vecScale(x []float32, s float32) {
	if simdOn {
		vecScaleSIMD(x, s)
		return
	}
	vecScaleRef(x, s)
}

func vecSiLU(x, y []float32) {
	if simdOn {
		vecSiLUSIMD(x, y)
		return
	}
	vecSiLURef(x, y)
}

func vecSiLUGrad(x, dy, dx []float32) {
	if simdOn {
		vecSiLUGradSIMD(x, dy, dx)
		return
	}
	vecSiLUGradRef(x, dy, dx)
}

// vecDotRef is sum_i x[i]*y[i], left to right.
func vecDotRef(x, y []float32) float32 {
	var s float32
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

// vecAxpyRef is y += a*x.
func vecAxpyRef(a float32, x, y []float32) {
	for i := range x {
		y[i] += a * x[i]
	}
}

// vecAddRef is y += x.
func vecAddRef(y, x []float32) {
	for i := range y {
		y[i] += x[i]
	}
}

// vecScaleRef is x *= s.
func vecScaleRef(x []float32, s float32) {
	for i := range x {
		x[i] *= s
	}
}

// vecSiLURef is y = x * sigmoid(x), sigmoid through exp32.
func vecSiLURef(x, y []float32) {
	for i := range x {
		y[i] = x[i] * Sigmoid(x[i])
	}
}

// vecSiLUGradRef is dx += dy * s * (1 + x*(1-s)), s = sigmoid(x).
func vecSiLUGradRef(x, dy, dx []float32) {
	for i := range x {
		s := Sigmoid(x[i])
		dx[i] += dy[i] * s * (1 + x[i]*(1-s))
	}
}

// is32 reports whether T is 4 bytes wide (float32 or a type defined on it);
// a constant per instantiation.
func is32[T Float]() bool {
	var z T
	return unsafe.Sizeof(z) == 4
}

// f32s views x, whose T is 4 bytes wide (is32), as []float32.
func f32s[T Float](x []T) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

func vecSum(x []float32) float32 {
	if simdOn {
		return vecSumSIMD(x)
	}
	return vecSumRef(x)
}

func vecCenter(x, y []float32, mean float32) float32 {
	if simdOn {
		return vecCenterSIMD(x, y, mean)
	}
	return vecCenterRef(x, y, mean)
}

func vecLNGrad(y, dy, dx []float32, rs, m, my float32) {
	if simdOn {
		vecLNGradSIMD(y, dy, dx, rs, m, my)
		return
	}
	vecLNGradRef(y, dy, dx, rs, m, my)
}

// vecSumRef is sum_i x[i], left to right.
func vecSumRef(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

// vecCenterRef writes y = x - mean (y may be x) and returns sum_i y[i]^2.
func vecCenterRef(x, y []float32, mean float32) float32 {
	var ss float32
	for i, v := range x {
		c := v - mean
		y[i] = c
		ss += c * c
	}
	return ss
}

// vecLNGradRef is LayerNormBackward's row update
// dx += rs * (dy - m - y*my).
func vecLNGradRef(y, dy, dx []float32, rs, m, my float32) {
	for i, g := range dy {
		dx[i] += rs * (g - m - y[i]*my)
	}
}

// vecMax returns max_i x[i] (len(x) > 0); the SIMD path does not carry a
// NaN through, but vecExpSum then turns the NaN element into a NaN sum.
func vecMax(x []float32) float32 {
	if simdOn {
		return vecMaxSIMD(x)
	}
	return vecMaxRef(x)
}

// vecExpSum overwrites x[i] with exp(x[i] - m) and returns their sum: the
// softmax numerators and denominator of a row whose maximum is m.
func vecExpSum(x []float32, m float32) float64 {
	if simdOn {
		return vecExpSumSIMD(x, m)
	}
	return vecExpSumRef(x, m)
}

// vecMaxRef is max_i x[i], left to right.
func vecMaxRef(x []float32) float32 {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	return mx
}

// vecExpSumRef is x[i] = exp32(x[i] - m), summed left to right in float64.
func vecExpSumRef(x []float32, m float32) float64 {
	var z float64
	for i, v := range x {
		e := exp32(v - m)
		x[i] = e
		z += float64(e)
	}
	return z
}
