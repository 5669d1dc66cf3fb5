package preprocess_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

func TestMain(m *testing.M) {
	runners.SetLogLevel("warn")
	ptest.Main(m)
}

// writeSynthetic writes a small synthetic data set and returns its path.
func writeSynthetic(t *testing.T, users int, seed uint64) string {
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

func sortRows(rows []transforms.SequenceRow) {
	slices.SortFunc(rows, func(a, b transforms.SequenceRow) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Split, b.Split), cmp.Compare(a.Window, b.Window))
	})
}

func loadRows(t *testing.T, out string) []transforms.SequenceRow {
	t.Helper()
	rows, err := transforms.LoadTable[transforms.SequenceRow](context.Background(), transforms.JoinPath(out, transforms.TableSequences))
	if err != nil {
		t.Fatal(err)
	}
	sortRows(rows)
	return rows
}

func run(t *testing.T, cfg preprocess.Config) (preprocess.Summary, error) {
	t.Helper()
	return preprocess.Run(context.Background(), cfg, runners.Options{})
}

// The pipeline must compute exactly what the plain in-memory version does.
func TestPipelineMatchesInMemory(t *testing.T) {
	input := writeSynthetic(t, 300, 3)
	for _, tc := range []struct{ maxLen, stride int }{{50, 0}, {7, 3}, {5, 9}} {
		t.Run(fmt.Sprintf("len%d_stride%d", tc.maxLen, tc.stride), func(t *testing.T) {
			cfg := preprocess.Config{Inputs: []string{input}, Format: "table", MaxSeqLen: tc.maxLen, Stride: tc.stride, OutDir: t.TempDir()}
			sum, err := run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			want, err := preprocess.InMemory(context.Background(), cfg, false)
			if err != nil {
				t.Fatal(err)
			}
			got := loadRows(t, cfg.OutDir)
			sortRows(want.Rows)
			if len(got) != len(want.Rows) {
				t.Fatalf("got %d rows, want %d", len(got), len(want.Rows))
			}
			if !reflect.DeepEqual(got, want.Rows) {
				for i := range got {
					if !reflect.DeepEqual(got[i], want.Rows[i]) {
						t.Fatalf("row %d: got %+v, want %+v", i, got[i], want.Rows[i])
					}
				}
			}
			if sum.Events != want.Read.Events || sum.Users != want.Vocabs["user_id"].Len() || sum.Items != want.Vocabs["item_id"].Len() {
				t.Errorf("summary events/users/items = %d/%d/%d, want %d/%d/%d", sum.Events, sum.Users, sum.Items,
					want.Read.Events, want.Vocabs["user_id"].Len(), want.Vocabs["item_id"].Len())
			}
			if sum.Rows["train"] != want.Split.Train || sum.Rows["test"] != want.Split.Test {
				t.Errorf("summary rows %v, want train %d test %d", sum.Rows, want.Split.Train, want.Split.Test)
			}
			if entries, _ := os.ReadDir(filepath.Join(cfg.OutDir, "_temporary")); len(entries) > 0 {
				t.Errorf("temporary files left behind: %v", entries)
			}
		})
	}
}

// Two runs on the same input give byte-identical vocab files and the same rows.
func TestRerunIsIdentical(t *testing.T) {
	input := writeSynthetic(t, 200, 5)
	var vocab [2][]byte
	var rows [2][]transforms.SequenceRow
	for i := range 2 {
		cfg := preprocess.Config{Inputs: []string{input}, MaxSeqLen: 10, OutDir: t.TempDir()}
		sum, err := run(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Tables["vocab"]) != 1 {
			t.Fatalf("vocab files = %v, want one", sum.Tables["vocab"])
		}
		vocab[i], err = os.ReadFile(sum.Tables["vocab"][0])
		if err != nil {
			t.Fatal(err)
		}
		rows[i] = loadRows(t, cfg.OutDir)
	}
	if !bytes.Equal(vocab[0], vocab[1]) {
		t.Errorf("vocab files differ between runs (%d vs %d bytes)", len(vocab[0]), len(vocab[1]))
	}
	if !reflect.DeepEqual(rows[0], rows[1]) {
		t.Errorf("sequence rows differ between runs")
	}
}

// corrupt writes n good ml-100k lines with bad lines at the given 1-based line numbers.
func corrupt(t *testing.T, n int, badAt ...int) string {
	t.Helper()
	var b strings.Builder
	bad := map[int]bool{}
	for _, l := range badAt {
		bad[l] = true
	}
	for i := 1; i <= n; i++ {
		if bad[i] {
			b.WriteString("this is not a rating line\n")
			continue
		}
		fmt.Fprintf(&b, "%d\t%d\t4\t%d\n", i%37+1, i%101+1, 880000000+i)
	}
	path := filepath.Join(t.TempDir(), "u.data")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadLinesAreCountedAndLocated(t *testing.T) {
	input := corrupt(t, 2000, 17, 1500)
	sum, err := run(t, preprocess.Config{Inputs: []string{input}, OutDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if sum.BadLines != 2 || sum.EventsRead != 1998 {
		t.Errorf("bad lines %d, events %d; want 2 and 1998", sum.BadLines, sum.EventsRead)
	}
	want := []string{input + ":17:", input + ":1500:"}
	if len(sum.BadSamples) != 2 || !strings.HasPrefix(sum.BadSamples[0], want[0]) || !strings.HasPrefix(sum.BadSamples[1], want[1]) {
		t.Errorf("bad samples %q, want prefixes %q", sum.BadSamples, want)
	}
}

func TestFailFastNamesFileAndLine(t *testing.T) {
	input := corrupt(t, 500, 123)
	out := t.TempDir()
	_, err := run(t, preprocess.Config{Inputs: []string{input}, FailFast: true, OutDir: out})
	if err == nil || !strings.Contains(err.Error(), input+":123") {
		t.Fatalf("error %v, want one naming %s:123", err, input)
	}
	assertNoOutput(t, out)
}

// A job over the bad-line cap fails after its writers ran; nothing may get
// a final name, and the output of an earlier good run must survive intact.
func TestFailedRunLeavesNoPartialOutput(t *testing.T) {
	out := t.TempDir()
	good := corrupt(t, 1000)
	if _, err := run(t, preprocess.Config{Inputs: []string{good}, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, out)
	bad := corrupt(t, 1000, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120) // 1.2% > 1%
	_, err := run(t, preprocess.Config{Inputs: []string{bad}, OutDir: out})
	if err == nil || !strings.Contains(err.Error(), "too many malformed lines: 12 of 1000") {
		t.Fatalf("error %v, want the bad-line cap", err)
	}
	if after := snapshot(t, out); !reflect.DeepEqual(before, after) {
		t.Errorf("output changed by a failed run:\nbefore %v\nafter  %v", keys(before), keys(after))
	}
	fresh := t.TempDir()
	if _, err := run(t, preprocess.Config{Inputs: []string{bad}, OutDir: fresh}); err == nil {
		t.Fatal("want an error")
	}
	assertNoOutput(t, fresh)
}

func assertNoOutput(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("failed run left %s", p)
		}
		return nil
	})
}

// snapshot maps every file under dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			m[p] = string(b)
		}
		return nil
	})
	return m
}

func keys(m map[string]string) []string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

// Paths go through Beam's filesystem registry: memfs:// stands in for gs://.
func TestNonLocalFilesystem(t *testing.T) {
	local := corrupt(t, 300)
	data, _ := os.ReadFile(local)
	ctx := context.Background()
	if err := transforms.WriteFileAtomic(ctx, "memfs://in/u.data", data); err != nil {
		t.Fatal(err)
	}
	sum, err := run(t, preprocess.Config{Inputs: []string{"memfs://in/u.data"}, OutDir: "memfs://out/ml"})
	if err != nil {
		t.Fatal(err)
	}
	if sum.EventsRead != 300 {
		t.Errorf("events %d, want 300", sum.EventsRead)
	}
	rows, err := transforms.LoadTable[transforms.SequenceRow](ctx, "memfs://out/ml/sequences")
	if err != nil || len(rows) == 0 {
		t.Fatalf("reading rows back from memfs: %d rows, %v", len(rows), err)
	}
}

// A feature the pipeline cannot fill is refused up front, not skipped.
func TestCategoryFeatureIsRefused(t *testing.T) {
	cfg := preprocess.Config{Inputs: []string{"x"}, OutDir: t.TempDir(), Schema: features.Schema{
		UserFeatures: []features.Spec{{Type: "sparse", Name: "user_id"}},
		ItemFeatures: []features.Spec{{Type: "sparse", Name: "item_id"}, {Type: "sparse", Name: "category"}},
	}}
	if err := cfg.WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), `"category"`) {
		t.Errorf("error %v, want one naming the category feature", err)
	}
}

// A run removes the temp folder a killed earlier run left (heartbeat two
// hours old) and keeps one whose heartbeat is fresh (a run still going).
func TestRunRemovesStaleTemporary(t *testing.T) {
	input := writeSynthetic(t, 50, 5)
	out := t.TempDir()
	mk := func(run string, age time.Duration) string {
		dir := filepath.Join(out, "_temporary", run)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{transforms.HeartbeatFile, "sequences-0a1b.parquet"} {
			p := filepath.Join(dir, f)
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			when := time.Now().Add(-age)
			if err := os.Chtimes(p, when, when); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	dead, live := mk("killed", 2*time.Hour), mk("going", time.Second)
	sum, err := run(t, preprocess.Config{Inputs: []string{input}, MaxSeqLen: 10, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("stale %s kept (err %v)", dead, err)
	}
	if _, err := os.Stat(filepath.Join(live, "sequences-0a1b.parquet")); err != nil {
		t.Errorf("live run's part removed: %v", err)
	}
	if len(sum.StaleTemps) != 1 || sum.StaleTemps[0] != dead {
		t.Errorf("StaleTemps = %v, want [%s]", sum.StaleTemps, dead)
	}
}

// A table whose columns are named otherwise and whose times are RFC 3339
// is read through the column-name and time-format keys; a time column
// that is missing names the flag to set; an unknown time format is refused.
func TestTableColumnNamesAndTimeFormat(t *testing.T) {
	var b strings.Builder
	b.WriteString("uid,iid,when\n")
	for u := range 5 {
		for k := range 4 {
			fmt.Fprintf(&b, "u%d,i%d,2026-11-0%dT10:00:00Z\n", u, (u+k)%7, k+1)
		}
	}
	in := filepath.Join(t.TempDir(), "events.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := preprocess.Config{Inputs: []string{in}, Format: "table", MaxSeqLen: 10, OutDir: t.TempDir(),
		UserCol: "uid", ItemCol: "iid", TimeCol: "when", TimeFormat: transforms.TimeRFC3339}
	sum, err := run(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.EventsRead != 20 || sum.BadLines != 0 || sum.Users != 5 {
		t.Errorf("events %d, bad %d, users %d; want 20, 0, 5", sum.EventsRead, sum.BadLines, sum.Users)
	}
	cfg.TimeCol, cfg.OutDir = "", t.TempDir()
	if _, err := run(t, cfg); err == nil || !strings.Contains(err.Error(), "--time-col") {
		t.Errorf("missing time column: err = %v, want it to name --time-col", err)
	}
	cfg.TimeFormat = "epoch"
	if err := cfg.WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "time_format") {
		t.Errorf("time format epoch: err = %v, want it to name time_format", err)
	}
}
