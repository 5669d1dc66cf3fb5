package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/runners"
)

func TestMain(m *testing.M) {
	if os.Getenv("GENREC_TEST_MAIN") == "1" { // the test binary acting as genrec, for TestKilledRun
		main()
		return
	}
	runners.SetLogLevel("off")
	os.Exit(m.Run())
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "u.data")
	os.WriteFile(bad, []byte("1\t2\t3\t881250949\nnot a rating\n2\t3\t4\t881250950\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"version", []string{"version"}, 0},
		{"help", []string{"preprocess", "--help"}, 0},
		{"unknown flag", []string{"preprocess", "--bogus"}, 2},
		{"unknown command", []string{"frobnicate"}, 2},
		{"stray argument", []string{"version", "extra"}, 2},
		{"missing input file", []string{"preprocess", "--input", filepath.Join(dir, "nope.data"), "--out", dir}, 2},
		{"no input", []string{"preprocess", "--out", dir}, 2},
		{"bad format", []string{"preprocess", "--input", bad, "--format", "xml", "--out", dir}, 2},
		{"fail-fast on a bad line", []string{"preprocess", "--input", bad, "--fail-fast", "--out", filepath.Join(dir, "o1")}, 1},
		{"bad-line cap", []string{"preprocess", "--input", bad, "--out", filepath.Join(dir, "o2")}, 1},
		{"bad-line cap raised", []string{"preprocess", "--input", bad, "--max-bad-fraction", "0.5", "--out", filepath.Join(dir, "o3")}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(context.Background(), tc.args); got != tc.want {
				t.Errorf("genrec %s: exit %d, want %d", strings.Join(tc.args, " "), got, tc.want)
			}
		})
	}
}

func TestHelpShowsExamples(t *testing.T) {
	for _, sub := range []string{"preprocess", "demo", "train", "evaluate", "recommend"} {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetArgs([]string{sub, "--help"})
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "Examples:") || !strings.Contains(out.String(), "genrec "+sub) {
			t.Errorf("genrec %s --help has no runnable example:\n%s", sub, out.String())
		}
	}
}

// The config file sets values, flags override them.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "job.yaml")
	os.WriteFile(cfgPath, []byte("preprocess:\n  inputs: [a.csv]\n  max_seq_len: 77\n  stride: 5\n"), 0o644)
	fs := pflag.NewFlagSet("preprocess", pflag.ContinueOnError)
	var f preprocessFlags
	f.register(fs)
	if err := fs.Parse([]string{"--config", cfgPath, "--stride", "9"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := f.resolve(context.Background(), fs)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxSeqLen != 77 || cfg.Stride != 9 || cfg.MaxBadFraction != 0.01 || cfg.Inputs[0] != "a.csv" {
		t.Errorf("got max_seq_len %d, stride %d, max_bad_fraction %g, inputs %v; want 77 (file), 9 (flag), 0.01 (default), [a.csv]",
			cfg.MaxSeqLen, cfg.Stride, cfg.MaxBadFraction, cfg.Inputs)
	}
	os.WriteFile(cfgPath, []byte("preprocess:\n  max_seq_lenn: 77\n"), 0o644)
	f.config = cfgPath
	if _, err := f.resolve(context.Background(), fs); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a misspelt key: error %v, want one naming the line", err)
	}
}

// The demo writes data, tables and metrics, and the Markov baseline finds
// the planted sequential pattern that popularity cannot see.
func TestDemo(t *testing.T) {
	out := t.TempDir()
	if code := run(context.Background(), []string{"demo", "--out", out, "--users", "400", "--items", "200"}); code != 0 {
		t.Fatalf("demo exit %d", code)
	}
	for _, f := range []string{"input/interactions.csv", "preprocess/summary.json", "preprocess/sequences/part-00000-of-00001.parquet", "metrics.json", "hstu/best.ckpt"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("demo output: %v", err)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]eval.Report
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	pop, mk, hs := m["popularity"].Map()["HR@10"], m["markov"].Map()["HR@10"], m["hstu"].Map()["HR@10"]
	if !(mk > 2*pop) || m["markov"].Users != 400 {
		t.Errorf("HR@10 markov %.3f vs popularity %.3f over %d users: want markov > 2x popularity over 400 users", mk, pop, m["markov"].Users)
	}
	// HSTU must find the sequential pattern too.
	if !(hs > 2*pop) || m["hstu"].Users != 400 {
		t.Errorf("HR@10 hstu %.3f vs popularity %.3f over %d users: want hstu > 2x popularity over 400 users", hs, pop, m["hstu"].Users)
	}
}
