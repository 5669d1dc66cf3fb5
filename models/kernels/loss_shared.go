package kernels

import (
	"fmt"
	"math"
)

// SharedSampledSoftmax is SampledSoftmax with one set of k negatives
// shared by every row (a shared-negative sampler): row r's candidates are
// its positive pos[r] and neg[0..k), with the accidental hits neg[j] ==
// pos[r] left out as there,
//
//	s_r(id) = <u_r, items[id]> / τ
//	l_r     = -s_r(pos_r) + log( exp(s_r(pos_r)) + Σ_{j: neg_j != pos_r} exp(s_r(neg_j)) )
//	loss    = (1/count) Σ_{r: pos_r > 0} l_r
//
// which is SampledSoftmax(u, m, d, items, pos, N, k, ...) with N the
// m x k matrix whose every row is neg, up to the summation order. The
// logits and both gradients are three matrix products over the
// non-padding rows U (count x d) and the gathered negatives C (k x d):
//
//	S = U Cᵀ / τ,   ∂loss/∂U = G C + g_pos ⊙ items[pos],   ∂loss/∂C = Gᵀ U
//
// with G the (count x k) softmax coefficients (p - [c = pos]) / (τ count)
// of the negatives; ∂loss/∂C[j] is added to dItems[neg[j]] (repeated
// negatives sum) and row r's positive term to dItems[pos[r]], in row
// order. du, dItems may be nil. touch(id), when not nil, is called once per
// distinct id written (the positives, then the negatives kept in some row)
// on the calling goroutine. count == 0 returns (0, 0) and writes nothing.
// Work is in fixed blocks and fixed column shards, so results do not
// depend on Workers(). Mismatched lengths, τ <= 0 or an id outside
// [0, catalogue) panic.
func SharedSampledSoftmax[T Float](u []T, m, d int, items []T, pos []int32, neg []int32, temperature float64, du, dItems []T, touch func(id int)) (loss float64, count int) {
	const fn = "SharedSampledSoftmax"
	catalogue := lsCheck(fn, u, m, d, items, pos, temperature, du, dItems)
	for _, id := range neg {
		if id < 0 || int(id) >= catalogue {
			panic(fmt.Sprintf("kernels: %s: negative id %d out of [0, %d)", fn, id, catalogue))
		}
	}
	count = lsCount(fn, pos, catalogue)
	if count == 0 {
		return 0, 0
	}
	k := len(neg)
	active := make([]int, 0, count)
	for r, p := range pos {
		if p > 0 {
			active = append(active, r)
		}
	}
	ub := make([]T, count*d) // U: the non-padding rows of u
	for i, r := range active {
		copy(ub[i*d:(i+1)*d], u[r*d:(r+1)*d])
	}
	cn := make([]T, k*d) // C: the negatives' rows
	for j, id := range neg {
		copy(cn[j*d:(j+1)*d], items[int(id)*d:(int(id)+1)*d])
	}
	inv := 1 / temperature
	scale := inv / float64(count)
	g := make([]T, count*k) // S, then G in place
	gpos := make([]T, count)
	kept := make([]bool, k*((count+lsBlockRows-1)/lsBlockRows)) // kept[b*k+j]: neg j is no accidental hit in some row of block b
	rowLoss := make([]float64, count)
	var dub []T
	if du != nil {
		dub = make([]T, count*d)
	}
	nb := (count + lsBlockRows - 1) / lsBlockRows
	Parallel(nb, func(b int) {
		lo, hi := b*lsBlockRows, min(count, (b+1)*lsBlockRows)
		S := g[lo*k : hi*k]
		if k > 0 {
			Gemm(false, true, hi-lo, k, d, T(inv), ub[lo*d:], d, cn, d, 0, S, k)
		}
		for i := lo; i < hi; i++ {
			p := pos[active[i]]
			si := g[i*k : (i+1)*k]
			sp := float64(lsDot(ub[i*d:(i+1)*d], items[int(p)*d:(int(p)+1)*d])) * inv
			mx := sp
			for j, id := range neg {
				if id != p {
					mx = max(mx, float64(si[j]))
					kept[b*k+j] = true
				}
			}
			z := math.Exp(sp - mx)
			ez := z
			for j, id := range neg {
				if id == p {
					continue
				}
				z += math.Exp(float64(si[j]) - mx)
			}
			rowLoss[i] = math.Log(z) - (sp - mx)
			for j, id := range neg {
				if id == p {
					si[j] = 0
					continue
				}
				si[j] = T(math.Exp(float64(si[j])-mx) / z * scale)
			}
			gpos[i] = T((ez/z - 1) * scale)
		}
		if dub != nil {
			if k > 0 {
				Gemm(false, false, hi-lo, d, k, 1, S, k, cn, d, 0, dub[lo*d:], d)
			}
			for i := lo; i < hi; i++ {
				p := int(pos[active[i]])
				lsAxpy(gpos[i], items[p*d:(p+1)*d], dub[i*d:(i+1)*d])
			}
		}
	})
	for _, v := range rowLoss {
		loss += v
	}
	if du != nil {
		for i, r := range active {
			AddTo(du[r*d:(r+1)*d], dub[i*d:(i+1)*d])
		}
	}
	if dItems == nil {
		return loss / float64(count), count
	}
	dc := make([]T, k*d) // Gᵀ U, by fixed shards of negatives
	Parallel((k+lsFullCols-1)/lsFullCols, func(t int) {
		c0, c1 := t*lsFullCols, min(k, (t+1)*lsFullCols)
		Gemm(true, false, c1-c0, d, count, 1, g[c0:], k, ub, d, 0, dc[c0*d:], d)
	})
	seen := make(map[int32]bool, count+k)
	var written []int
	mark := func(id int32) {
		if !seen[id] {
			seen[id] = true
			written = append(written, int(id))
		}
	}
	for i, r := range active {
		p := int(pos[r])
		lsAxpy(gpos[i], ub[i*d:(i+1)*d], dItems[p*d:(p+1)*d])
		mark(pos[r])
	}
	for j, id := range neg {
		keep := false
		for b := range nb {
			keep = keep || kept[b*k+j]
		}
		if !keep {
			continue
		}
		AddTo(dItems[int(id)*d:(int(id)+1)*d], dc[j*d:(j+1)*d])
		mark(id)
	}
	if touch != nil {
		for _, id := range written {
			touch(id)
		}
	}
	return loss / float64(count), count
}
