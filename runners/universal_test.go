package runners_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"

	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

func init() {
	register.Function1x2(modKeyFn)
	register.Function2x1(formatKVFn)
	register.Function1x1(workerPIDFn)
}

// workerPIDFn is the process id of the worker that runs it.
func workerPIDFn(int) string { return strconv.Itoa(os.Getpid()) }

func modKeyFn(x int) (int, int)  { return x % 7, x }
func formatKVFn(k, v int) string { return fmt.Sprintf("%d:%d", k, v) }

// universal submits to a job server, as for Flink or Spark, with the
// workers in this process.
func universal(endpoint, job string) runners.Options {
	return runners.Options{Runner: "universal", Endpoint: endpoint, EnvironmentType: "LOOPBACK", JobName: job}
}

// sumsByResidue builds a small pipeline with a shuffle: the numbers 1..n
// summed by their residue mod 7, written as "residue:sum" lines to out
// and checked with passert against want.
func sumsByResidue(n int, out string, want []string) *beam.Pipeline {
	p, s := beam.NewPipelineWithRoot()
	addSumsByResidue(s, n, out, want)
	return p
}

func addSumsByResidue(s beam.Scope, n int, out string, want []string) {
	nums := make([]int, n)
	for i := range nums {
		nums[i] = i + 1
	}
	sums := stats.SumPerKey(s, beam.ParDo(s, modKeyFn, beam.CreateList(s, nums)))
	lines := beam.ParDo(s, formatKVFn, sums)
	textio.Write(s, out, lines)
	passert.Equals(s, lines, toAny(want)...)
}

func toAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// wantSums is what sumsByResidue must produce, computed in plain Go.
func wantSums(n int) []string {
	sum := map[int]int{}
	for i := 1; i <= n; i++ {
		sum[i%7] += i
	}
	var out []string
	for k, v := range sum {
		out = append(out, formatKVFn(k, v))
	}
	slices.Sort(out)
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	slices.Sort(lines)
	return lines
}

// The portable path, for real: the pipeline is submitted to a standalone
// prism job server (what Flink and Spark job servers are to this SDK) with
// --runner=universal and LOOPBACK workers, and computes what the
// in-process prism run computes.
func TestUniversalRunnerMatchesPrism(t *testing.T) {
	js := startJobServer(t)
	matchesPrism(t, universal(js.Endpoint, "sums-by-residue"), universal(js.Endpoint, "wrong-sums"))
	if !js.Ran("sums-by-residue") {
		t.Error("the job server's log does not show the job sums-by-residue: it did not run there")
	}
	if !js.Failed("wrong-sums") {
		t.Error("the job server's log does not show the job wrong-sums failing there")
	}
}

// matchesPrism runs the shuffle pipeline in process on prism and with opt and
// requires both to write the expected sums; then it submits the pipeline with
// a wrong expectation under wrongOpt: the passert is evaluated on that runner,
// so the job must fail with a *runners.JobError naming it.
func matchesPrism(t *testing.T, opt, wrongOpt runners.Options) {
	t.Helper()
	const n = 1000
	want := wantSums(n)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opt  runners.Options
	}{
		{"prism", runners.Options{}},
		{opt.Runner, opt},
	} {
		out := filepath.Join(dir, tc.name+".txt")
		start := time.Now()
		if _, err := runners.Run(context.Background(), sumsByResidue(n, out, want), tc.opt); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		t.Logf("%s run: %s", tc.name, time.Since(start).Round(time.Millisecond))
		if got := readLines(t, out); !slices.Equal(got, want) {
			t.Errorf("%s wrote %v, want %v", tc.name, got, want)
		}
	}
	wrong := slices.Clone(want)
	wrong[0] += "0"
	_, err := runners.Run(context.Background(), sumsByResidue(n, filepath.Join(dir, "wrong.txt"), wrong), wrongOpt)
	var je *runners.JobError
	if !errors.As(err, &je) || je.Runner != wrongOpt.Runner {
		t.Fatalf("a failing passert on %s: got %v, want a *runners.JobError from %s", wrongOpt.Runner, err, wrongOpt.Runner)
	}
}

// Workers that are not this process: the job server starts the SDK's boot
// loader (PROCESS), which fetches the staged --worker_binary and runs it.
// This test binary is that worker binary: ptest.Main's beam.Init turns it
// into an SDK worker when started with --worker. This is the path DOCKER
// on Flink, Spark and Dataflow take, minus the container.
func TestUniversalRunnerProcessWorkers(t *testing.T) {
	js := startJobServer(t)
	boot := buildBoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	want := wantSums(n)
	dir := t.TempDir()
	out, pids := filepath.Join(dir, "sums.txt"), filepath.Join(dir, "pids.txt")
	p, s := beam.NewPipelineWithRoot()
	addSumsByResidue(s, n, out, want)
	textio.Write(s, pids, beam.ParDo(s, workerPIDFn, beam.CreateList(s, []int{1, 2, 3})))
	opt := runners.Options{Runner: "universal", Endpoint: js.Endpoint, JobName: "process-workers",
		EnvironmentType: "PROCESS", EnvironmentConfig: fmt.Sprintf(`{"command": %q}`, boot), WorkerBinary: self}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	if _, err := runners.Run(ctx, p, opt); err != nil {
		t.Fatal(err)
	}
	t.Logf("universal run with PROCESS workers: %s", time.Since(start).Round(time.Millisecond))
	if got := readLines(t, out); !slices.Equal(got, want) {
		t.Errorf("wrote %v, want %v", got, want)
	}
	if !js.Ran("process-workers") {
		t.Error("the job server's log does not show the job process-workers: it did not run there")
	}
	workers := readLines(t, pids)
	if len(workers) == 0 {
		t.Fatal("no worker process ids written")
	}
	for _, pid := range workers {
		if pid == strconv.Itoa(os.Getpid()) {
			t.Errorf("a DoFn ran in this process (pid %s), not in a worker the job server started", pid)
		}
	}
}

// A job server that is not there is reported at once, naming the
// endpoint, rather than after the SDK's two-minute connection wait.
func TestUniversalRunnerUnreachable(t *testing.T) {
	start := time.Now()
	_, err := runners.Run(context.Background(), sumsByResidue(10, filepath.Join(t.TempDir(), "o.txt"), wantSums(10)), universal("127.0.0.1:1", ""))
	var je *runners.JobError
	if !errors.As(err, &je) || je.Runner != "universal" || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("got %v, want a *runners.JobError from universal naming 127.0.0.1:1", err)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("took %s to report an unreachable job server", took)
	}
}

// writeInteractions writes a small synthetic data set (as
// pipelines/preprocess's tests do) and returns its path.
func writeInteractions(t *testing.T, users int, seed uint64) string {
	t.Helper()
	cfg := synthetic.DefaultConfig()
	cfg.Users, cfg.Items, cfg.Seed = users, 200, seed
	var b bytes.Buffer
	if _, err := synthetic.WriteInteractionsCSV(&b, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "interactions.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The real preprocess pipeline on the job server writes the same
// sequences and vocabularies as on the in-process prism.
func TestUniversalRunnerPreprocess(t *testing.T) {
	js := startJobServer(t)
	input := writeInteractions(t, 150, 7)
	ctx := context.Background()
	type result struct {
		sum   preprocess.Summary
		seqs  []transforms.SequenceRow
		vocab []transforms.VocabRow
	}
	var res [2]result
	for i, opt := range []runners.Options{{}, universal(js.Endpoint, "preprocess-synthetic")} {
		cfg := preprocess.Config{Inputs: []string{input}, Format: "table", MaxSeqLen: 8, Stride: 4, OutDir: t.TempDir()}
		start := time.Now()
		sum, err := preprocess.Run(ctx, cfg, opt)
		if err != nil {
			t.Fatalf("runner %q: %v", cmp.Or(opt.Runner, "prism"), err)
		}
		t.Logf("preprocess on %s: %s", cmp.Or(opt.Runner, "prism"), time.Since(start).Round(time.Millisecond))
		seqs, err := transforms.LoadTable[transforms.SequenceRow](ctx, transforms.JoinPath(cfg.OutDir, transforms.TableSequences))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(seqs, func(a, b transforms.SequenceRow) int {
			return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Split, b.Split), cmp.Compare(a.Window, b.Window))
		})
		vocab, err := transforms.LoadTable[transforms.VocabRow](ctx, transforms.JoinPath(cfg.OutDir, transforms.TableVocab))
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(vocab, func(a, b transforms.VocabRow) int {
			return cmp.Or(cmp.Compare(a.Feature, b.Feature), cmp.Compare(a.ID, b.ID))
		})
		res[i] = result{sum, seqs, vocab}
	}
	if !js.Ran("preprocess-synthetic") {
		t.Error("the job server's log does not show the job preprocess-synthetic: it did not run there")
	}
	prism, univ := res[0], res[1]
	if len(prism.seqs) == 0 || len(prism.vocab) == 0 {
		t.Fatalf("prism wrote %d sequence and %d vocab rows; the comparison needs some", len(prism.seqs), len(prism.vocab))
	}
	if !reflect.DeepEqual(univ.seqs, prism.seqs) {
		t.Errorf("sequences differ: universal %d rows, prism %d rows", len(univ.seqs), len(prism.seqs))
		for i := range min(len(univ.seqs), len(prism.seqs)) {
			if !reflect.DeepEqual(univ.seqs[i], prism.seqs[i]) {
				t.Fatalf("first difference, row %d: universal %+v, prism %+v", i, univ.seqs[i], prism.seqs[i])
			}
		}
	}
	if !reflect.DeepEqual(univ.vocab, prism.vocab) {
		t.Errorf("vocab rows differ: universal %d rows, prism %d rows", len(univ.vocab), len(prism.vocab))
	}
	if a, b := prism.sum, univ.sum; a.Events != b.Events || a.Users != b.Users || a.Items != b.Items || !reflect.DeepEqual(a.Rows, b.Rows) {
		t.Errorf("summaries differ: universal events/users/items/rows %d/%d/%d/%v, prism %d/%d/%d/%v",
			b.Events, b.Users, b.Items, b.Rows, a.Events, a.Users, a.Items, a.Rows)
	}
}
