package itemtext_test

import (
	"fmt"
	"testing"

	"github.com/genrec/genrec/models/hllm/itemtext"
)

// BenchmarkHashedNGram encodes 64 MovieLens-like item texts per op.
func BenchmarkHashedNGram(b *testing.B) {
	texts := make([]string, 64)
	for i := range texts {
		texts[i] = fmt.Sprintf("Title: Night of the Living Dead %d (1968). Genres: Horror, Sci-Fi. Tags: zombies, classic.", i)
	}
	for _, d := range []int{64, 256, 768} {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			e := itemtext.HashedNGram{Dimension: d}
			for b.Loop() {
				e.Encode(texts)
			}
			b.ReportMetric(float64(len(texts)*b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
