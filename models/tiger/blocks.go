package tiger

import (
	"fmt"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
)

const lnEps = 1e-6

func linear[T kernels.Float](name string, in, out int, rng *rand.Rand) *kernels.Param[T] {
	p := kernels.NewParam[T](name, in, out)
	kernels.InitXavierUniform(p.Value, in, out, rng)
	return p
}

// attention is one multi-head attention block:
//
//	out = softmax(Scale (xq Wq)(xkv Wk)^T + mask) (xkv Wv) Wo
//
// xq: (B*Lq) x D, xkv: (B*Lk) x D, Wq, Wk, Wv: D x (H*dh), Wo: (H*dh) x D.
type attention[T kernels.Float] struct {
	wq, wk, wv, wo *kernels.Param[T]
	h, dh, d       int
	causal         bool

	// forward state
	a              kernels.CrossAttention
	ql, kl         []int
	xq, xkv        []T
	q, k, v, o, pr []T
}

func newAttention[T kernels.Float](name string, d, h, dh int, causal bool, rng *rand.Rand) *attention[T] {
	return &attention[T]{wq: linear[T](name+".q", d, h*dh, rng), wk: linear[T](name+".k", d, h*dh, rng),
		wv: linear[T](name+".v", d, h*dh, rng), wo: linear[T](name+".o", h*dh, d, rng), h: h, dh: dh, d: d, causal: causal}
}

func (a *attention[T]) params() []*kernels.Param[T] {
	return []*kernels.Param[T]{a.wq, a.wk, a.wv, a.wo}
}

func (a *attention[T]) forward(xq, xkv []T, b, lq, lk int, ql, kl []int) []T {
	hd := a.h * a.dh
	a.a = kernels.CrossAttention{B: b, Lq: lq, Lk: lk, H: a.h, DK: a.dh, DV: a.dh, Causal: a.causal}
	a.ql, a.kl, a.xq, a.xkv = ql, kl, xq, xkv
	a.q, a.k, a.v = make([]T, b*lq*hd), make([]T, b*lk*hd), make([]T, b*lk*hd)
	kernels.LinearForward(xq, a.wq.Value, nil, a.q, b*lq, a.d, hd)
	kernels.LinearForward(xkv, a.wk.Value, nil, a.k, b*lk, a.d, hd)
	kernels.LinearForward(xkv, a.wv.Value, nil, a.v, b*lk, a.d, hd)
	a.o, a.pr = make([]T, b*lq*hd), make([]T, b*a.h*lq*lk)
	kernels.CrossAttentionForward(a.a, a.q, a.k, a.v, ql, kl, a.o, a.pr)
	out := make([]T, b*lq*a.d)
	kernels.LinearForward(a.o, a.wo.Value, nil, out, b*lq, hd, a.d)
	return out
}

// backward accumulates into dxq and dxkv (which may be the same slice when
// xq is xkv).
func (a *attention[T]) backward(dOut, dxq, dxkv []T) {
	hd, rq, rk := a.h*a.dh, a.a.B*a.a.Lq, a.a.B*a.a.Lk
	do := make([]T, len(a.o))
	kernels.LinearBackward(a.o, a.wo.Value, dOut, do, a.wo.Grad, nil, rq, hd, a.d)
	dq, dk, dv := make([]T, len(a.q)), make([]T, len(a.k)), make([]T, len(a.v))
	kernels.CrossAttentionBackward(a.a, a.q, a.k, a.v, a.ql, a.kl, a.pr, do, dq, dk, dv)
	kernels.LinearBackward(a.xq, a.wq.Value, dq, dxq, a.wq.Grad, nil, rq, a.d, hd)
	kernels.LinearBackward(a.xkv, a.wk.Value, dk, dxkv, a.wk.Grad, nil, rk, a.d, hd)
	kernels.LinearBackward(a.xkv, a.wv.Value, dv, dxkv, a.wv.Grad, nil, rk, a.d, hd)
}

// ffn is the feed-forward block: out = ReLU(x W1 + b1) W2 + b2, W1: D x F.
type ffn[T kernels.Float] struct {
	w1, b1, w2, b2 *kernels.Param[T]
	d, f           int
	x, pre, act    []T
}

func newFFN[T kernels.Float](name string, d, f int, rng *rand.Rand) *ffn[T] {
	return &ffn[T]{w1: linear[T](name+".w1", d, f, rng), b1: kernels.NewParam[T](name+".b1", f),
		w2: linear[T](name+".w2", f, d, rng), b2: kernels.NewParam[T](name+".b2", d), d: d, f: f}
}

func (f *ffn[T]) params() []*kernels.Param[T] { return []*kernels.Param[T]{f.w1, f.b1, f.w2, f.b2} }

func (f *ffn[T]) forward(x []T, rows int) []T {
	f.x = x
	f.pre, f.act = make([]T, rows*f.f), make([]T, rows*f.f)
	kernels.LinearForward(x, f.w1.Value, f.b1.Value, f.pre, rows, f.d, f.f)
	kernels.ReLUForward(f.pre, f.act)
	out := make([]T, rows*f.d)
	kernels.LinearForward(f.act, f.w2.Value, f.b2.Value, out, rows, f.f, f.d)
	return out
}

func (f *ffn[T]) backward(dOut, dx []T, rows int) {
	da := make([]T, len(f.act))
	kernels.LinearBackward(f.act, f.w2.Value, dOut, da, f.w2.Grad, f.b2.Grad, rows, f.f, f.d)
	dp := make([]T, len(da))
	kernels.ReLUBackward(f.pre, da, dp)
	kernels.LinearBackward(f.x, f.w1.Value, dp, dx, f.w1.Grad, f.b1.Grad, rows, f.d, f.f)
}

// residual is a pre-LayerNorm residual step's saved state:
// y = x + Dropout(f(LN(x))).
type residual[T kernels.Float] struct {
	ln, rstd []T
	mask     []bool
	p        float64
}

func (r *residual[T]) norm(x []T, rows, d int) []T {
	r.ln, r.rstd = make([]T, len(x)), make([]T, rows)
	kernels.LayerNormForward(x, r.ln, rows, d, lnEps, r.rstd)
	return r.ln
}

// add returns x + Dropout(fx).
func (r *residual[T]) add(x, fx []T, p float64, rng *rand.Rand) []T {
	r.p = p
	r.mask = make([]bool, len(fx))
	y := make([]T, len(fx))
	kernels.DropoutForward(fx, y, p, rng, r.mask)
	kernels.AddTo(y, x)
	return y
}

// dropBack returns the gradient of fx from dy.
func (r *residual[T]) dropBack(dy []T) []T {
	d := make([]T, len(dy))
	kernels.DropoutBackward(r.mask, r.p, dy, d)
	return d
}

// normBack adds to dx the gradient through LN from dln.
func (r *residual[T]) normBack(dln, dx []T, rows, d int) {
	kernels.LayerNormBackward(r.ln, r.rstd, dln, dx, rows, d)
}

func checkLen(fn, name string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("tiger: %s: len(%s) = %d, want %d", fn, name, got, want))
	}
}
