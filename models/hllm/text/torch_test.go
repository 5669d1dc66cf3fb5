package text

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// torchPython returns a Python interpreter that imports torch
// ($GENREC_PYTHON, Debian's /usr/bin/python3 or python3 on the PATH); it
// skips the test when there is none.
func torchPython(t *testing.T) string {
	for _, py := range []string{os.Getenv("GENREC_PYTHON"), "/usr/bin/python3", "python3"} {
		if py != "" && exec.Command(py, "-c", "import torch, numpy").Run() == nil {
			return py
		}
	}
	t.Skip("no python3 with torch and numpy (make deps installs Debian's python3-torch)")
	return ""
}

// TestMatchesPyTorch writes a tiny random BERT folder, encodes texts with
// LoadBERT + Encode, and compares the CLS and mean-pooled vectors with
// testdata/bert_torch.py, an independent float64 PyTorch implementation of
// the same equations that reads the folder itself and runs the Go
// tokenizer's ids as one padded, masked batch. Tolerance 1e-4 absolute.
func TestMatchesPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("PyTorch reference skipped in -short")
	}
	python := torchPython(t)
	cfg := tinyConfig()
	dir := writeFolder(t, cfg, randomTensors(cfg, rand.New(rand.NewPCG(7, 8))), "bert.")
	m, err := LoadBERT(dir)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		"Café Déjà-vu",
		"Red cotton shirt for men, size large",
		"",
		"The classic novel of New York (a book)",
		"unaffable zebra lipstick — matte & gloss for women and men, small size toy", // truncated to 12
		"你好 world!",
	}
	ids := make([][]int32, len(texts))
	for i, s := range texts {
		ids[i] = m.Tokenizer.encode(s)
	}
	got := map[string][][]float32{}
	for _, pool := range []string{PoolCLS, PoolMean} {
		if got[pool], err = m.Encode(texts, pool); err != nil {
			t.Fatal(err)
		}
	}

	tmp := t.TempDir()
	inPath, outPath := filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	raw, _ := json.Marshal(map[string]any{"ids": ids})
	if err := os.WriteFile(inPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("testdata", "bert_torch.py")
	if out, err := exec.Command(python, script, dir, inPath, outPath).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", python, script, err, out)
	}
	var ref map[string][][]float64
	if raw, err = os.ReadFile(outPath); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatalf("%s: %v", outPath, err)
	}
	var worst float64
	for _, pool := range []string{PoolCLS, PoolMean} {
		if len(ref[pool]) != len(texts) {
			t.Fatalf("%s: PyTorch gave %d vectors, want %d", pool, len(ref[pool]), len(texts))
		}
		for i := range texts {
			for j, w := range ref[pool][i] {
				diff := math.Abs(float64(got[pool][i][j]) - w)
				worst = max(worst, diff)
				if diff > 1e-4 {
					t.Errorf("%s text %d (%q) dim %d: Go %.7g, PyTorch %.7g (tol 1e-4)", pool, i, texts[i], j, got[pool][i][j], w)
				}
			}
		}
	}
	t.Logf("max |Go - PyTorch| = %.3g over %d texts, CLS and mean pooling", worst, len(texts))
}
