package hstu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/internal/benchstep"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// benchConfigs are the configurations make bench reports: the Beauty
// config of configs/beauty-hstu.yaml and the ML-1M paper config.
var benchConfigs = []struct {
	name            string
	items, n, d, hd int
	layers, heads   int
	dropout         float64
}{
	{"beauty/B=128,L=50,d=64", 12102, 50, 64, 64, 2, 1, 0.5},
	{"ml-1m/B=128,L=200,d=50", 3707, 200, 50, 50, 2, 1, 0.2},
}

// fullRows makes b rows of n random items each (every position valid, the
// worst case for cost), with increasing timestamps.
func fullRows(rng *rand.Rand, rows, n, items int) []transforms.SequenceRow {
	out := make([]transforms.SequenceRow, rows)
	for i := range out {
		r := transforms.SequenceRow{User: int64(i + 1), Split: transforms.SplitTrain, Items: make([]int64, n), Timestamps: make([]int64, n)}
		for j := range n {
			r.Items[j] = int64(1 + rng.IntN(items-1))
			r.Timestamps[j] = int64(1e9 + 3600*j)
		}
		r.Target, r.TargetTimestamp = int64(1+rng.IntN(items-1)), int64(1e9+3600*n)
		out[i] = r
	}
	return out
}

// BenchmarkTrainStep measures one training step — forward, sampled
// softmax with 128 negatives at every position, backward, AdamW — on
// full-length sequences, and reports sequences per second.
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range benchConfigs {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			m, err := hstu.New[float32](hstu.Config{Items: c.items, MaxSeqLen: c.n,
				Transformer: hstu.TransformerParams{NumLayers: c.layers, NumHeads: c.heads, HiddenSize: c.d, Dropout: c.dropout}}, rng)
			if err != nil {
				b.Fatal(err)
			}
			rows := fullRows(rng, 128, c.n, c.items)
			idx := make([]int, len(rows))
			for i := range idx {
				idx[i] = i
			}
			batch, err := sequential.NewBatch(rows, idx, c.n, true)
			if err != nil {
				b.Fatal(err)
			}
			benchstep.Run(b, m, batch, 128, rng)
		})
	}
}

// BenchmarkTopK measures full-catalogue top-10 retrieval for users with
// full-length histories and reports users per second.
func BenchmarkTopK(b *testing.B) {
	for _, c := range benchConfigs {
		b.Run(c.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(3, 4))
			m, err := hstu.New[float32](hstu.Config{Items: c.items, MaxSeqLen: c.n,
				Transformer: hstu.TransformerParams{NumLayers: c.layers, NumHeads: c.heads, HiddenSize: c.d}}, rng)
			if err != nil {
				b.Fatal(err)
			}
			rows := fullRows(rng, 512, c.n, c.items)
			idx := make([]int, len(rows))
			for i := range idx {
				idx[i] = i
			}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				recs, err := sequential.Predict(m, rows, idx, nil, 10, 256)
				if err != nil || len(recs) != len(rows) {
					b.Fatal(fmt.Sprint("predict: ", err))
				}
			}
			b.ReportMetric(float64(len(rows)*b.N)/time.Since(start).Seconds(), "users/s")
		})
	}
}

// BenchmarkCandidates scores 512 candidates for one user with a full
// history (the Beauty config: 12,102 items, N=50, d=64, 2 layers) with
// M-FALCON (Model.Candidates, micro-batches of 128) and naively, one
// Forward of history+candidate per candidate; candidates/s is the figure.
func BenchmarkCandidates(b *testing.B) {
	cfg := hstu.Config{Items: 12102, MaxSeqLen: 50, Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 1, HiddenSize: 64}}
	m, err := hstu.New[float32](cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	items, times := make([]int64, 49), make([]int64, 49)
	for j := range items {
		items[j], times[j] = int64(1+rng.IntN(cfg.Items-1)), int64(1e9+3600*j)
	}
	cands := make([]int32, 512)
	for i := range cands {
		cands[i] = int32(1 + rng.IntN(cfg.Items-1))
	}
	b.Run("m-falcon", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.Candidates(hstu.Query{Items: items, Times: times, Time: 2e9}, cands, 128); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(cands)*b.N)/b.Elapsed().Seconds(), "candidates/s")
	})
	b.Run("naive", func(b *testing.B) {
		rows := make([]transforms.SequenceRow, len(cands))
		idx := make([]int, len(cands))
		for i, c := range cands {
			rows[i] = transforms.SequenceRow{Items: append(append([]int64{}, items...), int64(c)),
				Timestamps: append(append([]int64{}, times...), 2e9), TargetTimestamp: 2e9}
			idx[i] = i
		}
		for b.Loop() {
			// Batched 128 rows at a time, as a trainer would: the fair naive baseline.
			for lo := 0; lo < len(rows); lo += 128 {
				batch, err := sequential.NewBatch(rows, idx[lo:min(lo+128, len(rows))], cfg.MaxSeqLen, false)
				if err != nil {
					b.Fatal(err)
				}
				m.Forward(batch, nil)
			}
		}
		b.ReportMetric(float64(len(cands)*b.N)/b.Elapsed().Seconds(), "candidates/s")
	})
}
