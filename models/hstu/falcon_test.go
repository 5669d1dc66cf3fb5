package hstu_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// naiveCandidates scores each candidate alone: the history with the
// candidate appended, one full Forward per candidate.
func naiveCandidates[T kernels.Float](m *hstu.Model[T], q hstu.Query, cands []int32) []T {
	items, times, user, t := q.Items, q.Times, q.User, q.Time
	n := min(len(items), m.MaxLen()-1)
	items, times = items[len(items)-n:], times[len(times)-n:]
	d := m.Dim()
	out := make([]T, len(cands)*d)
	for i, c := range cands {
		row := transforms.SequenceRow{User: user,
			Items:      append(append([]int64{}, items...), int64(c)),
			Timestamps: append(append([]int64{}, times...), t), TargetTimestamp: t}
		b, err := sequential.NewBatch([]transforms.SequenceRow{row}, []int{0}, m.MaxLen(), false)
		if err != nil {
			panic(err)
		}
		if q.Actions != nil {
			b.Actions = make([]int32, m.MaxLen())
			copy(b.Actions, q.Actions[len(q.Actions)-n:])
			b.Actions[n] = q.CandidateAction
		}
		all := m.Forward(b, nil)
		copy(out[i*d:(i+1)*d], all[n*d:(n+1)*d])
	}
	return out
}

// TestCandidatesMatchesNaive checks M-FALCON against one Forward per
// candidate, in float64 to 1e-10 and float32 to 1e-5, for full attention,
// windows with summaries, several heads with an attention scale, side
// features, and histories from empty to longer than the model's window.
func TestCandidatesMatchesNaive(t *testing.T) {
	base := hstu.Config{Items: 200, MaxSeqLen: 20,
		Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 1, HiddenSize: 12}}
	win := base
	win.Hierarchical = hstu.HierarchicalParams{Level1WindowSize: 3, Level2WindowSize: 2}
	heads := base
	heads.Transformer.NumHeads, heads.Transformer.AttentionDim, heads.Transformer.LinearDim, heads.Transformer.AttentionScale = 2, 5, 4, 0.5
	side := base
	side.Categories, side.ItemCategories = 4, make([][]int32, base.Items)
	side.UserFeatures, side.UserFeatureLists = 3, [][]int32{{0, 2}, {1}}
	side.Actions = 4
	for i := 1; i < base.Items; i++ {
		side.ItemCategories[i] = []int32{int32(i % 4)}
	}
	for name, cfg := range map[string]hstu.Config{"full": base, "windows": win, "heads": heads, "side": side} {
		for _, n := range []int{0, 1, 7, 19, 33} {
			rng := rand.New(rand.NewPCG(uint64(n), 3))
			items, times := make([]int64, n), make([]int64, n)
			for j := range n {
				items[j], times[j] = int64(1+rng.IntN(cfg.Items-1)), int64(1e9+j*int(math.Exp(rng.Float64()*12)))
			}
			q := hstu.Query{Items: items, Times: times, User: 1, Time: 2e9}
			if cfg.Actions > 0 {
				q.Actions, q.CandidateAction = make([]int32, n), 3
				for j := range q.Actions {
					q.Actions[j] = int32(rng.IntN(3))
				}
			}
			cands := make([]int32, 37)
			for i := range cands {
				cands[i] = int32(1 + rng.IntN(cfg.Items-1))
			}
			check := func(got, want []float64, tol float64, prec string) {
				t.Helper()
				for i := range want {
					if math.Abs(got[i]-want[i]) > tol {
						t.Fatalf("%s n=%d %s: out[%d] = %v, naive %v", name, n, prec, i, got[i], want[i])
					}
				}
			}
			m64, err := hstu.New[float64](cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m64.Params() {
				kernels.InitNormal(p.Value, 0.3, rng)
			}
			want := naiveCandidates(m64, q, cands)
			got, err := m64.Candidates(q, cands, 8)
			if err != nil {
				t.Fatal(err)
			}
			check(got, want, 1e-10, "float64")

			m32, err := hstu.New[float32](cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range m32.Params() {
				for k, v := range m64.Params()[i].Value {
					p.Value[k] = float32(v)
				}
			}
			got32, err := m32.Candidates(q, cands, 16)
			if err != nil {
				t.Fatal(err)
			}
			g := make([]float64, len(got32))
			for i, v := range got32 {
				g[i] = float64(v)
			}
			check(g, want, 1e-5, "float32")
		}
	}
}

func TestCandidatesRejectsUnknownItems(t *testing.T) {
	m, err := hstu.New[float32](hstu.Config{Items: 10, MaxSeqLen: 5, Transformer: hstu.TransformerParams{NumLayers: 1, NumHeads: 1, HiddenSize: 4}}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []int32{0, 10, -1} {
		if _, err := m.Candidates(hstu.Query{}, []int32{3, c}, 0); err == nil {
			t.Errorf("candidate %d accepted", c)
		}
	}
	if _, err := m.Candidates(hstu.Query{Items: []int64{1, 2}, Times: []int64{1}}, []int32{3}, 0); err == nil {
		t.Error("history and times of different lengths accepted")
	}
}
