package hstu

import (
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// Backward accumulates the parameter gradients of the last Forward from
// dUser (b.B*N x d, the gradient with respect to Forward's output; its
// padding rows are ignored). The item table's gradient is row-sparse: the
// rows of the batch's items are touched.
func (m *Model[T]) Backward(dUser []T) {
	st := &m.st
	if st.b == nil {
		panic("hstu: Backward before Forward")
	}
	dx := st.out.Backward(m.In.Packed, dUser, m.d)
	for li := len(m.Layers) - 1; li >= 0; li-- {
		dx = m.backwardLayer(m.Layers[li], dx)
	}
	m.In.Backward(dx)
}

// backwardLayer takes dy, the gradient of ly's output, accumulates ly's
// parameter gradients and returns the gradient of ly's input.
func (m *Model[T]) backwardLayer(ly *Layer[T], dy []T) []T {
	st := &m.st
	b := st.b
	packed := m.In.Packed
	r, d, h := len(packed), m.d, m.h
	hv, hqk := h*m.dv, h*m.dqk
	width := 2*hv + 2*hqk
	p := m.cfg.Transformer.Dropout
	if !st.train {
		p = 0
	}
	// y = gd W_o + b_o + x
	dgd := zeroed(&st.bw[0], r*hv)
	kernels.LinearBackward(ly.gd, ly.OW.Value, dy, dgd, ly.OW.Grad, ly.OB.Grad, r, hv, d)
	dg := zeroed(&st.bw[1], r*hv)
	kernels.DropoutBackward(ly.mask, p, dgd, dg)
	// g = u * ln2
	du, dln2 := dgd, zeroed(&st.bw[2], r*hv) // dgd is free again: reuse it for du
	for i := range dg {
		du[i] = dg[i] * ly.ln2[i]
		dln2[i] = dg[i] * ly.u[i]
	}
	do := dg // reuse
	clear(do)
	kernels.LayerNormBackward(ly.ln2, ly.rstd2, dln2, do, r, hv)
	// Attention, on padded rows.
	padded := b.B * m.n
	dOut := sequential.Grow(st.dAttn, padded*hv)
	st.dAttn = dOut
	clear(dOut)
	sequential.ScatterRows(dOut, do, packed, hv)
	st.dq = sequential.Grow(st.dq, padded*hqk)
	st.dk = sequential.Grow(st.dk, padded*hqk)
	st.dv = sequential.Grow(st.dv, padded*hv)
	clear(st.dq)
	clear(st.dk)
	clear(st.dv)
	kernels.HSTUAttentionBackward(m.attention(b.B), ly.q, ly.k, ly.v, b.Lens,
		biasValue(ly.PosBias), biasValue(ly.TimeBias), b.QueryTimes, b.Times,
		dOut, st.dq, st.dk, st.dv, biasGrad(ly.PosBias), biasGrad(ly.TimeBias))
	ds := zeroed(&st.bw[3], r*width)
	for j, pr := range packed {
		row := ds[j*width : (j+1)*width]
		copy(row[:hv], du[j*hv:(j+1)*hv])
		copy(row[hv:2*hv], st.dv[pr*hv:(pr+1)*hv])
		copy(row[2*hv:2*hv+hqk], st.dq[pr*hqk:(pr+1)*hqk])
		copy(row[2*hv+hqk:], st.dk[pr*hqk:(pr+1)*hqk])
	}
	dpre := zeroed(&st.bw[4], r*width)
	kernels.SiLUBackward(ly.pre, ds, dpre)
	dln1 := zeroed(&st.bw[5], r*d)
	kernels.LinearBackward(ly.ln1, ly.UVQK.Value, dpre, dln1, ly.UVQK.Grad, nil, r, d, width)
	dx := dy // residual: the input's gradient starts as the output's
	kernels.LayerNormBackward(ly.ln1, ly.rstd1, dln1, dx, r, d)
	return dx
}

// zeroed grows *buf to n elements, clears them and returns them: the
// backward pass's scratch, reused from layer to layer and step to step.
func zeroed[T kernels.Float](buf *[]T, n int) []T {
	*buf = sequential.Grow(*buf, n)
	clear(*buf)
	return *buf
}
