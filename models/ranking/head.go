package ranking

import (
	"math"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// head runs the MLP on f = [z, e, z*e] and returns the logits.
func (m *Model) head() []float32 {
	st, d, b := &m.st, m.d, len(m.st.idx)
	st.f = sequential.Grow(st.f, b*3*d)
	for i := range b {
		z, e, f := st.z[i*d:(i+1)*d], st.e[i*d:(i+1)*d], st.f[i*3*d:(i+1)*3*d]
		copy(f[:d], z)
		copy(f[d:2*d], e)
		for k := range d {
			f[2*d+k] = z[k] * e[k]
		}
	}
	st.acts, st.pre = st.acts[:0], st.pre[:0]
	x, in := st.f, 3*d
	for l := 0; l < len(m.mlp); l += 2 {
		w, bias := m.mlp[l], m.mlp[l+1]
		out := w.Cols()
		y := make([]float32, b*out)
		kernels.LinearForward(x, w.Value, bias.Value, y, b, in, out)
		st.acts, st.pre = append(st.acts, x), append(st.pre, y)
		if l+2 < len(m.mlp) {
			a := make([]float32, len(y))
			kernels.ReLUForward(y, a)
			x = a
		} else {
			x = y
		}
		in = out
	}
	st.logits = x
	return x
}

// Backward accumulates every parameter's gradient from dLogits (one per
// example of the last Forward).
func (m *Model) Backward(dLogits []float32) {
	st, d, b := &m.st, m.d, len(m.st.idx)
	dy := dLogits
	for l := len(m.mlp) - 2; l >= 0; l -= 2 {
		w, bias := m.mlp[l], m.mlp[l+1]
		in, out := w.Rows(), w.Cols()
		li := l / 2
		if l+2 < len(m.mlp) { // through the ReLU
			dpre := make([]float32, len(dy))
			kernels.ReLUBackward(st.pre[li], dy, dpre)
			dy = dpre
		}
		dx := make([]float32, b*in)
		kernels.LinearBackward(st.acts[li], w.Value, dy, dx, w.Grad, bias.Grad, b, in, out)
		dy = dx
	}
	df := dy // b x 3d
	dz, de := make([]float32, b*d), make([]float32, b*d)
	for i := range b {
		f := df[i*3*d : (i+1)*3*d]
		z, e := st.z[i*d:(i+1)*d], st.e[i*d:(i+1)*d]
		for k := range d {
			dz[i*d+k] = f[k] + f[2*d+k]*e[k]
			de[i*d+k] = f[d+k] + f[2*d+k]*z[k]
		}
	}
	kernels.EmbeddingScatter(m.items, st.cand, de, 1)
	if m.enc != nil {
		n := m.enc.MaxLen()
		dUser := make([]float32, st.b.B*n*d)
		for i, p := range st.lastPos {
			copy(dUser[p*d:(p+1)*d], dz[i*d:(i+1)*d])
		}
		m.enc.Backward(dUser)
		return
	}
	for i, ids := range st.histIDs {
		if len(ids) > 0 {
			g := make([]float32, len(ids)*d)
			for j := range ids {
				copy(g[j*d:(j+1)*d], dz[i*d:(i+1)*d])
			}
			kernels.EmbeddingScatter(m.items, ids, g, 1/float32(len(ids)))
			if m.actions != nil {
				kernels.EmbeddingScatter(m.actions, st.histActs[i], g, 1/float32(len(ids)))
			}
		}
	}
}

// Loss returns the mean binary cross-entropy of logits against ex[idx]'s
// labels and its gradient with respect to the logits:
//
//	loss = (1/B) Σ softplus(s) - y s,    dloss/ds = (sigmoid(s) - y) / B
func Loss(logits []float32, ex []Example, idx []int) (float64, []float32) {
	grad := make([]float32, len(logits))
	var loss float64
	inv := 1 / float64(len(idx))
	for i, k := range idx {
		s, y := float64(logits[i]), float64(ex[k].Label)
		loss += (math.Max(s, 0) + math.Log1p(math.Exp(-math.Abs(s))) - y*s) * inv
		grad[i] = float32((1/(1+math.Exp(-s)) - y) * inv)
	}
	return loss, grad
}

// Sigmoid turns logits into click probabilities.
func Sigmoid(logits []float32) []float32 {
	p := make([]float32, len(logits))
	for i, s := range logits {
		p[i] = float32(1 / (1 + math.Exp(-float64(s))))
	}
	return p
}
