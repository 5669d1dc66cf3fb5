package kernels

import (
	"fmt"
	"math"
	"sync/atomic"
)

// CrossAttention is multi-head scaled dot-product attention of Lq queries
// over Lk keys, with key padding and an optional causal mask: the
// encoder self-attention (bidirectional), the decoder self-attention
// (causal) and the decoder cross-attention of an encoder-decoder
// Transformer (Vaswani et al. 2017, arXiv 1706.03762; T5, Raffel et al.
// 2020, arXiv 1910.10683), as TIGER (arXiv 2305.05065) uses them. For batch
// row b, head h, query i < QLens[b] and key j < KLens[b] (and j <= i when
// Causal):
//
//	S[i,j]     = Scale * <q[b,i,h], k[b,j,h]>
//	P[i,:]     = softmax_j S[i,j]                  (over the allowed j)
//	out[b,i,h] = sum_j P[i,j] v[b,j,h]
//
// Shapes: q is (B*Lq) x (H*DK), k is (B*Lk) x (H*DK), v is (B*Lk) x (H*DV),
// out (B*Lq) x (H*DV), row-major, left-aligned: query rows QLens[b] .. Lq-1
// and key rows KLens[b] .. Lk-1 are padding. Padding query rows, and query
// rows with no allowed key (KLens[b] == 0), get zero output and gradient.
// Causal needs Lq == Lk.
type CrossAttention struct {
	B, Lq, Lk, H, DK, DV int
	Causal               bool
	Scale                float64 // 0 means 1/sqrt(DK)
}

func (a CrossAttention) caScale() float64 {
	if a.Scale != 0 {
		return a.Scale
	}
	return 1 / math.Sqrt(float64(a.DK))
}

// caCheck panics on a bad shape, lens or lengths.
func caCheck[T Float](a CrossAttention, fn string, q, k, v, out, probs []T, qlens, klens []int) {
	if a.B < 0 || a.Lq < 0 || a.Lk < 0 || a.H < 1 || a.DK < 1 || a.DV < 1 {
		panic(fmt.Sprintf("kernels: %s: bad shape %+v (need B, Lq, Lk >= 0 and H, DK, DV >= 1)", fn, a))
	}
	if a.Causal && a.Lq != a.Lk {
		panic(fmt.Sprintf("kernels: %s: causal attention needs Lq == Lk, got %d, %d", fn, a.Lq, a.Lk))
	}
	lyLen(fn, "qlens", len(qlens), a.B)
	lyLen(fn, "klens", len(klens), a.B)
	for b := range a.B {
		if qlens[b] < 0 || qlens[b] > a.Lq || klens[b] < 0 || klens[b] > a.Lk {
			panic(fmt.Sprintf("kernels: %s: batch row %d: qlens %d, klens %d outside [0, %d], [0, %d]", fn, b, qlens[b], klens[b], a.Lq, a.Lk))
		}
	}
	lyLen(fn, "q", len(q), a.B*a.Lq*a.H*a.DK)
	lyLen(fn, "k", len(k), a.B*a.Lk*a.H*a.DK)
	lyLen(fn, "v", len(v), a.B*a.Lk*a.H*a.DV)
	lyLen(fn, "out", len(out), a.B*a.Lq*a.H*a.DV)
	lyLen(fn, "probs", len(probs), a.B*a.H*a.Lq*a.Lk)
}

// caKeys is the number of keys query i of a row with nk keys sees.
func (a CrossAttention) caKeys(i, nk int) int {
	if a.Causal {
		return min(i+1, nk)
	}
	return nk
}

// CrossAttentionForward writes out and the probabilities probs
// (B*H*Lq*Lk: probs[((b*H+h)*Lq+i)*Lk+j] = P[i,j], zero where masked),
// which CrossAttentionBackward reads. Work is split over (b, h) pairs with
// Parallel, two gemms each. Bad shapes or lengths panic.
func CrossAttentionForward[T Float](a CrossAttention, q, k, v []T, qlens, klens []int, out, probs []T) {
	const fn = "CrossAttentionForward"
	caCheck(a, fn, q, k, v, out, probs, qlens, klens)
	Lq, Lk, H, DK, DV := a.Lq, a.Lk, a.H, a.DK, a.DV
	ldq, ldv := H*DK, H*DV
	scale := T(a.caScale())
	Parallel(a.B*H, func(p int) {
		b, h := p/H, p%H
		nq, nk := qlens[b], klens[b]
		P := probs[p*Lq*Lk : (p+1)*Lq*Lk]
		clear(P)
		qo, ko := b*Lq*ldq+h*DK, b*Lk*ldq+h*DK
		oo, vo := b*Lq*ldv+h*DV, b*Lk*ldv+h*DV
		for i := range Lq {
			clear(out[oo+i*ldv : oo+i*ldv+DV])
		}
		if nq == 0 || nk == 0 {
			return
		}
		Gemm(false, true, nq, nk, DK, scale, q[qo:], ldq, k[ko:], ldq, 0, P, Lk)
		for i := range nq {
			m := a.caKeys(i, nk)
			saSoftmaxRow(P[i*Lk : i*Lk+m])
			clear(P[i*Lk+m : i*Lk+nk])
		}
		Gemm(false, false, nq, DV, nk, 1, P, Lk, v[vo:], ldv, 0, out[oo:], ldv)
	})
}

// CrossAttentionBackward accumulates the gradients of CrossAttentionForward
// from dOut (shaped like out) and the saved probs; with dP = dOut v^T,
//
//	dS[i,j] = P[i,j] * (dP[i,j] - sum_l P[i,l] dP[i,l])
//	dq += Scale * dS k,   dk += Scale * dS^T q,   dv += P^T dOut
//
// per (b, h). Padding rows receive nothing. Bad shapes or lengths panic.
func CrossAttentionBackward[T Float](a CrossAttention, q, k, v []T, qlens, klens []int, probs, dOut, dq, dk, dv []T) {
	const fn = "CrossAttentionBackward"
	caCheck(a, fn, q, k, v, dOut, probs, qlens, klens)
	lyLen(fn, "dq", len(dq), len(q))
	lyLen(fn, "dk", len(dk), len(k))
	lyLen(fn, "dv", len(dv), len(v))
	Lq, Lk, H, DK, DV := a.Lq, a.Lk, a.H, a.DK, a.DV
	ldq, ldv := H*DK, H*DV
	scale := T(a.caScale())
	pairs := a.B * H
	nw := min(Workers(), pairs)
	var next atomic.Int64
	// dk and dv rows of batch row b are written by all of b's heads, each
	// in its own columns, so pairs never write the same memory.
	Parallel(nw, func(int) {
		buf := make([]T, Lq*Lk)
		for {
			p := int(next.Add(1) - 1)
			if p >= pairs {
				return
			}
			b, h := p/H, p%H
			nq, nk := qlens[b], klens[b]
			if nq == 0 || nk == 0 {
				continue
			}
			P := probs[p*Lq*Lk : (p+1)*Lq*Lk]
			qo, ko := b*Lq*ldq+h*DK, b*Lk*ldq+h*DK
			oo, vo := b*Lq*ldv+h*DV, b*Lk*ldv+h*DV
			Gemm(true, false, nk, DV, nq, 1, P, Lk, dOut[oo:], ldv, 1, dv[vo:], ldv)
			dP := buf[:nq*nk]
			Gemm(false, true, nq, nk, DV, 1, dOut[oo:], ldv, v[vo:], ldv, 0, dP, nk)
			for i := range nq {
				m := a.caKeys(i, nk)
				pr, gr := P[i*Lk:i*Lk+m], dP[i*nk:(i+1)*nk]
				dot := Dot(pr, gr[:m])
				for j, pj := range pr {
					gr[j] = pj * (gr[j] - dot)
				}
				clear(gr[m:])
			}
			Gemm(false, false, nq, DK, nk, scale, dP, nk, k[ko:], ldq, 1, dq[qo:], ldq)
			Gemm(true, false, nk, DK, nq, scale, dP, nk, q[qo:], ldq, 1, dk[ko:], ldq)
		}
	})
}
