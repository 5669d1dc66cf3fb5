package kernels

// HSTUAttentionReference is HSTUAttentionForward written as plain loops in
// float64, one (batch row, head, query) at a time, straight from
//
//	s[i,j]  = Scale * <q[b,i,h], k[b,j,h]> + posBias[i-j]
//	          + timeBias[TimeBucket(tsQuery[b,i] - tsKey[b,j])]
//	out[b,i,h] = sum_{j allowed} SiLU(s[i,j]) / L * v[b,j,h]
//	           + sum_{c in C(i)} SiLU(Scale * <q[b,i,h], mean k[c]>) / L * mean v[c]
//
// with the allowed keys, the chunks C(i) and the shapes of HSTUAttention
// (Zhai et al. 2024, arXiv 2402.17152). It is slow (O(L^2) per head whatever
// the window) and exists to test the fast kernel against. Padding rows of out
// are zeroed; bad input panics as HSTUAttentionForward does.
func HSTUAttentionReference[T Float](a HSTUAttention, q, k, v []T, lens []int, posBias, timeBias []T, tsQuery, tsKey []int64, out []T) {
	hstuCheck(a, "HSTUAttentionReference", q, k, v, lens, posBias, timeBias, tsQuery, tsKey, "out", out)
	L, H, DQK, DV, W := a.L, a.H, a.DQK, a.DV, a.Window
	scale := a.hstuScale()
	qRow := func(x []T, b, i, h int) []T { return x[(b*L+i)*H*DQK+h*DQK : (b*L+i)*H*DQK+h*DQK+DQK] }
	vRow := func(x []T, b, i, h int) []T { return x[(b*L+i)*H*DV+h*DV : (b*L+i)*H*DV+h*DV+DV] }
	silu := func(x float64) float64 { return x * float64(Sigmoid(x)) }
	for b := range a.B {
		n := lens[b]
		for h := range H {
			for i := range L {
				acc := make([]float64, DV)
				for j := 0; j <= i && i < n; j++ {
					if W > 0 && j <= i-W {
						continue // outside i's window
					}
					s := 0.0
					for d := range DQK {
						s += float64(qRow(q, b, i, h)[d]) * float64(qRow(k, b, j, h)[d])
					}
					s *= scale
					if posBias != nil {
						s += float64(posBias[i-j])
					}
					if timeBias != nil {
						s += float64(timeBias[TimeBucket(tsQuery[b*L+i]-tsKey[b*L+j])])
					}
					for d := range DV {
						acc[d] += silu(s) / float64(L) * float64(vRow(v, b, j, h)[d])
					}
				}
				// Summaries: chunks c complete within lens[b] and ending
				// before i's window, the last a.Summaries of them.
				var avail []int
				for c := 0; a.Summaries > 0 && i < n && (c+1)*W <= n; c++ {
					if c*W+W <= i-W+1 {
						avail = append(avail, c)
					}
				}
				if len(avail) > a.Summaries {
					avail = avail[len(avail)-a.Summaries:]
				}
				for _, c := range avail {
					kbar, vbar := make([]float64, DQK), make([]float64, DV)
					for j := c * W; j < (c+1)*W; j++ {
						for d := range DQK {
							kbar[d] += float64(qRow(k, b, j, h)[d]) / float64(W)
						}
						for d := range DV {
							vbar[d] += float64(vRow(v, b, j, h)[d]) / float64(W)
						}
					}
					s := 0.0
					for d := range DQK {
						s += float64(qRow(q, b, i, h)[d]) * kbar[d]
					}
					s *= scale
					for d := range DV {
						acc[d] += silu(s) / float64(L) * vbar[d]
					}
				}
				o := vRow(out, b, i, h)
				for d := range DV {
					o[d] = T(acc[d])
				}
			}
		}
	}
}
