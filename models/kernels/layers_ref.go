package kernels

import "math"

// The slow, obvious references of the dense layer kernels. Each takes the
// parameters of its fast kernel, loops over every element in float64 and
// writes the same outputs; tests compare the two on random shapes.

// LayerNormReference is LayerNormForward written as plain loops.
func LayerNormReference[T Float](x, y []T, rows, d int, eps float64, rstd []T) {
	for r := range rows {
		mean := 0.0
		for i := range d {
			mean += float64(x[r*d+i])
		}
		mean /= float64(d)
		variance := 0.0
		for i := range d {
			c := float64(x[r*d+i]) - mean
			variance += c * c
		}
		variance /= float64(d)
		rs := 1 / math.Sqrt(variance+eps)
		for i := range d {
			y[r*d+i] = T((float64(x[r*d+i]) - mean) * rs)
		}
		rstd[r] = T(rs)
	}
}

// LinearReference is LinearForward written as plain loops.
func LinearReference[T Float](x, w, b, y []T, m, k, n int) {
	for i := range m {
		for j := range n {
			s := 0.0
			if b != nil {
				s = float64(b[j])
			}
			for p := range k {
				s += float64(x[i*k+p]) * float64(w[p*n+j])
			}
			y[i*n+j] = T(s)
		}
	}
}

// L2NormalizeReference is L2NormalizeForward written as plain loops.
func L2NormalizeReference[T Float](x, y, norms []T, rows, d int, eps float64) {
	for r := range rows {
		ss := 0.0
		for i := range d {
			ss += float64(x[r*d+i]) * float64(x[r*d+i])
		}
		nr := math.Max(math.Sqrt(ss), eps)
		for i := range d {
			y[r*d+i] = T(float64(x[r*d+i]) / nr)
		}
		norms[r] = T(nr)
	}
}

// SoftmaxAttentionReference is SoftmaxAttentionForward written as plain
// loops, one query row at a time.
func SoftmaxAttentionReference[T Float](a SoftmaxAttention, q, k, v []T, lens []int, out, probs []T) {
	L, H, DK, DV := a.L, a.H, a.DK, a.DV
	scale := a.saScale()
	for b := range a.B {
		for h := range H {
			P := probs[(b*H+h)*L*L : (b*H+h+1)*L*L]
			for i := range L {
				o := out[(b*L+i)*H*DV+h*DV : (b*L+i)*H*DV+h*DV+DV]
				for j := range L {
					P[i*L+j] = 0
				}
				for c := range DV {
					o[c] = 0
				}
				if i >= lens[b] {
					continue
				}
				s := make([]float64, i+1)
				mx := math.Inf(-1)
				for j := range i + 1 {
					for c := range DK {
						s[j] += float64(q[(b*L+i)*H*DK+h*DK+c]) * float64(k[(b*L+j)*H*DK+h*DK+c])
					}
					s[j] *= scale
					mx = math.Max(mx, s[j])
				}
				sum := 0.0
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				acc := make([]float64, DV)
				for j := range s {
					P[i*L+j] = T(s[j] / sum)
					for c := range DV {
						acc[c] += s[j] / sum * float64(v[(b*L+j)*H*DV+h*DV+c])
					}
				}
				for c := range DV {
					o[c] = T(acc[c])
				}
			}
		}
	}
}
