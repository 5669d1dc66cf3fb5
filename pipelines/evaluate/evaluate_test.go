package evaluate_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/pipelines/evaluate"
	"github.com/genrec/genrec/pipelines/internal/pipetest"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

var fixtureDir string

func TestMain(m *testing.M) {
	runners.SetLogLevel("warn")
	dir, err := os.MkdirTemp("", "genrec-evaluate-")
	if err != nil {
		panic(err)
	}
	fixtureDir = dir
	code := ptest.MainRet(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	fixtureOnce   sync.Once
	fixtureData   string
	fixtureCkpt   string
	fixtureFailed bool
)

// fixture is a preprocessed synthetic data set of 300 users and 120 items
// and a small HSTU trained on it for two epochs, shared by the tests.
func fixture(t *testing.T) (data, checkpoint string) {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureFailed = true
		fixtureData = makeData(t, fixtureDir, 300, 120)
		fixtureCkpt = trainModel(t, fixtureData, filepath.Join(fixtureDir, "model"))
		fixtureFailed = false
	})
	if fixtureFailed {
		t.Fatal("the shared fixture failed to build")
	}
	return fixtureData, fixtureCkpt
}

// The tolerance of HR, NDCG, MRR and AUC against the in-process
// evaluation: the ranks are identical, only the order of the combiner's
// floating-point sums may differ.
const tol = 1e-9

// The pipeline must give the numbers of the in-memory reference
// (pipetest.Evaluate) on the same data and checkpoint, and per user the
// ranks of sequential.Rank.
func TestRunMatchesInMemory(t *testing.T) {
	data, ckpt := fixture(t)
	ctx := context.Background()
	rows, err := transforms.LoadTable[transforms.SequenceRow](ctx, transforms.JoinPath(data, transforms.TableSequences))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		split string
		ks    []int
		batch int
		out   bool // set Out (else the default under the checkpoint folder)
	}{
		{name: "test-defaults", split: "", ks: nil, batch: 0},
		{name: "valid-small-batches", split: "valid", ks: []int{5, 10, 20}, batch: 7, out: true},
		{name: "test-batch-1", split: "test", ks: []int{1, 10}, batch: 1, out: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := evaluate.Config{Data: data, Checkpoint: ckpt, Split: tc.split, Ks: tc.ks, BatchSize: tc.batch}
			if tc.out {
				cfg.Out = filepath.Join(t.TempDir(), "eval")
			}
			got, err := evaluate.Run(ctx, cfg, runners.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := pipetest.EvaluateErr(data, ckpt, tc.split, tc.ks)
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, got, want)
			split := cmpOr(tc.split, transforms.SplitTest)
			out := cfg.Out
			if out == "" {
				out = filepath.Join(filepath.Dir(ckpt), "eval-"+split)
			}
			onDisk, err := evaluate.ReadReport(ctx, out)
			if err != nil || !reflect.DeepEqual(onDisk, got) {
				t.Errorf("metrics.json: %+v (err %v), Run returned %+v", onDisk, err, got)
			}
			users, err := transforms.LoadTable[evaluate.UserMetrics](ctx, filepath.Join(out, evaluate.MetricsTable))
			if err != nil {
				t.Fatal(err)
			}
			checkUsers(t, users, rows, ckpt, split, got)
			if _, err := os.Stat(filepath.Join(out, "_temporary")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the temporary folder is still there: %v", err)
			}
		})
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func checkReport(t *testing.T, got, want eval.Report) {
	t.Helper()
	if !got.Near(want, tol) {
		t.Errorf("report:\n got %+v\nwant %+v (in-memory reference)", got, want)
	}
	if want.Users < 100 || want.MRR <= 0 || want.MRR >= 1 {
		t.Errorf("degenerate fixture: %+v", want)
	}
	t.Logf("in-memory reference %+v", want)
}

// checkUsers compares metrics.parquet with sequential.Rank row by row and
// with the report's means.
func checkUsers(t *testing.T, users []evaluate.UserMetrics, rows []transforms.SequenceRow, ckpt, split string, rep eval.Report) {
	t.Helper()
	want := inProcessRanks(t, rows, ckpt, split)
	if len(users) != len(want) || int64(len(users)) != rep.Users {
		t.Fatalf("metrics.parquet has %d rows, want %d (report: %d users)", len(users), len(want), rep.Users)
	}
	var rr float64
	for _, u := range users {
		w, ok := want[u.User]
		if !ok || u.Rank != w.Rank || u.NumCandidates != w.NumCandidates || u.UserKey == "" || u.Target <= 0 {
			t.Fatalf("user %d: got %+v, want %+v", u.User, u, w)
		}
		if g := 1 / math.Log2(float64(u.Rank+2)); u.Gain != g || u.ReciprocalRank != 1/float64(u.Rank+1) {
			t.Fatalf("user %d: derived columns %+v", u.User, u)
		}
		rr += u.ReciprocalRank
	}
	if mrr := rr / float64(len(users)); math.Abs(mrr-rep.MRR) > tol {
		t.Errorf("mean reciprocal_rank %v, report MRR %v", mrr, rep.MRR)
	}
}

func inProcessRanks(t *testing.T, rows []transforms.SequenceRow, ckpt, split string) map[int64]eval.UserRank {
	t.Helper()
	m, _, _, err := models.Load(context.Background(), ckpt)
	if err != nil {
		t.Fatal(err)
	}
	ranks, err := sequential.Rank(m, rows, sequential.SplitRows(rows, split), sequential.Histories(rows, split), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]eval.UserRank{}
	for _, r := range ranks {
		out[r.User] = r
	}
	return out
}

// RankUsers, the pipeline's core, emits per user exactly what
// sequential.Rank computes, for several batch sizes (so that both the
// ProcessElement and the FinishBundle flushes run).
func TestRankUsers(t *testing.T) {
	data, ckpt := fixture(t)
	rows, err := transforms.LoadTable[transforms.SequenceRow](context.Background(), transforms.JoinPath(data, transforms.TableSequences))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := preprocess.ReadSummary(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		split string
		batch int
	}{{"test", 1}, {"test", 64}, {"valid", 1000}} {
		t.Run(tc.split+"-"+itoa(tc.batch), func(t *testing.T) {
			var want []any
			for _, r := range inProcessRanks(t, rows, ckpt, tc.split) {
				i := slices.IndexFunc(rows, func(x transforms.SequenceRow) bool { return x.User == r.User && x.Split == tc.split })
				g := 1 / math.Log2(float64(r.Rank+2))
				auc := float64(r.NumCandidates-1-r.Rank) / float64(r.NumCandidates-1)
				want = append(want, evaluate.UserMetrics{User: r.User, UserKey: rows[i].UserKey, Target: rows[i].Target,
					Rank: r.Rank, NumCandidates: r.NumCandidates, ReciprocalRank: 1 / float64(r.Rank+1), Gain: g, AUC: auc})
			}
			p, s := beam.NewPipelineWithRoot()
			got := evaluate.RankUsers(s, beam.CreateList(s, rows), ckpt, tc.split, sum.Items+1, tc.batch)
			passert.Equals(s, got, want...)
			if err := ptest.Run(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Errors a user can cause are reported before the job runs, naming the
// file at fault; a split without rows fails the job and publishes nothing.
func TestFailures(t *testing.T) {
	data, ckpt := fixture(t)
	dir := t.TempDir()
	sum, err := preprocess.ReadSummary(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.ckpt")
	saveUntrained(t, other, sum.Items+7, sum.MaxSeqLen, 1, 16)
	// Same size, other items: evaluate --pipeline ranked with it and printed
	// metrics (issue 15 item 1).
	shuffled := filepath.Join(dir, "shuffled.ckpt")
	pipetest.SaveOtherItems(t, shuffled, data, sum.MaxSeqLen, 1, 16)
	missing := filepath.Join(dir, "nope", "best.ckpt")
	trainOnly := trainOnlyCopy(t, data, filepath.Join(dir, "train-only"))
	tests := []struct {
		name string
		cfg  evaluate.Config
		want []string // substrings of the error
	}{
		{"missing checkpoint", evaluate.Config{Data: data, Checkpoint: missing}, []string{missing}},
		{"other catalogue", evaluate.Config{Data: data, Checkpoint: other}, []string{other, "catalogue", itoa(sum.Items + 7), itoa(sum.Items)}},
		{"other items", evaluate.Config{Data: data, Checkpoint: shuffled}, []string{shuffled, data, "another catalogue"}},
		{"not preprocessed", evaluate.Config{Data: dir, Checkpoint: ckpt}, []string{dir, "preprocess"}},
		{"bad split", evaluate.Config{Data: data, Checkpoint: ckpt, Split: "train"}, []string{"valid or test"}},
		{"bad ks", evaluate.Config{Data: data, Checkpoint: ckpt, Ks: []int{10, 10}}, []string{"ks"}},
		{"no rows of the split", evaluate.Config{Data: trainOnly, Checkpoint: ckpt}, []string{"no test rows", trainOnly}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Out = filepath.Join(t.TempDir(), "eval")
			_, err := evaluate.Run(context.Background(), tc.cfg, runners.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			// Nothing under a final name, and no temporary files.
			entries, _ := os.ReadDir(tc.cfg.Out)
			if len(entries) > 0 {
				t.Errorf("a failed run left %v in %s", entries, tc.cfg.Out)
			}
		})
	}
	// Pipeline refuses the same configurations while building.
	_, s := beam.NewPipelineWithRoot()
	if err := evaluate.Pipeline(s, evaluate.Config{Data: data, Checkpoint: other}); err == nil || !strings.Contains(err.Error(), "catalogue") {
		t.Errorf("Pipeline with another catalogue's checkpoint: %v", err)
	}
}

// trainOnlyCopy copies the data folder to dir without its valid and test
// rows.
func trainOnlyCopy(t *testing.T, data, dir string) string {
	t.Helper()
	ctx := context.Background()
	rows, err := transforms.LoadTable[transforms.SequenceRow](ctx, transforms.JoinPath(data, transforms.TableSequences))
	if err != nil {
		t.Fatal(err)
	}
	rows = slices.DeleteFunc(rows, func(r transforms.SequenceRow) bool { return r.Split != transforms.SplitTrain })
	var b bytes.Buffer
	if err := parquet.Write(&b, rows); err != nil {
		t.Fatal(err)
	}
	write := func(rel string, data []byte) {
		if err := transforms.WriteFileAtomic(ctx, filepath.Join(dir, rel), data); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(transforms.TableSequences, transforms.PartName(0, 1)), b.Bytes())
	copies := []string{preprocess.SummaryFile}
	parts, _ := filepath.Glob(filepath.Join(data, transforms.TableVocab, "*.parquet"))
	for _, f := range parts {
		copies = append(copies, filepath.Join(transforms.TableVocab, filepath.Base(f)))
	}
	for _, rel := range copies {
		src, err := os.ReadFile(filepath.Join(data, rel))
		if err != nil {
			t.Fatal(err)
		}
		write(rel, src)
	}
	return dir
}
