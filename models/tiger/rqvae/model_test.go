package rqvae

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestBackwardMatchesFiniteDifferences checks Backward against central
// differences of the straight-through surrogate: codes and ẑ - z fixed at
// the first Forward's values, so that the loss is smooth in every
// parameter and its gradient is the one Backward claims (tolerance
// 1e-6 (1 + |fd|), h = 1e-6).
func TestBackwardMatchesFiniteDifferences(t *testing.T) {
	m, err := New[float64](Config{InputDim: 5, Hidden: []int{4}, LatentDim: 3, Levels: 2, Codes: 3, Beta: 0.25}, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	n := 6
	x := make([]float64, n*5)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	m.InitCodebooks(x, n, rng)
	m.Forward(x, n)
	zq := make([]float64, len(m.z))
	for l := range m.Config.Levels {
		for i := range n {
			c := int(m.codes[l][i])
			for j := range 3 {
				zq[i*3+j] += m.Codebooks[l].Value[c*3+j]
			}
		}
	}
	delta := make([]float64, len(zq))
	for i := range delta {
		delta[i] = zq[i] - m.z[i]
	}
	f := &frozenST{codes: m.codes, delta: delta}
	for l := range m.Config.Levels {
		f.res = append(f.res, append([]float64(nil), m.res[l]...))
		cw := make([]float64, n*3)
		for i := range n {
			copy(cw[i*3:(i+1)*3], m.Codebooks[l].Value[int(m.codes[l][i])*3:])
		}
		f.cw = append(f.cw, cw)
	}
	m.frozen = f
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
	m.Forward(x, n)
	m.Backward()
	for _, p := range m.Params() {
		for i := range p.Value {
			old := p.Value[i]
			p.Value[i] = old + 1e-6
			fp := m.Forward(x, n).Total()
			p.Value[i] = old - 1e-6
			fm := m.Forward(x, n).Total()
			p.Value[i] = old
			want := (fp - fm) / 2e-6
			if got := p.Grad[i]; math.Abs(got-want) > 1e-6*(1+math.Abs(want)) {
				t.Errorf("%s[%d]: grad %.9g, finite difference %.9g", p.Name, i, got, want)
			}
		}
	}
}

// TestStraightThrough checks that the encoder gets the reconstruction
// gradient although the decoder reads the quantised ẑ: with β = 0 and
// codebooks far from z the encoder's gradient is still non-zero.
func TestStraightThrough(t *testing.T) {
	m, _ := New[float64](Config{InputDim: 4, Hidden: []int{}, LatentDim: 2, Levels: 1, Codes: 2, Beta: 1e-300}, 1)
	x := []float64{1, 2, 3, 4, -1, 0, 1, 2}
	m.Forward(x, 2)
	m.Backward()
	s := 0.0
	for _, g := range m.enc.w[0].Grad {
		s += math.Abs(g)
	}
	if !(s > 1e-6) {
		t.Fatalf("encoder gradient %v: the straight-through estimator passed nothing", s)
	}
}

func TestKMeansFindsClusters(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	centres := [][2]float64{{-5, 0}, {5, 0}, {0, 5}}
	var x []float64
	for i := range 300 {
		c := centres[i%3]
		x = append(x, c[0]+0.1*rng.NormFloat64(), c[1]+0.1*rng.NormFloat64())
	}
	got := KMeans(x, 300, 2, 3, 20, rng)
	for _, c := range centres {
		best := math.Inf(1)
		for k := range 3 {
			best = math.Min(best, math.Hypot(got[2*k]-c[0], got[2*k+1]-c[1]))
		}
		if best > 0.1 {
			t.Errorf("no centre near %v (nearest %.3f away): %v", c, best, got)
		}
	}
}

func TestCollisions(t *testing.T) {
	got, most := Collisions([][]int32{{1, 2}, {3, 4}, {1, 2}, {1, 2}, {3, 5}})
	want := [][]int32{{1, 2, 0}, {3, 4, 0}, {1, 2, 1}, {1, 2, 2}, {3, 5, 0}}
	if most != 3 {
		t.Errorf("most = %d, want 3", most)
	}
	for i := range want {
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("row %d: got %v, want %v", i, got[i], want[i])
			}
		}
	}
}

// TestFitSeparatesItems trains on 64 random items: a trained 2 x 16
// RQ-VAE (256 tuples) must give most of them their own tuple (a uniform
// random assignment gives e^(-63/256) = 78% on average, a collapsed one far
// less), reconstruct better than its initial weights, and be deterministic.
func TestFitSeparatesItems(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	n, D := 64, 16
	x := make([]float32, n*D)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	cfg := Config{InputDim: D, Hidden: []int{32}, LatentDim: 8, Levels: 2, Codes: 16}
	run := func() (FitReport, [][]int32, float64) {
		m, err := New[float32](cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		before := m.Forward(x, n).Recon
		rep, err := Fit(context.Background(), m, x, n, FitOptions{Epochs: 100, BatchSize: 32, LR: 3e-3})
		if err != nil {
			t.Fatal(err)
		}
		return rep, m.Codes(x, n), before
	}
	rep, codes, before := run()
	if rep.Losses.Recon >= before {
		t.Errorf("reconstruction %.4f after training, %.4f before", rep.Losses.Recon, before)
	}
	if rep.Unique < 0.6 {
		t.Errorf("only %.0f%% of items have a unique tuple (report %+v)", 100*rep.Unique, rep)
	}
	_, codes2, _ := run()
	for i := range codes {
		for l := range codes[i] {
			if codes[i][l] != codes2[i][l] {
				t.Fatalf("item %d: codes %v then %v with the same seed", i, codes[i], codes2[i])
			}
		}
	}
}
