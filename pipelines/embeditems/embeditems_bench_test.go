package embeditems_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/pipelines/embeditems"
	"github.com/genrec/genrec/runners"
)

// BenchmarkEmbedItems runs the whole pipeline (prism, hashed encoder,
// d=64) on synthetic movies.csv files and reports items/s of wall time.
// Run with -benchtime 1x.
func BenchmarkEmbedItems(b *testing.B) {
	words := []string{"love", "war", "night", "city", "dark", "star", "return", "king", "lost", "story", "blue", "river"}
	genres := []string{"Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"}
	for _, n := range []int{500, 2000} {
		b.Run(fmt.Sprintf("items=%d", n), func(b *testing.B) {
			var sb strings.Builder
			sb.WriteString("movieId,title,genres\n")
			for i := 1; i <= n; i++ {
				fmt.Fprintf(&sb, "%d,%s %s %s (%d),%s|%s\n", i, words[i%12], words[i/12%12], words[i/144%12], 1950+i%70, genres[i%6], genres[i/6%6])
			}
			dir := b.TempDir()
			items := write(b, dir, "movies.csv", sb.String())
			b.ResetTimer()
			var rate float64
			for i := 0; i < b.N; i++ {
				res, err := embeditems.Run(context.Background(), embeditems.Config{Items: items, Out: filepath.Join(dir, fmt.Sprint("out", i))}, runners.Options{})
				if err != nil {
					b.Fatal(err)
				}
				rate = res.ItemsPerSecond
			}
			b.ReportMetric(rate, "items/s")
		})
	}
}
