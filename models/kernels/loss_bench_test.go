package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Size ladder of the loss and the optimizer, float32, at the batch shapes of
// training: 128 sequences of 50 (Books) or 200 (ML-1M) positions, 128
// negatives per position, a 12k-item catalogue.
//
//	go test ./models/kernels/ -run '^$' -bench 'SampledSoftmax|FullSoftmax|AdamW' -benchtime 3x

// lsBenchRows are the row counts of a batch: B*L for B = 128, L = 50, 200.
var lsBenchRows = []int{128 * 50, 128 * 200}

const lsBenchCatalogue = 12000

// lsBenchInputs returns unit-norm u (m x d) and items (catalogue x d), all
// positives set and k uniform negatives per row.
func lsBenchInputs(m, d, catalogue, k int) (u, items []float32, pos, neg []int32) {
	rng := rand.New(rand.NewPCG(6, 1))
	u64, it64 := randSlice(rng, m*d, 1), randSlice(rng, catalogue*d, 1)
	lsNormalizeRows(u64, d)
	lsNormalizeRows(it64, d)
	pos, neg = make([]int32, m), make([]int32, m*k)
	UniformNegatives(rng, catalogue, pos)
	UniformNegatives(rng, catalogue, neg)
	return lsConv[float32](u64), lsConv[float32](it64), pos, neg
}

// BenchmarkSampledSoftmax measures forward and backward (du, dItems, touch)
// of one batch; GFLOP/s counts the 3 m(k+1)d multiply-adds (logits, du,
// dItems) as 6 m(k+1)d flops.
func BenchmarkSampledSoftmax(b *testing.B) {
	const k = 128
	for _, m := range lsBenchRows {
		for _, d := range []int{50, 64} {
			b.Run(fmt.Sprintf("m=%d/k=%d/d=%d", m, k, d), func(b *testing.B) {
				u, items, pos, neg := lsBenchInputs(m, d, lsBenchCatalogue, k)
				du, dItems := make([]float32, len(u)), make([]float32, len(items))
				touched := 0
				touch := func(int) { touched++ }
				b.ResetTimer()
				for range b.N {
					SampledSoftmax(u, m, d, items, pos, neg, k, 0.05, du, dItems, touch)
				}
				b.ReportMetric(float64(6*m*(k+1)*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

// BenchmarkFullSoftmax measures forward and backward against all 12k items
// (an evaluation-size batch); GFLOP/s counts 3 gemms of 2 m C d flops.
func BenchmarkFullSoftmax(b *testing.B) {
	const m, d = 128 * 50, 64
	b.Run(fmt.Sprintf("m=%d/C=%d/d=%d", m, lsBenchCatalogue, d), func(b *testing.B) {
		u, items, pos, _ := lsBenchInputs(m, d, lsBenchCatalogue, 0)
		du, dItems := make([]float32, len(u)), make([]float32, len(items))
		b.ResetTimer()
		for range b.N {
			FullSoftmax(u, m, d, items, lsBenchCatalogue, pos, 0.05, du, dItems, nil)
		}
		b.ReportMetric(float64(6*m*lsBenchCatalogue*d)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// BenchmarkAdamW measures one step on a 12k x 64 embedding table, dense
// (every row) and sparse with 6k touched rows.
func BenchmarkAdamW(b *testing.B) {
	const rows, d = lsBenchCatalogue, 64
	for _, tc := range []struct {
		name    string
		sparse  bool
		touched int
	}{{"dense", false, rows}, {"sparse", true, rows / 2}} {
		b.Run(fmt.Sprintf("%s/rows=%d/d=%d/touched=%d", tc.name, rows, d, tc.touched), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(6, 2))
			p := NewParam[float32]("emb", rows, d)
			p.Sparse = tc.sparse
			copy(p.Value, lsConv[float32](randSlice(rng, rows*d, 1)))
			copy(p.Grad, lsConv[float32](randSlice(rng, rows*d, 1)))
			for _, r := range rng.Perm(rows)[:tc.touched] {
				p.Touch(r)
			}
			o := NewAdamW(1e-3)
			params := []*Param[float32]{p}
			AdamWStep(o, params)                      // allocate the moments outside the timing
			b.SetBytes(int64(5 * 4 * tc.touched * d)) // value, m, v read and written, grad read
			b.ResetTimer()
			for range b.N {
				AdamWStep(o, params)
			}
		})
	}
}
