package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// Tolerances (relative, as assertClose measures): the float64 fast losses
// against their references; float32 against float64; analytic gradients
// against central differences with step lsStep.
const (
	lsTol64   = 1e-12
	lsTol32   = 1e-4
	lsStep    = 1e-6
	lsGradTol = 1e-6
	lsAccum   = 0.25 // gradient buffers start here to check that the kernels add
)

// lsCase is a SampledSoftmax / FullSoftmax input: padding rows have pos 0 or
// -1, and every third row has some negatives equal to its positive.
type lsCase struct {
	m, d, catalogue, k int
	temp               float64
	u, items           []float64
	pos, neg           []int32
}

func newLSCase(rng *rand.Rand, m, d, catalogue, k int, temp float64) *lsCase {
	c := &lsCase{m: m, d: d, catalogue: catalogue, k: k, temp: temp,
		u: randSlice(rng, m*d, 1), items: randSlice(rng, catalogue*d, 1),
		pos: make([]int32, m), neg: make([]int32, m*k)}
	UniformNegatives(rng, catalogue, c.neg)
	for r := range m {
		switch {
		case r%5 == 1:
			c.pos[r] = 0 // padding
		case r%7 == 4:
			c.pos[r] = -1 // padding
		default:
			c.pos[r] = int32(1 + rng.IntN(catalogue-1))
		}
		if r%3 == 0 && k > 0 {
			for j := 0; j < k; j += 2 {
				c.neg[r*k+j] = c.pos[r] // accidental hits
			}
		}
	}
	return c
}

// lsFilled returns n copies of lsAccum.
func lsFilled(n int) []float64 {
	g := make([]float64, n)
	for i := range g {
		g[i] = lsAccum
	}
	return g
}

// lsAdded returns g - lsAccum: what a kernel added to an lsFilled buffer.
func lsAdded(g []float64) []float64 {
	d := make([]float64, len(g))
	for i, v := range g {
		d[i] = v - lsAccum
	}
	return d
}

// lsConv converts a slice between float types.
func lsConv[T, U Float](x []U) []T {
	y := make([]T, len(x))
	for i, v := range x {
		y[i] = T(v)
	}
	return y
}

// lsResult is what one call of a loss kernel returned and wrote, in float64.
type lsResult struct {
	loss    float64
	count   int
	du, dIt []float64
	touched []int
}

// run calls SampledSoftmax (full false) or FullSoftmax (full true) in T on
// gradient buffers that start at lsAccum, returning what they added.
func lsRun[T Float](c *lsCase, full bool) lsResult {
	u, items := lsConv[T](c.u), lsConv[T](c.items)
	du, dIt := lsConv[T](lsFilled(len(c.u))), lsConv[T](lsFilled(len(c.items)))
	var res lsResult
	touch := func(id int) { res.touched = append(res.touched, id) }
	if full {
		res.loss, res.count = FullSoftmax(u, c.m, c.d, items, c.catalogue, c.pos, c.temp, du, dIt, touch)
	} else {
		res.loss, res.count = SampledSoftmax(u, c.m, c.d, items, c.pos, c.neg, c.k, c.temp, du, dIt, touch)
	}
	res.du, res.dIt = lsAdded(lsConv[float64](du)), lsAdded(lsConv[float64](dIt))
	return res
}

// wantTouched returns the ids SampledSoftmax writes: positives of
// non-padding rows and their negatives that are not accidental hits.
func (c *lsCase) wantTouched() []int {
	var ids []int
	for r := range c.m {
		p := c.pos[r]
		if p <= 0 {
			continue
		}
		ids = append(ids, int(p))
		for _, id := range c.neg[r*c.k : (r+1)*c.k] {
			if id != p {
				ids = append(ids, int(id))
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

func (c *lsCase) countRows() int {
	n := 0
	for _, p := range c.pos {
		if p > 0 {
			n++
		}
	}
	return n
}

func TestSampledSoftmaxMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 1))
	for _, tc := range []struct {
		m, d, catalogue, k int
		temp               float64
	}{
		{1, 1, 2, 1, 1}, {5, 3, 7, 4, 0.05}, {64, 8, 50, 16, 0.05}, {300, 16, 1000, 32, 0.05}, {700, 50, 200, 128, 0.05}, {9, 4, 30, 0, 0.1},
	} {
		c := newLSCase(rng, tc.m, tc.d, tc.catalogue, tc.k, tc.temp)
		want, wantCount := SampledSoftmaxReference(c.u, c.m, c.d, c.items, c.pos, c.neg, c.k, c.temp)
		if wantCount != c.countRows() {
			t.Fatalf("reference count = %d, want %d", wantCount, c.countRows())
		}
		for _, pr := range []struct {
			name string
			tol  float64
			run  func(*lsCase, bool) lsResult
		}{{"float64", lsTol64, lsRun[float64]}, {"float32", lsTol32, lsRun[float32]}} {
			got := pr.run(c, false)
			if got.count != wantCount {
				t.Errorf("%s m=%d k=%d: count = %d, want %d", pr.name, c.m, c.k, got.count, wantCount)
			}
			assertClose(t, pr.name+" loss", []float64{got.loss}, []float64{want}, pr.tol)
			touched := slices.Clone(got.touched)
			slices.Sort(touched)
			if !slices.Equal(touched, c.wantTouched()) || len(touched) != len(got.touched) {
				t.Errorf("%s m=%d k=%d: touched %d ids (%d distinct), want each of %d once", pr.name, c.m, c.k, len(got.touched), len(slices.Compact(touched)), len(c.wantTouched()))
			}
		}
	}
}

// TestSampledSoftmaxGradMatchesFiniteDifferences checks du and dItems of
// the float64 kernel against central differences of the reference loss,
// with padding rows and accidental hits in the batch.
func TestSampledSoftmaxGradMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct {
		m, d, catalogue, k int
		temp               float64
	}{{1, 3, 4, 2, 1}, {7, 4, 9, 5, 0.5}, {12, 5, 15, 6, 0.05}, {70, 3, 11, 4, 0.2}} {
		c := newLSCase(rng, tc.m, tc.d, tc.catalogue, tc.k, tc.temp)
		loss := func() float64 {
			l, _ := SampledSoftmaxReference(c.u, c.m, c.d, c.items, c.pos, c.neg, c.k, c.temp)
			return l
		}
		wantDu := finiteDiff(loss, c.u, lsStep)
		wantDIt := finiteDiff(loss, c.items, lsStep)
		got := lsRun[float64](c, false)
		assertClose(t, "SampledSoftmax du", got.du, wantDu, lsGradTol)
		assertClose(t, "SampledSoftmax dItems", got.dIt, wantDIt, lsGradTol)
	}
}

func TestFullSoftmaxMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, tc := range []struct {
		m, d, catalogue int
		temp            float64
	}{{1, 1, 2, 1}, {5, 3, 7, 0.05}, {40, 8, 300, 0.05}, {600, 16, 700, 0.05}, {33, 50, 5000, 0.05}} {
		c := newLSCase(rng, tc.m, tc.d, tc.catalogue, 0, tc.temp)
		want, wantCount := FullSoftmaxReference(c.u, c.m, c.d, c.items, c.catalogue, c.pos, c.temp)
		for _, pr := range []struct {
			name string
			tol  float64
			run  func(*lsCase, bool) lsResult
		}{{"float64", lsTol64, lsRun[float64]}, {"float32", lsTol32, lsRun[float32]}} {
			got := pr.run(c, true)
			if got.count != wantCount {
				t.Errorf("%s m=%d: count = %d, want %d", pr.name, c.m, got.count, wantCount)
			}
			assertClose(t, pr.name+" full loss", []float64{got.loss}, []float64{want}, pr.tol)
			if len(got.touched) != c.catalogue-1 || got.touched[0] != 1 || got.touched[len(got.touched)-1] != c.catalogue-1 {
				t.Errorf("%s m=%d: touched %v..., want 1..%d", pr.name, c.m, got.touched[:min(3, len(got.touched))], c.catalogue-1)
			}
		}
	}
}

func TestFullSoftmaxGradMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 4))
	for _, tc := range []struct {
		m, d, catalogue int
		temp            float64
	}{{1, 2, 3, 1}, {6, 4, 10, 0.3}, {40, 3, 9, 0.05}} {
		c := newLSCase(rng, tc.m, tc.d, tc.catalogue, 0, tc.temp)
		loss := func() float64 {
			l, _ := FullSoftmaxReference(c.u, c.m, c.d, c.items, c.catalogue, c.pos, c.temp)
			return l
		}
		wantDu := finiteDiff(loss, c.u, lsStep)
		wantDIt := finiteDiff(loss, c.items, lsStep)
		got := lsRun[float64](c, true)
		assertClose(t, "FullSoftmax du", got.du, wantDu, lsGradTol)
		assertClose(t, "FullSoftmax dItems", got.dIt, wantDIt, lsGradTol)
	}
}

// TestFullSoftmaxEqualsSampledOverAllItems: with every item 1..C-1 as a
// negative, the positive among them is an accidental hit, so SampledSoftmax
// is FullSoftmax; losses and gradients agree to rounding.
func TestFullSoftmaxEqualsSampledOverAllItems(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 5))
	c := newLSCase(rng, 150, 8, 120, 119, 0.05)
	for r := range c.m {
		for j := range c.k {
			c.neg[r*c.k+j] = int32(j + 1)
		}
	}
	full, sampled := lsRun[float64](c, true), lsRun[float64](c, false)
	assertClose(t, "loss", []float64{full.loss}, []float64{sampled.loss}, lsTol64)
	assertClose(t, "du", full.du, sampled.du, 1e-11)
	assertClose(t, "dItems", full.dIt, sampled.dIt, 1e-11)
}

// TestSampledSoftmaxAllAccidentalHits: a row whose negatives all equal its
// positive has only the positive logit, so its loss is 0 (log 1) and its
// gradient is 0.
func TestSampledSoftmaxAllAccidentalHits(t *testing.T) {
	c := &lsCase{m: 2, d: 3, catalogue: 5, k: 4, temp: 0.05,
		u:     []float64{0.3, -0.2, 0.9, 0.1, 0.5, -0.4},
		items: randSlice(rand.New(rand.NewPCG(2, 6)), 5*3, 1),
		pos:   []int32{3, 2},
		neg:   []int32{3, 3, 3, 3, 1, 2, 4, 2}}
	ref, _ := SampledSoftmaxReference(c.u, c.m, c.d, c.items, c.pos, c.neg, c.k, c.temp)
	only := *c
	only.m, only.u, only.pos, only.neg = 1, c.u[3:], c.pos[1:], c.neg[4:]
	refRow1, _ := SampledSoftmaxReference(only.u, only.m, only.d, only.items, only.pos, only.neg, only.k, only.temp)
	got := lsRun[float64](c, false)
	for _, tc := range []struct {
		name      string
		got, want float64
	}{
		{"loss of both rows = row 1's / 2", got.loss, refRow1 / 2},
		{"reference", ref, refRow1 / 2},
		{"du of the all-hit row", math.Abs(got.du[0]) + math.Abs(got.du[1]) + math.Abs(got.du[2]), 0},
	} {
		if math.Abs(tc.got-tc.want) > lsTol64*(1+math.Abs(tc.want)) {
			t.Errorf("%s: got %.15g, want %.15g", tc.name, tc.got, tc.want)
		}
	}
	single := &lsCase{m: 1, d: 3, catalogue: 5, k: 4, temp: 0.05, u: c.u[:3], items: c.items, pos: c.pos[:1], neg: c.neg[:4]}
	if got := lsRun[float64](single, false); got.loss != 0 || got.count != 1 {
		t.Errorf("single all-hit row: loss, count = %g, %d, want 0, 1", got.loss, got.count)
	}
}

func TestSoftmaxAllPaddingWritesNothing(t *testing.T) {
	c := newLSCase(rand.New(rand.NewPCG(2, 7)), 4, 3, 6, 2, 0.05)
	c.pos = []int32{0, -1, 0, -3}
	for _, full := range []bool{false, true} {
		got := lsRun[float64](c, full)
		if got.loss != 0 || got.count != 0 || len(got.touched) != 0 {
			t.Errorf("full=%v: loss, count, touched = %g, %d, %v, want 0, 0, []", full, got.loss, got.count, got.touched)
		}
		assertClose(t, "du", got.du, make([]float64, len(got.du)), 0)
		assertClose(t, "dItems", got.dIt, make([]float64, len(got.dIt)), 0)
	}
}

// TestSampledSoftmaxFloat32MatchesFloat64 compares the float32 kernel with
// the float64 one on the same inputs, at HSTU's temperature.
func TestSampledSoftmaxFloat32MatchesFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 8))
	c := newLSCase(rng, 500, 32, 400, 64, 0.05)
	lsNormalizeRows(c.u, c.d)
	lsNormalizeRows(c.items, c.d)
	f64, f32 := lsRun[float64](c, false), lsRun[float32](c, false)
	assertClose(t, "loss", []float64{f32.loss}, []float64{f64.loss}, lsTol32)
	assertClose(t, "du", f32.du, f64.du, lsTol32)
	assertClose(t, "dItems", f32.dIt, f64.dIt, lsTol32)
}

// lsNormalizeRows scales each row of x (rows of d) to unit norm, as callers
// of the loss do.
func lsNormalizeRows(x []float64, d int) {
	for r := 0; r < len(x); r += d {
		n := math.Sqrt(Dot(x[r:r+d], x[r:r+d]))
		for i := r; i < r+d; i++ {
			x[i] /= n
		}
	}
}

// TestSoftmaxDeterministicAcrossWorkers: results are bitwise equal whatever
// the number of workers.
func TestSoftmaxDeterministicAcrossWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 9))
	c := newLSCase(rng, 1000, 16, 300, 32, 0.05)
	defer SetWorkers(Workers())
	for _, full := range []bool{false, true} {
		SetWorkers(1)
		one := lsRun[float32](c, full)
		SetWorkers(7)
		many := lsRun[float32](c, full)
		if one.loss != many.loss || !slices.Equal(one.du, many.du) || !slices.Equal(one.dIt, many.dIt) || !slices.Equal(one.touched, many.touched) {
			t.Errorf("full=%v: results with 1 and 7 workers differ (loss %v vs %v)", full, one.loss, many.loss)
		}
	}
}

func TestSoftmaxNilGradients(t *testing.T) {
	c := newLSCase(rand.New(rand.NewPCG(2, 10)), 30, 4, 20, 5, 0.1)
	want := lsRun[float64](c, false).loss
	got, _ := SampledSoftmax(c.u, c.m, c.d, c.items, c.pos, c.neg, c.k, c.temp, nil, nil, nil)
	assertClose(t, "sampled loss, nil gradients", []float64{got}, []float64{want}, lsTol64)
	want = lsRun[float64](c, true).loss
	got, _ = FullSoftmax(c.u, c.m, c.d, c.items, c.catalogue, c.pos, c.temp, nil, nil, nil)
	assertClose(t, "full loss, nil gradients", []float64{got}, []float64{want}, lsTol64)
}

func TestSoftmaxPanicsOnBadInput(t *testing.T) {
	u, items := make([]float64, 2*3), make([]float64, 5*3)
	du, dIt := make([]float64, 2*3), make([]float64, 5*3)
	pos, neg := []int32{1, 2}, []int32{1, 2, 3, 4}
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"neg out of range", "negative id 5", func() {
			SampledSoftmax(u, 2, 3, items, pos, []int32{1, 2, 3, 5}, 2, 0.05, du, dIt, nil)
		}},
		{"neg below 0", "negative id -2", func() {
			SampledSoftmax(u, 2, 3, items, pos, []int32{1, -2, 3, 4}, 2, 0.05, du, dIt, nil)
		}},
		{"pos out of range", "pos[1] = 5", func() { SampledSoftmax(u, 2, 3, items, []int32{1, 5}, neg, 2, 0.05, du, dIt, nil) }},
		{"len(neg)", "len(neg)", func() { SampledSoftmax(u, 2, 3, items, pos, neg[:3], 2, 0.05, du, dIt, nil) }},
		{"len(u)", "len(u)", func() { SampledSoftmax(u[:5], 2, 3, items, pos, neg, 2, 0.05, du, dIt, nil) }},
		{"len(du)", "len(du)", func() { SampledSoftmax(u, 2, 3, items, pos, neg, 2, 0.05, du[:3], dIt, nil) }},
		{"len(dItems)", "len(dItems)", func() { SampledSoftmax(u, 2, 3, items, pos, neg, 2, 0.05, du, dIt[:3], nil) }},
		{"items not rows of d", "multiple of d", func() { SampledSoftmax(u, 2, 3, items[:14], pos, neg, 2, 0.05, du, dIt, nil) }},
		{"temperature", "temperature", func() { SampledSoftmax(u, 2, 3, items, pos, neg, 2, 0, du, dIt, nil) }},
		{"full catalogue", "catalogue = 6", func() { FullSoftmax(u, 2, 3, items, 6, pos, 0.05, du, dIt, nil) }},
		{"full pos", "pos[0] = 7", func() { FullSoftmax(u, 2, 3, items, 5, []int32{7, 1}, 0.05, du, dIt, nil) }},
		{"negatives catalogue", "catalogue = 1", func() { UniformNegatives(rand.New(rand.NewPCG(1, 1)), 1, make([]int32, 3)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "kernels: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want one with prefix %q containing %q", msg, "kernels: ", tc.want)
				}
			}()
			tc.f()
		})
	}
}

func TestUniformNegatives(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 11))
	const catalogue, n = 11, 100000
	out := make([]int32, n)
	UniformNegatives(rng, catalogue, out)
	var hits [catalogue]int
	for _, id := range out {
		if id < 1 || id >= catalogue {
			t.Fatalf("id %d outside [1, %d)", id, catalogue)
		}
		hits[id]++
	}
	// Each of the 10 ids expects n/10 = 10000 draws, sd ≈ 95; allow 6 sd.
	for id := 1; id < catalogue; id++ {
		if math.Abs(float64(hits[id])-n/10) > 6*95 {
			t.Errorf("id %d drawn %d times, want %d ± %d", id, hits[id], n/10, 6*95)
		}
	}
}
