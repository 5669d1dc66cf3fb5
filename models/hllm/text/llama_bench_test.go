package text

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randomLlama builds a LLaMA of cfg with N(0, 0.02) weights and unit norm
// gains, without files.
func randomLlama(cfg LlamaConfig, rng *rand.Rand) *Llama {
	vec := func(n int, mean float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = mean + float32(rng.NormFloat64())*0.02
		}
		return v
	}
	d, f, dh := cfg.HiddenSize, cfg.IntermediateSize, cfg.HeadDim
	qd, kd := cfg.NumAttentionHeads*dh, cfg.NumKeyValueHeads*dh
	lin := func(in, out int) linear { return linear{w: vec(in*out, 0), in: in, out: out} }
	m := &Llama{Config: cfg, embed: vec(cfg.VocabSize*d, 0), norm: vec(d, 1)}
	for range cfg.NumHiddenLayers {
		m.layers = append(m.layers, llamaLayer{inNorm: vec(d, 1), postNorm: vec(d, 1),
			q: lin(d, qd), k: lin(d, kd), v: lin(d, kd), o: lin(qd, d),
			gate: lin(d, f), up: lin(d, f), down: lin(f, d)})
	}
	return m
}

// tinyLlamaConfig is TinyLlama-1.1B's shape (config.json of
// TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T) with layers layers.
func tinyLlamaConfig(layers int) LlamaConfig {
	return LlamaConfig{ModelType: "llama", VocabSize: 32000, HiddenSize: 2048, IntermediateSize: 5632,
		NumHiddenLayers: layers, NumAttentionHeads: 32, NumKeyValueHeads: 4, HeadDim: 64,
		MaxPositionEmbeddings: 2048, RMSNormEps: 1e-5, RopeTheta: 10000, HiddenAct: "silu"}
}

// BenchmarkLlamaEncode: items/s of last-token item embeddings for 8 items
// of 32 tokens (a MovieLens title + genres + tags is 20-60) on a
// TinyLlama-1.1B-shaped random model, by layer count (22 = the real
// depth); weights_MB is the float32 weights' size, which dominates memory.
func BenchmarkLlamaEncode(b *testing.B) {
	for _, layers := range []int{2, 22} {
		b.Run(fmt.Sprintf("tinyllama-shape/layers=%d", layers), func(b *testing.B) {
			m := randomLlama(tinyLlamaConfig(layers), rand.New(rand.NewPCG(1, 2)))
			seqs := make([][]int32, 8)
			for i := range seqs {
				seqs[i] = make([]int32, 32)
				for j := range seqs[i] {
					seqs[i][j] = int32((i*131 + j*17) % 32000)
				}
			}
			c := m.Config
			params := c.VocabSize*c.HiddenSize + c.NumHiddenLayers*(2*c.HiddenSize*c.NumAttentionHeads*c.HeadDim+
				2*c.HiddenSize*c.NumKeyValueHeads*c.HeadDim+3*c.HiddenSize*c.IntermediateSize)
			b.ResetTimer()
			for range b.N {
				if _, err := m.EncodeIDs(seqs, PoolLast); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(seqs)*b.N)/b.Elapsed().Seconds(), "items/s")
			b.ReportMetric(float64(4*params)/1e6, "weights_MB")
		})
	}
}
