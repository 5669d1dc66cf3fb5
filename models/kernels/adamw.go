package kernels

import (
	"fmt"
	"math"
)

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter 2019,
// arXiv 1711.05101). Each AdamWStep increments Steps to t and updates every
// element w with gradient g:
//
//	m    = b1 m + (1-b1) g
//	v    = b2 v + (1-b2) g²
//	mhat = m / (1 - b1^t),   vhat = v / (1 - b2^t)
//	w   -= lr * (mhat / (sqrt(vhat) + eps) + wd * w)
//
// Sparse params are updated "lazily": only their touched rows step; the
// other rows keep their weights and moments unchanged (their moments do not
// decay, and weight decay does not reach them), as in TensorFlow's
// LazyAdam. The bias corrections use the global step t for every row.
// Arithmetic is in float64 whatever T is. Callers set LR before each step
// (see LRSchedule).
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Steps                              int // t, incremented by AdamWStep before the update
}

// NewAdamW returns AdamW with learning rate lr and HSTU's defaults: betas
// (0.9, 0.98), eps 1e-8, weight decay 0.
func NewAdamW(lr float64) *AdamW {
	return &AdamW{LR: lr, Beta1: 0.9, Beta2: 0.98, Eps: 1e-8}
}

// AdamWStep applies one AdamW update to params (dense: every element;
// sparse: touched rows; frozen: none), allocating M and V on first use. It does not zero
// gradients. A param whose Grad, M or V length differs from its Value panics.
func AdamWStep[T Float](o *AdamW, params []*Param[T]) {
	o.Steps++
	t := float64(o.Steps)
	// mhat/(sqrt(vhat)+eps) = (m/c1) / (sqrt(v)/sqrt(c2) + eps), with one
	// division per element.
	ic1 := 1 / (1 - math.Pow(o.Beta1, t))
	isc2 := 1 / math.Sqrt(1-math.Pow(o.Beta2, t))
	b1, b2, lr, eps, wd := o.Beta1, o.Beta2, o.LR, o.Eps, o.WeightDecay
	for _, p := range params {
		if p.Frozen {
			continue
		}
		if p.compact {
			adamwTable(o, p, ic1, isc2)
			continue
		}
		n := len(p.Value)
		if len(p.Grad) != n {
			panic(fmt.Sprintf("kernels: AdamWStep: %q: len(Grad) = %d, len(Value) = %d", p.Name, len(p.Grad), n))
		}
		if p.M == nil && p.V == nil {
			p.M, p.V = make([]T, n), make([]T, n)
		}
		if len(p.M) != n || len(p.V) != n {
			panic(fmt.Sprintf("kernels: AdamWStep: %q: len(M), len(V) = %d, %d, len(Value) = %d", p.Name, len(p.M), len(p.V), n))
		}
		update := func(lo, hi int) {
			w, g, m, v := p.Value[lo:hi], p.Grad[lo:hi], p.M[lo:hi], p.V[lo:hi]
			for i := range w {
				gi := float64(g[i])
				mi := b1*float64(m[i]) + (1-b1)*gi
				vi := b2*float64(v[i]) + (1-b2)*gi*gi
				m[i], v[i] = T(mi), T(vi)
				wi := float64(w[i])
				w[i] = T(wi - lr*(mi*ic1/(math.Sqrt(vi)*isc2+eps)+wd*wi))
			}
		}
		if !p.Sparse {
			pmBlocks(n, pmGrain, update)
			continue
		}
		c, rows := p.Cols(), p.rows
		pmBlocks(len(rows), max(1, pmGrain/max(c, 1)), func(lo, hi int) {
			for _, r := range rows[lo:hi] {
				update(r*c, (r+1)*c)
			}
		})
	}
}

// ClipGradNorm scales every gradient (dense params: all of it; sparse:
// touched rows) by maxNorm/norm when
//
//	norm = sqrt( Σ_params Σ_i g_i² )
//
// exceeds maxNorm, so the global norm afterwards is maxNorm (Pascanu et al.
// 2013, arXiv 1211.5063). It returns the norm before clipping. maxNorm <= 0,
// or a norm that is NaN or Inf, leaves the gradients unchanged (check
// GradFinite). Sums are in float64.
func ClipGradNorm[T Float](params []*Param[T], maxNorm float64) float64 {
	ss := 0.0
	for _, p := range params {
		pmEachGradRow(p, func(lo, hi int) {
			for _, g := range p.Grad[lo:hi] {
				ss += float64(g) * float64(g)
			}
		})
	}
	norm := math.Sqrt(ss)
	if maxNorm <= 0 || !(norm > maxNorm) || math.IsInf(norm, 0) {
		return norm
	}
	s := maxNorm / norm
	for _, p := range params {
		pmEachGradRow(p, func(lo, hi int) {
			g := p.Grad[lo:hi]
			for i := range g {
				g[i] = T(float64(g[i]) * s)
			}
		})
	}
	return norm
}

// GradFinite reports whether every gradient value (dense params: all;
// sparse: touched rows) is finite: neither NaN nor ±Inf.
func GradFinite[T Float](params []*Param[T]) bool {
	for _, p := range params {
		ok := true
		pmEachGradRow(p, func(lo, hi int) {
			for _, g := range p.Grad[lo:hi] {
				if f := float64(g); math.IsNaN(f) || math.IsInf(f, 0) {
					ok = false
					return
				}
			}
		})
		if !ok {
			return false
		}
	}
	return true
}
