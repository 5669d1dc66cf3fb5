package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestParamShape(t *testing.T) {
	for _, tc := range []struct {
		shape            []int
		rows, cols, size int
	}{{[]int{5}, 5, 1, 5}, {[]int{3, 4}, 3, 4, 12}, {[]int{2, 3, 4}, 2, 12, 24}, {[]int{0, 7}, 0, 7, 0}} {
		p := NewParam[float32]("w", tc.shape...)
		if p.Rows() != tc.rows || p.Cols() != tc.cols || len(p.Value) != tc.size || len(p.Grad) != tc.size {
			t.Errorf("shape %v: rows, cols, len(Value), len(Grad) = %d, %d, %d, %d, want %d, %d, %d, %d",
				tc.shape, p.Rows(), p.Cols(), len(p.Value), len(p.Grad), tc.rows, tc.cols, tc.size, tc.size)
		}
	}
	shape := []int{2, 2}
	p := NewParam[float64]("w", shape...)
	shape[0] = 9
	if p.Rows() != 2 {
		t.Errorf("NewParam kept the caller's shape slice: Rows() = %d after it changed, want 2", p.Rows())
	}
}

// TestParamSparseZeroGrad: ZeroGrad of a sparse param clears the touched
// rows and the touched set, and leaves other rows as they are.
func TestParamSparseZeroGrad(t *testing.T) {
	p := NewParam[float64]("table", 5, 2)
	p.Sparse = true
	for i := range p.Grad {
		p.Grad[i] = float64(i + 1)
	}
	for _, r := range []int{3, 1, 3, 4, 1} {
		p.Touch(r)
	}
	if got, want := p.TouchedRows(), []int{3, 1, 4}; !slices.Equal(got, want) {
		t.Errorf("TouchedRows() = %v, want %v (first-touch order, once each)", got, want)
	}
	p.ZeroGrad()
	want := []float64{1, 2, 0, 0, 5, 6, 0, 0, 0, 0}
	if !slices.Equal(p.Grad, want) {
		t.Errorf("Grad after ZeroGrad = %v, want %v", p.Grad, want)
	}
	if len(p.TouchedRows()) != 0 {
		t.Errorf("TouchedRows() after ZeroGrad = %v, want empty", p.TouchedRows())
	}
	p.Touch(1)
	if got := p.TouchedRows(); !slices.Equal(got, []int{1}) {
		t.Errorf("TouchedRows() after ZeroGrad and Touch(1) = %v, want [1]", got)
	}

	d := NewParam[float64]("dense", 2, 2)
	copy(d.Grad, []float64{1, 2, 3, 4})
	d.Touch(1)
	if len(d.TouchedRows()) != 0 {
		t.Errorf("dense Touch recorded rows %v, want none", d.TouchedRows())
	}
	d.ZeroGrad()
	if !slices.Equal(d.Grad, []float64{0, 0, 0, 0}) {
		t.Errorf("dense Grad after ZeroGrad = %v, want zeros", d.Grad)
	}
}

func TestParamPanics(t *testing.T) {
	sparse := NewParam[float32]("emb", 3, 2)
	sparse.Sparse = true
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"empty shape", "empty shape", func() { NewParam[float32]("w") }},
		{"negative dim", "negative dimension", func() { NewParam[float32]("w", 2, -1) }},
		{"touch out of range", "Touch(3)", func() { sparse.Touch(3) }},
		{"xavier fans", "fanIn + fanOut", func() { InitXavierUniform(make([]float32, 2), 0, 0, nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "kernels: ") || !strings.Contains(msg, tc.want) {
					t.Errorf("panic %q, want one with prefix %q containing %q", msg, "kernels: ", tc.want)
				}
			}()
			tc.f()
		})
	}
}

// TestParamInitDistributions checks the range and moments of the init helpers on
// 200000 draws: tolerances are about 6 standard errors.
func TestParamInitDistributions(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	const n = 200000
	moments := func(x []float32) (mean, std, maxAbs float64) {
		for _, v := range x {
			mean += float64(v)
			maxAbs = max(maxAbs, math.Abs(float64(v)))
		}
		mean /= n
		for _, v := range x {
			std += (float64(v) - mean) * (float64(v) - mean)
		}
		return mean, math.Sqrt(std / n), maxAbs
	}
	x := make([]float32, n)
	a := math.Sqrt(6.0 / (64 + 256))
	for _, tc := range []struct {
		name                   string
		init                   func()
		wantStd, bound, stdTol float64
	}{
		{"normal", func() { InitNormal(x, 0.02, rng) }, 0.02, math.Inf(1), 0.02 * 6 / math.Sqrt(2*n)},
		{"uniform", func() { InitUniform(x, 0.5, rng) }, 0.5 / math.Sqrt(3), 0.5, 0.01 * 0.5},
		{"xavier", func() { InitXavierUniform(x, 64, 256, rng) }, a / math.Sqrt(3), a, 0.01 * a},
	} {
		tc.init()
		mean, std, maxAbs := moments(x)
		if math.Abs(mean) > 6*tc.wantStd/math.Sqrt(n) || math.Abs(std-tc.wantStd) > tc.stdTol || maxAbs > tc.bound {
			t.Errorf("%s: mean, std, max|x| = %.3g, %.4g, %.4g, want 0, %.4g, <= %.4g", tc.name, mean, std, maxAbs, tc.wantStd, tc.bound)
		}
	}
}
