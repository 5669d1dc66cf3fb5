package hstu

import (
	"fmt"
	"github.com/genrec/genrec/models/internal/gradcheck"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// referenceForward computes the HSTU output straight from DESIGN.md's
// equations with plain loops, one sequence at a time, without the
// kernels package (dropout off). Summaries are not supported.
func referenceForward(m *Model[float64], b *sequential.Batch) []float64 {
	d, h, dqk, dv, n := m.d, m.h, m.dqk, m.dv, m.n
	out := make([]float64, b.B*n*d)
	scale := m.cfg.Transformer.AttentionScale
	if scale == 0 {
		scale = 1
	}
	w1 := m.cfg.Hierarchical.Level1WindowSize
	layerNorm := func(x []float64) []float64 {
		mean, vr := 0.0, 0.0
		for _, v := range x {
			mean += v
		}
		mean /= float64(len(x))
		for _, v := range x {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(len(x))
		y := make([]float64, len(x))
		for i, v := range x {
			y[i] = (v - mean) / math.Sqrt(vr+lnEps)
		}
		return y
	}
	silu := func(x float64) float64 { return x / (1 + math.Exp(-x)) }
	for bi := range b.B {
		l := b.Lens[bi]
		x := make([][]float64, l)
		for i := range l {
			x[i] = make([]float64, d)
			id := int(b.Items[bi*n+i])
			for c := range d {
				x[i][c] = m.In.Items.Value[id*d+c]*math.Sqrt(float64(d)) + m.In.Pos.Value[i*d+c]
			}
			for _, side := range []struct {
				s   *sequential.Side[float64]
				key int
			}{{m.In.ItemSide, id}, {m.In.UserSide, int(b.Users[bi])}} {
				if side.s == nil || side.key >= len(side.s.Lists) {
					continue
				}
				for _, r := range side.s.Lists[side.key] {
					for c := range d {
						x[i][c] += side.s.Table.Value[int(r)*d+c] / float64(len(side.s.Lists[side.key]))
					}
				}
			}
			if a := m.In.Actions; a != nil {
				for c := range d {
					x[i][c] += a.Value[int(b.Actions[bi*n+i])*d+c]
				}
			}
		}
		for _, ly := range m.Layers {
			width := 2*h*dv + 2*h*dqk
			u, v, q, k := make([][]float64, l), make([][]float64, l), make([][]float64, l), make([][]float64, l)
			for i := range l {
				ln := layerNorm(x[i])
				act := make([]float64, width)
				for c := range width {
					s := 0.0
					for r := range d {
						s += ln[r] * ly.UVQK.Value[r*width+c]
					}
					act[c] = silu(s)
				}
				u[i], v[i], q[i], k[i] = act[:h*dv], act[h*dv:2*h*dv], act[2*h*dv:2*h*dv+h*dqk], act[2*h*dv+h*dqk:]
			}
			next := make([][]float64, l)
			for i := range l {
				o := make([]float64, h*dv)
				for hh := range h {
					for j := 0; j <= i; j++ {
						if w1 > 0 && j <= i-w1 {
							continue
						}
						s := 0.0
						for c := range dqk {
							s += q[i][hh*dqk+c] * k[j][hh*dqk+c]
						}
						s *= scale
						if ly.PosBias != nil {
							s += ly.PosBias.Value[i-j]
						}
						if ly.TimeBias != nil {
							s += ly.TimeBias.Value[kernels.TimeBucket(b.QueryTimes[bi*n+i]-b.Times[bi*n+j])]
						}
						a := silu(s) / float64(n)
						for c := range dv {
							o[hh*dv+c] += a * v[j][hh*dv+c]
						}
					}
				}
				ln := layerNorm(o)
				next[i] = make([]float64, d)
				for c := range d {
					s := ly.OB.Value[c] + x[i][c]
					for r := range h * dv {
						s += u[i][r] * ln[r] * ly.OW.Value[r*d+c]
					}
					next[i][c] = s
				}
			}
			x = next
		}
		for i := range l {
			norm := 0.0
			for _, v := range x[i] {
				norm += v * v
			}
			norm = math.Sqrt(norm)
			for c := range d {
				out[(bi*n+i)*d+c] = x[i][c] / norm
			}
		}
	}
	return out
}

// testBatch builds a batch of lens with random items and increasing times.
func testBatch(rng *rand.Rand, items, n int, lens []int) *sequential.Batch {
	b := &sequential.Batch{B: len(lens), L: n, Lens: lens,
		Items: make([]int32, len(lens)*n), Times: make([]int64, len(lens)*n),
		QueryTimes: make([]int64, len(lens)*n), Labels: make([]int32, len(lens)*n), Users: make([]int64, len(lens)),
		Actions: make([]int32, len(lens)*n)}
	for bi, l := range lens {
		b.Users[bi] = int64(bi)
		t := int64(1000)
		for i := range l {
			b.Items[bi*n+i] = int32(1 + rng.IntN(items-1))
			b.Actions[bi*n+i] = int32(rng.IntN(3))
			b.Times[bi*n+i] = t
			t += int64(rng.IntN(100000))
			b.QueryTimes[bi*n+i] = t
		}
	}
	return b
}

func randomize(m *Model[float64], rng *rand.Rand) {
	for _, p := range m.Params() {
		for i := range p.Value {
			p.Value[i] += (rng.Float64()*2 - 1) * 0.3
		}
	}
}

func testConfig() Config {
	return Config{Items: 9, MaxSeqLen: 6, Transformer: TransformerParams{NumLayers: 2, NumHeads: 2, HiddenSize: 4, AttentionDim: 3, LinearDim: 2}}
}

func TestForwardMatchesReference(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*Config)
	}{
		{"paper", func(*Config) {}},
		{"scaled", func(c *Config) { c.Transformer.AttentionScale = 0.5 }},
		{"no-rab", func(c *Config) { c.NoPositionBias, c.NoTimeBias = true, true }},
		{"window", func(c *Config) { c.Hierarchical.Level1WindowSize = 2 }},
		{"categories", withCategories},
		{"one-layer-one-head", func(c *Config) {
			c.Transformer.NumLayers, c.Transformer.NumHeads, c.Transformer.AttentionDim, c.Transformer.LinearDim = 1, 1, 0, 0
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 1))
			cfg := testConfig()
			tc.modify(&cfg)
			m, err := New[float64](cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			randomize(m, rng)
			b := testBatch(rng, cfg.Items, cfg.MaxSeqLen, []int{3, 1, 6, 5})
			got := m.Forward(b, nil)
			want := referenceForward(m, b)
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-10 {
					t.Fatalf("output %d: got %.12g, want %.12g (tol 1e-10)", i, got[i], want[i])
				}
			}
		})
	}
}

// TestBackwardFiniteDifferences checks every parameter's gradient against
// central differences of a weighted sum of the output, with dropout on
// (the same mask each call: a fresh rng with one seed).
func TestBackwardFiniteDifferences(t *testing.T) {
	for _, window := range []int{0, 2} {
		cfg := testConfig()
		if window == 0 {
			withCategories(&cfg)
		}
		cfg.Transformer.Dropout = 0.25
		cfg.Hierarchical.Level1WindowSize = window
		rng := rand.New(rand.NewPCG(3, 4))
		m, err := New[float64](cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		randomize(m, rng)
		b := testBatch(rng, cfg.Items, cfg.MaxSeqLen, []int{4, 6, 1})
		gradcheck.Check(t, m, b, rng, 9, fmt.Sprintf("window %d: ", window))
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"items", func(c *Config) { c.Items = 1 }, "items"},
		{"len", func(c *Config) { c.MaxSeqLen = 0 }, "max_seq_len"},
		{"heads", func(c *Config) { c.Transformer.NumHeads = 0 }, "num_heads"},
		{"split", func(c *Config) { c.Transformer.AttentionDim, c.Transformer.NumHeads = 0, 3 }, "multiple of num_heads"},
		{"dropout", func(c *Config) { c.Transformer.Dropout = 1 }, "dropout"},
		{"level2", func(c *Config) { c.Hierarchical.Level2WindowSize = 2 }, "level1_window_size"},
	}
	for _, tc := range cases {
		cfg := testConfig()
		tc.modify(&cfg)
		err := cfg.Validate()
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %q", tc.name, err, tc.want)
		}
	}
	if err := testConfig().Validate(); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// withCategories gives the test items an item side feature: 3 categories,
// items with none, one or two of them.
func withCategories(c *Config) {
	c.Categories = 3
	c.ItemCategories = [][]int32{nil, {0}, {1, 2}, nil, {2}, {0, 1}, {1}, {2, 0}, nil}
	c.UserFeatures = 4 // users of testBatch are 0..B-1
	c.UserFeatureLists = [][]int32{{0, 3}, {1}, nil, {2, 1}}
	c.Actions = 3 // testBatch gives positions actions 0..2
}
