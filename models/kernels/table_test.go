package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestTableMatchesSparse feeds a compact table (NewTable) and a Sparse
// param with a dense gradient the same row gradients over several steps,
// through the trainer's sequence (ZeroGrad, gradients, GradFinite,
// ClipGradNorm, AdamWStep with weight decay): values and moments must be
// equal bit for bit without clipping, and within 1e-6 relative with
// clipping (the clip norm sums the rows in a different order), and the
// compact gradient must hold exactly the touched rows.
func TestTableMatchesSparse(t *testing.T) {
	const rows, d = 50, 4
	for _, clip := range []float64{0, 0.5} {
		rng := rand.New(rand.NewPCG(9, 1))
		init := randSlice(rng, rows*d, 1)
		table := NewTable[float32]("emb", rows, d)
		sparse := NewParam[float32]("emb", rows, d)
		sparse.Sparse = true
		for i, v := range init {
			table.Value[i], sparse.Value[i] = float32(v), float32(v)
		}
		ot, os := NewAdamW(0.01), NewAdamW(0.01)
		ot.WeightDecay, os.WeightDecay = 0.1, 0.1
		for step := range 6 {
			table.ZeroGrad()
			sparse.ZeroGrad()
			for range 12 {
				r := rng.IntN(rows)
				g := randSlice(rng, d, 1)
				for j := range d {
					table.GradRow(r)[j] += float32(g[j])
					sparse.GradRow(r)[j] += float32(g[j])
				}
			}
			if got, want := len(table.Grad), len(table.TouchedRows())*d; got != want {
				t.Fatalf("step %d: len(Grad) = %d, want touched rows x d = %d", step, got, want)
			}
			if !slices.Equal(table.DenseGrad(), sparse.Grad) {
				t.Fatalf("step %d: DenseGrad differs from the sparse param's gradient", step)
			}
			if !GradFinite([]*Param[float32]{table}) {
				t.Fatalf("step %d: GradFinite false on finite gradients", step)
			}
			nt := ClipGradNorm([]*Param[float32]{table}, clip)
			ns := ClipGradNorm([]*Param[float32]{sparse}, clip)
			if math.Abs(nt-ns) > 1e-12*ns {
				t.Fatalf("step %d: clip norms %v (table) and %v (sparse)", step, nt, ns)
			}
			AdamWStep(ot, []*Param[float32]{table})
			AdamWStep(os, []*Param[float32]{sparse})
		}
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"value", table.Value, sparse.Value}, {"m", table.M, sparse.M}, {"v", table.V, sparse.V}} {
			for i := range c.got {
				g, w := float64(c.got[i]), float64(c.want[i])
				if clip == 0 && math.Float32bits(c.got[i]) != math.Float32bits(c.want[i]) {
					t.Fatalf("clip 0: %s[%d] = %v (table), %v (sparse): want the same bits", c.name, i, g, w)
				}
				if math.Abs(g-w) > 1e-6*(math.Abs(w)+1e-6) {
					t.Fatalf("clip %v: %s[%d] = %v (table), %v (sparse)", clip, c.name, i, g, w)
				}
			}
		}
	}
}

// TestTableZeroGradAndPanics: ZeroGrad empties the compact gradient and
// the touched set, a row touched again starts from zero, GradFinite sees
// a NaN in a compact row, and out-of-range rows panic with the prefix.
func TestTableZeroGradAndPanics(t *testing.T) {
	p := NewTable[float64]("emb", 4, 2)
	if !p.Compact() || !p.Sparse || len(p.Grad) != 0 {
		t.Fatalf("NewTable: Compact %v Sparse %v len(Grad) %d, want true, true, 0", p.Compact(), p.Sparse, len(p.Grad))
	}
	copy(p.GradRow(3), []float64{1, 2})
	p.Touch(1)
	copy(p.GradRow(3), []float64{5, 6}) // the same row again: the same slot
	if !slices.Equal(p.TouchedRows(), []int{3, 1}) || !slices.Equal(p.Grad, []float64{5, 6, 0, 0}) {
		t.Errorf("rows %v grad %v, want [3 1] and [5 6 0 0]", p.TouchedRows(), p.Grad)
	}
	if want := []float64{0, 0, 0, 0, 0, 0, 5, 6}; !slices.Equal(p.DenseGrad(), want) {
		t.Errorf("DenseGrad = %v, want %v", p.DenseGrad(), want)
	}
	p.GradRow(1)[0] = math.NaN()
	if GradFinite([]*Param[float64]{p}) {
		t.Error("GradFinite true with a NaN in a compact row")
	}
	p.ZeroGrad()
	if len(p.Grad) != 0 || len(p.TouchedRows()) != 0 {
		t.Errorf("after ZeroGrad: len(Grad) %d, rows %v, want empty", len(p.Grad), p.TouchedRows())
	}
	if g := p.GradRow(1); !slices.Equal(g, []float64{0, 0}) {
		t.Errorf("a row touched after ZeroGrad starts at %v, want zeros", g)
	}
	for _, f := range []func(){func() { p.Touch(4) }, func() { p.GradRow(-1) }, func() { NewTable[float32]("x", -1, 2) }} {
		func() {
			defer func() {
				if msg, _ := recover().(string); !strings.HasPrefix(msg, "kernels: ") {
					t.Errorf("panic %q, want the kernels: prefix", msg)
				}
			}()
			f()
		}()
	}
}
