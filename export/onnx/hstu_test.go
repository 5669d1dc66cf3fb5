package onnx

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// required reports whether a missing onnxruntime or python3-onnx fails the
// tests instead of skipping them: .ci/run sets GENREC_REQUIRE_ONNX=1 after
// installing both.
func required() bool { return os.Getenv("GENREC_REQUIRE_ONNX") != "" }

func needRuntime(t testing.TB) {
	t.Helper()
	if err := InitRuntime(); err != nil {
		if required() {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v", err)
	}
}

// testConfigs are the model shapes the export is checked on: every part of
// models/hstu the graph implements.
func testConfigs() map[string]hstu.Config {
	base := hstu.Config{
		Items: 300, MaxSeqLen: 24,
		Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 2, HiddenSize: 16, Dropout: 0.2},
	}
	window := base
	window.Hierarchical = hstu.HierarchicalParams{Level1WindowSize: 4, Level2WindowSize: 2}
	scaled := base
	scaled.Transformer.NumHeads, scaled.Transformer.AttentionDim, scaled.Transformer.LinearDim = 3, 5, 7
	scaled.Transformer.AttentionScale = 0.3
	noTime := base
	noTime.NoTimeBias, noTime.NoPositionBias = true, true
	side := base
	side.Categories, side.UserFeatures = 6, 5
	rng := rand.New(rand.NewPCG(9, 9))
	side.ItemCategories = make([][]int32, side.Items)
	for i := 1; i < side.Items; i++ {
		for range rng.IntN(3) {
			side.ItemCategories[i] = append(side.ItemCategories[i], int32(rng.IntN(side.Categories)))
		}
	}
	side.UserFeatureLists = make([][]int32, 40)
	for u := range side.UserFeatureLists {
		side.UserFeatureLists[u] = []int32{int32(rng.IntN(2)), int32(2 + rng.IntN(3))}
	}
	return map[string]hstu.Config{"full": base, "hierarchical": window, "heads-scale": scaled, "no-bias": noTime, "side-features": side}
}

// randomModel builds a model whose every parameter is random and large
// enough to matter (New leaves biases and b_o at zero or small).
func randomModel(t testing.TB, cfg hstu.Config, seed uint64) *hstu.Model[float32] {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	m, err := hstu.New[float32](cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		switch {
		case strings.HasSuffix(p.Name, "o_b"), strings.HasSuffix(p.Name, "_bias"):
			kernels.InitNormal(p.Value, 0.3, rng)
		case strings.HasSuffix(p.Name, "uvqk"):
			kernels.InitNormal(p.Value, 0.4, rng) // large enough that attention, biases and summaries matter
		case p.Name == "item_emb":
			kernels.InitNormal(p.Value, 0.5, rng)
			clear(p.Value[:p.Cols()])
		}
	}
	return m
}

// randomRows makes b sequences of lengths in [1, maxLen] over the catalogue,
// with increasing timestamps spread over seconds to years (every time
// bucket) and, as the target, the request: Target 1 at TargetTimestamp.
func randomRows(rng *rand.Rand, b, maxLen, items, users int) []transforms.SequenceRow {
	rows := make([]transforms.SequenceRow, b)
	for i := range rows {
		n := 1 + rng.IntN(maxLen)
		if i == 0 {
			n = maxLen
		}
		r := transforms.SequenceRow{User: int64(rng.IntN(users)), UserKey: "u", Split: transforms.SplitTest}
		ts := int64(1_000_000_000 + rng.IntN(1000))
		for range n {
			r.Items = append(r.Items, int64(1+rng.IntN(items-1)))
			r.Timestamps = append(r.Timestamps, ts)
			ts += int64(math.Exp(rng.Float64() * 17))
		}
		r.Target, r.TargetTimestamp = 1, ts+int64(rng.IntN(100000))
		rows[i] = r
	}
	return rows
}

// request lays rows out as an ONNX request of length s, query time = each
// row's TargetTimestamp.
func request(rows []transforms.SequenceRow, s int) Request {
	r := Request{B: len(rows), S: s, Items: make([]int64, len(rows)*s), Times: make([]int64, len(rows)*s)}
	for i, row := range rows {
		copy(r.Items[i*s:], row.Items)
		copy(r.Times[i*s:], row.Timestamps)
		r.Lengths = append(r.Lengths, int64(len(row.Items)))
		r.QueryTimes = append(r.QueryTimes, row.TargetTimestamp)
		r.Users = append(r.Users, row.User)
	}
	return r
}

func exportSession(t testing.TB, m sequential.Model, opt Options) *Session {
	t.Helper()
	mp, err := Export(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSession("model.onnx", data, SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMatchesGenrec runs each exported configuration in onnxruntime on
// random rows of several batch sizes and padded lengths: the user
// embedding must be within 1e-4 of genrec's own forward (relative to the
// largest component, the embeddings being unit vectors) and the top-10
// items identical to sequential.Predict's.
func TestMatchesGenrec(t *testing.T) {
	needRuntime(t)
	for name, cfg := range testConfigs() {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 3)
			s := exportSession(t, m, Options{TopK: 10})
			rng := rand.New(rand.NewPCG(5, 5))
			for _, c := range []struct{ b, maxLen, s int }{{1, 1, 1}, {1, 24, 24}, {3, 7, 9}, {8, 24, 24}, {17, 13, 20}} {
				users := max(len(cfg.UserFeatureLists), 1)
				rows := randomRows(rng, c.b, c.maxLen, cfg.Items, users)
				idx := make([]int, len(rows))
				for i := range idx {
					idx[i] = i
				}
				batch, err := sequential.NewBatch(rows, idx, cfg.MaxSeqLen, false)
				if err != nil {
					t.Fatal(err)
				}
				want := sequential.LastEmbeddings(m, batch)
				got, err := s.Run(request(rows, c.s))
				if err != nil {
					t.Fatal(err)
				}
				if len(got.User) != len(want) {
					t.Fatalf("b=%d s=%d: user_embedding has %d values, want %d", c.b, c.s, len(got.User), len(want))
				}
				for i := range want {
					if d := math.Abs(float64(got.User[i] - want[i])); d > 1e-4 {
						t.Fatalf("b=%d s=%d: user_embedding[%d] = %v, genrec %v (|diff| %.2g > 1e-4)", c.b, c.s, i, got.User[i], want[i], d)
					}
				}
				checkTopK(t, m, s, rows, c.s, 10)
			}
		})
	}
}

// checkTopK compares the ONNX top-k with sequential.Predict's. Predict
// predicts after a row's whole sequence with its Target appended, at the
// Target's own time, so it is given each row minus its last item, that
// item as Target, and the ONNX model the same rows with query_time = the
// last item's time.
func checkTopK(t *testing.T, m sequential.Model, s *Session, rows []transforms.SequenceRow, seqLen, k int) {
	t.Helper()
	shifted := make([]transforms.SequenceRow, len(rows))
	idx := make([]int, len(rows))
	req := request(rows, seqLen)
	for i, r := range rows {
		n := len(r.Items)
		shifted[i] = r
		shifted[i].Items, shifted[i].Timestamps = r.Items[:n-1], r.Timestamps[:n-1]
		shifted[i].Target, shifted[i].TargetTimestamp = r.Items[n-1], r.Timestamps[n-1]
		req.QueryTimes[i] = r.Timestamps[n-1]
		idx[i] = i
	}
	want, err := sequential.Predict(m, shifted, idx, nil, k, 64)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Run(req)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		gi, gs := got.TopItems[i*k:(i+1)*k], got.TopScores[i*k:(i+1)*k]
		for j := range w.Items {
			if gi[j] != w.Items[j] || math.Abs(float64(gs[j]-w.Scores[j])) > 1e-4 {
				t.Fatalf("row %d (length %d): top-%d items %v scores %v, genrec %v %v", i, len(rows[i].Items), k, gi, gs, w.Items, w.Scores)
			}
		}
	}
}

// TestCheckerAcceptsExports writes every configuration, float and int8, to
// a file and runs onnx.checker.check_model(full_check=True) of Debian's
// python3-onnx on it.
func TestCheckerAcceptsExports(t *testing.T) {
	py := os.Getenv("GENREC_PYTHON")
	if py == "" {
		py = "/usr/bin/python3"
	}
	if err := exec.Command(py, "-c", "import onnx").Run(); err != nil {
		if required() {
			t.Fatalf("%s cannot import onnx (apt install python3-onnx): %v", py, err)
		}
		t.Skipf("skipping: %s cannot import onnx (apt install python3-onnx)", py)
	}
	dir := t.TempDir()
	var files []string
	for name, cfg := range testConfigs() {
		for _, q := range []Quantization{None, Int8} {
			mp, err := HSTU(randomModel(t, cfg, 1), Options{Quantization: q})
			if err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, name+"-"+string(q)+".onnx")
			if _, err := Write(t.Context(), f, mp); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	script := `import sys, onnx
for f in sys.argv[1:]:
    m = onnx.load(f)
    onnx.checker.check_model(m, full_check=True)
    assert m.ir_version == 8, m.ir_version
    assert [o.version for o in m.opset_import] == [17], m.opset_import
print("ok", len(sys.argv) - 1)`
	out, err := exec.Command(py, append([]string{"-c", script}, files...)...).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok") {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
}

// TestInt8StaysClose runs the int8 export beside the float one on the same
// rows: scores (cosines in [-1, 1]) must stay within 0.02 of the float
// model's on average and 0.1 at most, and most of each
// row's top 10 must survive. The random weights here are larger than
// trained ones (the activations' range, which DynamicQuantizeLinear spreads
// over 256 levels, is wide); the quality loss on real data is measured by
// genrec export --quantize int8 --data.
func TestInt8StaysClose(t *testing.T) {
	needRuntime(t)
	for name, cfg := range testConfigs() {
		t.Run(name, func(t *testing.T) {
			m := randomModel(t, cfg, 4)
			f32 := exportSession(t, m, Options{})
			i8 := exportSession(t, m, Options{Quantization: Int8})
			rows := randomRows(rand.New(rand.NewPCG(6, 6)), 32, cfg.MaxSeqLen, cfg.Items, max(len(cfg.UserFeatureLists), 1))
			req := request(rows, cfg.MaxSeqLen)
			a, err := f32.Run(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := i8.Run(req)
			if err != nil {
				t.Fatal(err)
			}
			worst, mean := 0.0, 0.0
			for i := range a.Scores {
				if i%cfg.Items == 0 {
					continue // the padding column
				}
				d := math.Abs(float64(a.Scores[i] - b.Scores[i]))
				worst, mean = max(worst, d), mean+d
			}
			mean /= float64(len(a.Scores) - len(rows))
			overlap := 0
			for r := range len(rows) {
				in := map[int64]bool{}
				for _, it := range a.TopItems[r*10 : (r+1)*10] {
					in[it] = true
				}
				for _, it := range b.TopItems[r*10 : (r+1)*10] {
					if in[it] {
						overlap++
					}
				}
			}
			t.Logf("int8: |score diff| mean %.4f max %.4f, top-10 overlap %.1f%%", mean, worst, 100*float64(overlap)/float64(10*len(rows)))
			if worst > 0.1 || mean > 0.02 {
				t.Errorf("int8 scores differ from float by %.4f on average, %.4f at most; want <= 0.02 and 0.1", mean, worst)
			}
			if overlap < 7*len(rows) {
				t.Errorf("int8 top-10 keeps %d of %d float items, want >= 70%%", overlap, 10*len(rows))
			}
		})
	}
}
