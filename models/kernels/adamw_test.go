package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAdamWOneStep checks two steps on a dense param against the update
// worked by hand from the equations (lr 0.1, betas 0.9/0.98, eps 1e-8,
// wd 0.01):
//
//	step 1, g = 0.2:  m = 0.02, v = 0.0008, mhat = 0.2, vhat = 0.04
//	                  w = 0.5 - 0.1*(0.2/(0.2+1e-8) + 0.01*0.5)
//	step 2, g = -0.1: m = 0.008, v = 0.000984, mhat = 0.008/0.19, vhat = 0.000984/0.0396
func TestAdamWOneStep(t *testing.T) {
	o := NewAdamW(0.1)
	o.WeightDecay = 0.01
	p := NewParam[float64]("w", 1)
	p.Value[0], p.Grad[0] = 0.5, 0.2
	AdamWStep(o, []*Param[float64]{p})
	w1 := 0.5 - 0.1*(0.2/(0.2+1e-8)+0.01*0.5)
	p.Grad[0] = -0.1
	AdamWStep(o, []*Param[float64]{p})
	w2 := w1 - 0.1*((0.008/0.19)/(math.Sqrt(0.000984/0.0396)+1e-8)+0.01*w1)
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"Steps", float64(o.Steps), 2},
		{"w", p.Value[0], w2},
		{"m", p.M[0], 0.008},
		{"v", p.V[0], 0.000984},
		{"grad kept", p.Grad[0], -0.1},
	} {
		if math.Abs(tc.got-tc.want) > 1e-14*(1+math.Abs(tc.want)) {
			t.Errorf("%s = %.17g, want %.17g", tc.name, tc.got, tc.want)
		}
	}
	if o.Beta1 != 0.9 || o.Beta2 != 0.98 || o.Eps != 1e-8 || NewAdamW(1).WeightDecay != 0 {
		t.Errorf("NewAdamW defaults = %+v, want betas 0.9/0.98, eps 1e-8, wd 0", *NewAdamW(1))
	}
}

// TestAdamWSparseLeavesUntouchedRows: over several steps, the touched rows
// of a sparse table follow a dense param fed the same gradients, and the
// untouched rows keep their values and (zero) moments.
func TestAdamWSparseLeavesUntouchedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 1))
	const rows, d = 6, 3
	init := randSlice(rng, rows*d, 1)
	sparse := NewParam[float64]("emb", rows, d)
	sparse.Sparse = true
	copy(sparse.Value, init)
	dense := NewParam[float64]("ref", rows, d)
	copy(dense.Value, init)
	os, od := NewAdamW(0.01), NewAdamW(0.01)
	os.WeightDecay, od.WeightDecay = 0.1, 0.1
	touchedRows := []int{4, 1}
	for range 5 {
		for _, r := range touchedRows {
			g := randSlice(rng, d, 1)
			copy(sparse.Grad[r*d:], g)
			copy(dense.Grad[r*d:], g)
			sparse.Touch(r)
		}
		AdamWStep(os, []*Param[float64]{sparse})
		AdamWStep(od, []*Param[float64]{dense})
		sparse.ZeroGrad()
		dense.ZeroGrad()
	}
	for r := range rows {
		s, e := r*d, (r+1)*d
		if slices.Contains(touchedRows, r) {
			assertClose(t, "touched row value", sparse.Value[s:e], dense.Value[s:e], 1e-15)
			assertClose(t, "touched row m", sparse.M[s:e], dense.M[s:e], 1e-15)
			continue
		}
		if !slices.Equal(sparse.Value[s:e], init[s:e]) || !slices.Equal(sparse.M[s:e], make([]float64, d)) || !slices.Equal(sparse.V[s:e], make([]float64, d)) {
			t.Errorf("untouched row %d: value %v (want %v), m %v, v %v (want zeros)", r, sparse.Value[s:e], init[s:e], sparse.M[s:e], sparse.V[s:e])
		}
		if slices.Equal(dense.Value[s:e], init[s:e]) {
			t.Errorf("dense row %d unchanged: weight decay should have moved it", r)
		}
	}
}

// TestAdamWConvergesOnQuadratic minimises f(w) = Σ a_i (w_i - c_i)² in
// float32 with a warmup + cosine schedule; w must end within 1e-3 of c.
func TestAdamWConvergesOnQuadratic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 2))
	const n, steps = 100, 3000
	a, c := randSlice(rng, n, 1), randSlice(rng, n, 2)
	for i := range a {
		a[i] = 0.1 + math.Abs(a[i])*10 // curvatures in [0.1, 10.1]
	}
	// A large dense vector and a sparse table, to cover both paths.
	p := NewParam[float32]("w", n)
	q := NewParam[float32]("table", n/4, 4)
	q.Sparse = true
	o := NewAdamW(0)
	sched := LRSchedule{Base: 0.05, Min: 0, Warmup: 100, Total: steps, Cosine: true}
	for step := range steps {
		for _, x := range []*Param[float32]{p, q} {
			for i := range x.Value {
				x.Grad[i] = float32(2 * a[i] * (float64(x.Value[i]) - c[i]))
			}
		}
		for r := range q.Rows() {
			q.Touch(r)
		}
		o.LR = sched.At(step)
		AdamWStep(o, []*Param[float32]{p, q})
		q.ZeroGrad()
	}
	got := lsConv[float64](append(slices.Clone(p.Value), q.Value...))
	want := append(slices.Clone(c), c...)
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-3 {
			t.Fatalf("w[%d] = %.6f, want %.6f ± 1e-3", i, got[i], want[i])
		}
	}
}

// TestAdamWLargeParallel checks the block-parallel path of a large dense
// param and a large sparse table against element-wise updates on one worker.
func TestAdamWLargeParallel(t *testing.T) {
	const rows, d = 3000, 64
	mk := func() []*Param[float32] {
		r := rand.New(rand.NewPCG(5, 4))
		dp, sp := NewParam[float32]("dense", rows, d), NewParam[float32]("sparse", rows, d)
		sp.Sparse = true
		copy(dp.Value, lsConv[float32](randSlice(r, rows*d, 1)))
		copy(dp.Grad, lsConv[float32](randSlice(r, rows*d, 1)))
		copy(sp.Value, dp.Value)
		for i := 0; i < rows; i += 2 {
			sp.Touch(i)
			copy(sp.Grad[i*d:(i+1)*d], dp.Grad[i*d:])
		}
		return []*Param[float32]{dp, sp}
	}
	defer SetWorkers(Workers())
	SetWorkers(1)
	one := mk()
	AdamWStep(NewAdamW(1e-3), one)
	SetWorkers(8)
	many := mk()
	AdamWStep(NewAdamW(1e-3), many)
	for i := range one {
		if !slices.Equal(one[i].Value, many[i].Value) || !slices.Equal(one[i].V, many[i].V) {
			t.Errorf("%s: 1 and 8 workers give different updates", one[i].Name)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	mk := func() []*Param[float64] {
		dense := NewParam[float64]("dense", 2, 2)
		copy(dense.Grad, []float64{3, 0, 0, 4}) // norm 5
		sparse := NewParam[float64]("sparse", 3, 2)
		sparse.Sparse = true
		copy(sparse.Grad, []float64{0, 12, 99, 99, 0, 0}) // row 1 untouched: ignored
		sparse.Touch(0)
		return []*Param[float64]{dense, sparse}
	}
	for _, tc := range []struct {
		maxNorm, wantAfter float64
	}{{6.5, 6.5}, {1, 1}, {13, 13}, {20, 13}, {0, 13}, {-1, 13}} {
		ps := mk()
		got := ClipGradNorm(ps, tc.maxNorm)
		if math.Abs(got-13) > 1e-12 {
			t.Errorf("maxNorm %g: returned norm %.15g, want 13", tc.maxNorm, got)
		}
		after := 0.0
		for _, g := range append(ps[0].Grad, ps[1].Grad[:2]...) {
			after += g * g
		}
		if math.Abs(math.Sqrt(after)-tc.wantAfter) > 1e-12 {
			t.Errorf("maxNorm %g: norm after clipping %.15g, want %g", tc.maxNorm, math.Sqrt(after), tc.wantAfter)
		}
		if ps[1].Grad[2] != 99 {
			t.Errorf("maxNorm %g: untouched sparse row scaled to %g, want 99", tc.maxNorm, ps[1].Grad[2])
		}
	}
}

func TestGradFinite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		dense  float64 // written to the dense param's grad[1]
		sparse float64 // written to the sparse param's untouched row
		touch  float64 // written to the sparse param's touched row
		want   bool
	}{
		{"finite", 1, 0, 2, true},
		{"NaN dense", math.NaN(), 0, 2, false},
		{"+Inf dense", math.Inf(1), 0, 2, false},
		{"-Inf touched", 1, 0, math.Inf(-1), false},
		{"NaN touched", 1, 0, math.NaN(), false},
		{"NaN untouched row ignored", 1, math.NaN(), 2, true},
	} {
		dense := NewParam[float32]("dense", 3)
		dense.Grad[1] = float32(tc.dense)
		sparse := NewParam[float32]("sparse", 2, 2)
		sparse.Sparse = true
		sparse.Touch(1)
		sparse.Grad[1] = float32(tc.sparse)
		sparse.Grad[3] = float32(tc.touch)
		if got := GradFinite([]*Param[float32]{dense, sparse}); got != tc.want {
			t.Errorf("%s: GradFinite = %v, want %v", tc.name, got, tc.want)
		}
	}
}
