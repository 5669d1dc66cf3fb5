package kernels

import (
	"fmt"
	"math"
	"math/bits"
	"sync/atomic"
)

// HSTUAttention describes one call of HSTU's pointwise SiLU attention
// (Zhai et al. 2024, "Actions Speak Louder than Words", arXiv 2402.17152,
// eq. 2; reference code facebookresearch/generative-recommenders,
// research/modeling/sequential/hstu.py). For batch row b, head h and valid
// positions j <= i < lens[b] in the allowed set:
//
//	s[i,j]  = Scale * <q[b,i,h], k[b,j,h]> + posBias[i-j]
//	          + timeBias[TimeBucket(tsQuery[b,i] - tsKey[b,j])]
//	a[i,j]  = SiLU(s[i,j]) / L                   (L = padded length, no softmax)
//	out[b,i,h] = sum_j a[i,j] v[b,j,h]
//	           + sum_{c in C(i)} SiLU(Scale * <q[b,i,h], kbar[c]>) / L * vbar[c]
//
// The allowed keys are j <= i (Window 0) or i-Window < j <= i (Window > 0).
// With Window > 0 and Summaries > 0, C(i) holds the last Summaries chunks
// c = [c*Window, (c+1)*Window) that are complete and valid
// ((c+1)*Window <= lens[b]) and lie before i's window
// ((c+1)*Window <= i-Window+1); kbar[c] and vbar[c] are the means of the
// chunk's k and v rows. Windows and summaries are genrec's meaning of the seed
// API's level-1 and level-2 window sizes; they have no counterpart in the paper.
//
// Shapes: q and k are (B*L) x (H*DQK), v and out (B*L) x (H*DV), row-major,
// head h of row r = b*L+i at q[r*H*DQK+h*DQK:]. posBias has length L (indexed
// by the distance i-j) or is nil; timeBias has length TimeBuckets or is nil,
// and then tsQuery, tsKey (len B*L) may be nil. Both biases are shared by all
// heads. Sequences are left-aligned: positions lens[b] .. L-1 are padding, get
// zero output and zero gradient, and are never attended.
type HSTUAttention struct {
	B, L, H, DQK, DV int     // batch, padded length (N of DESIGN.md), heads, per-head q/k and v dims
	Scale            float64 // multiplies QK^T before the bias is added; 0 means 1 (the research code uses no scale)
	Window           int     // level 1: position i attends keys j with i-Window < j <= i; 0 = full causal
	Summaries        int     // level 2: also attend the summaries of the last Summaries complete windows before i's local window; needs Window > 0
}

// TimeBuckets is the number of relative-time bias values (129).
const TimeBuckets = 129

// hstuTimeLogStep is the width of a time bucket in ln(seconds).
const hstuTimeLogStep = 0.301

// TimeBucket returns the relative-time bias index of a time difference,
// as in the HSTU reference code:
//
//	TimeBucket(dt) = clamp(floor(ln(max(|dt|, 1)) / 0.301), 0, 128)
//
// |math.MinInt64| is taken as 2^63.
func TimeBucket(dt int64) int {
	return hstuBucketOfAbs(hstuAbs(dt))
}

// hstuAbs returns |dt| as a uint64, exact for math.MinInt64.
func hstuAbs(dt int64) uint64 {
	if dt < 0 {
		return -uint64(dt)
	}
	return uint64(dt)
}

// hstuBucketOfAbs is TimeBucket of a magnitude, straight from the formula.
func hstuBucketOfAbs(u uint64) int {
	if u <= 1 {
		return 0
	}
	b := math.Floor(math.Log(float64(u)) / hstuTimeLogStep)
	return int(min(max(b, 0), TimeBuckets-1))
}

// hstuBucketMin[b] is the smallest magnitude whose bucket is at least b, and
// hstuBucketByLen[l] the bucket of 2^(l-1), the smallest magnitude of bit
// length l: together they give TimeBucket without a logarithm.
var hstuBucketMin, hstuBucketByLen = hstuBucketTables()

func hstuBucketTables() (minAbs [TimeBuckets]uint64, byLen [65]uint8) {
	for b := 1; b < TimeBuckets; b++ {
		lo, hi := uint64(1), uint64(1)<<63 // bucket(lo) < b <= bucket(hi)
		if hstuBucketOfAbs(hi) < b {
			minAbs[b] = math.MaxUint64
			continue
		}
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if hstuBucketOfAbs(mid) >= b {
				hi = mid
			} else {
				lo = mid
			}
		}
		minAbs[b] = hi
	}
	for l := 1; l <= 64; l++ {
		byLen[l] = uint8(hstuBucketOfAbs(uint64(1) << (l - 1)))
	}
	return minAbs, byLen
}

// hstuBucket is TimeBucket by table: start from the bucket of the highest
// power of two <= |dt| and step up (at most three times, ln 2 / 0.301 < 3).
func hstuBucket(dt int64) int {
	u := hstuAbs(dt)
	b := int(hstuBucketByLen[bits.Len64(u)])
	for b < TimeBuckets-1 && u >= hstuBucketMin[b+1] {
		b++
	}
	return b
}

// hstuScale returns the score scale, 1 when Scale is 0.
func (a HSTUAttention) hstuScale() float64 {
	if a.Scale != 0 {
		return a.Scale
	}
	return 1
}

// hstuLen panics when a slice length differs from the one a kernel needs.
func hstuLen(fn, name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("kernels: %s: len(%s) = %d, want %d", fn, name, got, want))
	}
}

// hstuCheck panics on a bad description, bad lens or mismatched lengths of
// the forward inputs; out (named outName in messages) is v's shape.
func hstuCheck[T Float](a HSTUAttention, fn string, q, k, v []T, lens []int, posBias, timeBias []T, tsQuery, tsKey []int64, outName string, out []T) {
	if a.B < 0 || a.L < 0 || a.H < 1 || a.DQK < 1 || a.DV < 1 {
		panic(fmt.Sprintf("kernels: %s: bad shape %+v (need B, L >= 0 and H, DQK, DV >= 1)", fn, a))
	}
	if a.Window < 0 || a.Summaries < 0 {
		panic(fmt.Sprintf("kernels: %s: negative Window %d or Summaries %d", fn, a.Window, a.Summaries))
	}
	if a.Summaries > 0 && a.Window == 0 {
		panic(fmt.Sprintf("kernels: %s: Summaries = %d needs Window > 0", fn, a.Summaries))
	}
	hstuLen(fn, "lens", len(lens), a.B)
	for b, n := range lens {
		if n < 0 || n > a.L {
			panic(fmt.Sprintf("kernels: %s: lens[%d] = %d outside [0, %d]", fn, b, n, a.L))
		}
	}
	rows := a.B * a.L
	hstuLen(fn, "q", len(q), rows*a.H*a.DQK)
	hstuLen(fn, "k", len(k), rows*a.H*a.DQK)
	hstuLen(fn, "v", len(v), rows*a.H*a.DV)
	hstuLen(fn, outName, len(out), rows*a.H*a.DV)
	if posBias != nil {
		hstuLen(fn, "posBias", len(posBias), a.L)
	}
	if timeBias != nil {
		hstuLen(fn, "timeBias", len(timeBias), TimeBuckets)
		hstuLen(fn, "tsQuery", len(tsQuery), rows)
		hstuLen(fn, "tsKey", len(tsKey), rows)
	}
}

// hstuRowsOverride, when > 0, replaces the block size hstuBlockRows picks;
// tests set it to cross block boundaries at small L.
var hstuRowsOverride int

// hstuBlockRows is the number of query rows per block for a local window of
// w keys. A block of R rows ending at r1 is scored against keys
// [r1-R-w+1, r1): smaller R wastes less of that band on masked entries,
// larger R gives the gemms more rows. 16 was fastest with gonum's gemm at
// the shapes of hstu_attention_bench_test.go (8 and 32 lost 5-15%).
func hstuBlockRows(w int) int {
	if hstuRowsOverride > 0 {
		return hstuRowsOverride
	}
	return min(16, max(8, w))
}

// hstuPair is one (batch row, head) of a call: head slices start at row 0
// of the batch row and step by ldq (q, k) or ldv (v, out, dOut).
type hstuPair[T Float] struct {
	n, w, rows         int // valid length, local window (n when full causal), block rows
	chunk, summaries   int // summary chunk size (Window) and count, 0 = none
	dqk, dv, ldq, ldv  int
	q, k, v            []T
	pos, tbias         []T     // nil when absent
	tsq, tsk           []int64 // this batch row's timestamps, nil without time bias
	scale, invL, invCh T
}

func newHSTUPair[T Float](a HSTUAttention, p int, q, k, v []T, lens []int, posBias, timeBias []T, tsQuery, tsKey []int64) hstuPair[T] {
	b, h := p/a.H, p%a.H
	ldq, ldv := a.H*a.DQK, a.H*a.DV
	c := hstuPair[T]{
		n: lens[b], dqk: a.DQK, dv: a.DV, ldq: ldq, ldv: ldv,
		q: q[b*a.L*ldq+h*a.DQK:], k: k[b*a.L*ldq+h*a.DQK:], v: v[b*a.L*ldv+h*a.DV:],
		pos: posBias, tbias: timeBias,
		scale: T(a.hstuScale()), invL: 1 / T(a.L),
	}
	c.w = c.n
	if a.Window > 0 {
		c.w = min(a.Window, c.n)
		if a.Summaries > 0 && 2*a.Window <= c.n {
			c.chunk, c.summaries, c.invCh = a.Window, a.Summaries, 1/T(a.Window)
		}
	}
	c.rows = hstuBlockRows(max(c.w, 1))
	if timeBias != nil {
		c.tsq, c.tsk = tsQuery[b*a.L:(b+1)*a.L], tsKey[b*a.L:(b+1)*a.L]
	}
	return c
}

// hstuScratch is one worker's buffers: a block of scores (s) and of their
// gradients (g); for summaries the chunk means and their gradients, the
// summary scores (sb) and their gradients (gb), and Window ones.
type hstuScratch[T Float] struct {
	s, g                                   []T
	kbar, vbar, dkbar, dvbar, sb, gb, ones []T
}

func newHSTUScratch[T Float](a HSTUAttention, backward bool) *hstuScratch[T] {
	w := a.L
	if a.Window > 0 {
		w = min(a.Window, a.L)
	}
	r := hstuBlockRows(max(w, 1))
	size := r * min(a.L, r+w-1)
	sc := &hstuScratch[T]{s: make([]T, size)}
	if a.Summaries > 0 {
		nc := a.L / a.Window
		sc.kbar, sc.vbar, sc.sb = make([]T, nc*a.DQK), make([]T, nc*a.DV), make([]T, nc*a.L)
		sc.ones = make([]T, a.Window)
		for i := range sc.ones {
			sc.ones[i] = 1
		}
	}
	if backward {
		sc.g = make([]T, size)
		sc.dkbar, sc.dvbar, sc.gb = make([]T, len(sc.kbar)), make([]T, len(sc.vbar)), make([]T, len(sc.sb))
	}
	return sc
}

// hstuEachPair calls fn(p, scratch) for every pair p in [0, pairs) on
// Parallel, one scratch per worker, pairs handed out one at a time.
func hstuEachPair[T Float](pairs int, newScratch func() *hstuScratch[T], fn func(p int, sc *hstuScratch[T])) {
	var next atomic.Int64
	Parallel(min(Workers(), pairs), func(int) {
		sc := newScratch()
		for {
			p := int(next.Add(1) - 1)
			if p >= pairs {
				return
			}
			fn(p, sc)
		}
	})
}

// HSTUAttentionForward writes out ((B*L) x (H*DV)) as HSTUAttention states;
// padding rows of out are zeroed. Work is split over (b, h) pairs with
// Parallel; each pair scores blocks of its lens[b] valid query rows against
// the band of keys their windows reach, with two gemms per block, so the cost
// is O(lens[b] * (Window + block)) rather than O(L^2) when Window > 0. Bad
// shapes, lens outside [0, L], Summaries without Window or mismatched lengths
// panic.
func HSTUAttentionForward[T Float](a HSTUAttention, q, k, v []T, lens []int, posBias, timeBias []T, tsQuery, tsKey []int64, out []T) {
	hstuCheck(a, "HSTUAttentionForward", q, k, v, lens, posBias, timeBias, tsQuery, tsKey, "out", out)
	hstuEachPair(a.B*a.H, func() *hstuScratch[T] { return newHSTUScratch[T](a, false) }, func(p int, sc *hstuScratch[T]) {
		c := newHSTUPair(a, p, q, k, v, lens, posBias, timeBias, tsQuery, tsKey)
		o := out[(p/a.H)*a.L*c.ldv+(p%a.H)*a.DV:]
		c.forward(sc, o)
		for i := c.n; i < a.L; i++ {
			clear(o[i*c.ldv : i*c.ldv+c.dv])
		}
	})
}

// forward writes the valid rows of o (this pair's head slice of out).
func (c *hstuPair[T]) forward(sc *hstuScratch[T], o []T) {
	for r0 := 0; r0 < c.n; r0 += c.rows {
		r1 := min(r0+c.rows, c.n)
		k0 := max(0, r0-c.w+1)
		m, nk := r1-r0, r1-k0
		S := sc.s[:m*nk]
		Gemm(false, true, m, nk, c.dqk, c.scale, c.q[r0*c.ldq:], c.ldq, c.k[k0*c.ldq:], c.ldq, 0, S, nk)
		for i := r0; i < r1; i++ {
			row := S[(i-r0)*nk : (i-r0+1)*nk]
			jlo := max(k0, i-c.w+1)
			clear(row[:jlo-k0])
			clear(row[i+1-k0:])
			c.forwardRow(row[jlo-k0:i+1-k0], i, jlo)
		}
		Gemm(false, false, m, c.dv, nk, 1, S, nk, c.v[k0*c.ldv:], c.ldv, 0, o[r0*c.ldv:], c.ldv)
	}
	if c.summaries > 0 {
		c.summaryForward(sc, o)
	}
}

// forwardRow turns the scaled scores s of query i against keys jlo..i into
// attention weights: s += biases, then SiLU(s)/L.
func (c *hstuPair[T]) forwardRow(s []T, i, jlo int) {
	for t, x := range s {
		j := jlo + t
		if c.pos != nil {
			x += c.pos[i-j]
		}
		if c.tbias != nil {
			x += c.tbias[hstuBucket(c.tsq[i]-c.tsk[j])]
		}
		s[t] = x * Sigmoid(x) * c.invL
	}
}

// chunks returns the summary chunks [lo, hi) query i attends: the last
// c.summaries of those with (c+2)*chunk <= i+1. Needs c.summaries > 0.
func (c *hstuPair[T]) chunks(i int) (lo, hi int) {
	hi = max(0, (i+1)/c.chunk-1)
	return max(0, hi-c.summaries), hi
}

// means writes the means kbar, vbar of this pair's complete chunks, each a
// gemm of Window ones with the chunk's rows, and returns their number.
func (c *hstuPair[T]) means(sc *hstuScratch[T]) int {
	nc, w := c.n/c.chunk, c.chunk
	for ch := range nc {
		Gemm(false, false, 1, c.dqk, w, c.invCh, sc.ones, w, c.k[ch*w*c.ldq:], c.ldq, 0, sc.kbar[ch*c.dqk:], c.dqk)
		Gemm(false, false, 1, c.dv, w, c.invCh, sc.ones, w, c.v[ch*w*c.ldv:], c.ldv, 0, sc.vbar[ch*c.dv:], c.dv)
	}
	return nc
}

// summaryScores sets S (rows 2*chunk-1 .. n-1, one column per chunk) to the
// scaled scores of the queries against the chunk means and zeroes the
// chunks a query does not attend; it returns the first row i0 and the
// row and column counts.
func (c *hstuPair[T]) summaryScores(sc *hstuScratch[T], S []T) (i0, m, nc int) {
	nc = c.means(sc)
	i0 = 2*c.chunk - 1
	m = c.n - i0
	Gemm(false, true, m, nc, c.dqk, c.scale, c.q[i0*c.ldq:], c.ldq, sc.kbar, c.dqk, 0, S, nc)
	for i := i0; i < c.n; i++ {
		lo, hi := c.chunks(i)
		clear(S[(i-i0)*nc : (i-i0)*nc+lo])
		clear(S[(i-i0)*nc+hi : (i-i0+1)*nc])
	}
	return i0, m, nc
}

// summaryForward adds the summary terms to the valid rows of o.
func (c *hstuPair[T]) summaryForward(sc *hstuScratch[T], o []T) {
	S := sc.sb
	i0, m, nc := c.summaryScores(sc, S)
	for i := i0; i < c.n; i++ {
		lo, hi := c.chunks(i)
		row := S[(i-i0)*nc+lo : (i-i0)*nc+hi]
		for t, x := range row {
			row[t] = x * Sigmoid(x) * c.invL
		}
	}
	Gemm(false, false, m, c.dv, nc, 1, S, nc, sc.vbar, c.dv, 1, o[i0*c.ldv:], c.ldv)
}

// HSTUAttentionBackward accumulates (+=) the gradients of
// HSTUAttentionForward from dOut ((B*L) x (H*DV)), recomputing the scores.
// Per (b, h), with s, a as in HSTUAttention and sigma the logistic function:
//
//	ds[i,j] = (dOut[i] . v[j]) * sigma(s) * (1 + s*(1 - sigma(s))) / L
//	dq[i] += Scale * sum_j ds[i,j] k[j]     dk[j] += Scale * sum_i ds[i,j] q[i]
//	dv[j] += sum_i a[i,j] dOut[i]
//	dPosBias[i-j] += ds[i,j]                dTimeBias[bucket(i,j)] += ds[i,j]
//
// and likewise for the summaries, whose gradients reach each k and v row of a
// chunk divided by Window. dq, dk are shaped like q, dv like v; dPosBias
// (len L) may be nil when posBias is, dTimeBias (len TimeBuckets) when
// timeBias is. Padding rows receive nothing. The shared bias gradients are
// summed per pair and then added in pair order, so results do not depend on
// scheduling. Bad shapes, lens or mismatched lengths panic.
func HSTUAttentionBackward[T Float](a HSTUAttention, q, k, v []T, lens []int, posBias, timeBias []T, tsQuery, tsKey []int64, dOut, dq, dk, dv, dPosBias, dTimeBias []T) {
	const fn = "HSTUAttentionBackward"
	hstuCheck(a, fn, q, k, v, lens, posBias, timeBias, tsQuery, tsKey, "dOut", dOut)
	hstuLen(fn, "dq", len(dq), len(q))
	hstuLen(fn, "dk", len(dk), len(k))
	hstuLen(fn, "dv", len(dv), len(v))
	np, nt := 0, 0
	if posBias != nil {
		hstuLen(fn, "dPosBias", len(dPosBias), a.L)
		np = a.L
	}
	if timeBias != nil {
		hstuLen(fn, "dTimeBias", len(dTimeBias), TimeBuckets)
		nt = TimeBuckets
	}
	pairs := a.B * a.H
	part := make([]T, pairs*(np+nt)) // per-pair bias gradients
	hstuEachPair(pairs, func() *hstuScratch[T] { return newHSTUScratch[T](a, true) }, func(p int, sc *hstuScratch[T]) {
		c := newHSTUPair(a, p, q, k, v, lens, posBias, timeBias, tsQuery, tsKey)
		vo := (p/a.H)*a.L*c.ldv + (p%a.H)*a.DV
		qo := (p/a.H)*a.L*c.ldq + (p%a.H)*a.DQK
		pp := part[p*(np+nt) : (p+1)*(np+nt)]
		var dpos, dtime []T
		if np > 0 {
			dpos = pp[:np]
		}
		if nt > 0 {
			dtime = pp[np:]
		}
		c.backward(sc, dOut[vo:], dq[qo:], dk[qo:], dv[vo:], dpos, dtime)
	})
	hstuReduce(part, pairs, np+nt, 0, dPosBias[:np])
	hstuReduce(part, pairs, np+nt, np, dTimeBias[:nt])
}

// hstuReduce adds part[p*stride+off+i] over p in order to dst[i].
func hstuReduce[T Float](part []T, pairs, stride, off int, dst []T) {
	for p := range pairs {
		Axpy(1, part[p*stride+off:p*stride+off+len(dst)], dst)
	}
}

// backward accumulates this pair's gradients; dO, dq, dk, dv are head
// slices like c.q and c.v, dpos and dtime this pair's bias gradients (nil
// without the bias).
func (c *hstuPair[T]) backward(sc *hstuScratch[T], dO, dq, dk, dv, dpos, dtime []T) {
	for r0 := 0; r0 < c.n; r0 += c.rows {
		r1 := min(r0+c.rows, c.n)
		k0 := max(0, r0-c.w+1)
		m, nk := r1-r0, r1-k0
		S, G := sc.s[:m*nk], sc.g[:m*nk]
		Gemm(false, true, m, nk, c.dqk, c.scale, c.q[r0*c.ldq:], c.ldq, c.k[k0*c.ldq:], c.ldq, 0, S, nk)
		Gemm(false, true, m, nk, c.dv, 1, dO[r0*c.ldv:], c.ldv, c.v[k0*c.ldv:], c.ldv, 0, G, nk)
		for i := r0; i < r1; i++ {
			s, g := S[(i-r0)*nk:(i-r0+1)*nk], G[(i-r0)*nk:(i-r0+1)*nk]
			jlo := max(k0, i-c.w+1)
			clear(s[:jlo-k0])
			clear(s[i+1-k0:])
			clear(g[:jlo-k0])
			clear(g[i+1-k0:])
			c.backwardRow(s[jlo-k0:i+1-k0], g[jlo-k0:i+1-k0], i, jlo, dpos, dtime)
		}
		Gemm(true, false, nk, c.dv, m, 1, S, nk, dO[r0*c.ldv:], c.ldv, 1, dv[k0*c.ldv:], c.ldv)
		Gemm(false, false, m, c.dqk, nk, c.scale, G, nk, c.k[k0*c.ldq:], c.ldq, 1, dq[r0*c.ldq:], c.ldq)
		Gemm(true, false, nk, c.dqk, m, c.scale, G, nk, c.q[r0*c.ldq:], c.ldq, 1, dk[k0*c.ldq:], c.ldq)
	}
	if c.summaries > 0 {
		c.summaryBackward(sc, dO, dq, dk, dv)
	}
}

// backwardRow turns the scaled scores s and the weight gradients
// g = dOut[i] . v[j] of query i against keys jlo..i into the weights
// (in s) and the score gradients (in g), adding the latter to the bias
// gradients.
func (c *hstuPair[T]) backwardRow(s, g []T, i, jlo int, dpos, dtime []T) {
	for t, x := range s {
		j := jlo + t
		if c.pos != nil {
			x += c.pos[i-j]
		}
		bk := 0
		if c.tbias != nil {
			bk = hstuBucket(c.tsq[i] - c.tsk[j])
			x += c.tbias[bk]
		}
		sig := Sigmoid(x)
		s[t] = x * sig * c.invL
		d := g[t] * sig * (1 + x*(1-sig)) * c.invL
		g[t] = d
		if dpos != nil {
			dpos[i-j] += d
		}
		if dtime != nil {
			dtime[bk] += d
		}
	}
}

// summaryBackward accumulates the gradients of the summary terms, through
// the chunk means back to the chunks' k and v rows (each gets 1/Window of
// its chunk's mean gradient, a rank-one gemm per chunk).
func (c *hstuPair[T]) summaryBackward(sc *hstuScratch[T], dO, dq, dk, dv []T) {
	S := sc.sb
	i0, m, nc := c.summaryScores(sc, S)
	G := sc.gb[:m*nc]
	Gemm(false, true, m, nc, c.dv, 1, dO[i0*c.ldv:], c.ldv, sc.vbar, c.dv, 0, G, nc)
	for i := i0; i < c.n; i++ {
		lo, hi := c.chunks(i)
		s, g := S[(i-i0)*nc+lo:(i-i0)*nc+hi], G[(i-i0)*nc:(i-i0+1)*nc]
		clear(g[:lo])
		clear(g[hi:])
		for t, x := range s {
			sig := Sigmoid(x)
			s[t] = x * sig * c.invL
			g[lo+t] *= sig * (1 + x*(1-sig)) * c.invL
		}
	}
	dkb, dvb := sc.dkbar[:nc*c.dqk], sc.dvbar[:nc*c.dv]
	Gemm(true, false, nc, c.dv, m, 1, S, nc, dO[i0*c.ldv:], c.ldv, 0, dvb, c.dv)
	Gemm(true, false, nc, c.dqk, m, c.scale, G, nc, c.q[i0*c.ldq:], c.ldq, 0, dkb, c.dqk)
	Gemm(false, false, m, c.dqk, nc, c.scale, G, nc, sc.kbar, c.dqk, 1, dq[i0*c.ldq:], c.ldq)
	w := c.chunk
	for ch := range nc {
		Gemm(false, false, w, c.dqk, 1, c.invCh, sc.ones, 1, dkb[ch*c.dqk:], c.dqk, 1, dk[ch*w*c.ldq:], c.ldq)
		Gemm(false, false, w, c.dv, 1, c.invCh, sc.ones, 1, dvb[ch*c.dv:], c.dv, 1, dv[ch*w*c.ldv:], c.ldv)
	}
}
