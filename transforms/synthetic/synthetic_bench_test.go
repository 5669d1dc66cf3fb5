package synthetic_test

import (
	"fmt"
	"io"
	"testing"

	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

// benchSizes is the ladder of event counts; users × 25 events each.
var benchSizes = []int{1e5, 1e6}

func BenchmarkGenerate(b *testing.B) {
	for _, n := range benchSizes {
		cfg := synthetic.DefaultConfig()
		cfg.Users = n / int(cfg.MeanLength)
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			var events int64
			for b.Loop() {
				if err := synthetic.Generate(cfg, func(transforms.Event) error {
					events++
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

func BenchmarkWriteInteractionsCSV(b *testing.B) {
	for _, n := range benchSizes {
		cfg := synthetic.DefaultConfig()
		cfg.Users = n / int(cfg.MeanLength)
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			var events int64
			for b.Loop() {
				m, err := synthetic.WriteInteractionsCSV(io.Discard, cfg)
				if err != nil {
					b.Fatal(err)
				}
				events += m
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
