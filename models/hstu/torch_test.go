package hstu

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/genrec/genrec/models/kernels"
)

// torchScript returns a Python interpreter that imports torch ($GENREC_PYTHON,
// Debian's /usr/bin/python3 or python3 on the PATH) and the PyTorch
// reference bench/hstu_torch.py; it skips the test when there is none.
func torchScript(t *testing.T) (python, script string) {
	_, file, _, _ := runtime.Caller(0)
	script = filepath.Join(filepath.Dir(file), "..", "..", "bench", "hstu_torch.py")
	if _, err := os.Stat(script); err != nil {
		t.Skipf("no %s", script)
	}
	for _, py := range []string{os.Getenv("GENREC_PYTHON"), "/usr/bin/python3", "python3"} {
		if py != "" && exec.Command(py, "-c", "import torch").Run() == nil {
			return py, script
		}
	}
	t.Skip("no python3 with torch (make deps installs Debian's python3-torch)")
	return "", ""
}

// TestMatchesPyTorch checks the forward output, the sampled-softmax loss
// and every parameter gradient against an independent PyTorch
// implementation of DESIGN.md's equations (float64 on both sides).
func TestMatchesPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("PyTorch reference skipped in -short")
	}
	python, script := torchScript(t)
	cfg := Config{Items: 13, MaxSeqLen: 7, Transformer: TransformerParams{NumLayers: 2, NumHeads: 2, HiddenSize: 6, AttentionDim: 3, LinearDim: 4}}
	rng := rand.New(rand.NewPCG(11, 12))
	m, err := New[float64](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	randomize(m, rng)
	b := testBatch(rng, cfg.Items, cfg.MaxSeqLen, []int{7, 3, 1, 5})
	k := 5
	neg := make([]int32, b.B*b.L*k)
	kernels.UniformNegatives(rng, cfg.Items, neg)
	for bi, l := range b.Lens {
		for i := range l {
			b.Labels[bi*b.L+i] = int32(1 + rng.IntN(cfg.Items-1))
		}
	}
	neg[0] = b.Labels[0] // an accidental hit

	// Go side: forward, loss, backward.
	d := m.d
	user := m.Forward(b, nil)
	items := make([]float64, cfg.Items*d)
	norms := make([]float64, cfg.Items)
	kernels.L2NormalizeForward(m.In.Items.Value, items, norms, cfg.Items, d, 1e-12)
	du, dItems := make([]float64, len(user)), make([]float64, len(items))
	loss, _ := kernels.SampledSoftmax(user, b.B*b.L, d, items, b.Labels, neg, k, 0.05, du, dItems, nil)
	for _, p := range m.Params() {
		p.ZeroGrad()
	}
	m.Backward(du)
	itemGrad := m.In.Items.DenseGrad() // the compact table's gradient, catalogue-sized
	kernels.L2NormalizeBackward(items, norms, dItems, itemGrad, cfg.Items, d, 1e-12)

	// PyTorch side.
	layers := make([]map[string][]float64, len(m.Layers))
	for i, ly := range m.Layers {
		layers[i] = map[string][]float64{"uvqk": ly.UVQK.Value, "o_w": ly.OW.Value, "o_b": ly.OB.Value,
			"pos_bias": ly.PosBias.Value, "time_bias": ly.TimeBias.Value}
	}
	ints := func(x []int32) []int64 {
		out := make([]int64, len(x))
		for i, v := range x {
			out[i] = int64(v)
		}
		return out
	}
	in := map[string]any{
		"config": map[string]any{"d": d, "layers": len(m.Layers), "heads": m.h, "dqk": m.dqk, "dv": m.dv, "L": cfg.MaxSeqLen,
			"items": cfg.Items, "eps": lnEps, "temperature": 0.05, "scale": 0, "k": k},
		"weights": map[string]any{"item_emb": m.In.Items.Value, "pos_emb": m.In.Pos.Value, "layers": layers},
		"inputs": map[string]any{"ids": ints(b.Items), "lens": b.Lens, "ts": b.Times, "ts_query": b.QueryTimes,
			"pos": ints(b.Labels), "neg": ints(neg)},
	}
	dir := t.TempDir()
	inPath, outPath := filepath.Join(dir, "in.json"), filepath.Join(dir, "out.json")
	data, _ := json.Marshal(in)
	if err := os.WriteFile(inPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(python, script, "reference", inPath, outPath).CombinedOutput(); err != nil {
		t.Fatalf("python3 %s reference: %v\n%s", script, err, out)
	}
	var ref struct {
		UserEmb []float64 `json:"user_emb"`
		Loss    float64   `json:"loss"`
		Grads   struct {
			ItemEmb []float64              `json:"item_emb"`
			PosEmb  []float64              `json:"pos_emb"`
			Layers  []map[string][]float64 `json:"layers"`
		} `json:"grads"`
	}
	raw, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want []float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, PyTorch %d", name, len(got), len(want))
		}
		for i := range got {
			if math.Abs(got[i]-want[i]) > 1e-9*(1+math.Abs(want[i])) {
				t.Fatalf("%s[%d]: Go %.12g, PyTorch %.12g (tol 1e-9)", name, i, got[i], want[i])
			}
		}
	}
	near("user_emb", user, ref.UserEmb)
	near("loss", []float64{loss}, []float64{ref.Loss})
	near("grad item_emb", itemGrad, ref.Grads.ItemEmb)
	near("grad pos_emb", m.In.Pos.Grad, ref.Grads.PosEmb)
	for i, ly := range m.Layers {
		g := ref.Grads.Layers[i]
		near("grad uvqk", ly.UVQK.Grad, g["uvqk"])
		near("grad o_w", ly.OW.Grad, g["o_w"])
		near("grad o_b", ly.OB.Grad, g["o_b"])
		near("grad pos_bias", ly.PosBias.Grad, g["pos_bias"])
		near("grad time_bias", ly.TimeBias.Grad, g["time_bias"])
	}
}
