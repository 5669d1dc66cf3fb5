// Package gradcheck checks a sequential model's Backward against central
// finite differences, the test the model packages share.
package gradcheck

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// Model is a float64 sequential model (hstu.Model[float64], sasrec.Model[float64]).
type Model interface {
	Forward(b *sequential.Batch, rng *rand.Rand) []float64
	Backward(dOut []float64)
	Params() []*kernels.Param[float64]
}

// Check compares every parameter's gradient of the loss
//
//	L = Σ_i w_i out_i        (w uniform in [-1, 1], out = m.Forward(b))
//
// with the central difference (L(θ+h) - L(θ-h)) / 2h, h = 1e-6, to
// 1e-6 (1 + |fd|); frozen parameters are skipped. Dropout draws the same mask on every call (a fresh rng
// of dropoutSeed). label prefixes the failure message.
func Check(t testing.TB, m Model, b *sequential.Batch, rng *rand.Rand, dropoutSeed uint64, label string) {
	t.Helper()
	out := m.Forward(b, rand.New(rand.NewPCG(dropoutSeed, dropoutSeed)))
	w := make([]float64, len(out))
	for i := range w {
		w[i] = rng.Float64()*2 - 1
	}
	loss := func() float64 {
		out := m.Forward(b, rand.New(rand.NewPCG(dropoutSeed, dropoutSeed)))
		s := 0.0
		for i := range out {
			s += w[i] * out[i]
		}
		return s
	}
	loss()
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
	m.Backward(w)
	for _, p := range m.Params() {
		if p.Frozen {
			continue
		}
		grad := p.DenseGrad() // a compact table's gradient, catalogue-sized
		for i := range p.Value {
			old := p.Value[i]
			p.Value[i] = old + 1e-6
			fp := loss()
			p.Value[i] = old - 1e-6
			fm := loss()
			p.Value[i] = old
			want := (fp - fm) / 2e-6
			if got := grad[i]; math.Abs(got-want) > 1e-6*(1+math.Abs(want)) {
				t.Fatalf("%s%s[%d]: grad %.9g, finite difference %.9g", label, p.Name, i, got, want)
			}
		}
	}
}
