package onnx

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// BenchmarkServe times one served request, the user's next top-10 over the
// whole catalogue from full-length histories, three ways on the model of
// configs/beauty-hstu.yaml (12,101 items, N=50, d=64, 2 layers) and the
// ML-1M paper config (3,706 items, N=200, d=50): genrec's Go forward plus
// scoring and top-k (sequential.Predict), and the exported file in
// onnxruntime, float32 and int8. Both sides use every core. users/s is the
// throughput; ns/op the latency of one batch.
func BenchmarkServe(b *testing.B) {
	for _, c := range []struct {
		name                string
		items, n, d, layers int
	}{
		{"beauty", 12102, 50, 64, 2},
		{"ml-1m", 3707, 200, 50, 2},
	} {
		cfg := hstu.Config{Items: c.items, MaxSeqLen: c.n,
			Transformer: hstu.TransformerParams{NumLayers: c.layers, NumHeads: 1, HiddenSize: c.d}}
		m, err := hstu.New[float32](cfg, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 128} {
			rows := benchRows(rand.New(rand.NewPCG(2, 2)), batch, c.n, c.items)
			idx := make([]int, batch)
			for i := range idx {
				idx[i] = i
			}
			b.Run(fmt.Sprintf("%s/B=%d/genrec", c.name, batch), func(b *testing.B) {
				for b.Loop() {
					if _, err := sequential.Predict(m, rows, idx, nil, 10, batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "users/s")
			})
			for _, q := range []Quantization{None, Int8} {
				name := map[Quantization]string{None: "onnxruntime", Int8: "onnxruntime-int8"}[q]
				b.Run(fmt.Sprintf("%s/B=%d/%s", c.name, batch, name), func(b *testing.B) {
					needRuntime(b)
					mp, err := HSTU(m, Options{Quantization: q})
					if err != nil {
						b.Fatal(err)
					}
					data, err := Marshal(mp)
					if err != nil {
						b.Fatal(err)
					}
					s, err := NewSession("bench.onnx", data, SessionOptions{Threads: runtime.NumCPU()})
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					// Predict appends each row's target: give the file the same sequences.
					req := shiftedRequest(rows, c.n)
					for b.Loop() {
						if _, err := s.Run(req); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "users/s")
				})
			}
		}
	}
}

// benchRows makes rows of n-1 items and a target: n items once Predict
// appends the target, the model's whole window.
func benchRows(rng *rand.Rand, rows, n, items int) []transforms.SequenceRow {
	out := make([]transforms.SequenceRow, rows)
	for i := range out {
		r := transforms.SequenceRow{User: int64(i), Items: make([]int64, n-1), Timestamps: make([]int64, n-1)}
		for j := range n - 1 {
			r.Items[j], r.Timestamps[j] = int64(1+rng.IntN(items-1)), int64(1e9+3600*j)
		}
		r.Target, r.TargetTimestamp = int64(1+rng.IntN(items-1)), int64(1e9+3600*n)
		out[i] = r
	}
	return out
}

// shiftedRequest is rows with each target appended, at the target's time.
func shiftedRequest(rows []transforms.SequenceRow, n int) Request {
	full := make([]transforms.SequenceRow, len(rows))
	for i, r := range rows {
		full[i] = r
		full[i].Items = append(append([]int64(nil), r.Items...), r.Target)
		full[i].Timestamps = append(append([]int64(nil), r.Timestamps...), r.TargetTimestamp)
	}
	return request(full, n)
}
