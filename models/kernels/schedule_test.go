package kernels

import (
	"math"
	"testing"
)

// TestLRSchedule: values worked from the equations in LRSchedule's doc.
func TestLRSchedule(t *testing.T) {
	warmConst := LRSchedule{Base: 1e-3, Warmup: 100}
	cosine := LRSchedule{Base: 1e-3, Min: 1e-5, Warmup: 100, Total: 1100, Cosine: true}
	for _, tc := range []struct {
		name string
		s    LRSchedule
		step int
		want float64
	}{
		{"warmup start", warmConst, 0, 0},
		{"warmup mid", warmConst, 50, 5e-4},
		{"warmup end", warmConst, 100, 1e-3},
		{"constant after", warmConst, 100000, 1e-3},
		{"negative step", warmConst, -3, 0},
		{"no warmup", LRSchedule{Base: 2e-3}, 0, 2e-3},
		{"cosine warmup mid", cosine, 25, 2.5e-4},
		{"cosine start", cosine, 100, 1e-3},
		{"cosine half", cosine, 600, 1e-5 + (1e-3-1e-5)/2},
		{"cosine quarter", cosine, 350, 1e-5 + (1e-3-1e-5)*(1+math.Sqrt2/2)/2},
		{"cosine end", cosine, 1100, 1e-5},
		{"after cosine end", cosine, 5000, 1e-5},
		{"cosine total <= warmup", LRSchedule{Base: 1, Min: 0.1, Warmup: 10, Total: 5, Cosine: true}, 10, 0.1},
	} {
		if got := tc.s.At(tc.step); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: At(%d) = %.17g, want %.17g", tc.name, tc.step, got, tc.want)
		}
	}
}
