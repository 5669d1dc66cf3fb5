//go:build !(goexperiment.simd && amd64)

package kernels

// Without GOEXPERIMENT=simd on amd64 the vector kernels are their scalar
// references.

func simdAvailable() bool { return false }

func vecDotSIMD(x, y []float32) float32     { return vecDotRef(x, y) }
func vecAxpySIMD(a float32, x, y []float32) { vecAxpyRef(a, x, y) }
func vecAddSIMD(y, x []float32)             { vecAddRef(y, x) }
func vecScaleSIMD(x []float32, s float32)   { vecScaleRef(x, s) }
func vecSiLUSIMD(x, y []float32)            { vecSiLURef(x, y) }
func vecSiLUGradSIMD(x, dy, dx []float32)   { vecSiLUGradRef(x, dy, dx) }

func vecSumSIMD(x []float32) float32                       { return vecSumRef(x) }
func vecCenterSIMD(x, y []float32, mean float32) float32   { return vecCenterRef(x, y, mean) }
func vecLNGradSIMD(y, dy, dx []float32, rs, m, my float32) { vecLNGradRef(y, dy, dx, rs, m, my) }

func vecMaxSIMD(x []float32) float32               { return vecMaxRef(x) }
func vecExpSumSIMD(x []float32, m float32) float64 { return vecExpSumRef(x, m) }
