package tiger

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkTrainStep is one teacher-forced Loss + Backward on a batch of
// 64 full-length histories, for the shapes of configs/demo-tiger.yaml,
// configs/beauty-tiger.yaml and a 2+2-layer d-64 model. Report seq/s as
// 64 / (ns/op).
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []Config{
		{Codes: []int{32, 32, 2}, UserBuckets: 200, MaxItems: 10, Dim: 32, Heads: 2, HeadDim: 16, FFN: 64, EncLayers: 1, DecLayers: 1, Dropout: 0.1},
		{Codes: []int{256, 256, 256, 4}, UserBuckets: 2000, MaxItems: 10, Dim: 32, Heads: 2, HeadDim: 16, FFN: 128, EncLayers: 1, DecLayers: 1, Dropout: 0.1},
		{Codes: []int{256, 256, 256, 4}, UserBuckets: 2000, MaxItems: 10, Dim: 64, Heads: 2, HeadDim: 32, FFN: 256, EncLayers: 2, DecLayers: 2, Dropout: 0.1},
	} {
		b.Run(fmt.Sprintf("d%d_layers%d+%d", c.Dim, c.EncLayers, c.DecLayers), func(b *testing.B) {
			m, _ := New[float32](c, 1)
			rng := rand.New(rand.NewPCG(1, 1))
			bt := tinyBatch(c, rng, 64)
			for r := range bt.EncLen {
				bt.EncLen[r] = c.WithDefaults().EncLen()
			}
			b.ResetTimer()
			for range b.N {
				m.Loss(bt, rng)
				m.Backward()
			}
		})
	}
}
