package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Tolerances: fast kernels against their float64 references (relative, as
// assertClose measures), and analytic gradients against central differences
// with step lyStep.
const (
	lyTol64   = 1e-12
	lyTol32   = 1e-4
	lyStep    = 1e-6
	lyGradTol = 1e-6
	lyAccum   = 0.25 // gradient buffers start here to check that backward adds
)

// lyConv converts a slice between float types.
func lyConv[T, U Float](x []U) []T {
	y := make([]T, len(x))
	for i, v := range x {
		y[i] = T(v)
	}
	return y
}

// lyFilled returns n copies of lyAccum.
func lyFilled(n int) []float64 {
	g := make([]float64, n)
	for i := range g {
		g[i] = lyAccum
	}
	return g
}

// lyAdded returns g - lyAccum: what a backward pass added to a lyFilled buffer.
func lyAdded(g []float64) []float64 {
	d := make([]float64, len(g))
	for i, v := range g {
		d[i] = v - lyAccum
	}
	return d
}

// lyNaNs returns n NaNs, to check that forward passes overwrite outputs.
func lyNaNs[T Float](n int) []T {
	y := make([]T, n)
	for i := range y {
		y[i] = T(math.NaN())
	}
	return y
}

// lyPrecisions are the element types fast kernels are checked in.
var lyPrecisions = []struct {
	name string
	tol  float64
}{{"float64", lyTol64}, {"float32", lyTol32}}

// lyLayerNormPair runs LayerNormForward and LayerNormReference in T and
// returns y, rstd of each.
func lyLayerNormPair[T Float](x []float64, rows, d int) (fy, fr, ry, rr []float64) {
	xt := lyConv[T](x)
	y1, r1, y2, r2 := lyNaNs[T](rows*d), lyNaNs[T](rows), lyNaNs[T](rows*d), lyNaNs[T](rows)
	LayerNormForward(xt, y1, rows, d, 1e-6, r1)
	LayerNormReference(xt, y2, rows, d, 1e-6, r2)
	return lyConv[float64](y1), lyConv[float64](r1), lyConv[float64](y2), lyConv[float64](r2)
}

func TestLayerNormMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct{ rows, d int }{{0, 4}, {1, 1}, {3, 5}, {7, 64}, {129, 257}, {700, 64}} {
		x := randSlice(rng, tc.rows*tc.d, 3)
		for i := range x {
			x[i] += 1 // a non-zero mean
		}
		for _, pr := range lyPrecisions {
			run := lyLayerNormPair[float64]
			if pr.name == "float32" {
				run = lyLayerNormPair[float32]
			}
			fy, fr, ry, rr := run(x, tc.rows, tc.d)
			assertClose(t, pr.name+" y", fy, ry, pr.tol)
			assertClose(t, pr.name+" rstd", fr, rr, pr.tol)
		}
	}
	// In place: y may be x.
	x := randSlice(rng, 5*8, 1)
	want, rs := make([]float64, len(x)), make([]float64, 5)
	LayerNormReference(x, want, 5, 8, 1e-6, rs)
	LayerNormForward(x, x, 5, 8, 1e-6, rs)
	assertClose(t, "in place", x, want, lyTol64)
}

func TestLayerNormBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		rows, d int
		eps     float64
	}{{1, 1, 1e-6}, {3, 6, 1e-6}, {4, 9, 0.5}} {
		x := randSlice(rng, tc.rows*tc.d, 2)
		w := randSlice(rng, tc.rows*tc.d, 1)
		y, rstd := make([]float64, len(x)), make([]float64, tc.rows)
		loss := func() float64 {
			LayerNormForward(x, y, tc.rows, tc.d, tc.eps, rstd)
			return weightedSum(w, y)
		}
		want := finiteDiff(loss, x, lyStep)
		loss()
		dx := lyFilled(len(x))
		LayerNormBackward(y, rstd, w, dx, tc.rows, tc.d)
		assertClose(t, "LayerNorm dx", lyAdded(dx), want, lyGradTol)
	}
}

// TestLayerNormBackwardParallelMatchesRows checks the row-block parallel
// path against the same kernel called one row at a time.
func TestLayerNormBackwardParallelMatchesRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 3))
	rows, d := 1000, 50
	x, dy := randSlice(rng, rows*d, 1), randSlice(rng, rows*d, 1)
	y, rstd := make([]float64, rows*d), make([]float64, rows)
	LayerNormForward(x, y, rows, d, 1e-6, rstd)
	got, want := make([]float64, rows*d), make([]float64, rows*d)
	LayerNormBackward(y, rstd, dy, got, rows, d)
	for r := range rows {
		s := r * d
		LayerNormBackward(y[s:s+d], rstd[r:r+1], dy[s:s+d], want[s:s+d], 1, d)
	}
	assertClose(t, "parallel dx", got, want, lyTol64)
}

// lyActivations lists the elementwise kernels, their float64 formulas and
// derivatives, and the values the derivative check samples x away from.
var lyActivations = []struct {
	name     string
	fwd      func(x, y []float64)
	bwd      func(x, dy, dx []float64)
	fwd32    func(x, y []float32)
	f, df    func(x float64) float64
	awayFrom float64 // x within 0.05 of this is not sampled (a kink); NaN for none
}{
	{"SiLU", SiLUForward[float64], SiLUBackward[float64], SiLUForward[float32],
		func(x float64) float64 { return x / (1 + math.Exp(-x)) },
		func(x float64) float64 { s := 1 / (1 + math.Exp(-x)); return s * (1 + x*(1-s)) }, math.NaN()},
	{"GELU", GELUForward[float64], GELUBackward[float64], GELUForward[float32],
		func(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) },
		func(x float64) float64 {
			return 0.5*math.Erfc(-x/math.Sqrt2) + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
		}, math.NaN()},
	{"ReLU", ReLUForward[float64], ReLUBackward[float64], ReLUForward[float32],
		func(x float64) float64 { return math.Max(x, 0) },
		func(x float64) float64 {
			if x > 0 {
				return 1
			}
			return 0
		}, 0},
}

func TestSiLUGELUReLUValues(t *testing.T) {
	// Known values: torch.nn.functional.silu / gelu (exact) at x = -1, 0, 1.
	for _, tc := range []struct {
		name string
		x    []float64
		want []float64
	}{
		{"SiLU", []float64{-1, 0, 1}, []float64{-0.2689414213699951, 0, 0.7310585786300049}},
		{"GELU", []float64{-1, 0, 1}, []float64{-0.15865525393145707, 0, 0.8413447460685429}},
		{"ReLU", []float64{-1, 0, 1}, []float64{0, 0, 1}},
	} {
		for _, a := range lyActivations {
			if a.name != tc.name {
				continue
			}
			got := make([]float64, len(tc.x))
			a.fwd(tc.x, got)
			assertClose(t, tc.name+" values", got, tc.want, 1e-15)
		}
	}
	// Large inputs take the parallel path; float32 agrees to lyTol32.
	rng := rand.New(rand.NewPCG(2, 1))
	x := randSlice(rng, 100_003, 6)
	for _, a := range lyActivations {
		want := make([]float64, len(x))
		for i, v := range x {
			want[i] = a.f(v)
		}
		got := make([]float64, len(x))
		a.fwd(x, got)
		assertClose(t, a.name+" float64", got, want, lyTol64)
		got32 := make([]float32, len(x))
		a.fwd32(lyConv[float32](x), got32)
		assertClose(t, a.name+" float32", lyConv[float64](got32), want, lyTol32)
		dy := randSlice(rng, len(x), 1)
		dx := lyFilled(len(x))
		a.bwd(x, dy, dx)
		for i, v := range x {
			want[i] = dy[i] * a.df(v)
		}
		assertClose(t, a.name+" backward", lyAdded(dx), want, lyTol64)
	}
}

func TestSiLUGELUReLUBackwardMatchFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, a := range lyActivations {
		x := randSlice(rng, 64, 4)
		for i := range x {
			if math.Abs(x[i]-a.awayFrom) < 0.05 {
				x[i] += 0.1
			}
		}
		w := randSlice(rng, len(x), 1)
		y := make([]float64, len(x))
		loss := func() float64 { a.fwd(x, y); return weightedSum(w, y) }
		want := finiteDiff(loss, x, lyStep)
		dx := lyFilled(len(x))
		a.bwd(x, w, dx)
		assertClose(t, a.name+" dx", lyAdded(dx), want, lyGradTol)
	}
}

// lyLinearPair runs LinearForward and LinearReference in T.
func lyLinearPair[T Float](x, w, b []float64, m, k, n int) (fast, ref []float64) {
	xt, wt := lyConv[T](x), lyConv[T](w)
	var bt []T
	if b != nil {
		bt = lyConv[T](b)
	}
	y1, y2 := lyNaNs[T](m*n), lyNaNs[T](m*n)
	LinearForward(xt, wt, bt, y1, m, k, n)
	LinearReference(xt, wt, bt, y2, m, k, n)
	return lyConv[float64](y1), lyConv[float64](y2)
}

func TestLinearMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	for _, tc := range []struct {
		m, k, n int
		bias    bool
	}{{1, 1, 1, true}, {3, 4, 5, false}, {3, 4, 5, true}, {0, 3, 2, true}, {4, 0, 3, true}, {4, 0, 3, false}, {300, 64, 256, true}, {257, 50, 33, false}} {
		x, w := randSlice(rng, tc.m*tc.k, 1), randSlice(rng, tc.k*tc.n, 1)
		var b []float64
		if tc.bias {
			b = randSlice(rng, tc.n, 1)
		}
		for _, pr := range lyPrecisions {
			run := lyLinearPair[float64]
			if pr.name == "float32" {
				run = lyLinearPair[float32]
			}
			got, want := run(x, w, b, tc.m, tc.k, tc.n)
			assertClose(t, pr.name+" y", got, want, pr.tol)
		}
	}
}

func TestLinearBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 2))
	m, k, n := 3, 4, 5
	x, w, b := randSlice(rng, m*k, 1), randSlice(rng, k*n, 1), randSlice(rng, n, 1)
	dy := randSlice(rng, m*n, 1)
	y := make([]float64, m*n)
	loss := func() float64 { LinearForward(x, w, b, y, m, k, n); return weightedSum(dy, y) }
	dx, dw, db := lyFilled(m*k), lyFilled(k*n), lyFilled(n)
	LinearBackward(x, w, dy, dx, dw, db, m, k, n)
	for _, tc := range []struct {
		name      string
		param, dp []float64
	}{{"dx", x, dx}, {"dw", w, dw}, {"db", b, db}} {
		assertClose(t, "Linear "+tc.name, lyAdded(tc.dp), finiteDiff(loss, tc.param, lyStep), lyGradTol)
	}
	// nil dx, dw and db are skipped; the others are unchanged.
	dw2 := lyFilled(k * n)
	LinearBackward(x, w, dy, nil, dw2, nil, m, k, n)
	assertClose(t, "Linear dw with nil dx, db", dw2, dw, lyTol64)
}

// TestLinearBackwardLargeMatchesLoops covers the parallel column sums and
// the transposed gemms at a size where finite differences are too slow.
func TestLinearBackwardLargeMatchesLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	m, k, n := 700, 20, 64
	x, w, dy := randSlice(rng, m*k, 1), randSlice(rng, k*n, 1), randSlice(rng, m*n, 1)
	dx, dw, db := lyFilled(m*k), lyFilled(k*n), lyFilled(n)
	LinearBackward(x, w, dy, dx, dw, db, m, k, n)
	wx, ww, wb := make([]float64, m*k), make([]float64, k*n), make([]float64, n)
	for i := range m {
		for j := range n {
			g := dy[i*n+j]
			wb[j] += g
			for p := range k {
				wx[i*k+p] += g * w[p*n+j]
				ww[p*n+j] += x[i*k+p] * g
			}
		}
	}
	assertClose(t, "dx", lyAdded(dx), wx, lyTol64)
	assertClose(t, "dw", lyAdded(dw), ww, lyTol64)
	assertClose(t, "db", lyAdded(db), wb, lyTol64)
}

// lyL2Pair runs L2NormalizeForward and L2NormalizeReference in T.
func lyL2Pair[T Float](x []float64, rows, d int, eps float64) (fy, fn, ry, rn []float64) {
	xt := lyConv[T](x)
	y1, n1, y2, n2 := lyNaNs[T](rows*d), lyNaNs[T](rows), lyNaNs[T](rows*d), lyNaNs[T](rows)
	L2NormalizeForward(xt, y1, n1, rows, d, eps)
	L2NormalizeReference(xt, y2, n2, rows, d, eps)
	return lyConv[float64](y1), lyConv[float64](n1), lyConv[float64](y2), lyConv[float64](n2)
}

func TestL2NormalizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 1))
	for _, tc := range []struct{ rows, d int }{{0, 3}, {1, 1}, {4, 7}, {33, 50}, {900, 64}} {
		x := randSlice(rng, tc.rows*tc.d, 2)
		if tc.rows > 1 {
			clear(x[:tc.d]) // an all-zero row: the norm clamps at eps
		}
		for _, pr := range lyPrecisions {
			run := lyL2Pair[float64]
			if pr.name == "float32" {
				run = lyL2Pair[float32]
			}
			fy, fn, ry, rn := run(x, tc.rows, tc.d, 1e-12)
			assertClose(t, pr.name+" y", fy, ry, pr.tol)
			assertClose(t, pr.name+" norms", fn, rn, pr.tol)
		}
	}
}

func TestL2NormalizeBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	rows, d, eps := 4, 5, 0.5
	x := randSlice(rng, rows*d, 1)
	// Rows 0..2 have norm 2 (> eps); row 3 has norm 0.1 and is clamped.
	for r, want := range []float64{2, 2, 2, 0.1} {
		row := x[r*d : (r+1)*d]
		ScaleBy(row, want/math.Sqrt(Dot(row, row)))
	}
	w := randSlice(rng, rows*d, 1)
	y, norms := make([]float64, rows*d), make([]float64, rows)
	loss := func() float64 {
		L2NormalizeForward(x, y, norms, rows, d, eps)
		return weightedSum(w, y)
	}
	want := finiteDiff(loss, x, lyStep)
	loss()
	if norms[3] != eps {
		t.Fatalf("clamped norm: got %v, want %v", norms[3], eps)
	}
	dx := lyFilled(rows * d)
	L2NormalizeBackward(y, norms, w, dx, rows, d, eps)
	assertClose(t, "L2Normalize dx", lyAdded(dx), want, lyGradTol)

	// The parallel path agrees with one row at a time.
	rows = 1000
	x, dy := randSlice(rng, rows*d, 1), randSlice(rng, rows*d, 1)
	y, norms = make([]float64, rows*d), make([]float64, rows)
	L2NormalizeForward(x, y, norms, rows, d, 1e-12)
	got, rowwise := make([]float64, rows*d), make([]float64, rows*d)
	L2NormalizeBackward(y, norms, dy, got, rows, d, 1e-12)
	for r := range rows {
		s := r * d
		L2NormalizeBackward(y[s:s+d], norms[r:r+1], dy[s:s+d], rowwise[s:s+d], 1, d, 1e-12)
	}
	assertClose(t, "parallel dx", got, rowwise, lyTol64)
}

func TestDropoutStatistics(t *testing.T) {
	for _, tc := range []struct {
		p    float64
		seed uint64
	}{{0.3, 1}, {0.3, 2}, {0.5, 3}} {
		n := 100_000
		x := make([]float64, n)
		for i := range x {
			x[i] = 1
		}
		y, mask := make([]float64, n), make([]bool, n)
		DropoutForward(x, y, tc.p, rand.New(rand.NewPCG(tc.seed, 0)), mask)
		kept, sum := 0, 0.0
		for i := range y {
			if mask[i] {
				kept++
				if y[i] != 1/(1-tc.p) {
					t.Fatalf("p=%v: kept y[%d] = %v, want %v", tc.p, i, y[i], 1/(1-tc.p))
				}
			} else if y[i] != 0 {
				t.Fatalf("p=%v: dropped y[%d] = %v, want 0", tc.p, i, y[i])
			}
			sum += y[i]
		}
		if got, want := float64(kept)/float64(n), 1-tc.p; math.Abs(got-want) > 0.01 {
			t.Errorf("p=%v: kept fraction got %.4f, want %.4f +- 0.01", tc.p, got, want)
		}
		if got := sum / float64(n); math.Abs(got-1) > 0.01 {
			t.Errorf("p=%v: mean got %.4f, want 1 +- 0.01", tc.p, got)
		}
	}
	// p == 0 copies and keeps everything; rng may be nil.
	x := []float32{1, -2, 3}
	y, mask := make([]float32, 3), make([]bool, 3)
	DropoutForward(x, y, 0, nil, mask)
	for i := range x {
		if y[i] != x[i] || !mask[i] {
			t.Errorf("p=0: got y[%d]=%v mask %v, want %v true", i, y[i], mask[i], x[i])
		}
	}
}

func TestDropoutBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 1))
	for _, p := range []float64{0, 0.3, 0.9} {
		x, w := randSlice(rng, 50, 1), randSlice(rng, 50, 1)
		y, mask := make([]float64, len(x)), make([]bool, len(x))
		loss := func() float64 { // the same seed each call: a fixed mask
			DropoutForward(x, y, p, rand.New(rand.NewPCG(7, 7)), mask)
			return weightedSum(w, y)
		}
		want := finiteDiff(loss, x, lyStep)
		loss()
		dx := lyFilled(len(x))
		DropoutBackward(mask, p, w, dx)
		assertClose(t, "Dropout dx", lyAdded(dx), want, lyGradTol)
	}
}

func TestAddToScaleBy(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 1))
	for _, n := range []int{0, 3, 70_001} {
		x, y := randSlice(rng, n, 1), randSlice(rng, n, 1)
		want := make([]float64, n)
		for i := range want {
			want[i] = (y[i] + x[i]) * -1.5
		}
		AddTo(y, x)
		ScaleBy(y, -1.5)
		assertClose(t, "(y+x)*s", y, want, lyTol64)
	}
}

// TestLayersPanicOnBadLengths checks that programmer mistakes panic with the
// package prefix.
func TestLayersPanicOnBadLengths(t *testing.T) {
	f := make([]float64, 6)
	for _, tc := range []struct {
		name string
		call func()
	}{
		{"LayerNorm y", func() { LayerNormForward(f, f[:5], 2, 3, 1e-6, f[:2]) }},
		{"LayerNorm d=0", func() { LayerNormForward(f[:0], f[:0], 2, 0, 1e-6, f[:2]) }},
		{"LayerNormBackward rstd", func() { LayerNormBackward(f, f[:1], f, f, 2, 3) }},
		{"SiLU", func() { SiLUForward(f, f[:5]) }},
		{"GELUBackward", func() { GELUBackward(f, f, f[:5]) }},
		{"Linear b", func() { LinearForward(f, f, f[:2], f, 2, 3, 3) }},
		{"Linear negative", func() { LinearForward(f[:0], f[:0], nil, f[:0], -1, 0, 0) }},
		{"LinearBackward dw", func() { LinearBackward(f, f[:3], f[:2], nil, f[:2], nil, 2, 3, 1) }},
		{"L2Normalize norms", func() { L2NormalizeForward(f, f, f[:3], 2, 3, 1e-12) }},
		{"Dropout p=1", func() { DropoutForward(f, f, 1, rand.New(rand.NewPCG(1, 1)), make([]bool, 6)) }},
		{"Dropout nil rng", func() { DropoutForward(f, f, 0.1, nil, make([]bool, 6)) }},
		{"DropoutBackward", func() { DropoutBackward(make([]bool, 5), 0.1, f, f) }},
		{"AddTo", func() { AddTo(f, f[:5]) }},
	} {
		func() {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.HasPrefix(msg, "kernels: ") {
					t.Errorf("%s: got panic %v, want one starting %q", tc.name, r, "kernels: ")
				}
			}()
			tc.call()
		}()
	}
}
