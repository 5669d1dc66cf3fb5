package transforms_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/genrec/genrec/transforms"
)

// syntheticRatings writes n ML-100K-style lines "user\titem\trating\ttime"
// (or comma-separated with a header when table is set).
func syntheticRatings(n int, table bool) string {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	sep := "\t"
	if table {
		sep = ","
		b.WriteString("user,item,rating,timestamp\n")
	}
	for range n {
		fmt.Fprintf(&b, "%d%s%d%s%d%s%d\n", 1+r.IntN(943), sep, 1+r.IntN(1682), sep, 1+r.IntN(5), sep, 874724710+r.IntN(1e7))
	}
	return b.String()
}

func BenchmarkParseEvents(b *testing.B) {
	for _, c := range []struct {
		name   string
		format transforms.Format
	}{{"ml-100k", transforms.FormatML100K}, {"table-csv", transforms.FormatTable}} {
		for _, n := range []int{1e4, 1e5} {
			input := syntheticRatings(n, c.format == transforms.FormatTable)
			b.Run(fmt.Sprintf("%s/%d", c.name, n), func(b *testing.B) {
				b.SetBytes(int64(len(input)))
				b.ReportAllocs()
				var events, runs int
				for b.Loop() {
					runs++
					_, err := transforms.ParseEvents(strings.NewReader(input), "bench", c.format, transforms.ParseOptions{},
						func(transforms.Event) error { events++; return nil }, nil)
					if err != nil {
						b.Fatal(err)
					}
				}
				if events != n*runs {
					b.Fatalf("got %d events in %d runs, want %d per run", events, runs, n)
				}
				b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}
