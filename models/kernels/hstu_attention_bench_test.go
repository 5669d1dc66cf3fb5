package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Size ladder of HSTU attention, float32, at the batch shapes of training:
// 128 full sequences of 50 (Books) or 200 (ML-1M) positions, one head of
// 50 dims, both biases, and ML-1M with a 32-position window (with and
// without two summaries). seq/s counts sequences of the batch per second.
//
//	go test ./models/kernels/ -run '^$' -bench HSTU -benchtime 3x

var hstuBenchShapes = []HSTUAttention{
	{B: 128, L: 50, H: 1, DQK: 50, DV: 50},
	{B: 128, L: 200, H: 1, DQK: 50, DV: 50},
	{B: 128, L: 200, H: 1, DQK: 50, DV: 50, Window: 32},
	{B: 128, L: 200, H: 1, DQK: 50, DV: 50, Window: 32, Summaries: 2},
}

func BenchmarkHSTUAttention(b *testing.B) {
	for _, a := range hstuBenchShapes {
		for _, pass := range []string{"forward", "forward+backward"} {
			name := fmt.Sprintf("%s/B=%d/L=%d/H=%d/D=%d/W=%d/S=%d", pass, a.B, a.L, a.H, a.DQK, a.Window, a.Summaries)
			b.Run(name, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(20, 8))
				lens := make([]int, a.B)
				for i := range lens {
					lens[i] = a.L // full sequences: the worst case
				}
				in := newHSTUInputs(rng, a, lens, true, true)
				q, k, v := hstuConv[float32](in.q), hstuConv[float32](in.k), hstuConv[float32](in.v)
				pos, tb := hstuConv[float32](in.posBias), hstuConv[float32](in.timeBias)
				out, dOut := make([]float32, len(v)), hstuConv[float32](randSlice(rng, len(v), 1))
				dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
				dPos, dTime := make([]float32, len(pos)), make([]float32, len(tb))
				b.ResetTimer()
				for range b.N {
					HSTUAttentionForward(a, q, k, v, lens, pos, tb, in.tsQuery, in.tsKey, out)
					if pass != "forward" {
						HSTUAttentionBackward(a, q, k, v, lens, pos, tb, in.tsQuery, in.tsKey, dOut, dq, dk, dv, dPos, dTime)
					}
				}
				b.ReportMetric(float64(a.B)*float64(b.N)/b.Elapsed().Seconds(), "seq/s")
			})
		}
	}
}
