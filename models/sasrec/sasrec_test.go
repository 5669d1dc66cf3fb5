package sasrec

import (
	"github.com/genrec/genrec/models/internal/gradcheck"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/sequential"
)

func testBatch(rng *rand.Rand, items, n int, lens []int) *sequential.Batch {
	b := &sequential.Batch{B: len(lens), L: n, Lens: lens, Items: make([]int32, len(lens)*n),
		Times: make([]int64, len(lens)*n), QueryTimes: make([]int64, len(lens)*n), Labels: make([]int32, len(lens)*n)}
	for bi, l := range lens {
		for i := range l {
			b.Items[bi*n+i] = int32(1 + rng.IntN(items-1))
		}
	}
	return b
}

// TestBackwardFiniteDifferences checks every parameter's gradient against
// central differences of a weighted sum of the output, dropout on with a
// fixed mask (a fresh rng of one seed per call).
func TestBackwardFiniteDifferences(t *testing.T) {
	cfg := Config{Items: 9, MaxSeqLen: 5, NumLayers: 2, NumHeads: 2, Hidden: 4, Dropout: 0.2}
	rng := rand.New(rand.NewPCG(1, 2))
	m, err := New[float64](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		for i := range p.Value {
			p.Value[i] += (rng.Float64()*2 - 1) * 0.3
		}
	}
	b := testBatch(rng, cfg.Items, cfg.MaxSeqLen, []int{5, 1, 3})
	gradcheck.Check(t, m, b, rng, 5, "")
}

// TestCausal checks that a position's output does not depend on later
// items, and that padding rows are zero.
func TestCausal(t *testing.T) {
	cfg := Config{Items: 20, MaxSeqLen: 6, NumLayers: 2, NumHeads: 1, Hidden: 8}
	rng := rand.New(rand.NewPCG(3, 4))
	m, _ := New[float64](cfg, rng)
	b := testBatch(rng, cfg.Items, cfg.MaxSeqLen, []int{6, 4})
	before := append([]float64(nil), m.Forward(b, nil)...)
	b.Items[5] = b.Items[5]%19 + 1 // change the last item of row 0
	after := m.Forward(b, nil)
	d := cfg.Hidden
	for i := range 5 * d {
		if before[i] != after[i] {
			t.Fatalf("output %d (position %d) changed when a later item did", i, i/d)
		}
	}
	for i := 5 * d; i < 6*d; i++ {
		if before[i] == after[i] {
			t.Fatalf("position 5 did not change with its own item")
		}
	}
	for i := (6 + 4) * d; i < 12*d; i++ {
		if after[i] != 0 {
			t.Fatalf("padding output %d = %v, want 0", i, after[i])
		}
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []struct {
		cfg  Config
		want string
	}{
		{Config{Items: 1, MaxSeqLen: 5, NumLayers: 1, NumHeads: 1, Hidden: 4}, "items"},
		{Config{Items: 5, MaxSeqLen: 5, NumLayers: 1, NumHeads: 3, Hidden: 4}, "multiple of num_heads"},
		{Config{Items: 5, MaxSeqLen: 5, NumLayers: 1, NumHeads: 1, Hidden: 4, Dropout: 1}, "dropout"},
	}
	for _, tc := range bad {
		if err := tc.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
