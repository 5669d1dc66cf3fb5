package hstu

import (
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// Forward returns the L2-normalised user embedding at every position of b
// (b.B*N rows of d, zero at padding). A non-nil rng turns dropout on. b.L
// must be the model's MaxSeqLen.
//
// Shapes, with R the number of valid positions in b:
//
//	x0   = Dropout(E[items] * sqrt(d) + P[i])        R x d
//	h    = SiLU(LayerNorm(x) W_uvqk)                 R x (2*H*dv + 2*H*dqk)
//	o    = HSTUAttention(q, k, v)                    R x H*dv
//	y    = Dropout(u * LayerNorm(o)) W_o + b_o + x   R x d
//	out  = y / ||y||                                 R x d
func (m *Model[T]) Forward(b *sequential.Batch, rng *rand.Rand) []T {
	if b.L != m.n {
		panic("hstu: batch length differs from the model's max_seq_len")
	}
	st := &m.st
	st.b, st.train = b, rng != nil
	p := m.cfg.Transformer.Dropout
	if !st.train {
		p = 0
	}
	x := m.In.Forward(b, p, rng)
	for _, ly := range m.Layers {
		ly.x = x
		x = m.forwardLayer(ly, x, p, rng)
	}
	return st.out.Forward(b, m.In.Packed, x, m.d)
}

// forwardLayer runs one HSTU layer on x (R x d, packed) and returns its
// output ly.y.
func (m *Model[T]) forwardLayer(ly *Layer[T], x []T, p float64, rng *rand.Rand) []T {
	st := &m.st
	b := st.b
	packed := m.In.Packed
	r, d, h := len(packed), m.d, m.h
	hv, hqk := h*m.dv, h*m.dqk
	width := 2*hv + 2*hqk
	ly.ln1 = sequential.Grow(ly.ln1, r*d)
	ly.rstd1 = sequential.Grow(ly.rstd1, r)
	kernels.LayerNormForward(x, ly.ln1, r, d, lnEps, ly.rstd1)
	ly.pre = sequential.Grow(ly.pre, r*width)
	kernels.LinearForward(ly.ln1, ly.UVQK.Value, nil, ly.pre, r, d, width)
	ly.act = sequential.Grow(ly.act, r*width)
	act := ly.act
	kernels.SiLUForward(ly.pre, act)
	padded := b.B * m.n
	ly.u = sequential.Grow(ly.u, r*hv)
	ly.v = sequential.Grow(ly.v, padded*hv)
	ly.q = sequential.Grow(ly.q, padded*hqk)
	ly.k = sequential.Grow(ly.k, padded*hqk)
	for j, pr := range packed {
		row := act[j*width : (j+1)*width]
		copy(ly.u[j*hv:(j+1)*hv], row[:hv])
		copy(ly.v[pr*hv:(pr+1)*hv], row[hv:2*hv])
		copy(ly.q[pr*hqk:(pr+1)*hqk], row[2*hv:2*hv+hqk])
		copy(ly.k[pr*hqk:(pr+1)*hqk], row[2*hv+hqk:])
	}
	attnOut := sequential.Grow(st.dAttn, padded*hv)
	st.dAttn = attnOut
	kernels.HSTUAttentionForward(m.attention(b.B), ly.q, ly.k, ly.v, b.Lens,
		biasValue(ly.PosBias), biasValue(ly.TimeBias), b.QueryTimes, b.Times, attnOut)
	ly.o = sequential.Grow(ly.o, r*hv)
	sequential.GatherRows(ly.o, attnOut, packed, hv)
	ly.ln2 = sequential.Grow(ly.ln2, r*hv)
	ly.rstd2 = sequential.Grow(ly.rstd2, r)
	kernels.LayerNormForward(ly.o, ly.ln2, r, hv, lnEps, ly.rstd2)
	ly.g = sequential.Grow(ly.g, r*hv)
	for i := range ly.g {
		ly.g[i] = ly.u[i] * ly.ln2[i]
	}
	ly.gd = sequential.Grow(ly.gd, r*hv)
	ly.mask = sequential.Grow(ly.mask, r*hv)
	kernels.DropoutForward(ly.g, ly.gd, p, rng, ly.mask)
	ly.y = sequential.Grow(ly.y, r*d)
	kernels.LinearForward(ly.gd, ly.OW.Value, ly.OB.Value, ly.y, r, hv, d)
	kernels.AddTo(ly.y, x)
	return ly.y
}
