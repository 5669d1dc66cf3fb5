package text

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireHF reports whether the pretrained-model tests must run
// (GENREC_REQUIRE_HF=1, as .ci/run sets) rather than skip.
func requireHF() bool { return os.Getenv("GENREC_REQUIRE_HF") == "1" }

// skipHF skips the test, or fails it under GENREC_REQUIRE_HF=1.
func skipHF(t *testing.T, why string) {
	t.Helper()
	if requireHF() {
		t.Fatalf("%s (GENREC_REQUIRE_HF=1: run .ci/hf-models)", why)
	}
	t.Skip(why + " (.ci/hf-models installs it)")
}

// hfPython returns the Python of the environment that holds the packaged
// models and sentence-transformers ($GENREC_HF_VENV or .cache/hf-venv in a
// folder above this one), or skips.
func hfPython(t *testing.T) string {
	t.Helper()
	var envs []string
	if v := os.Getenv(HFVenvEnv); v != "" {
		envs = append(envs, v)
	}
	wd, _ := os.Getwd()
	for d := wd; ; d = filepath.Dir(d) {
		envs = append(envs, filepath.Join(d, ".cache", "hf-venv"))
		if filepath.Dir(d) == d {
			break
		}
	}
	for _, e := range envs {
		py := filepath.Join(e, "bin", "python")
		if _, err := os.Stat(py); err == nil && exec.Command(py, "-c", "import sentence_transformers").Run() == nil {
			return py
		}
	}
	skipHF(t, "no Python environment with sentence-transformers")
	return ""
}

// referenceTexts are item texts in the shape the HLLM templates make, with
// what WordPiece must get right: accents, punctuation, digits, CJK, an
// apostrophe, odd spacing, an empty text, and one over 256 tokens
// (truncation).
var referenceTexts = []string{
	"Toy Story (1995). Genres: Adventure, Animation, Children, Comedy, Fantasy.",
	"Amélie (Fabuleux destin d'Amélie Poulain, Le) (2001). Genres: Comedy|Romance",
	"Crouching Tiger, Hidden Dragon (Wo hu cang long) 卧虎藏龙 (2000)",
	"Léon: The Professional (a.k.a. Léon) — tags: assassin, NYC, 12-year-old",
	"  Schindler's List\t(1993)\nGenres: Drama, War  ",
	"",
	strings.Repeat("A long description of a movie, with many words and commas; ", 40),
}

// TestMiniLMMatchesSentenceTransformers loads all-MiniLM-L6-v2 as
// ResolveModel finds it and checks the token ids (identical) and the
// normalised mean-pooled embeddings (within 1e-5 absolute per component,
// measured ~2e-7) against sentence-transformers on the same folder, run
// once by testdata/st_reference.py.
func TestMiniLMMatchesSentenceTransformers(t *testing.T) {
	if testing.Short() {
		t.Skip("pretrained-model reference skipped in -short")
	}
	dir, err := ResolveModel("all-MiniLM-L6-v2")
	if err != nil {
		skipHF(t, err.Error())
	}
	python := hfPython(t)
	st, err := LoadSentenceTransformer(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pooling != PoolMean || !st.Normalize || st.MaxSeqLength != 256 || st.Dim() != 384 {
		t.Fatalf("all-MiniLM-L6-v2: pooling %q normalize %v max_seq_length %d dim %d, want mean true 256 384",
			st.Pooling, st.Normalize, st.MaxSeqLength, st.Dim())
	}
	tmp := t.TempDir()
	in, out := filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	raw, _ := json.Marshal(map[string]any{"texts": referenceTexts})
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "st_reference.py"), dir, in, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("st_reference.py: %v\n%s", err, b)
	}
	var ref struct {
		IDs [][]int32   `json:"ids"`
		Emb [][]float64 `json:"emb"`
	}
	raw, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	got, err := st.Encode(referenceTexts)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, text := range referenceTexts {
		ids := st.IDs(text)
		if !equalIDs(ids, ref.IDs[i]) {
			t.Errorf("text %d %q: ids\n got %v\nwant %v", i, text, ids, ref.IDs[i])
		}
		var norm float64
		for j, w := range ref.Emb[i] {
			g := float64(got[i][j])
			norm += g * g
			worst = max(worst, math.Abs(g-w))
		}
		if math.Abs(norm-1) > 1e-5 {
			t.Errorf("text %d: |e|^2 = %g, want 1", i, norm)
		}
	}
	if len(ref.IDs[len(ref.IDs)-1]) != 256 {
		t.Errorf("long text: %d reference ids, want 256 (truncated)", len(ref.IDs[len(ref.IDs)-1]))
	}
	t.Logf("largest |genrec - sentence-transformers| over %d texts x 384: %.2g", len(referenceTexts), worst)
	if worst > 1e-5 {
		t.Errorf("embeddings differ by up to %g, want <= 1e-5", worst)
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
