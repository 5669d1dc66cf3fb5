package recommend_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/pipelines/internal/pipetest"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/recommend"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

var fixtureDir string

func init() {
	register.Function1x1(recKey)
	register.DoFn2x0[recommend.Recommendation, func(string)](&scoreMismatchFn{})
	register.Emitter1[string]()
}

func TestMain(m *testing.M) {
	runners.SetLogLevel("warn")
	dir, err := os.MkdirTemp("", "genrec-recommend-")
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

// fixture is a preprocessed synthetic data set of 300 users and 120 items,
// some users with only 2 events (a training row and no test row), and a
// small HSTU trained on it for two epochs, shared by the tests.
func fixture(t *testing.T) (data, checkpoint string) {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureFailed = true
		fixtureData = makeData(t, fixtureDir, 300, 120, 2)
		fixtureCkpt = trainModel(t, fixtureData, filepath.Join(fixtureDir, "model"))
		fixtureFailed = false
	})
	if fixtureFailed {
		t.Fatal("the shared fixture failed to build")
	}
	return fixtureData, fixtureCkpt
}

func loadRows(t *testing.T, data string) []transforms.SequenceRow {
	t.Helper()
	rows, err := transforms.LoadTable[transforms.SequenceRow](context.Background(), transforms.JoinPath(data, transforms.TableSequences))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// inProcess is the in-memory reference (pipetest.Recommend).
func inProcess(t *testing.T, data, ckpt string, k int) map[string]pipetest.Recs {
	return pipetest.Recommend(t, data, ckpt, k)
}

// The pipeline must recommend the items, with the scores, of the
// in-memory reference (GenRecTrainer.Predict) for every user that covers, and for the
// users it leaves out (no test row) K items outside their history.
func TestRunMatchesInProcess(t *testing.T) {
	data, ckpt := fixture(t)
	rows := loadRows(t, data)
	known := map[string][]int64{} // user key -> every item of theirs
	hasTest := map[string]bool{}
	for _, r := range rows {
		known[r.UserKey] = append(append(known[r.UserKey], r.Items...), r.Target)
		hasTest[r.UserKey] = hasTest[r.UserKey] || r.Split == transforms.SplitTest
	}
	vocab := itemVocab(t, data)
	ck, err := export.LoadCheckpoint(context.Background(), ckpt)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		k, batch    int
		version     string
		wantVersion string
	}{
		{name: "defaults", wantVersion: ckpt + "@epoch" + itoa(ck.Epoch)},
		{name: "k3-batch7", k: 3, batch: 7, version: "v1", wantVersion: "v1"},
		{name: "k200-batch1", k: 200, batch: 1, version: "v2", wantVersion: "v2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "recs")
			res, err := recommend.Run(context.Background(), recommend.Config{Data: data, Checkpoint: ckpt, K: tc.k, Out: out,
				ModelVersion: tc.version, BatchSize: tc.batch}, runners.Options{})
			if err != nil {
				t.Fatal(err)
			}
			k := cmp.Or(tc.k, 10)
			want := inProcess(t, data, ckpt, k)
			got := readOutput(t, out)
			if res.Users != int64(len(known)) || len(got) != len(known) || res.ModelVersion != tc.wantVersion || len(res.Files) == 0 {
				t.Errorf("Run: %d users (%d in the output), version %q, %d files; want %d users, version %q",
					res.Users, len(got), res.ModelVersion, len(res.Files), len(known), tc.wantVersion)
			}
			extra := 0
			for user, recs := range got {
				for i, r := range recs {
					if r.Rank != int32(i+1) || r.ModelVersion != tc.wantVersion {
						t.Fatalf("user %s: row %d is %+v", user, i, r)
					}
				}
				w, ok := want[user]
				if !ok {
					if hasTest[user] {
						t.Fatalf("user %s has a test row but the reference wrote nothing", user)
					}
					extra++
					checkOutsideHistory(t, user, recs, known[user], vocab, k)
					continue
				}
				if len(recs) != len(w.Items) {
					t.Fatalf("user %s: %d items, in-process %d", user, len(recs), len(w.Items))
				}
				for i, r := range recs {
					if r.Item != w.Items[i] || math.Abs(float64(r.Score)-float64(w.Scores[i])) > scoreTol {
						t.Fatalf("user %s rank %d: got %s (%v), in-process %s (%v)", user, i+1, r.Item, r.Score, w.Items[i], w.Scores[i])
					}
				}
			}
			if len(want)+extra != len(got) || extra == 0 {
				t.Errorf("%d users in-process + %d without a test row, pipeline %d (the fixture needs some of both)", len(want), extra, len(got))
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// readOutput reads the part files of out, rows by user in rank order.
func readOutput(t *testing.T, out string) map[string][]recommend.Recommendation {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(out, "part-*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no part files in %s (%v)", out, err)
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != len(files) {
		t.Errorf("%s holds %d entries besides its %d part files", out, len(entries)-len(files), len(files))
	}
	m := map[string][]recommend.Recommendation{}
	for _, f := range files {
		rows, err := transforms.ReadParquetFile[recommend.Recommendation](context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			m[r.User] = append(m[r.User], r)
		}
	}
	for _, rs := range m {
		slices.SortFunc(rs, func(a, b recommend.Recommendation) int { return cmp.Compare(a.Rank, b.Rank) })
	}
	return m
}

func itemVocab(t *testing.T, data string) *features.Vocab {
	t.Helper()
	rows, err := transforms.LoadTable[transforms.VocabRow](context.Background(), transforms.JoinPath(data, transforms.TableVocab))
	if err != nil {
		t.Fatal(err)
	}
	vs, err := transforms.VocabsFromRows(rows)
	if err != nil {
		t.Fatal(err)
	}
	return vs[recommend.ItemVocab]
}

// checkOutsideHistory checks that a user's recommendations are min(k,
// unmasked items) distinct items, none of them already the user's, best
// first.
func checkOutsideHistory(t *testing.T, user string, recs []recommend.Recommendation, known []int64, vocab *features.Vocab, k int) {
	t.Helper()
	mine := map[string]bool{}
	for _, id := range known {
		tok, _ := vocab.Token(id)
		mine[tok] = true
	}
	if want := min(k, vocab.Len()-len(mine)); len(recs) != want {
		t.Errorf("user %s: %d items, want %d", user, len(recs), want)
	}
	seen := map[string]bool{}
	for i, r := range recs {
		if mine[r.Item] || seen[r.Item] || (i > 0 && r.Score > recs[i-1].Score) {
			t.Fatalf("user %s: rank %d item %s (score %v) is known, repeated or out of order", user, r.Rank, r.Item, r.Score)
		}
		seen[r.Item] = true
	}
}

// TopK, the pipeline's core, emits for the users with a test row the rows
// of the in-memory reference, whatever the batch size (so that both the
// ProcessElement and the FinishBundle flushes run): the same items at the
// same ranks, and the same scores up to scoreTol. Scores are compared with
// a tolerance because a BLAS may sum a batch of one user in another order
// than a batch of many (OpenBLAS's small-matrix kernels on AVX-512 do), so
// the last bits of a cosine depend on the batch size.
func TestTopK(t *testing.T) {
	data, ckpt := fixture(t)
	rows := loadRows(t, data)
	withTest := map[int64]bool{}
	for _, r := range rows {
		withTest[r.User] = withTest[r.User] || r.Split == transforms.SplitTest
	}
	rows = slices.DeleteFunc(rows, func(r transforms.SequenceRow) bool { return !withTest[r.User] })
	sum, err := preprocess.ReadSummary(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	const k = 4
	var want []recommend.Recommendation
	var wantKeys []any
	for user, w := range inProcess(t, data, ckpt, k) {
		for i := range w.Items {
			r := recommend.Recommendation{User: user, Rank: int32(i + 1), Item: w.Items[i], Score: w.Scores[i], ModelVersion: "test", Source: recommend.SourceModel}
			want = append(want, r)
			wantKeys = append(wantKeys, recKey(r))
		}
	}
	for _, batch := range []int{1, 32, 1000} {
		t.Run("batch"+itoa(batch), func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			cfg := recommend.Config{Data: data, Checkpoint: ckpt, K: k, BatchSize: batch, ModelVersion: "test"}
			got := recommend.TopK(s, beam.CreateList(s, rows), cfg, sum.Items+1)
			passert.Equals(s, beam.ParDo(s, recKey, got), wantKeys...)
			passert.Empty(s, beam.ParDo(s, &scoreMismatchFn{Want: want, Tol: scoreTol}, got))
			if err := ptest.Run(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// scoreTol bounds |score - in-process score| in TestTopK: cosines are in
// [-1, 1], so 1e-5 is a hundred float32 ulps at 1 and far below the gap
// between two items' scores that would change a ranking.
const scoreTol = 1e-5

// recKey is a recommendation without its score: user, rank, item and
// model version.
func recKey(r recommend.Recommendation) string {
	return r.User + "/" + strconv.Itoa(int(r.Rank)) + "/" + r.Item + "/" + r.ModelVersion
}

// scoreMismatchFn emits a description of every recommendation whose score
// is more than Tol from Want's at the same user and rank (a missing or
// different item is recKey's business).
type scoreMismatchFn struct {
	Want []recommend.Recommendation
	Tol  float64

	byKey map[string]float32
}

func (f *scoreMismatchFn) ProcessElement(r recommend.Recommendation, emit func(string)) {
	if f.byKey == nil {
		f.byKey = make(map[string]float32, len(f.Want))
		for _, w := range f.Want {
			f.byKey[recKey(w)] = w.Score
		}
	}
	w, ok := f.byKey[recKey(r)]
	if ok && math.Abs(float64(r.Score)-float64(w)) > f.Tol {
		emit(fmt.Sprintf("%s: score %v, in-process %v", recKey(r), r.Score, w))
	}
}

// Errors a user can cause name the file at fault; a failed run publishes
// nothing.
func TestFailures(t *testing.T) {
	data, ckpt := fixture(t)
	dir := t.TempDir()
	sum, err := preprocess.ReadSummary(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	bigger := filepath.Join(dir, "bigger.ckpt")
	saveUntrained(t, bigger, sum.Items+7, sum.MaxSeqLen, 1, 16)
	// A checkpoint of a catalogue of the same size but other items: caught
	// by the vocabulary it carries, when the workers load it.
	shuffled := filepath.Join(dir, "shuffled.ckpt")
	saveUntrained(t, shuffled, sum.Items, sum.MaxSeqLen, 1, 16)
	withVocab(t, shuffled, itemVocab(t, data))
	missing := filepath.Join(dir, "nope", "best.ckpt")
	tests := []struct {
		name string
		cfg  recommend.Config
		want []string // substrings of the error
	}{
		{"missing checkpoint", recommend.Config{Data: data, Checkpoint: missing}, []string{missing}},
		{"other catalogue size", recommend.Config{Data: data, Checkpoint: bigger}, []string{bigger, "catalogue", itoa(sum.Items + 7)}},
		{"other items", recommend.Config{Data: data, Checkpoint: shuffled}, []string{shuffled, "another catalogue"}},
		{"not preprocessed", recommend.Config{Data: dir, Checkpoint: ckpt}, []string{dir, "preprocess"}},
		{"negative k", recommend.Config{Data: data, Checkpoint: ckpt, K: -1}, []string{"k must be positive"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Out = filepath.Join(t.TempDir(), "recs")
			_, err := recommend.Run(context.Background(), tc.cfg, runners.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if entries, _ := os.ReadDir(tc.cfg.Out); len(entries) > 0 {
				t.Errorf("a failed run left %v in %s", entries, tc.cfg.Out)
			}
		})
	}
}

// withVocab stores a reversed copy of v as the item vocabulary of the
// checkpoint at path.
func withVocab(t *testing.T, path string, v *features.Vocab) {
	t.Helper()
	ck, err := export.LoadCheckpoint(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r := &features.Vocab{Name: v.Name, Tokens: slices.Clone(v.Tokens), Counts: slices.Clone(v.Counts)}
	slices.Reverse(r.Tokens)
	var b bytes.Buffer
	if err := (features.Vocabs{r.Name: r}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	ck.Vocab = b.Bytes()
	if err := ck.Save(context.Background(), path); err != nil {
		t.Fatal(err)
	}
}

// With Users only the listed users are written: a known one gets the
// model's items (as without Users), a new one the most popular items of
// the training rows scored by their share, with source "popular"; a file
// that lists none of the data's users is refused before anything runs.
func TestRunUsers(t *testing.T) {
	data, ckpt := fixture(t)
	rows := loadRows(t, data)
	a, b := rows[0].UserKey, rows[len(rows)-1].UserKey
	dir := t.TempDir()
	users := filepath.Join(dir, "users.txt")
	os.WriteFile(users, []byte(a+"\n\n  "+b+"  \nnew-user-1\n"+a+"\n"), 0o644)
	all := readOutput(t, runRecs(t, recommend.Config{Data: data, Checkpoint: ckpt, K: 5}))
	out := filepath.Join(dir, "recs")
	res, err := recommend.Run(context.Background(), recommend.Config{Data: data, Checkpoint: ckpt, K: 5, Users: users, Out: out}, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := readOutput(t, out)
	if len(got) != 3 || res.Users != 3 || res.NewUsers != 1 {
		t.Fatalf("%d users written (Result: %d, %d new), want %s, %s and new-user-1", len(got), res.Users, res.NewUsers, a, b)
	}
	for _, u := range []string{a, b} {
		if len(got[u]) != 5 || !slices.EqualFunc(got[u], all[u], func(x, y recommend.Recommendation) bool { return x == y }) {
			t.Errorf("user %s: %+v, without --users %+v", u, got[u], all[u])
		}
		if got[u][0].Source != recommend.SourceModel {
			t.Errorf("user %s: source %q", u, got[u][0].Source)
		}
	}
	ids, shares := recommend.Popular(rows, 5)
	vocab := itemVocab(t, data)
	pop := got["new-user-1"]
	if len(pop) != 5 {
		t.Fatalf("new user: %+v, want the 5 most popular items", pop)
	}
	for i, r := range pop {
		tok, _ := vocab.Token(ids[i])
		if r.Item != tok || r.Score != shares[i] || r.Source != recommend.SourcePopular || r.Rank != int32(i+1) {
			t.Errorf("new user rank %d: %+v, want item %s share %v from popular", i+1, r, tok, shares[i])
		}
	}
	for _, tc := range []struct{ content, want string }{
		{"nobody\nstranger\n", "none of the 2 users"},
		{"\n \n", "lists no user"},
	} {
		bad := filepath.Join(t.TempDir(), "users.txt")
		os.WriteFile(bad, []byte(tc.content), 0o644)
		badOut := filepath.Join(t.TempDir(), "recs")
		if _, err := recommend.Run(context.Background(), recommend.Config{Data: data, Checkpoint: ckpt, Users: bad, Out: badOut}, runners.Options{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("users file %q: err = %v, want %q", tc.content, err, tc.want)
		}
		if _, err := os.Stat(badOut); !os.IsNotExist(err) {
			t.Errorf("a refused run wrote %s", badOut)
		}
	}
}

// Popular counts the train split's history items and targets: most
// first, the lower id on a tie, padding dropped, scores their shares.
func TestPopular(t *testing.T) {
	rows := []transforms.SequenceRow{
		{Split: transforms.SplitTrain, Items: []int64{0, 3, 2}, Target: 3},
		{Split: transforms.SplitTrain, Items: []int64{2}, Target: 5},
		{Split: transforms.SplitTest, Items: []int64{9, 9, 9}, Target: 9},
	}
	ids, shares := recommend.Popular(rows, 3)
	if !slices.Equal(ids, []int64{2, 3, 5}) || !slices.Equal(shares, []float32{2. / 6, 2. / 6, 1. / 6}) {
		t.Errorf("Popular = %v %v, want [2 3 5] [2/6 2/6 1/6]", ids, shares)
	}
}

func runRecs(t *testing.T, cfg recommend.Config) string {
	t.Helper()
	cfg.Out = filepath.Join(t.TempDir(), "recs")
	if _, err := recommend.Run(context.Background(), cfg, runners.Options{}); err != nil {
		t.Fatal(err)
	}
	return cfg.Out
}
