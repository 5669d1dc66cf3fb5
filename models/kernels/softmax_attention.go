package kernels

import (
	"fmt"
	"math"
	"sync/atomic"
)

// SoftmaxAttention is causal multi-head scaled dot-product attention, as in
// SASRec (Kang & McAuley 2018, arXiv 1808.09781) and the Transformer
// (Vaswani et al. 2017, arXiv 1706.03762). For batch row b, head h and the
// valid positions i, j < lens[b]:
//
//	S[i,j]   = Scale * <q[b,i,h], k[b,j,h]>            for j <= i
//	P[i,:]   = softmax_j S[i,j]                         (over j <= i)
//	out[b,i,h] = sum_{j <= i} P[i,j] v[b,j,h]
//
// Shapes: q and k are (B*L) x (H*DK), v and out (B*L) x (H*DV), row-major,
// head h of row r at q[r*H*DK+h*DK:]. Sequences are left-aligned: positions
// lens[b] .. L-1 of batch row b are padding, get zero output and zero
// gradient, and are skipped by the gemms.
type SoftmaxAttention struct {
	B, L, H, DK, DV int
	Scale           float64 // 0 means 1/sqrt(DK)
}

// saScale returns the score scale, 1/sqrt(DK) when Scale is 0.
func (a SoftmaxAttention) saScale() float64 {
	if a.Scale != 0 {
		return a.Scale
	}
	return 1 / math.Sqrt(float64(a.DK))
}

// saCheck panics on a bad shape or lens.
func (a SoftmaxAttention) saCheck(fn string, lens []int) {
	if a.B < 0 || a.L < 0 || a.H < 1 || a.DK < 1 || a.DV < 1 {
		panic(fmt.Sprintf("kernels: %s: bad shape %+v (need B, L >= 0 and H, DK, DV >= 1)", fn, a))
	}
	lyLen(fn, "lens", len(lens), a.B)
	for b, n := range lens {
		if n < 0 || n > a.L {
			panic(fmt.Sprintf("kernels: %s: lens[%d] = %d outside [0, %d]", fn, b, n, a.L))
		}
	}
}

// saLens panics unless q, k, v, out and probs have the lengths a gives.
func saLens[T Float](a SoftmaxAttention, fn string, q, k, v, out, probs []T) {
	rows := a.B * a.L
	lyLen(fn, "q", len(q), rows*a.H*a.DK)
	lyLen(fn, "k", len(k), rows*a.H*a.DK)
	lyLen(fn, "v", len(v), rows*a.H*a.DV)
	lyLen(fn, "out", len(out), rows*a.H*a.DV)
	lyLen(fn, "probs", len(probs), a.B*a.H*a.L*a.L)
}

// SoftmaxAttentionForward writes out ((B*L) x (H*DV)) and the attention
// probabilities probs (B*H*L*L: probs[((b*H+h)*L+i)*L+j] = P[i,j] of batch
// row b, head h; zero above the diagonal and at padding), which
// SoftmaxAttentionBackward reads. Work is split over (b, h) pairs with
// Parallel; each pair is two gemms over its lens[b] valid rows. Bad shapes,
// lens outside [0, L] or mismatched lengths panic.
func SoftmaxAttentionForward[T Float](a SoftmaxAttention, q, k, v []T, lens []int, out, probs []T) {
	const fn = "SoftmaxAttentionForward"
	a.saCheck(fn, lens)
	saLens(a, fn, q, k, v, out, probs)
	L, H, DK, DV := a.L, a.H, a.DK, a.DV
	ldq, ldv := H*DK, H*DV
	scale := T(a.saScale())
	Parallel(a.B*H, func(p int) {
		b, h := p/H, p%H
		n := lens[b]
		P := probs[p*L*L : (p+1)*L*L]
		qo, vo := b*L*ldq+h*DK, b*L*ldv+h*DV
		if n > 0 {
			Gemm(false, true, n, n, DK, scale, q[qo:], ldq, k[qo:], ldq, 0, P, L)
			for i := range n {
				saSoftmaxRow(P[i*L : i*L+i+1])
				clear(P[i*L+i+1 : i*L+n])
			}
			Gemm(false, false, n, DV, n, 1, P, L, v[vo:], ldv, 0, out[vo:], ldv)
		}
		for i := range L {
			if i >= n {
				clear(P[i*L : (i+1)*L])
				clear(out[vo+i*ldv : vo+i*ldv+DV])
			} else {
				clear(P[i*L+n : (i+1)*L])
			}
		}
	})
}

// saSoftmaxRow replaces s by softmax(s), subtracting the maximum first.
func saSoftmaxRow[T Float](s []T) {
	mx := s[0]
	for _, x := range s[1:] {
		mx = max(mx, x)
	}
	var sum T
	for j, x := range s {
		e := Exp(x - mx)
		s[j] = e
		sum += e
	}
	inv := 1 / sum
	for j := range s {
		s[j] *= inv
	}
}

// SoftmaxAttentionBackward accumulates the gradients of
// SoftmaxAttentionForward from dOut ((B*L) x (H*DV)) and the saved probs;
// with dP = dOut v^T and
//
//	dS[i,j] = P[i,j] * (dP[i,j] - sum_l P[i,l] dP[i,l])
//	dq += Scale * dS k,   dk += Scale * dS^T q,   dv += P^T dOut
//
// per (b, h). dq, dk are shaped like q, dv like v; padding rows receive
// nothing. Bad shapes, lens or mismatched lengths panic.
func SoftmaxAttentionBackward[T Float](a SoftmaxAttention, q, k, v []T, lens []int, probs, dOut, dq, dk, dv []T) {
	const fn = "SoftmaxAttentionBackward"
	a.saCheck(fn, lens)
	saLens(a, fn, q, k, v, dOut, probs)
	lyLen(fn, "dq", len(dq), len(q))
	lyLen(fn, "dk", len(dk), len(k))
	lyLen(fn, "dv", len(dv), len(v))
	L, H, DK, DV := a.L, a.H, a.DK, a.DV
	ldq, ldv := H*DK, H*DV
	scale := T(a.saScale())
	pairs := a.B * H
	nw := min(Workers(), pairs)
	var next atomic.Int64
	// One dP scratch per worker; pairs are handed out dynamically.
	Parallel(nw, func(int) {
		buf := make([]T, L*L)
		for {
			p := int(next.Add(1) - 1)
			if p >= pairs {
				return
			}
			b, h := p/H, p%H
			n := lens[b]
			if n == 0 {
				continue
			}
			P := probs[p*L*L : (p+1)*L*L]
			qo, vo := b*L*ldq+h*DK, b*L*ldv+h*DV
			Gemm(true, false, n, DV, n, 1, P, L, dOut[vo:], ldv, 1, dv[vo:], ldv)
			dP := buf[:n*n]
			Gemm(false, true, n, n, DV, 1, dOut[vo:], ldv, v[vo:], ldv, 0, dP, n)
			for i := range n {
				pr, gr := P[i*L:i*L+i+1], dP[i*n:(i+1)*n]
				dot := Dot(pr, gr[:i+1])
				for j, pj := range pr {
					gr[j] = pj * (gr[j] - dot)
				}
				clear(gr[i+1:])
			}
			Gemm(false, false, n, DK, n, scale, dP, n, k[qo:], ldq, 1, dq[qo:], ldq)
			Gemm(true, false, n, DK, n, scale, dP, n, q[qo:], ldq, 1, dk[qo:], ldq)
		}
	})
}
