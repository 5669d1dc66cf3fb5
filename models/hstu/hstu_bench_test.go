package hstu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
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
			head := sequential.Head{Loss: sequential.LossConfig{Negatives: 128}}
			adam := kernels.NewAdamW(1e-3)
			step := func() {
				for _, p := range m.Params() {
					p.ZeroGrad()
				}
				if _, _, err := head.Step(m, batch, rng); err != nil {
					b.Fatal(err)
				}
				kernels.AdamWStep(adam, m.Params())
			}
			step() // warm buffers
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				step()
			}
			b.ReportMetric(float64(128*b.N)/time.Since(start).Seconds(), "seq/s")
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
