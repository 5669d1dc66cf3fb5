package pipelines_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/pipelines"
)

// FuzzLoadJob: any config file loads or gives an error naming the file,
// never a panic; a loaded job's checks (what train and preprocess run
// before they start) return an error rather than panic. Seeds: every
// checked-in config and a few broken ones.
func FuzzLoadJob(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "configs", "*.yaml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("train:\n  batch_size: -1\n  bogus: 1\n"))
	f.Add([]byte("preprocess:\n  inputs: [a]\n  out_dir: o\n  time_format: weekly\nfeatures:\n  sparse: [{name: x}]\n"))
	f.Add([]byte("{\"train\": {\"transformer\": {\"num_heads\": 3, \"hidden_size\": 8}}}"))
	f.Add([]byte("tiger:\n  data: x\n---\nother: 1\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "job.yaml")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		j, err := pipelines.LoadJob(context.Background(), path)
		if err != nil {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		_ = j.Preprocess.Validate()
		_ = j.Train.CheckShape()
		_ = j.Train.Options.WithDefaults().Validate()
	})
}
