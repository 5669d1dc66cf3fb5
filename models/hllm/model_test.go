package hllm_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/hllm"
	"github.com/genrec/genrec/models/internal/gradcheck"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

func testBatch(rng *rand.Rand, items, n int, lens []int) *sequential.Batch {
	b := &sequential.Batch{B: len(lens), L: n, Lens: lens,
		Items: make([]int32, len(lens)*n), Times: make([]int64, len(lens)*n),
		QueryTimes: make([]int64, len(lens)*n), Labels: make([]int32, len(lens)*n), Users: make([]int64, len(lens))}
	for bi, l := range lens {
		t := int64(1000)
		for i := range l {
			b.Items[bi*n+i] = int32(1 + rng.IntN(items-1))
			b.Labels[bi*n+i] = int32(1 + rng.IntN(items-1))
			b.Times[bi*n+i] = t
			t += int64(rng.IntN(100000))
			b.QueryTimes[bi*n+i] = t
		}
	}
	return b
}

// whole is a model whose Backward goes through the tower too.
type whole struct{ *hllm.Model[float64] }

func (w whole) Backward(d []float64) { w.Model.Backward(d); w.BackwardItems() }

func testConfig(backbone, fusion string) hllm.Config {
	return hllm.Config{
		Items: 9, MaxSeqLen: 5, TextDim: 7,
		LLM:    hllm.LLMParams{Backbone: backbone, HiddenSize: 6, NumHeads: 2, NumLayers: 2, Dropout: 0.2},
		Fusion: hllm.FusionParams{FusionType: fusion, FusionDims: []int{5}, Dropout: 0.3, IDDropout: 0.3},
		NoID:   []int32{3},
	}
}

func newModel[T kernels.Float](t testing.TB, cfg hllm.Config, seed uint64) *hllm.Model[T] {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	m, err := hllm.New[T](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TextDim > 0 {
		text := make([]T, cfg.Items*cfg.TextDim)
		for i := range text {
			text[i] = T(rng.NormFloat64())
		}
		if err := m.SetText(text); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range m.Params() {
		if p.Frozen || p.Name == "logit_scale" {
			continue
		}
		for i := range p.Value {
			p.Value[i] += T((rng.Float64()*2 - 1) * 0.3)
		}
	}
	return m
}

// TestGradients checks every trainable parameter's gradient, the tower's
// included, against finite differences for both backbones and every
// fusion, with ID dropout and fusion dropout on.
func TestGradients(t *testing.T) {
	for _, bb := range []string{hllm.BackboneHSTU, hllm.BackboneSoftmax} {
		for _, fu := range []string{hllm.FusionConcat, hllm.FusionSum, hllm.FusionGate, hllm.FusionNone} {
			t.Run(bb+"/"+fu, func(t *testing.T) {
				cfg := testConfig(bb, fu)
				m := newModel[float64](t, cfg, 3)
				rng := rand.New(rand.NewPCG(4, 4))
				b := testBatch(rng, cfg.Items, cfg.MaxSeqLen, []int{5, 2, 3})
				gradcheck.Check(t, whole{m}, b, rng, 11, bb+"/"+fu+": ")
			})
		}
	}
	t.Run("trainable encoder", func(t *testing.T) {
		for _, fu := range []string{hllm.FusionConcat, hllm.FusionNone} {
			cfg := trainableConfig(testConfig(hllm.BackboneHSTU, fu))
			m := newModel[float64](t, cfg, 3)
			rng := rand.New(rand.NewPCG(4, 4))
			b := testBatch(rng, cfg.Items, cfg.MaxSeqLen, []int{5, 2, 3})
			gradcheck.Check(t, whole{m}, b, rng, 11, "trainable/"+fu+": ")
		}
	})
}

// trainableConfig switches cfg to the trainable bag-of-buckets encoder:
// 11 buckets, item i listing buckets i%11 and (3i)%11 (item 2 none).
func trainableConfig(cfg hllm.Config) hllm.Config {
	cfg.TextDim, cfg.TextBuckets = 0, 11
	cfg.ItemBuckets = make([][]int32, cfg.Items)
	for i := range cfg.ItemBuckets {
		if i != 2 {
			cfg.ItemBuckets[i] = []int32{int32(i % 11), int32(3 * i % 11), int32(i % 11)}
		}
	}
	return cfg
}

// TestHeadGradients checks the gradients of the whole training loss (the
// retrieval head over the fused table, the learnable logit scale, and the
// user model) against finite differences of Head.Step's loss, in float32.
func TestHeadGradients(t *testing.T) {
	for _, fu := range []string{hllm.FusionConcat, hllm.FusionGate} {
		cfg := testConfig(hllm.BackboneHSTU, fu)
		cfg.LLM.Dropout, cfg.Fusion.Dropout, cfg.Fusion.IDDropout = 0, 0, -1
		m := newModel[float32](t, cfg, 5)
		m.Scale.Value[0] = 1.5
		b := testBatch(rand.New(rand.NewPCG(6, 6)), cfg.Items, cfg.MaxSeqLen, []int{5, 3})
		head := sequential.Head{Loss: sequential.LossConfig{Negatives: 0}}
		loss := func() float64 {
			for _, p := range m.Params() {
				p.ZeroGrad()
			}
			l, _, err := head.Step(m, b, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		loss()
		grads := map[string][]float32{}
		for _, p := range m.Params() {
			grads[p.Name] = append([]float32(nil), p.Grad...)
		}
		checked := 0
		for _, p := range m.Params() {
			if p.Frozen {
				continue
			}
			for _, i := range []int{0, len(p.Value) / 2, len(p.Value) - 1} {
				if p.Name == "id_emb" {
					i = 4*6 + i%6 // a row some position or label uses
				}
				old := p.Value[i]
				const h = 1e-2
				p.Value[i] = old + h
				fp := loss()
				p.Value[i] = old - h
				fm := loss()
				p.Value[i] = old
				want := (fp - fm) / (2 * h)
				got := float64(grads[p.Name][i])
				if math.Abs(got-want) > 2e-3+0.02*math.Abs(want) {
					t.Errorf("%s: %s[%d]: gradient %.6g, finite difference %.6g", fu, p.Name, i, got, want)
				}
				checked++
			}
		}
		if checked < 20 {
			t.Fatalf("%s: checked %d entries only", fu, checked)
		}
		if grads["logit_scale"][0] == 0 {
			t.Errorf("%s: the logit scale has no gradient", fu)
		}
	}
}

// TestNoIDItemsUseTextOnly: an item listed in NoID gets its embedding from
// its text alone, so its ID row has no effect; other items' rows do.
func TestNoIDItemsUseTextOnly(t *testing.T) {
	for _, fu := range []string{hllm.FusionConcat, hllm.FusionSum, hllm.FusionGate} {
		cfg := testConfig(hllm.BackboneHSTU, fu)
		m := newModel[float64](t, cfg, 7)
		d := cfg.LLM.HiddenSize
		row := func(i int) []float64 { return append([]float64(nil), m.ItemTable().Value[i*d:(i+1)*d]...) }
		cold, warm := row(3), row(4)
		for j := range d {
			m.ID.Value[3*d+j] += 1
			m.ID.Value[4*d+j] += 1
		}
		if got := row(3); fmt.Sprint(got) != fmt.Sprint(cold) {
			t.Errorf("%s: the NoID item's embedding moved with its ID row: %v -> %v", fu, cold, got)
		}
		if got := row(4); fmt.Sprint(got) == fmt.Sprint(warm) {
			t.Errorf("%s: item 4's embedding ignores its ID row", fu)
		}
	}
}

// TestItemTableFollowsWeights: the table is recomputed when the tower's
// weights change outside a step (an optimizer step, a checkpoint load),
// and during a step it is that step's table.
func TestItemTableFollowsWeights(t *testing.T) {
	cfg := testConfig(hllm.BackboneHSTU, hllm.FusionNone)
	m := newModel[float64](t, cfg, 8)
	d, td := cfg.LLM.HiddenSize, cfg.TextDim
	before := append([]float64(nil), m.ItemTable().Value...)
	m.ProjB.Value[0] += 1
	after := m.ItemTable().Value
	for i := 1; i < cfg.Items; i++ {
		if got, want := after[i*d], before[i*d]+1; math.Abs(got-want) > 1e-12 {
			t.Fatalf("item %d: table %v after a bias change of 1, want %v", i, got, want)
		}
	}
	// fusion none: f = text W_p + b_p exactly
	for i := range cfg.Items {
		for j := range d {
			want := m.ProjB.Value[j]
			for k := range td {
				want += m.Text.Value[i*td+k] * m.ProjW.Value[k*d+j]
			}
			if got := after[i*d+j]; math.Abs(got-want) > 1e-12 {
				t.Fatalf("f[%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	cfg = testConfig(hllm.BackboneHSTU, hllm.FusionConcat)
	m = newModel[float64](t, cfg, 8)
	evalTable := append([]float64(nil), m.ItemTable().Value...)
	b := testBatch(rand.New(rand.NewPCG(1, 2)), cfg.Items, cfg.MaxSeqLen, []int{3})
	m.Forward(b, rand.New(rand.NewPCG(3, 3)))
	stepTable := append([]float64(nil), m.ItemTable().Value...)
	if fmt.Sprint(stepTable) == fmt.Sprint(evalTable) {
		t.Fatal("a training step's table equals the evaluation table despite dropout")
	}
	m.Backward(make([]float64, b.B*b.L*d))
	m.BackwardItems()
	if got := m.ItemTable().Value; fmt.Sprint(got) != fmt.Sprint(evalTable) {
		t.Fatal("after the step the table is not the evaluation table again")
	}
}

func TestLogitScaleClamped(t *testing.T) {
	cfg := testConfig(hllm.BackboneSoftmax, hllm.FusionSum)
	m := newModel[float32](t, cfg, 9)
	if got := float64(m.LogitScale().Value[0]); math.Abs(got-math.Log(1/0.07)) > 1e-6 {
		t.Fatalf("initial logit scale %v, want ln(1/0.07)", got)
	}
	b := testBatch(rand.New(rand.NewPCG(1, 2)), cfg.Items, cfg.MaxSeqLen, []int{3})
	for _, c := range []struct{ set, want float64 }{{10, math.Log(100)}, {-1, 0}, {2, 2}} {
		m.LogitScale().Value[0] = float32(c.set)
		m.Forward(b, nil)
		if got := float64(m.LogitScale().Value[0]); math.Abs(got-c.want) > 1e-6 {
			t.Errorf("logit scale %v after Forward, want %v", got, c.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	base := testConfig(hllm.BackboneHSTU, hllm.FusionConcat)
	for _, c := range []struct {
		name string
		edit func(*hllm.Config)
		want string
	}{
		{"fusion", func(c *hllm.Config) { c.Fusion.FusionType = "mix" }, "fusion_params.fusion_type"},
		{"backbone", func(c *hllm.Config) { c.LLM.Backbone = "rnn" }, "llm_params.backbone"},
		{"heads", func(c *hllm.Config) { c.LLM.NumHeads = 4 }, "not a multiple of num_heads"},
		{"text", func(c *hllm.Config) { c.TextDim = 0 }, "text_dim"},
		{"both", func(c *hllm.Config) { c.TextBuckets = 4 }, "either text_dim"},
		{"bucket", func(c *hllm.Config) { *c = trainableConfig(*c); c.ItemBuckets[4] = []int32{11} }, "item 4 lists bucket 11"},
		{"noid", func(c *hllm.Config) { c.NoID = []int32{99} }, "no_id lists item 99"},
		{"dims", func(c *hllm.Config) { c.Fusion.FusionDims = []int{0} }, "fusion_dims"},
	} {
		cfg := base
		c.edit(&cfg)
		_, err := hllm.New[float32](cfg, rand.New(rand.NewPCG(1, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %q", c.name, err, c.want)
		}
	}
	m := newModel[float32](t, base, 1)
	if err := m.SetText(make([]float32, 3)); err == nil {
		t.Error("SetText accepted a table of the wrong size")
	}
}
