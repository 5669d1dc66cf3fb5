package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Size ladder of the dense layers, float32, at the batch shapes of training:
// 128 sequences of 50 (Books) or 200 (ML-1M) positions.
//
//	go test ./models/kernels/ -run '^$' -bench 'Linear|LayerNorm|SoftmaxAttention' -benchtime 3x

// lyBenchRows are the row counts of a batch: B*L for B = 128, L = 50, 200.
var lyBenchRows = []int{128 * 50, 128 * 200}

func lyRand32(rng *rand.Rand, n int) []float32 {
	return lyConv[float32](randSlice(rng, n, 1))
}

func BenchmarkLinearForwardBackward(b *testing.B) {
	const k, n = 64, 256
	for _, m := range lyBenchRows {
		b.Run(fmt.Sprintf("m=%d/k=%d/n=%d", m, k, n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			x, w, bias := lyRand32(rng, m*k), lyRand32(rng, k*n), lyRand32(rng, n)
			y, dy := make([]float32, m*n), lyRand32(rng, m*n)
			dx, dw, db := make([]float32, m*k), make([]float32, k*n), make([]float32, n)
			b.ResetTimer()
			for range b.N {
				LinearForward(x, w, bias, y, m, k, n)
				LinearBackward(x, w, dy, dx, dw, db, m, k, n)
			}
			b.ReportMetric(float64(6*m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkLayerNormForwardBackward(b *testing.B) {
	const d = 64
	for _, rows := range lyBenchRows {
		b.Run(fmt.Sprintf("rows=%d/d=%d", rows, d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x, dy := lyRand32(rng, rows*d), lyRand32(rng, rows*d)
			y, rstd, dx := make([]float32, rows*d), make([]float32, rows), make([]float32, rows*d)
			b.SetBytes(int64(5 * 4 * rows * d)) // x, y written, y, dy, dx read / written
			b.ResetTimer()
			for range b.N {
				LayerNormForward(x, y, rows, d, 1e-6, rstd)
				LayerNormBackward(y, rstd, dy, dx, rows, d)
			}
		})
	}
}

func BenchmarkSoftmaxAttentionForwardBackward(b *testing.B) {
	const B = 128
	for _, L := range []int{50, 200} {
		for _, H := range []int{1, 2} {
			for _, D := range []int{50, 64} {
				a := SoftmaxAttention{B: B, L: L, H: H, DK: D, DV: D}
				b.Run(fmt.Sprintf("B=%d/L=%d/H=%d/D=%d", B, L, H, D), func(b *testing.B) {
					rng := rand.New(rand.NewPCG(1, 3))
					rows := B * L
					q, k, v := lyRand32(rng, rows*H*D), lyRand32(rng, rows*H*D), lyRand32(rng, rows*H*D)
					dOut := lyRand32(rng, rows*H*D)
					lens := make([]int, B)
					for i := range lens {
						lens[i] = L // full sequences: the worst case
					}
					out, probs := make([]float32, rows*H*D), make([]float32, B*H*L*L)
					dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
					b.ResetTimer()
					for range b.N {
						SoftmaxAttentionForward(a, q, k, v, lens, out, probs)
						SoftmaxAttentionBackward(a, q, k, v, lens, probs, dOut, dq, dk, dv)
					}
					// Six L x L x D gemms per (b, h): two forward, four backward.
					flop := 6 * 2 * float64(B*H*L*L*D)
					b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
