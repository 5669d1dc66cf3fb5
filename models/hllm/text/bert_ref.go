package text

import "math"

// referenceHidden is the slow, obvious float64 forward of one sequence that
// BERT.forward is tested against: the same equations as BERT's doc comment,
// written as loops. It returns len(ids) rows of hidden_size values.
func (m *BERT) referenceHidden(ids []int32) [][]float64 {
	c := m.Config
	d, H := c.HiddenSize, c.NumAttentionHeads
	dh := d / H
	n := len(ids)
	ln := func(z []float64, g, b []float32) []float64 {
		var mean, vr float64
		for _, v := range z {
			mean += v
		}
		mean /= float64(len(z))
		for _, v := range z {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(len(z))
		out := make([]float64, len(z))
		for i, v := range z {
			out[i] = (v-mean)/math.Sqrt(vr+c.LayerNormEps)*float64(g[i]) + float64(b[i])
		}
		return out
	}
	dense := func(z []float64, l linear) []float64 { // z W^T + b, W out x in
		out := make([]float64, l.out)
		for o := range l.out {
			s := float64(l.b[o])
			for i := range l.in {
				s += z[i] * float64(l.w[o*l.in+i])
			}
			out[o] = s
		}
		return out
	}
	x := make([][]float64, n)
	for p, id := range ids {
		e := make([]float64, d)
		for j := range d {
			e[j] = float64(m.word[int(id)*d+j]) + float64(m.pos[p*d+j]) + float64(m.typ[j])
		}
		x[p] = ln(e, m.embLN.g, m.embLN.b)
	}
	for _, ly := range m.layers {
		q, k, v, next := make([][]float64, n), make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for p := range n {
			q[p], k[p], v[p] = dense(x[p], ly.q), dense(x[p], ly.k), dense(x[p], ly.v)
		}
		for i := range n {
			ctx := make([]float64, d)
			for h := range H {
				w := make([]float64, n)
				mx := math.Inf(-1)
				for j := range n {
					for e := h * dh; e < (h+1)*dh; e++ {
						w[j] += q[i][e] * k[j][e]
					}
					w[j] /= math.Sqrt(float64(dh))
					mx = max(mx, w[j])
				}
				var sum float64
				for j := range n {
					w[j] = math.Exp(w[j] - mx)
					sum += w[j]
				}
				for j := range n {
					for e := h * dh; e < (h+1)*dh; e++ {
						ctx[e] += w[j] / sum * v[j][e]
					}
				}
			}
			a := dense(ctx, ly.attnOut)
			for j := range d {
				a[j] += x[i][j]
			}
			x1 := ln(a, ly.attnLN.g, ly.attnLN.b)
			hid := dense(x1, ly.inter)
			for j, z := range hid {
				hid[j] = 0.5 * z * (1 + math.Erf(z/math.Sqrt2))
			}
			o := dense(hid, ly.out)
			for j := range d {
				o[j] += x1[j]
			}
			next[i] = ln(o, ly.outLN.g, ly.outLN.b)
		}
		x = next
	}
	return x
}
