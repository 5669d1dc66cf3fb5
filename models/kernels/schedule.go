package kernels

import "math"

// LRSchedule is a learning-rate schedule: linear warmup from 0 to Base over
// Warmup steps, then Base constant, or, when Cosine, a half cosine from Base
// down to Min reached at step Total (Loshchilov & Hutter 2017, SGDR, arXiv
// 1608.03983, without restarts). With step counted from 0:
//
//	step < Warmup:          lr = Base * step / Warmup
//	!Cosine:                lr = Base
//	Cosine:                 lr = Min + (Base - Min) * (1 + cos(π q)) / 2,
//	                        q  = clamp((step - Warmup) / (Total - Warmup), 0, 1)
//
// So At(0) is 0 when Warmup > 0 (as in HuggingFace's linear warmup), and a
// cosine schedule stays at Min from step Total on; Total <= Warmup gives Min
// right after the warmup. A negative step counts as 0.
type LRSchedule struct {
	Base, Min     float64
	Warmup, Total int
	Cosine        bool
}

// At returns the learning rate of step (counted from 0).
func (s LRSchedule) At(step int) float64 {
	step = max(step, 0)
	if step < s.Warmup {
		return s.Base * float64(step) / float64(s.Warmup)
	}
	if !s.Cosine {
		return s.Base
	}
	q := 1.0
	if span := s.Total - s.Warmup; span > 0 {
		q = min(1, float64(step-s.Warmup)/float64(span))
	}
	return s.Min + (s.Base-s.Min)*(1+math.Cos(math.Pi*q))/2
}
