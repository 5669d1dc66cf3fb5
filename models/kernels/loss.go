package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas/gonum"
)

// SampledSoftmax computes the mean sampled-softmax cross-entropy of HSTU
// (Zhai et al. 2024, arXiv 2402.17152; the reference code divides every
// logit by the temperature τ) and its gradient in one pass.
//
// u is m x d query (user) embeddings; items is catalogue x d candidate
// embeddings (the caller L2-normalises both); pos[r] is row r's positive
// item, pos[r] <= 0 marks padding (the row is skipped); neg is m x k negative
// item ids (uniform samples, see UniformNegatives). A negative equal to its
// row's positive is an accidental hit and is left out of the sum (the
// reference code masks its logit with a large negative constant, which is
// the same up to rounding):
//
//	s_r(id) = <u_r, items[id]> / τ
//	l_r     = -s_r(pos_r) + log( exp(s_r(pos_r)) + Σ_{j: neg_rj != pos_r} exp(s_r(neg_rj)) )
//	loss    = (1/count) Σ_{r: pos_r > 0} l_r,   count = |{r: pos_r > 0}|
//
// With p_r(·) the softmax over row r's kept logits, the gradient is
//
//	∂loss/∂u_r        = (1/(τ count)) Σ_{c} (p_r(c) - [c = pos_r]) items[c]
//	∂loss/∂items[c]  += (1/(τ count)) (p_r(c) - [c = pos_r]) u_r   for every kept candidate c of row r
//
// du (m x d) += ∂loss/∂u and dItems (catalogue x d) += ∂loss/∂items; either
// may be nil to skip it. touch(id), when not nil, is called once for each
// distinct row of dItems written (every positive and kept negative), on the
// calling goroutine after all writes. When count == 0 it returns (0, 0) and
// writes nothing. A row whose negatives are all accidental hits has loss 0
// and zero gradient.
//
// Rows are processed in parallel blocks; dItems rows are then accumulated by
// disjoint id shards in row order, so results do not depend on Workers().
// Mismatched lengths, τ <= 0, or an id outside [0, catalogue) panic.
func SampledSoftmax[T Float](u []T, m, d int, items []T, pos []int32, neg []int32, k int, temperature float64, du, dItems []T, touch func(id int)) (loss float64, count int) {
	const fn = "SampledSoftmax"
	catalogue := lsCheck(fn, u, m, d, items, pos, temperature, du, dItems)
	if k < 0 {
		panic(fmt.Sprintf("kernels: %s: k = %d < 0", fn, k))
	}
	if len(neg) != m*k {
		panic(fmt.Sprintf("kernels: %s: len(neg) = %d, want m*k = %d", fn, len(neg), m*k))
	}
	count = lsCount(fn, pos, catalogue)
	if count == 0 {
		return 0, 0
	}
	kk := k + 1 // candidates per row: the positive, then the negatives
	if int64(m)*int64(kk) > math.MaxInt32 {
		panic(fmt.Sprintf("kernels: %s: m*(k+1) = %d too large", fn, int64(m)*int64(kk)))
	}
	inv := 1 / temperature
	scale := inv / float64(count)
	nb := (m + lsBlockRows - 1) / lsBlockRows
	blockLoss := make([]float64, nb)
	bad := make([]bool, nb) // block b met a negative id outside [0, catalogue)
	badID := make([]int32, nb)
	var ent []lsEntry[T] // each block's dItems terms, grouped by id shard
	var off []int32      // off[b*(lsShards+1)+s]: start of shard s in block b's part of ent
	if dItems != nil {
		ent = make([]lsEntry[T], m*kk)
		off = make([]int32, nb*(lsShards+1))
	}
	Parallel(nb, func(b int) {
		lo, hi := b*lsBlockRows, min(m, (b+1)*lsBlockRows)
		s := make([]float64, kk)
		var coef []T // coef[(r-lo)*kk+c]: ∂loss/∂(u_r·items[c]) of row r's candidate c
		if dItems != nil {
			coef = make([]T, (hi-lo)*kk)
		}
		sum := 0.0
		for r := lo; r < hi; r++ {
			p := pos[r]
			if p <= 0 {
				continue
			}
			ur := u[r*d : (r+1)*d]
			negs := neg[r*k : (r+1)*k]
			s[0] = float64(lsDot(ur, items[int(p)*d:(int(p)+1)*d])) * inv
			mx := s[0]
			for j, id := range negs {
				if id < 0 || int(id) >= catalogue {
					bad[b], badID[b] = true, id
					return
				}
				if id == p {
					s[j+1] = math.Inf(-1)
					continue
				}
				v := float64(lsDot(ur, items[int(id)*d:(int(id)+1)*d])) * inv
				s[j+1] = v
				mx = max(mx, v)
			}
			sp := s[0] - mx
			z := 0.0
			for j := range s {
				s[j] = math.Exp(s[j] - mx) // exp(-Inf) = 0 for accidental hits
				z += s[j]
			}
			sum += math.Log(z) - sp // l_r = -(s_pos - mx) + log Σ exp(s - mx)
			var dur []T
			if du != nil {
				dur = du[r*d : (r+1)*d]
			}
			for j := range s {
				if j > 0 && negs[j-1] == p {
					continue // accidental hit: coef stays 0 and lsGroup skips it
				}
				g := s[j] / z
				if j == 0 {
					g--
				}
				c := T(g * scale)
				if dur != nil {
					id := int(p)
					if j > 0 {
						id = int(negs[j-1])
					}
					lsAxpy(c, items[id*d:(id+1)*d], dur)
				}
				if coef != nil {
					coef[(r-lo)*kk+j] = c
				}
			}
		}
		blockLoss[b] = sum
		if dItems != nil {
			lsGroup(pos, neg, k, lo, hi, coef, ent[lo*kk:hi*kk], off[b*(lsShards+1):(b+1)*(lsShards+1)])
		}
	})
	for b := range bad {
		if bad[b] {
			panic(fmt.Sprintf("kernels: %s: negative id %d out of [0, %d)", fn, badID[b], catalogue))
		}
	}
	for _, v := range blockLoss {
		loss += v
	}
	if dItems != nil {
		lsScatter(u, d, ent, off, nb, kk, catalogue, dItems, touch)
	}
	return loss / float64(count), count
}

const (
	// lsBlockRows is the number of rows one SampledSoftmax task handles.
	lsBlockRows = 64
	// lsShards is the number of disjoint item-id shards (id mod lsShards)
	// over which SampledSoftmax accumulates dItems in parallel; a power of 2.
	lsShards = 64
)

// lsEntry is one dItems term of SampledSoftmax: dItems[id] += g * u[r].
type lsEntry[T Float] struct {
	id, r int32
	g     T
}

// lsGroup writes the dItems terms of rows [lo, hi) into ent grouped by
// item-id shard, in row-major order within each shard, and the start of
// each shard's group into off (len lsShards+1; off[lsShards] is the total).
// The terms are the positive and the negatives that are not accidental hits
// of each non-padding row, with coefficients coef[(r-lo)*(k+1)+c] (c = 0 the
// positive, c = j+1 the negative neg[r*k+j]).
func lsGroup[T Float](pos, neg []int32, k, lo, hi int, coef []T, ent []lsEntry[T], off []int32) {
	kk := k + 1
	var cnt [lsShards + 1]int32
	for r := lo; r < hi; r++ {
		p := pos[r]
		if p <= 0 {
			continue
		}
		cnt[p&(lsShards-1)+1]++
		for _, id := range neg[r*k : (r+1)*k] {
			if id != p {
				cnt[id&(lsShards-1)+1]++
			}
		}
	}
	for s := 1; s <= lsShards; s++ {
		cnt[s] += cnt[s-1]
	}
	copy(off, cnt[:])
	for r := lo; r < hi; r++ {
		p := pos[r]
		if p <= 0 {
			continue
		}
		cr := coef[(r-lo)*kk : (r-lo+1)*kk]
		sh := p & (lsShards - 1)
		ent[cnt[sh]] = lsEntry[T]{p, int32(r), cr[0]}
		cnt[sh]++
		for j, id := range neg[r*k : (r+1)*k] {
			if id != p {
				sh = id & (lsShards - 1)
				ent[cnt[sh]] = lsEntry[T]{id, int32(r), cr[j+1]}
				cnt[sh]++
			}
		}
	}
}

// lsScatter adds the terms lsGroup recorded to dItems, one id shard per
// task and blocks in order, so every dItems row sums its terms in row-major
// order whatever the number of workers; then it calls touch for each
// distinct id written, shard by shard, on the calling goroutine.
func lsScatter[T Float](u []T, d int, ent []lsEntry[T], off []int32, nb, kk, catalogue int, dItems []T, touch func(id int)) {
	seen := make([]bool, catalogue) // task sh writes only seen[id] with id ≡ sh mod lsShards
	written := make([][]int, lsShards)
	Parallel(lsShards, func(sh int) {
		var ids []int
		for b := range nb {
			o := off[b*(lsShards+1):]
			blk := ent[b*lsBlockRows*kk:]
			for _, e := range blk[o[sh]:o[sh+1]] {
				id, r := int(e.id), int(e.r)
				lsAxpy(e.g, u[r*d:(r+1)*d], dItems[id*d:(id+1)*d])
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
		}
		written[sh] = ids
	})
	if touch == nil {
		return
	}
	for _, ids := range written {
		for _, id := range ids {
			touch(id)
		}
	}
}

// lsDot is Σ x[i] y[i] for len(x) == len(y), on gonum's assembly kernels
// (called directly, not through blas32/blas64, so an OpenBLAS build does
// not pay a cgo call per short vector).
func lsDot[T Float](x, y []T) T {
	switch xs := any(x).(type) {
	case []float32:
		return T(lsBLAS.Sdot(len(xs), xs, 1, any(y).([]float32), 1))
	case []float64:
		return T(lsBLAS.Ddot(len(xs), xs, 1, any(y).([]float64), 1))
	}
	return Dot(x, y)
}

// lsAxpy is y += a x for len(x) == len(y), on gonum's assembly kernels.
func lsAxpy[T Float](a T, x, y []T) {
	switch xs := any(x).(type) {
	case []float32:
		lsBLAS.Saxpy(len(xs), float32(a), xs, 1, any(y).([]float32), 1)
	case []float64:
		lsBLAS.Daxpy(len(xs), float64(a), xs, 1, any(y).([]float64), 1)
	default:
		Axpy(a, x, y)
	}
}

var lsBLAS gonum.Implementation

// FullSoftmax is SampledSoftmax against the whole catalogue: the candidates
// of every row are all items 1..catalogue-1 (id 0 is padding and excluded),
// the positive among them once:
//
//	l_r  = -s_r(pos_r) + log Σ_{c=1}^{catalogue-1} exp(s_r(c)),   s_r(c) = <u_r, items[c]> / τ
//	loss = (1/count) Σ_{r: pos_r > 0} l_r
//
// with the log-sum-exp taken stably (max subtracted). Non-padding rows are
// processed in blocks: one Gemm of the block against the table for the
// logits, one for du, and one per fixed shard of item columns for dItems,
// so results do not depend on Workers(). du, dItems may be nil; touch, when
// not nil, is called for ids 1..catalogue-1 in order after all writes when
// dItems is not nil and count > 0. count == 0 returns (0, 0) and writes
// nothing. len(items) != catalogue*d, other mismatched lengths, τ <= 0 or a
// positive >= catalogue panic.
func FullSoftmax[T Float](u []T, m, d int, items []T, catalogue int, pos []int32, temperature float64, du, dItems []T, touch func(id int)) (loss float64, count int) {
	const fn = "FullSoftmax"
	if got := lsCheck(fn, u, m, d, items, pos, temperature, du, dItems); got != catalogue {
		panic(fmt.Sprintf("kernels: %s: items has %d rows, catalogue = %d", fn, got, catalogue))
	}
	count = lsCount(fn, pos, catalogue)
	if count == 0 {
		return 0, 0
	}
	active := make([]int, 0, count)
	for r, p := range pos {
		if p > 0 {
			active = append(active, r)
		}
	}
	n := catalogue - 1 // candidates: items 1..n
	table := items[d:]
	var dTable []T
	if dItems != nil {
		dTable = dItems[d:]
	}
	inv := 1 / temperature
	scale := T(inv / float64(count))
	super := min(lsFullMaxRows, max(lsFullSub, lsFullBudget/n/lsFullSub*lsFullSub))
	super = min(super, (count+lsFullSub-1)/lsFullSub*lsFullSub)
	ub := make([]T, super*d)
	dub := make([]T, super*d)
	wub := make([]T, super*d)
	w := make([]T, super)
	logits := make([]T, super*n)
	rowLoss := make([]float64, count)
	for start := 0; start < count; start += super {
		rows := active[start:min(count, start+super)]
		nr := len(rows)
		for i, r := range rows {
			copy(ub[i*d:(i+1)*d], u[r*d:(r+1)*d])
		}
		// Each row's logits become exp(s - max), unnormalised: the
		// gradient's softmax weight w_i = scale/z_i is applied to the
		// d-wide factors of the gemms below instead of to all n logits,
		// and the positive's -scale is added to du and dItems directly.
		Parallel((nr+lsFullSub-1)/lsFullSub, func(t int) {
			lo, hi := t*lsFullSub, min(nr, (t+1)*lsFullSub)
			S := logits[lo*n : hi*n]
			Gemm(false, true, hi-lo, n, d, T(inv), ub[lo*d:], d, table, d, 0, S, n)
			for i := lo; i < hi; i++ {
				si := logits[i*n : (i+1)*n]
				sp := si[int(pos[rows[i]])-1]
				mx, z := lsExpSum(si)
				rowLoss[start+i] = math.Log(z) - float64(sp-mx) // l = -(s_pos - mx) + log Σ exp(s - mx)
				w[i] = scale / T(z)
			}
			if du != nil {
				Gemm(false, false, hi-lo, d, n, 1, S, n, table, d, 0, dub[lo*d:], d)
				for i := lo; i < hi; i++ {
					r, p := rows[i], int(pos[rows[i]])-1
					Axpy(w[i], dub[i*d:(i+1)*d], du[r*d:(r+1)*d])
					Axpy(-scale, table[p*d:(p+1)*d], du[r*d:(r+1)*d])
				}
			}
		})
		if dTable != nil {
			copy(wub, ub[:nr*d])
			for i := range nr {
				ScaleBy(wub[i*d:(i+1)*d], w[i])
			}
			Parallel((n+lsFullCols-1)/lsFullCols, func(t int) {
				c0, c1 := t*lsFullCols, min(n, (t+1)*lsFullCols)
				Gemm(true, false, c1-c0, d, nr, 1, logits[c0:], n, wub, d, 1, dTable[c0*d:], d)
			})
			for i, r := range rows {
				p := int(pos[r]) - 1
				Axpy(-scale, ub[i*d:(i+1)*d], dTable[p*d:(p+1)*d])
			}
		}
	}
	for _, v := range rowLoss {
		loss += v
	}
	if dItems != nil && touch != nil {
		for id := 1; id < catalogue; id++ {
			touch(id)
		}
	}
	return loss / float64(count), count
}

// lsExpSum overwrites the logits s with exp(s - max s) and returns max s and
// the sum of the exponentials (float32 on the vector kernels).
func lsExpSum[T Float](s []T) (mx T, z float64) {
	if is32[T]() {
		x := f32s(s)
		m := vecMax(x)
		return T(m), vecExpSum(x, m)
	}
	mx = s[0]
	for _, v := range s {
		mx = max(mx, v)
	}
	for c, v := range s {
		e := math.Exp(float64(v - mx))
		s[c] = T(e)
		z += e
	}
	return mx, z
}

const (
	lsFullSub     = 16      // rows per FullSoftmax logits task
	lsFullMaxRows = 512     // most rows per FullSoftmax super-block
	lsFullBudget  = 4 << 20 // FullSoftmax logits buffer size to aim for, in elements
	lsFullCols    = 256     // item columns per FullSoftmax dItems task
)

// UniformNegatives fills out with ids drawn uniformly from [1, catalogue)
// (id 0 is padding). catalogue < 2 panics.
func UniformNegatives(rng *rand.Rand, catalogue int, out []int32) {
	if catalogue < 2 || catalogue-1 > math.MaxInt32 {
		panic(fmt.Sprintf("kernels: UniformNegatives: catalogue = %d outside [2, 2^31]", catalogue))
	}
	for i := range out {
		out[i] = int32(1 + rng.IntN(catalogue-1))
	}
}

// lsCheck panics on mismatched lengths or τ <= 0 and returns the number of
// rows of items.
func lsCheck[T Float](fn string, u []T, m, d int, items []T, pos []int32, temperature float64, du, dItems []T) int {
	if m < 0 {
		panic(fmt.Sprintf("kernels: %s: m = %d < 0", fn, m))
	}
	catalogue := pmTableRows(fn, len(items), d)
	if !(temperature > 0) {
		panic(fmt.Sprintf("kernels: %s: temperature = %v, want > 0", fn, temperature))
	}
	for _, c := range []struct {
		name      string
		got, want int
		nilOK     bool
	}{
		{"u", len(u), m * d, false},
		{"pos", len(pos), m, false},
		{"du", len(du), m * d, du == nil},
		{"dItems", len(dItems), len(items), dItems == nil},
	} {
		if c.got != c.want && !c.nilOK {
			panic(fmt.Sprintf("kernels: %s: len(%s) = %d, want %d", fn, c.name, c.got, c.want))
		}
	}
	return catalogue
}

// lsCount returns the number of non-padding rows (pos > 0), panicking on a
// positive >= catalogue.
func lsCount(fn string, pos []int32, catalogue int) int {
	count := 0
	for r, p := range pos {
		if p <= 0 {
			continue
		}
		if int(p) >= catalogue {
			panic(fmt.Sprintf("kernels: %s: pos[%d] = %d out of [1, %d)", fn, r, p, catalogue))
		}
		count++
	}
	return count
}
