package tiger

import (
	"math"
	"math/rand/v2"
	"testing"
)

func tinyBatch(c Config, rng *rand.Rand, b int) *Batch {
	c = c.WithDefaults()
	le, K := c.EncLen(), c.K()
	bt := &Batch{B: b, Enc: make([]int32, b*le), EncLen: make([]int, b), Dec: make([]int32, b*K), DecLen: K, Target: make([]int32, b*K)}
	for r := range b {
		items := 1 + rng.IntN(c.MaxItems)
		bt.EncLen[r] = 1 + items*K
		bt.Enc[r*le] = c.UserToken(rng.IntN(c.UserBuckets))
		for i := range items * K {
			l := i % K
			bt.Enc[r*le+1+i] = c.CodeToken(l, rng.IntN(c.Codes[l]))
		}
		bt.Dec[r*K] = c.BOS()
		for l := range K {
			bt.Target[r*K+l] = int32(rng.IntN(c.Codes[l]))
			if l+1 < K {
				bt.Dec[r*K+l+1] = c.CodeToken(l, int(bt.Target[r*K+l]))
			}
		}
	}
	return bt
}

var tinyConfig = Config{Codes: []int{3, 4, 2}, UserBuckets: 3, MaxItems: 3, Dim: 6, Heads: 2, HeadDim: 3, FFN: 5, EncLayers: 2, DecLayers: 2, Dropout: 0.2}

// TestBackwardMatchesFiniteDifferences compares every parameter's gradient
// with central differences of Loss (h = 1e-6, tolerance 1e-6 (1 + |fd|)),
// dropout drawing the same masks on every call.
func TestBackwardMatchesFiniteDifferences(t *testing.T) {
	m, err := New[float64](tinyConfig, 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 3))
	b := tinyBatch(tinyConfig, rng, 3)
	loss := func() float64 { return m.Loss(b, rand.New(rand.NewPCG(7, 7))) }
	loss()
	m.Backward()
	checked := 0
	for _, p := range m.Params() {
		for i := range p.Value {
			old := p.Value[i]
			p.Value[i] = old + 1e-6
			fp := loss()
			p.Value[i] = old - 1e-6
			fm := loss()
			p.Value[i] = old
			want := (fp - fm) / 2e-6
			if got := p.Grad[i]; math.Abs(got-want) > 1e-6*(1+math.Abs(want)) {
				t.Errorf("%s[%d]: grad %.9g, finite difference %.9g", p.Name, i, got, want)
				return
			}
			checked++
		}
	}
	if checked < 500 {
		t.Fatalf("checked only %d values", checked)
	}
}

// TestBeamSearchIsExact checks constrained beam search against brute
// force: with a beam as wide as the catalogue, the hits are every item,
// ordered by log p(tuple) computed by teacher-forced Loss.
func TestBeamSearchIsExact(t *testing.T) {
	cfg := tinyConfig
	cfg.Dropout = 0
	m, _ := New[float64](cfg, 4)
	rng := rand.New(rand.NewPCG(5, 6))
	ids := [][]int32{nil, {0, 1, 0}, {0, 1, 1}, {2, 3, 0}, {1, 0, 1}, {2, 0, 0}}
	tr, err := NewTrie(ids)
	if err != nil {
		t.Fatal(err)
	}
	b := tinyBatch(cfg, rng, 2)
	hits := m.BeamSearch(b, tr, 10)
	for r := range 2 {
		if len(hits[r]) != 5 {
			t.Fatalf("row %d: %d hits, want all 5 items", r, len(hits[r]))
		}
		for k, h := range hits[r] {
			one := &Batch{B: 1, Enc: b.Enc[r*cfg.EncLen() : (r+1)*cfg.EncLen()], EncLen: b.EncLen[r : r+1], DecLen: 3,
				Dec: []int32{cfg.BOS(), cfg.CodeToken(0, int(ids[h.Item][0])), cfg.CodeToken(1, int(ids[h.Item][1]))}, Target: ids[h.Item]}
			want := -3 * m.Loss(one, nil)
			if math.Abs(h.LogProb-want) > 1e-9 {
				t.Errorf("row %d hit %d (item %d): log p %.12f, teacher forcing %.12f", r, k, h.Item, h.LogProb, want)
			}
			if k > 0 && h.LogProb > hits[r][k-1].LogProb {
				t.Errorf("row %d: hits out of order at %d", r, k)
			}
		}
	}
	narrow := m.BeamSearch(b, tr, 2)
	if len(narrow[0]) != 2 {
		t.Fatalf("beam 2 gave %d hits", len(narrow[0]))
	}
	if _, err := NewTrie([][]int32{{1, 2}, {1, 2}}); err == nil {
		t.Error("NewTrie accepted two items with one tuple")
	}
}
