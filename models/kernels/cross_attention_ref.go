package kernels

import "math"

// CrossAttentionReference is CrossAttentionForward written as the
// equations, one scalar at a time, for tests.
func CrossAttentionReference[T Float](a CrossAttention, q, k, v []T, qlens, klens []int, out, probs []T) {
	caCheck(a, "CrossAttentionReference", q, k, v, out, probs, qlens, klens)
	Lq, Lk, H, DK, DV := a.Lq, a.Lk, a.H, a.DK, a.DV
	scale := a.caScale()
	clear(out)
	clear(probs)
	for b := range a.B {
		for h := range H {
			for i := range qlens[b] {
				m := a.caKeys(i, klens[b])
				if m == 0 {
					continue
				}
				s := make([]float64, m)
				mx := math.Inf(-1)
				for j := range m {
					for d := range DK {
						s[j] += float64(q[(b*Lq+i)*H*DK+h*DK+d]) * float64(k[(b*Lk+j)*H*DK+h*DK+d])
					}
					s[j] *= scale
					mx = math.Max(mx, s[j])
				}
				sum := 0.0
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for j := range s {
					pj := s[j] / sum
					probs[((b*H+h)*Lq+i)*Lk+j] = T(pj)
					for d := range DV {
						out[(b*Lq+i)*H*DV+h*DV+d] += T(pj * float64(v[(b*Lk+j)*H*DV+h*DV+d]))
					}
				}
			}
		}
	}
}
