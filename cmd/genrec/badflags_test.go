package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines/train"
)

// Bad values of each subcommand's flags exit 2 with one plain line naming
// the flag — never a Go stack trace (issue 15 item 2: --ks 0 panicked in the
// metric code, --negatives 100000 in the sampled softmax after an epoch).
// The checks run before any data is read, so the paths need not exist,
// except for --negatives, which is checked against the data's catalogue.
func TestBadFlagValues(t *testing.T) {
	dir := t.TempDir()
	d, ck := filepath.Join(dir, "data"), filepath.Join(dir, "best.ckpt")
	ev := []string{"evaluate", "--data", d, "--checkpoint", ck}
	tr := []string{"train", "--data", d, "--model-path", filepath.Join(dir, "m")}
	cases := []struct {
		name string
		args []string
		flag string // the flag the message must name
	}{
		{"evaluate ks 0", append(ev, "--ks", "0"), "--ks"},
		{"evaluate ks negative", append(ev, "--ks", "10,-5"), "--ks"},
		{"evaluate ks repeated", append(ev, "--ks", "10,10"), "--ks"},
		{"evaluate ks not a number", append(ev, "--ks", "ten"), "--ks"},
		{"recommend k 0", []string{"recommend", "--data", d, "--checkpoint", ck, "--out", filepath.Join(dir, "r.parquet"), "--k", "0"}, "--k"},
		{"train batch 0", append(tr, "--batch-size", "0"), "--batch-size"},
		{"train batch negative", append(tr, "--batch-size", "-3"), "--batch-size"},
		{"train lr negative", append(tr, "--lr", "-0.1"), "--lr"},
		{"train lr 0", append(tr, "--lr", "0"), "--lr"},
		{"train epochs 0", append(tr, "--epochs", "0"), "--epochs"},
		{"train negatives negative", append(tr, "--negatives", "-2"), "--negatives"},
		{"train threads negative", append(tr, "--threads", "-1"), "--threads"},
		{"train epochs not a number", append(tr, "--epochs", "x"), "--epochs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stderr := runCaptured(t, tc.args)
			if code != 2 || !strings.Contains(stderr, tc.flag) || strings.Contains(stderr, "goroutine ") {
				t.Errorf("genrec %s: exit %d, stderr %q; want exit 2 and a line naming %s", strings.Join(tc.args, " "), code, stderr, tc.flag)
			}
		})
	}
}

// --negatives as large as the catalogue is refused before training starts.
func TestTrainNegativesAboveCatalogue(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the demo data")
	}
	config, _ := trainFixture(t, 1)
	code, stderr := runCaptured(t, []string{"train", "--config", config, "--negatives", "100000"})
	if code != 2 || !strings.Contains(stderr, "negatives") || !strings.Contains(stderr, "items") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming negatives and the catalogue size", code, stderr)
	}
}

// runCaptured runs genrec with args and returns its exit code and stderr.
func runCaptured(t *testing.T, args []string) (int, string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = f
	code := run(context.Background(), args)
	os.Stderr = old
	f.Close()
	b, _ := os.ReadFile(f.Name())
	return code, string(bytes.TrimSpace(b))
}

// The exit-code rule (issue 15 item 4): the same mistake gives the same code
// in every command, and an interrupted command exits 130 with one plain
// "interrupted; ..." line, not a raw Beam "rpc error: code = Canceled".
func TestExitCodeRule(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "u.data")
	os.WriteFile(in, []byte("1\t2\t3\t881250949\n2\t3\t4\t881250950\n"), 0o644)
	d, ck := filepath.Join(dir, "data"), filepath.Join(dir, "best.ckpt")
	table := filepath.Join(dir, "t.csv")
	os.WriteFile(table, []byte("user,item,when\nu1,i1,2026-11-03\n"), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"evaluate bad split", []string{"evaluate", "--data", d, "--checkpoint", ck, "--split", "bogus"}, 2},
		{"predict bad split", []string{"predict", "--data", d, "--checkpoint", ck, "--out", filepath.Join(dir, "p.parquet"), "--split", "bogus"}, 2},
		{"evaluate missing data", []string{"evaluate", "--data", d, "--checkpoint", ck}, 2},
		{"preprocess table without its time column", []string{"preprocess", "--input", table, "--format", "table", "--out", filepath.Join(dir, "t")}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, stderr := runCaptured(t, tc.args); code != tc.want {
				t.Errorf("genrec %s: exit %d (%s), want %d", strings.Join(tc.args, " "), code, stderr, tc.want)
			}
		})
	}
	t.Run("preprocess interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		old := os.Stderr
		f, _ := os.CreateTemp(dir, "stderr")
		os.Stderr = f
		code := run(ctx, []string{"preprocess", "--input", in, "--out", filepath.Join(dir, "out")})
		os.Stderr = old
		f.Close()
		b, _ := os.ReadFile(f.Name())
		if code != 130 || !strings.HasPrefix(string(b), "genrec: interrupted; ") || strings.Contains(string(b), "rpc error") {
			t.Errorf("exit %d, stderr %q; want 130 and one \"interrupted; ...\" line", code, b)
		}
	})
}

// A run that would save nothing, or resume from nothing, says so first.
func TestWarnTrainSetup(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  train.Config
		want string
	}{
		{"no model path", train.Config{}, "no checkpoint or metrics will be saved"},
		{"resume without last.ckpt", train.Config{TrainSpec: models.TrainSpec{Options: trainer.Options{ModelPath: dir}}, Resume: true}, "starting fresh"},
		{"plain run", train.Config{TrainSpec: models.TrainSpec{Options: trainer.Options{ModelPath: dir}}}, ""},
	} {
		var b bytes.Buffer
		warnTrainSetup(context.Background(), &b, tc.cfg, "")
		if got := b.String(); (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: warned %q, want %q", tc.name, got, tc.want)
		}
	}
}

// --resume with an option that shapes the steps changed names it and exits
// 2; with only n_epoch changed, or with --resume-changed, it continues.
func TestResumeNamesChangedOptions(t *testing.T) {
	config, _ := trainFixture(t, 1)
	if code := run(context.Background(), []string{"train", "--config", config}); code != 0 {
		t.Fatalf("train exit %d", code)
	}
	code, stderr := runCaptured(t, []string{"train", "--config", config, "--resume", "--lr", "0.01"})
	if code != 2 || !strings.Contains(stderr, "optimizer_params.lr: 0.005 → 0.01") || !strings.Contains(stderr, "--resume-changed") {
		t.Errorf("resume with another lr: exit %d, stderr %q; want 2 naming optimizer_params.lr and --resume-changed", code, stderr)
	}
	if code, stderr := runCaptured(t, []string{"train", "--config", config, "--resume", "--epochs", "2"}); code != 0 {
		t.Errorf("resume with more epochs: exit %d (%s), want 0", code, stderr)
	}
	if code, stderr := runCaptured(t, []string{"train", "--config", config, "--resume", "--epochs", "3", "--lr", "0.01", "--resume-changed"}); code != 0 {
		t.Errorf("resume --resume-changed: exit %d (%s), want 0", code, stderr)
	}
	if code, _ := runCaptured(t, []string{"train", "--config", config, "--resume-changed"}); code != 2 {
		t.Errorf("--resume-changed without --resume: exit %d, want 2", code)
	}
}

// A --k beyond the catalogue says what it returns, in process and as a
// pipeline, and still exits 0.
func TestRecommendKBeyondCatalogue(t *testing.T) {
	config, data := trainFixture(t, 1)
	if code := run(context.Background(), []string{"train", "--config", config}); code != 0 {
		t.Fatalf("train exit %d", code)
	}
	ck := filepath.Join(filepath.Dir(config), "model", "best.ckpt")
	for _, extra := range [][]string{nil, {"--pipeline"}} {
		out := filepath.Join(t.TempDir(), "recs.parquet")
		args := append([]string{"recommend", "--data", data, "--checkpoint", ck, "--k", "500", "--out", out}, extra...)
		code, stderr := runCaptured(t, args)
		if code != 0 || !strings.Contains(stderr, "--k 500 is more than the 120 items") {
			t.Errorf("recommend --k 500 %v: exit %d, stderr %q; want 0 and a line saying the catalogue has 120 items", extra, code, stderr)
		}
	}
}
