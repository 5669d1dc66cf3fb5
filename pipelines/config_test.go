package pipelines_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/pipelines"
)

// Every checked-in config must load, validate, and say how to reproduce it.
func TestCheckedInConfigsLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "configs", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no configs found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			job, err := pipelines.LoadJob(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			hasPre, hasTrain := len(job.Preprocess.Inputs) > 0, job.Train.Transformer.NumLayers > 0 || job.Train.LLM.NumLayers > 0
			if job.Tiger != nil && job.Tiger.Data == "" {
				t.Errorf("%s: tiger: data should be set", f)
			}
			if !hasPre && !hasTrain && job.Tiger == nil {
				t.Errorf("%s: neither a preprocess nor a train section", f)
			}
			if hasPre {
				if err := job.Preprocess.WithDefaults().Validate(); err != nil {
					t.Errorf("%s: %v", f, err)
				}
			}
			if hasTrain {
				if err := job.Train.Options.WithDefaults().Validate(); err != nil {
					t.Errorf("%s: train: %v", f, err)
				}
				mc := models.Config{Spec: job.Train.Spec, Items: 100, MaxSeqLen: 50, TextDim: 8}
				if job.Train.Name == "hllm" {
					if err := mc.HLLM().WithDefaults().Validate(); err != nil {
						t.Errorf("%s: train: %v", f, err)
					}
					if job.Train.ItemText == nil || job.Train.ItemText.Items == "" {
						t.Errorf("%s: train: model hllm without item_text.items", f)
					}
				} else if err := mc.HSTU().Validate(); err != nil {
					t.Errorf("%s: train: %v", f, err)
				}
				if job.Train.Data == "" || job.Train.ModelPath == "" {
					t.Errorf("%s: train: data and model_path should be set", f)
				}
			}
			b, _ := os.ReadFile(f)
			if !strings.Contains(string(b), "# Reproduce: genrec ") {
				t.Errorf("%s: no '# Reproduce: genrec ...' header line", f)
			}
		})
	}
}

func TestLoadJobErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, body, want string }{
		{"unknown key", "preprocess:\n  max_len: 3\n", "line 2"},
		{"bad pooling", "features:\n  item_features:\n    - {type: sparse, name: item_id}\n    - {type: sequence, name: hist, pooling: max}\n", `"hist"`},
		{"not yaml", "preprocess: [\n", "config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			os.WriteFile(p, []byte(tc.body), 0o644)
			_, err := pipelines.LoadJob(context.Background(), p)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
				t.Errorf("error %v, want one naming %s and containing %q", err, p, tc.want)
			}
		})
	}
	if _, err := pipelines.LoadJob(context.Background(), filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing config file: want an error")
	}
}
