package hllm_test

import (
	"math/rand/v2"
	"testing"

	"github.com/genrec/genrec/models/hllm"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/internal/benchstep"
	"github.com/genrec/genrec/models/sequential"
)

// BenchmarkTrainStep measures one training step (forward, sampled softmax
// with 128 negatives at every position, backward, AdamW) of HSTU and of
// HLLM with the same HSTU user model on ml-latest-small's shape (9,743
// items, d = 50, 2 layers, B = 128 windows of 50), the text vectors 128
// wide: side by side in one run, the cost of the item tower (its table is
// recomputed and back-propagated every step). Reports sequences per second.
func BenchmarkTrainStep(b *testing.B) {
	const items, n, d, textDim = 9743, 50, 50, 128
	llm := hllm.LLMParams{HiddenSize: d, NumHeads: 1, NumLayers: 2, Dropout: 0.2}
	models := []struct {
		name  string
		build func(rng *rand.Rand) (sequential.Model, error)
	}{
		{"hstu", func(rng *rand.Rand) (sequential.Model, error) {
			return hstu.New[float32](hstu.Config{Items: items, MaxSeqLen: n,
				Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 1, HiddenSize: d, Dropout: 0.2}}, rng)
		}},
		{"hllm-none", hllmBuilder(items, n, textDim, llm, hllm.FusionParams{FusionType: hllm.FusionNone})},
		{"hllm-concat", hllmBuilder(items, n, textDim, llm, hllm.FusionParams{FusionType: hllm.FusionConcat, FusionDims: []int{100}, Dropout: 0.1})},
		{"hllm-trainable-concat", func(rng *rand.Rand) (sequential.Model, error) {
			cfg := hllm.Config{Items: items, MaxSeqLen: n, LLM: llm, TextBuckets: 1 << 15,
				Fusion: hllm.FusionParams{FusionType: hllm.FusionConcat, FusionDims: []int{100}, Dropout: 0.1}}
			cfg.ItemBuckets = make([][]int32, items)
			for i := range cfg.ItemBuckets {
				for range 60 { // about a movie title, genres and tags
					cfg.ItemBuckets[i] = append(cfg.ItemBuckets[i], int32(rng.IntN(cfg.TextBuckets)))
				}
			}
			return hllm.New[float32](cfg, rng)
		}},
	}
	for _, mc := range models {
		b.Run(mc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			m, err := mc.build(rng)
			if err != nil {
				b.Fatal(err)
			}
			batch := testBatch(rng, items, n, fullLens(128, n))
			for i := range batch.Labels {
				batch.Labels[i] = int32(1 + rng.IntN(items-1))
			}
			benchstep.Run(b, m, batch, 128, rng)
		})
	}
}

func hllmBuilder(items, n, textDim int, llm hllm.LLMParams, fu hllm.FusionParams) func(*rand.Rand) (sequential.Model, error) {
	return func(rng *rand.Rand) (sequential.Model, error) {
		m, err := hllm.New[float32](hllm.Config{Items: items, MaxSeqLen: n, TextDim: textDim, LLM: llm, Fusion: fu}, rng)
		if err != nil {
			return nil, err
		}
		text := make([]float32, items*textDim)
		for i := range text {
			text[i] = float32(rng.NormFloat64())
		}
		return m, m.SetText(text)
	}
}

func fullLens(b, n int) []int {
	l := make([]int, b)
	for i := range l {
		l[i] = n
	}
	return l
}
