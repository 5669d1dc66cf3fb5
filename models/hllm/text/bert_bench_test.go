package text

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// BenchmarkEncode measures Encode (tokenize + forward + mean pooling) in
// items/s on random models built in memory, 64 texts per call, each text
// 30 WordPieces long so that sequences are 32 tokens with [CLS] and [SEP].
// Sizes: tiny (tinyConfig with max_position_embeddings 32) and
// BERT-base-shaped (12 layers, hidden 768, 12 heads, FFN 3072).
func BenchmarkEncode(b *testing.B) {
	tiny := tinyConfig()
	tiny.MaxPositionEmbeddings = 32
	base := BaseConfig
	base.VocabSize = len(testTokens)
	words := strings.Fields("red blue shoe for men women book of and new york time classic novel cotton shirt size large small toy game music movie matte gloss")
	rng := rand.New(rand.NewPCG(9, 10))
	texts := make([]string, 64)
	for i := range texts {
		w := make([]string, 30)
		for j := range w {
			w[j] = words[rng.IntN(len(words))]
		}
		texts[i] = strings.Join(w, " ")
	}
	for _, c := range []struct {
		name string
		cfg  Config
	}{{"tiny", tiny}, {"base", base}} {
		m := randomBERT(c.cfg, testTokenizer(32), rng)
		b.Run(fmt.Sprintf("%s/seq32/batch%d", c.name, len(texts)), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.Encode(texts, PoolMean); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(texts))/b.Elapsed().Seconds(), "items/s")
		})
	}
}
