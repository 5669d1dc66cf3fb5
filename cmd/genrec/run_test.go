package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/genrec/genrec/transforms/synthetic"
)

// TestRunCommandExitCodes checks each exit status genrec run documents on
// the demo's synthetic data and a tiny model. The config sets no --root:
// partitions go under its preprocess out.
func TestRunCommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "daily.yaml")
	root := filepath.Join(dir, "runs")
	yaml := `preprocess:
  inputs: ["` + filepath.Join(dir, "logs", "{date}.csv") + `"]
  format: table
  max_seq_len: 20
  out: ` + root + `
train:
  transformer_params: {num_layers: 1, num_heads: 1, hidden_size: 8}
  n_epoch: 1
  batch_size: 64
  loss: {negatives: 16}
  seed: 1
`
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	noModel := filepath.Join(dir, "no-model.yaml")
	os.WriteFile(noModel, []byte("preprocess:\n  inputs: [a.csv]\n"), 0o644)
	syn := synthetic.DefaultConfig()
	syn.Users, syn.Items = 150, 90
	var b bytes.Buffer
	if _, err := synthetic.WriteInteractionsCSV(&b, syn); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "logs"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "logs", "2026-11-29.csv"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	held, _ := json.Marshal(map[string]any{"pid": os.Getpid(), "host": host, "started": time.Now()})
	os.MkdirAll(filepath.Join(root, "dt=2026-11-27"), 0o755)
	os.WriteFile(filepath.Join(root, "dt=2026-11-27", "_LOCK"), held, 0o644)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	for _, tc := range []struct {
		name string
		ctx  context.Context
		args []string
		want int
	}{
		{"no date", nil, []string{"run", "--config", config}, 2},
		{"no config", nil, []string{"run", "--date", "2026-11-29"}, 2},
		{"bad date", nil, []string{"run", "--config", config, "--date", "2026-13-01"}, 2},
		{"missing config file", nil, []string{"run", "--config", filepath.Join(dir, "nope.yaml"), "--date", "2026-11-29"}, 2},
		{"config without a model", nil, []string{"run", "--config", noModel, "--date", "2026-11-29"}, 2},
		{"bad partition key", nil, []string{"run", "--config", config, "--date", "2026-11-29", "--partition", "a/b"}, 2},
		{"held lock", nil, []string{"run", "--config", config, "--date", "2026-11-27"}, 3},
		{"no input for the date", nil, []string{"run", "--config", config, "--date", "2026-11-28"}, 1},
		{"interrupted", cancelled, []string{"run", "--config", config, "--date", "2026-11-30"}, 130},
		{"full run", nil, []string{"run", "--config", config, "--date", "2026-11-29"}, 0},
		{"already done", nil, []string{"run", "--config", config, "--date", "2026-11-29"}, 0},
	} {
		ctx := tc.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		if got := run(ctx, tc.args); got != tc.want {
			t.Errorf("%s: genrec %s: exit %d, want %d", tc.name, strings.Join(tc.args, " "), got, tc.want)
		}
	}
	for _, p := range []string{"dt=2026-11-28/_FAILED", "dt=2026-11-30/_FAILED", "dt=2026-11-29/_SUCCESS", "dt=2026-11-29/model.onnx", "dt=2026-11-27/_LOCK"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("want %s: %v", p, err)
		}
	}
	for _, p := range []string{"dt=2026-11-28/_LOCK", "dt=2026-11-30/_LOCK", "dt=2026-11-29/_LOCK", "dt=2026-11-27/_FAILED", "dt=2026-11-28/_SUCCESS"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s should not exist", p)
		}
	}

	// The rerun says it is already done; --help documents the statuses.
	for _, args := range [][]string{
		{"run", "--config", config, "--date", "2026-11-29"},
		{"run", "--help"},
	} {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		for _, want := range map[bool][]string{
			true:  {"already done", "dt=2026-11-29"},
			false: {"Examples:", "genrec run --config", "130", "another run holds the partition's lock"},
		}[args[1] != "--help"] {
			if !strings.Contains(out.String(), want) {
				t.Errorf("genrec %s: output lacks %q:\n%s", strings.Join(args, " "), want, out.String())
			}
		}
	}
}
