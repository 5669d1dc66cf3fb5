package kernels

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// Tolerances: the fast kernel against the float64 reference (relative, as
// assertClose measures), and the analytic gradients against central
// differences with step hstuStep.
const (
	hstuTol64   = 1e-12
	hstuTol32   = 1e-4
	hstuStep    = 1e-6
	hstuGradTol = 1e-6
	hstuAccum   = 0.25 // gradient buffers start here to check that backward adds
)

// hstuConv converts a slice between float types; nil stays nil.
func hstuConv[T, U Float](x []U) []T {
	if x == nil {
		return nil
	}
	y := make([]T, len(x))
	for i, v := range x {
		y[i] = T(v)
	}
	return y
}

// hstuFilled returns n copies of hstuAccum, or nil when n is 0.
func hstuFilled(n int) []float64 {
	if n == 0 {
		return nil
	}
	g := make([]float64, n)
	for i := range g {
		g[i] = hstuAccum
	}
	return g
}

// hstuAdded returns g - hstuAccum: what a backward pass added to g.
func hstuAdded(g []float64) []float64 {
	d := make([]float64, len(g))
	for i, v := range g {
		d[i] = v - hstuAccum
	}
	return d
}

// hstuNaNs returns n NaNs, to check that forward passes overwrite outputs.
func hstuNaNs[T Float](n int) []T {
	y := make([]T, n)
	for i := range y {
		y[i] = T(math.NaN())
	}
	return y
}

// hstuInputs are the arguments of one call, in float64.
type hstuInputs struct {
	a                 HSTUAttention
	q, k, v           []float64
	lens              []int
	posBias, timeBias []float64 // nil when absent
	tsQuery, tsKey    []int64
}

// newHSTUInputs returns random inputs for a with lens (random in [0, L] when
// nil) and the biases pos, time asks for. Timestamps increase by steps of
// 1 s to ~10^11 s so that many time buckets occur; the query uses the next
// item's timestamp, as in HSTU.
func newHSTUInputs(rng *rand.Rand, a HSTUAttention, lens []int, pos, time bool) *hstuInputs {
	rows := a.B * a.L
	in := &hstuInputs{a: a, lens: lens,
		q: randSlice(rng, rows*a.H*a.DQK, 1), k: randSlice(rng, rows*a.H*a.DQK, 1), v: randSlice(rng, rows*a.H*a.DV, 1)}
	if in.lens == nil {
		in.lens = make([]int, a.B)
		for b := range in.lens {
			in.lens[b] = rng.IntN(a.L + 1)
		}
	}
	if pos {
		in.posBias = randSlice(rng, a.L, 1)
	}
	if time {
		in.timeBias = randSlice(rng, TimeBuckets, 1)
		in.tsQuery, in.tsKey = make([]int64, rows), make([]int64, rows)
		for b := range a.B {
			t := int64(1_600_000_000)
			for i := range a.L {
				in.tsKey[b*a.L+i] = t
				t += int64(math.Exp(rng.Float64() * 25))
				in.tsQuery[b*a.L+i] = t
			}
		}
	}
	return in
}

// hstuForward runs forward (the fast kernel or the reference) in T over
// NaN-filled output and returns out in float64.
func hstuForward[T Float](in *hstuInputs, ref bool) []float64 {
	out := hstuNaNs[T](len(in.v))
	f := HSTUAttentionForward[T]
	if ref {
		f = HSTUAttentionReference[T]
	}
	f(in.a, hstuConv[T](in.q), hstuConv[T](in.k), hstuConv[T](in.v), in.lens,
		hstuConv[T](in.posBias), hstuConv[T](in.timeBias), in.tsQuery, in.tsKey, out)
	return hstuConv[float64](out)
}

// hstuGrads are the gradients of one backward call, in float64.
type hstuGrads struct{ dq, dk, dv, dPos, dTime []float64 }

// hstuBackward runs HSTUAttentionBackward in T on buffers that start at
// hstuAccum and returns them in float64.
func hstuBackward[T Float](in *hstuInputs, dOut []float64) hstuGrads {
	dq, dk, dv := hstuConv[T](hstuFilled(len(in.q))), hstuConv[T](hstuFilled(len(in.k))), hstuConv[T](hstuFilled(len(in.v)))
	dPos, dTime := hstuConv[T](hstuFilled(len(in.posBias))), hstuConv[T](hstuFilled(len(in.timeBias)))
	HSTUAttentionBackward(in.a, hstuConv[T](in.q), hstuConv[T](in.k), hstuConv[T](in.v), in.lens,
		hstuConv[T](in.posBias), hstuConv[T](in.timeBias), in.tsQuery, in.tsKey,
		hstuConv[T](dOut), dq, dk, dv, dPos, dTime)
	return hstuGrads{hstuConv[float64](dq), hstuConv[float64](dk), hstuConv[float64](dv),
		hstuConv[float64](dPos), hstuConv[float64](dTime)}
}

// hstuWithRows runs f with the block size forced to rows (0: automatic).
func hstuWithRows(rows int, f func()) {
	old := hstuRowsOverride
	hstuRowsOverride = rows
	defer func() { hstuRowsOverride = old }()
	f()
}

// hstuBlockSizes are the block sizes tests run with: the automatic one, and
// 2 and 3 rows so that small L crosses block boundaries.
var hstuBlockSizes = []int{0, 2, 3}

func TestHSTUAttentionMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 1))
	for _, tc := range []struct {
		name      string
		a         HSTUAttention
		lens      []int // nil: random in [0, L]
		pos, time bool
	}{
		{"one", HSTUAttention{B: 1, L: 1, H: 1, DQK: 1, DV: 1}, []int{1}, true, true},
		{"empty batch", HSTUAttention{B: 0, L: 3, H: 1, DQK: 2, DV: 2}, []int{}, true, true},
		{"causal", HSTUAttention{B: 3, L: 5, H: 2, DQK: 3, DV: 4}, []int{0, 1, 5}, true, true},
		{"causal no bias", HSTUAttention{B: 3, L: 5, H: 2, DQK: 3, DV: 4, Scale: 0.3}, []int{5, 0, 2}, false, false},
		{"causal pos only", HSTUAttention{B: 2, L: 6, H: 1, DQK: 2, DV: 3}, []int{6, 4}, true, false},
		{"causal time only", HSTUAttention{B: 2, L: 6, H: 1, DQK: 2, DV: 3, Scale: 0.3}, []int{6, 1}, false, true},
		{"window 1", HSTUAttention{B: 4, L: 7, H: 3, DQK: 5, DV: 2, Scale: 0.3, Window: 1}, []int{7, 3, 0, 6}, true, true},
		{"window 3", HSTUAttention{B: 3, L: 9, H: 2, DQK: 3, DV: 3, Window: 3}, []int{9, 8, 1}, true, true},
		{"window L", HSTUAttention{B: 2, L: 8, H: 2, DQK: 3, DV: 2, Window: 8}, []int{8, 5}, true, true},
		{"window 3 summary 1", HSTUAttention{B: 3, L: 9, H: 2, DQK: 3, DV: 3, Window: 3, Summaries: 1}, []int{9, 8, 1}, true, true},
		{"window 3 summaries 2", HSTUAttention{B: 3, L: 16, H: 1, DQK: 4, DV: 2, Scale: 0.3, Window: 3, Summaries: 2}, []int{16, 0, 11}, true, true},
		{"window 1 summaries 2", HSTUAttention{B: 2, L: 7, H: 2, DQK: 2, DV: 2, Window: 1, Summaries: 2}, []int{7, 4}, false, true},
		{"window L summaries 2", HSTUAttention{B: 2, L: 8, H: 1, DQK: 3, DV: 2, Window: 8, Summaries: 2}, []int{8, 6}, true, false},
		{"random lens", HSTUAttention{B: 8, L: 50, H: 2, DQK: 16, DV: 24}, nil, true, true},
		{"multi-block causal", HSTUAttention{B: 2, L: 130, H: 2, DQK: 8, DV: 8, Scale: 0.3}, []int{130, 129}, true, true},
		{"ml-1m window", HSTUAttention{B: 3, L: 200, H: 1, DQK: 50, DV: 50, Window: 32, Summaries: 2}, []int{200, 17, 199}, true, true},
	} {
		in := newHSTUInputs(rng, tc.a, tc.lens, tc.pos, tc.time)
		for _, rows := range hstuBlockSizes {
			hstuWithRows(rows, func() {
				assertClose(t, tc.name+" float64", hstuForward[float64](in, false), hstuForward[float64](in, true), hstuTol64)
				assertClose(t, tc.name+" float32", hstuForward[float32](in, false), hstuForward[float32](in, true), hstuTol32)
			})
		}
	}
}

func TestHSTUAttentionBackwardMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 2))
	for _, tc := range []struct {
		name      string
		a         HSTUAttention
		lens      []int
		pos, time bool
	}{
		{"causal", HSTUAttention{B: 2, L: 7, H: 2, DQK: 3, DV: 2}, []int{7, 5}, true, true},
		{"causal scaled no bias", HSTUAttention{B: 2, L: 7, H: 2, DQK: 3, DV: 2, Scale: 0.3}, []int{7, 5}, false, false},
		{"window 3", HSTUAttention{B: 2, L: 7, H: 2, DQK: 3, DV: 2, Window: 3}, []int{7, 4}, true, true},
		{"window 2 summaries 2", HSTUAttention{B: 2, L: 7, H: 2, DQK: 3, DV: 2, Scale: 0.3, Window: 2, Summaries: 2}, []int{7, 6}, true, true},
		{"window 1 summary 1", HSTUAttention{B: 2, L: 7, H: 2, DQK: 3, DV: 2, Window: 1, Summaries: 1}, []int{7, 3}, true, true},
	} {
		in := newHSTUInputs(rng, tc.a, tc.lens, tc.pos, tc.time)
		w := randSlice(rng, len(in.v), 1)
		out := make([]float64, len(in.v))
		loss := func() float64 {
			HSTUAttentionForward(in.a, in.q, in.k, in.v, in.lens, in.posBias, in.timeBias, in.tsQuery, in.tsKey, out)
			return weightedSum(w, out)
		}
		want := hstuGrads{finiteDiff(loss, in.q, hstuStep), finiteDiff(loss, in.k, hstuStep), finiteDiff(loss, in.v, hstuStep),
			finiteDiff(loss, in.posBias, hstuStep), finiteDiff(loss, in.timeBias, hstuStep)}
		for _, rows := range hstuBlockSizes {
			hstuWithRows(rows, func() {
				got := hstuBackward[float64](in, w)
				assertClose(t, tc.name+" dq", hstuAdded(got.dq), want.dq, hstuGradTol)
				assertClose(t, tc.name+" dk", hstuAdded(got.dk), want.dk, hstuGradTol)
				assertClose(t, tc.name+" dv", hstuAdded(got.dv), want.dv, hstuGradTol)
				assertClose(t, tc.name+" dPosBias", hstuAdded(got.dPos), want.dPos, hstuGradTol)
				assertClose(t, tc.name+" dTimeBias", hstuAdded(got.dTime), want.dTime, hstuGradTol)
			})
		}
	}
}

// TestHSTUAttentionBackwardFloat32 checks the float32 instantiation against
// float64 at a shape with several blocks, windows and summaries.
func TestHSTUAttentionBackwardFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 3))
	for _, a := range []HSTUAttention{
		{B: 3, L: 60, H: 2, DQK: 8, DV: 6},
		{B: 3, L: 60, H: 2, DQK: 8, DV: 6, Scale: 0.3, Window: 7, Summaries: 2},
	} {
		in := newHSTUInputs(rng, a, []int{60, 33, 0}, true, true)
		dOut := randSlice(rng, len(in.v), 1)
		g64, g32 := hstuBackward[float64](in, dOut), hstuBackward[float32](in, dOut)
		assertClose(t, "float32 dq", g32.dq, g64.dq, hstuTol32)
		assertClose(t, "float32 dk", g32.dk, g64.dk, hstuTol32)
		assertClose(t, "float32 dv", g32.dv, g64.dv, hstuTol32)
		assertClose(t, "float32 dPosBias", g32.dPos, g64.dPos, hstuTol32)
		assertClose(t, "float32 dTimeBias", g32.dTime, g64.dTime, hstuTol32)
	}
}

// TestHSTUAttentionPadding checks that padding query rows output zero over
// NaN-filled buffers, that padding rows get exactly zero gradient when dOut
// is non-zero there, and that valid rows never read padding: NaN in the
// padding rows of q, k, v changes nothing.
func TestHSTUAttentionPadding(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 4))
	for _, a := range []HSTUAttention{
		{B: 3, L: 8, H: 2, DQK: 3, DV: 2},
		{B: 3, L: 8, H: 2, DQK: 3, DV: 2, Window: 2, Summaries: 2},
	} {
		clean := newHSTUInputs(rng, a, []int{0, 5, 8}, true, true)
		dirty := *clean
		dirty.q, dirty.k, dirty.v = append([]float64(nil), clean.q...), append([]float64(nil), clean.k...), append([]float64(nil), clean.v...)
		hk, hv := a.H*a.DQK, a.H*a.DV
		for b, n := range clean.lens {
			for i := n; i < a.L; i++ {
				r := b*a.L + i
				copy(dirty.q[r*hk:(r+1)*hk], hstuNaNs[float64](hk))
				copy(dirty.k[r*hk:(r+1)*hk], hstuNaNs[float64](hk))
				copy(dirty.v[r*hv:(r+1)*hv], hstuNaNs[float64](hv))
			}
		}
		out := hstuForward[float64](&dirty, false)
		assertClose(t, "out with NaN padding", out, hstuForward[float64](clean, false), hstuTol64)
		dOut := randSlice(rng, len(clean.v), 1)
		got, want := hstuBackward[float64](&dirty, dOut), hstuBackward[float64](clean, dOut)
		assertClose(t, "dq with NaN padding", got.dq, want.dq, hstuTol64)
		assertClose(t, "dk with NaN padding", got.dk, want.dk, hstuTol64)
		assertClose(t, "dv with NaN padding", got.dv, want.dv, hstuTol64)
		assertClose(t, "dPosBias with NaN padding", got.dPos, want.dPos, hstuTol64)
		assertClose(t, "dTimeBias with NaN padding", got.dTime, want.dTime, hstuTol64)
		for b, n := range clean.lens {
			for i := n; i < a.L; i++ {
				r := b*a.L + i
				for _, x := range []struct {
					name string
					s    []float64
				}{{"out", out[r*hv : (r+1)*hv]}, {"dq", hstuAdded(got.dq[r*hk : (r+1)*hk])},
					{"dk", hstuAdded(got.dk[r*hk : (r+1)*hk])}, {"dv", hstuAdded(got.dv[r*hv : (r+1)*hv])}} {
					for c, y := range x.s {
						if y != 0 {
							t.Errorf("Window %d: lens[%d] = %d: %s row %d col %d = %g, want 0", a.Window, b, n, x.name, i, c, y)
						}
					}
				}
			}
		}
	}
}

// TestHSTUAttentionDeterministic checks that float32 results do not depend
// on the number of workers: bias gradients are summed in pair order.
func TestHSTUAttentionDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 5))
	a := HSTUAttention{B: 9, L: 40, H: 2, DQK: 8, DV: 8, Window: 5, Summaries: 2}
	in := newHSTUInputs(rng, a, nil, true, true)
	dOut := randSlice(rng, len(in.v), 1)
	old := Workers()
	defer SetWorkers(old)
	var first hstuGrads
	var firstOut []float64
	for _, w := range []int{1, 2, 5} {
		SetWorkers(w)
		out, g := hstuForward[float32](in, false), hstuBackward[float32](in, dOut)
		if firstOut == nil {
			firstOut, first = out, g
			continue
		}
		for _, x := range []struct {
			name      string
			got, want []float64
		}{{"out", out, firstOut}, {"dq", g.dq, first.dq}, {"dk", g.dk, first.dk}, {"dv", g.dv, first.dv},
			{"dPosBias", g.dPos, first.dPos}, {"dTimeBias", g.dTime, first.dTime}} {
			for i := range x.got {
				if x.got[i] != x.want[i] {
					t.Fatalf("%d workers: %s[%d] = %g, want %g (1 worker)", w, x.name, i, x.got[i], x.want[i])
				}
			}
		}
	}
}

func TestHSTUTimeBucket(t *testing.T) {
	for _, tc := range []struct {
		dt   int64
		want int
	}{
		{0, 0}, {1, 0}, {-1, 0}, {2, 2}, {-2, 2}, {3, 3}, {60, 13}, {86400, 37},
		{1_000_000_000, 68}, {-1_000_000_000, 68},
		{math.MaxInt64, 128}, {math.MinInt64, 128}, {-math.MaxInt64, 128},
	} {
		if got := TimeBucket(tc.dt); got != tc.want {
			t.Errorf("TimeBucket(%d) = %d, want %d", tc.dt, got, tc.want)
		}
		if got := hstuBucket(tc.dt); got != tc.want {
			t.Errorf("hstuBucket(%d) = %d, want %d", tc.dt, got, tc.want)
		}
	}
}

// TestHSTUBucketTable checks the logarithm-free bucket against the formula
// around every bucket boundary and at random magnitudes of every bit length.
func TestHSTUBucketTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 6))
	var dts []int64
	for b := 1; b < TimeBuckets; b++ {
		m := hstuBucketMin[b]
		for d := uint64(0); d < 3; d++ {
			for _, u := range []uint64{m - d - 1, m + d} {
				if u <= math.MaxInt64 {
					dts = append(dts, int64(u), -int64(u))
				}
			}
		}
	}
	for l := range 63 {
		for range 50 {
			u := int64(1)<<l + rng.Int64N(int64(1)<<l)
			dts = append(dts, u, -u)
		}
	}
	for _, dt := range dts {
		if got, want := hstuBucket(dt), TimeBucket(dt); got != want {
			t.Errorf("hstuBucket(%d) = %d, want TimeBucket = %d", dt, got, want)
		}
	}
}

func TestHSTUAttentionPanicsOnBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 7))
	good := HSTUAttention{B: 2, L: 4, H: 1, DQK: 2, DV: 3, Window: 2, Summaries: 1}
	for _, tc := range []struct {
		name, want string
		edit       func(in *hstuInputs)
	}{
		{"summaries without window", "needs Window", func(in *hstuInputs) { in.a.Window = 0 }},
		{"negative window", "negative Window", func(in *hstuInputs) { in.a.Window = -1 }},
		{"zero heads", "bad shape", func(in *hstuInputs) { in.a.H = 0 }},
		{"lens too long", "lens[1] = 5", func(in *hstuInputs) { in.lens[1] = 5 }},
		{"negative lens", "lens[0] = -1", func(in *hstuInputs) { in.lens[0] = -1 }},
		{"short lens", "len(lens)", func(in *hstuInputs) { in.lens = in.lens[:1] }},
		{"short q", "len(q)", func(in *hstuInputs) { in.q = in.q[1:] }},
		{"short v", "len(v)", func(in *hstuInputs) { in.v = in.v[1:] }},
		{"posBias", "len(posBias)", func(in *hstuInputs) { in.posBias = in.posBias[1:] }},
		{"timeBias", "len(timeBias)", func(in *hstuInputs) { in.timeBias = in.timeBias[1:] }},
		{"tsKey", "len(tsKey)", func(in *hstuInputs) { in.tsKey = nil }},
	} {
		for _, fn := range []string{"forward", "reference", "backward"} {
			in := newHSTUInputs(rng, good, []int{4, 2}, true, true)
			tc.edit(in)
			func() {
				defer func() {
					msg, _ := recover().(string)
					if !strings.HasPrefix(msg, "kernels: ") || !strings.Contains(msg, tc.want) {
						t.Errorf("%s %s: panic %q, want one starting \"kernels: \" containing %q", fn, tc.name, msg, tc.want)
					}
				}()
				switch fn {
				case "forward":
					hstuForward[float64](in, false)
				case "reference":
					hstuForward[float64](in, true)
				default:
					hstuBackward[float64](in, make([]float64, len(in.v)))
				}
			}()
		}
	}
	// Backward's own buffers.
	in := newHSTUInputs(rng, good, []int{4, 2}, true, true)
	for _, tc := range []struct{ name, want string }{{"dq", "len(dq)"}, {"dPosBias", "len(dPosBias)"}, {"dTimeBias", "len(dTimeBias)"}} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "kernels: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("backward bad %s: panic %q, want one containing %q", tc.name, msg, tc.want)
				}
			}()
			g := func(n int) []float64 { return make([]float64, n) }
			dq, dPos, dTime := g(len(in.q)), g(len(in.posBias)), g(TimeBuckets)
			switch tc.name {
			case "dq":
				dq = dq[1:]
			case "dPosBias":
				dPos = nil
			default:
				dTime = dTime[1:]
			}
			HSTUAttentionBackward(in.a, in.q, in.k, in.v, in.lens, in.posBias, in.timeBias, in.tsQuery, in.tsKey,
				g(len(in.v)), dq, g(len(in.k)), g(len(in.v)), dPos, dTime)
		}()
	}
}

// TestHSTUExp32 checks the float32 exponential against math.Exp: within
// 3e-7 relative on [-87, 88] (float32 epsilon is 1.2e-7), clamped outside,
// NaN for NaN.
func TestHSTUExp32(t *testing.T) {
	worst, at := 0.0, float32(0)
	for i := range 2_000_001 {
		x := float32(-87 + 175*float64(i)/2_000_000)
		want := math.Exp(float64(x))
		if e := math.Abs(float64(exp32(x))-want) / want; e > worst {
			worst, at = e, x
		}
	}
	if worst > 3e-7 {
		t.Errorf("exp32(%g): relative error %.3g, want <= 3e-7", at, worst)
	}
	for _, tc := range []struct{ x, want float32 }{
		{0, 1}, {-200, float32(math.Exp(-87))}, {200, float32(math.Exp(88))},
		{float32(math.Inf(-1)), float32(math.Exp(-87))}, {float32(math.Inf(1)), float32(math.Exp(88))},
	} {
		if got := exp32(tc.x); math.Abs(float64(got-tc.want)) > 3e-7*float64(tc.want) {
			t.Errorf("exp32(%g) = %g, want %g", tc.x, got, tc.want)
		}
	}
	if got := exp32(float32(math.NaN())); got == got {
		t.Errorf("exp32(NaN) = %g, want NaN", got)
	}
}
