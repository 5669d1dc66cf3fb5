package ranking

import (
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/export/onnx"
)

// TestONNXMatchesForward exports random ranking models and runs them in
// onnxruntime on examples with empty, short and full histories: the
// probabilities must be within 1e-5 of Forward's, and python3-onnx's full
// checker must accept the file.
func TestONNXMatchesForward(t *testing.T) {
	if err := onnx.InitRuntime(); err != nil {
		if os.Getenv("GENREC_REQUIRE_ONNX") != "" {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v", err)
	}
	side := testConfig(EncoderHSTU)
	side.HSTU.Categories, side.HSTU.ItemCategories = 3, make([][]int32, 40)
	side.HSTU.UserFeatures, side.HSTU.UserFeatureLists = 2, [][]int32{{0}, {1}, {0, 1}, {}, {1}}
	for i := range side.HSTU.ItemCategories {
		side.HSTU.ItemCategories[i] = []int32{int32(i % 3)}
	}
	noTime := testConfig(EncoderHSTU)
	noTime.HSTU.NoTimeBias = true
	window := testConfig(EncoderHSTU)
	window.HSTU.Hierarchical.Level1WindowSize = 3
	actions := testConfig(EncoderHSTU)
	actions.Actions = true
	side.Actions = true
	for name, cfg := range map[string]Config{"plain": testConfig(EncoderHSTU), "side-actions": side, "no-time": noTime, "window": window, "actions": actions} {
		rng := rand.New(rand.NewPCG(7, 7))
		m, err := New(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			if strings.HasSuffix(p.Name, "uvqk") || strings.HasSuffix(p.Name, "_bias") || p.Name == "item_emb" || p.Name == "action_emb" {
				for k := range p.Value {
					p.Value[k] = float32(rng.NormFloat64() * 0.3)
				}
			}
		}
		ex := randomExamples(rng, 20, 40, 12) // histories of 0..12 items, longer than max_seq_len-1 = 7
		ex[0].History, ex[0].HistoryTimes, ex[0].HistoryLabels = nil, nil, nil
		idx := make([]int, len(ex))
		for i := range idx {
			idx[i] = i
		}
		lg, err := m.Forward(ex, idx, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := Sigmoid(lg)
		mp, err := m.ONNX(onnx.Options{})
		if err != nil {
			t.Fatal(err)
		}
		data, err := onnx.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		s, err := onnx.NewSession(name, data, onnx.SessionOptions{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got, err := s.RunRanking(RankingRequest(ex, 7))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5 {
				t.Fatalf("%s: example %d (history %d): onnxruntime %v, Forward %v", name, i, len(ex[i].History), got[i], want[i])
			}
		}
		path := filepath.Join(t.TempDir(), name+".onnx")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := exec.Command("/usr/bin/python3", "-c", "import onnx"); err.Run() == nil {
			out, err := exec.Command("/usr/bin/python3", "-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path).CombinedOutput()
			if err != nil {
				t.Errorf("%s: onnx.checker: %v\n%s", name, err, out)
			}
		}
	}
	mean, err := New(testConfig(EncoderMean), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mean.ONNX(onnx.Options{}); err == nil || !strings.Contains(err.Error(), "mean") {
		t.Errorf("mean baseline export: err = %v, want a refusal naming it", err)
	}
}
