package kernels

import "math"

// SampledSoftmaxReference is the forward loss of SampledSoftmax computed the
// obvious way, one row at a time in float64: the same inputs without the
// gradient outputs, the same (loss, count) result. It checks the fast kernel
// in tests.
func SampledSoftmaxReference[T Float](u []T, m, d int, items []T, pos []int32, neg []int32, k int, temperature float64) (loss float64, count int) {
	for r := range m {
		p := int(pos[r])
		if p <= 0 {
			continue
		}
		count++
		logits := []float64{lsRefDot(u, r, items, p, d) / temperature}
		for j := range k {
			if id := int(neg[r*k+j]); id != p {
				logits = append(logits, lsRefDot(u, r, items, id, d)/temperature)
			}
		}
		loss += lsRefLogSumExp(logits) - logits[0]
	}
	if count == 0 {
		return 0, 0
	}
	return loss / float64(count), count
}

// FullSoftmaxReference is the forward loss of FullSoftmax computed one row
// and one item at a time in float64.
func FullSoftmaxReference[T Float](u []T, m, d int, items []T, catalogue int, pos []int32, temperature float64) (loss float64, count int) {
	logits := make([]float64, catalogue-1)
	for r := range m {
		p := int(pos[r])
		if p <= 0 {
			continue
		}
		count++
		for c := 1; c < catalogue; c++ {
			logits[c-1] = lsRefDot(u, r, items, c, d) / temperature
		}
		loss += lsRefLogSumExp(logits) - logits[p-1]
	}
	if count == 0 {
		return 0, 0
	}
	return loss / float64(count), count
}

// lsRefDot is <u[r], items[id]> in float64.
func lsRefDot[T Float](u []T, r int, items []T, id, d int) float64 {
	s := 0.0
	for i := range d {
		s += float64(u[r*d+i]) * float64(items[id*d+i])
	}
	return s
}

// lsRefLogSumExp is log Σ exp(x) with the maximum subtracted.
func lsRefLogSumExp(x []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, v)
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}
