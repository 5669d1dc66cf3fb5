package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkVec times each vector kernel and its scalar reference on a
// size ladder (64 = one HSTU row at d=64; 64Ki = a batch's activations).
func BenchmarkVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{64, 4096, 64 << 10} {
		x, y, z := vecRand(rng, n, 4), vecRand(rng, n, 4), vecRand(rng, n, 4)
		for _, k := range []struct {
			name      string
			simd, ref func()
		}{
			{"dot", func() { vecDotSIMD(x, y) }, func() { vecDotRef(x, y) }},
			{"axpy", func() { vecAxpySIMD(0.5, x, y) }, func() { vecAxpyRef(0.5, x, y) }},
			{"silu", func() { vecSiLUSIMD(x, z) }, func() { vecSiLURef(x, z) }},
			{"silu_grad", func() { vecSiLUGradSIMD(x, y, z) }, func() { vecSiLUGradRef(x, y, z) }},
		} {
			for _, v := range []struct {
				impl string
				f    func()
			}{{"simd", k.simd}, {"scalar", k.ref}} {
				b.Run(fmt.Sprintf("%s/%s/n=%d", k.name, v.impl, n), func(b *testing.B) {
					b.SetBytes(int64(4 * n))
					for range b.N {
						v.f()
					}
				})
			}
		}
	}
}
