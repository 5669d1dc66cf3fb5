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

// TestLlamaMatchesTransformers checks the byte-level BPE tokenizer and the
// LLaMA / Qwen2 forward against tokenizers and transformers:
// testdata/llama_reference.py trains a 400-id byte-level BPE on the
// project's README (real text), writes a tiny random LLaMA (grouped-query
// attention, bfloat16, sharded) and Qwen2 (attention biases, float32)
// folder, and runs them. The ids must be identical on item titles and
// README lines; every last hidden state within 1e-4 absolute.
func TestLlamaMatchesTransformers(t *testing.T) {
	if testing.Short() {
		t.Skip("transformers reference skipped in -short")
	}
	python := hfPython(t)
	corpus, err := filepath.Abs(filepath.Join("..", "..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(corpus)
	if err != nil {
		t.Fatal(err)
	}
	texts := append([]string{}, referenceTexts[:len(referenceTexts)-1]...)
	texts = append(texts, "Heat (1995) [ITEM]", "don't  stop\n\n it's 12345  \t x")
	for i, line := range strings.Split(string(readme), "\n") {
		if i%40 == 3 && strings.TrimSpace(line) != "" {
			texts = append(texts, line)
		}
	}
	tmp := t.TempDir()
	in, out := filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	raw, _ := json.Marshal(map[string]any{"texts": texts})
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, filepath.Join("testdata", "llama_reference.py"), tmp, corpus, in, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("llama_reference.py: %v\n%s", err, b)
	}
	var ref struct {
		IDs   [][]int32     `json:"ids"`
		Llama [][][]float64 `json:"llama"`
		Qwen2 [][][]float64 `json:"qwen2"`
	}
	if raw, err = os.ReadFile(out); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want [][][]float64
	}{{"llama", ref.Llama}, {"qwen2", ref.Qwen2}} {
		m, err := LoadLlama(filepath.Join(tmp, c.name))
		if err != nil {
			t.Fatal(err)
		}
		if m.Tokenizer == nil {
			t.Fatalf("%s: no tokenizer loaded", c.name)
		}
		worst := 0.0
		for i, text := range texts {
			ids, err := m.Tokenizer.Encode(text)
			if err != nil {
				t.Fatal(err)
			}
			if !equalIDs(ids, ref.IDs[i]) {
				t.Errorf("%s: text %d %q: ids\n got %v\nwant %v", c.name, i, text, ids, ref.IDs[i])
				continue
			}
			x := m.Forward([][]int32{ids})
			d := m.Config.HiddenSize
			for r, row := range c.want[i] {
				for j, w := range row {
					worst = max(worst, math.Abs(float64(x[r*d+j])-w))
				}
			}
		}
		t.Logf("%s: largest |genrec - transformers| over %d texts: %.2g", c.name, len(texts), worst)
		if worst > 1e-4 {
			t.Errorf("%s: hidden states differ by up to %g, want <= 1e-4", c.name, worst)
		}
	}
}

func TestHalfToFloat32(t *testing.T) {
	// Values from the IEEE 754 binary16 table (exact).
	for _, c := range []struct {
		h    uint16
		want float32
	}{{0x3c00, 1}, {0xc000, -2}, {0x3555, 0.333251953125}, {0x7bff, 65504}, {0x0001, 5.960464477539063e-08},
		{0x0000, 0}, {0x8000, float32(math.Copysign(0, -1))}, {0x7c00, float32(math.Inf(1))}} {
		if got := halfToFloat32(c.h); got != c.want || math.Signbit(float64(got)) != math.Signbit(float64(c.want)) {
			t.Errorf("halfToFloat32(%#04x) = %g, want %g", c.h, got, c.want)
		}
	}
	if got := halfToFloat32(0x7e00); !math.IsNaN(float64(got)) {
		t.Errorf("halfToFloat32(0x7e00) = %g, want NaN", got)
	}
}

func TestLoadLlamaErrors(t *testing.T) {
	for _, c := range []struct{ cfg, want string }{
		{`{"model_type": "gpt2"}`, "model_type"},
		{`{"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
		   "num_attention_heads": 2, "num_key_value_heads": 2, "max_position_embeddings": 8,
		   "rope_scaling": {"rope_type": "llama3", "factor": 8}}`, "rope_scaling"},
		{`{"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
		   "num_attention_heads": 2, "num_key_value_heads": 3, "max_position_embeddings": 8}`, "num_key_value_heads"},
		{`{"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
		   "num_attention_heads": 2, "max_position_embeddings": 8}`, "model.safetensors"},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(c.cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := LoadLlama(dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("config %s: error %v, want one naming %s", c.cfg, err, c.want)
		}
	}
}
