package gcstest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/genrec/genrec/pipelines/evaluate"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/recommend"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
)

// The injected faults answer 403 Forbidden: the GCS client retries 408,
// 429 and 5xx with exponential backoff (starting at 1 s, without end
// unless the context ends), so a lasting 5xx would test the backoff, not
// the error path; a 403 fails at once like a missing permission or a
// retention policy. One case shows a single 503 on a read being retried.

// uploadOf fails with code every upload (a new object, or the destination
// of a copy) whose name starts with prefix and contains sub.
func uploadOf(prefix, sub string, code int) fault {
	return func(method, name string) int {
		if method == http.MethodPost && strings.HasPrefix(name, prefix) && strings.Contains(name, sub) {
			return code
		}
		return 0
	}
}

// objectIs fails with code every request of method about the object name.
func objectIs(method, object string, code int) fault {
	return func(m, name string) int {
		if m == method && name == object {
			return code
		}
		return 0
	}
}

// readOf fails with code every GET of the object name (its metadata and
// its content); after fails such failures (fails > 0) it lets them
// through.
func readOf(object string, code, fails int) fault {
	n := 0
	return func(method, name string) int {
		if method == http.MethodGet && name == object && (fails <= 0 || n < fails) {
			n++
			return code
		}
		return 0
	}
}

// checkErr checks that err is an error that names each of want.
func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one naming %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not name %q", err, w)
		}
	}
}

// checkNone checks that no object of the bucket starts with any of
// prefixes, nor has a temporary name.
func checkNone(t *testing.T, names []string, prefixes ...string) {
	t.Helper()
	for _, n := range names {
		for _, p := range prefixes {
			if strings.HasPrefix(n, p) {
				t.Errorf("bucket holds %s after the failure", n)
			}
		}
		if tempName.MatchString(n) {
			t.Errorf("temporary object left in the bucket: %s", n)
		}
	}
}

// Preprocess with a failing upload, copy or read on gs:// fails with an
// error naming the object, publishes nothing under a final name (no
// sequences or vocab part, no summary.json) and leaves no temporary
// object.
func TestPreprocessFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Beam pipelines against a fake GCS server; skipped with -short")
	}
	final := []string{"out/data/sequences/", "out/data/vocab/", "out/data/summary.json"}
	tests := []struct {
		name    string
		fault   fault
		wantErr []string // "" = the run must succeed
		absent  []string // objects that must not exist afterwards
	}{
		{"upload of a temp part", uploadOf("out/data/_temporary/", "/sequences-", http.StatusForbidden),
			[]string{"parquet sink: committing " + gs("out/data/_temporary/"), "sequences-", "403"}, final},
		{"copy of a part to its final name", uploadOf("out/data/vocab/part-", "", http.StatusForbidden),
			[]string{"publishing vocab", gs("out/data/vocab/part-00000-of-00001.parquet"), "403"}, final},
		// The tables are published when summary.json is written; the
		// missing summary.json marks the output unfinished.
		{"upload of summary.json", uploadOf("out/data/summary.json", "", http.StatusForbidden),
			[]string{gs("out/data/summary.json"), "403"}, []string{"out/data/summary.json"}},
		{"read of the input", readOf("in/interactions.csv", http.StatusForbidden, 0),
			[]string{"reading " + gs("in/interactions.csv"), "403"}, []string{"out/"}},
		{"one 503 on the input, retried", readOf("in/interactions.csv", http.StatusServiceUnavailable, 1), nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &injector{}
			srv := startFakeGCS(t, in)
			interactions, _ := demoInput(t)
			put(t, srv, "in/interactions.csv", interactions)
			in.Set(tc.fault)
			_, err := preprocess.Run(context.Background(), preprocess.Config{
				Inputs: []string{gs("in/interactions.csv")}, Format: "table", OutDir: gs("out/data"), MaxSeqLen: 20,
			}, runners.Options{})
			if in.Failed() == 0 {
				t.Fatalf("the fault never fired (err %v)", err)
			}
			names := objects(t, srv)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("preprocess: %v", err)
				}
				checkNone(t, names)
				return
			}
			checkErr(t, err, tc.wantErr...)
			checkNone(t, names, tc.absent...)
			if t.Failed() {
				t.Logf("error: %v\nbucket holds:\n  %s", err, strings.Join(names, "\n  "))
			}
		})
	}
}

// A checkpoint that cannot be uploaded or published fails training with
// an error naming it, and leaves neither best.ckpt nor its temporary
// sibling.
func TestTrainCheckpointFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a Beam pipeline and a training against a fake GCS server; skipped with -short")
	}
	tests := []struct {
		name    string
		fault   fault
		wantErr []string
	}{
		{"upload", uploadOf("out/model/best.ckpt.tmp-", "", http.StatusForbidden),
			[]string{"writing " + gs("out/model/best.ckpt.tmp-"), "403"}},
		{"copy to the final name", objectIs(http.MethodPost, "out/model/best.ckpt", http.StatusForbidden),
			[]string{gs("out/model/best.ckpt"), "403"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &injector{}
			srv := startFakeGCS(t, in)
			data := preprocessed(t, srv)
			in.Set(tc.fault)
			_, err := train.Run(context.Background(), tinyTrain(data, gs("out/model")), nil, nil)
			if in.Failed() == 0 {
				t.Fatalf("the fault never fired (err %v)", err)
			}
			checkErr(t, err, tc.wantErr...)
			names := objects(t, srv)
			checkNone(t, names, "out/model/best.ckpt")
			if t.Failed() {
				t.Logf("error: %v\nbucket holds:\n  %s", err, strings.Join(names, "\n  "))
			}
		})
	}
}

// The evaluation and recommendation pipelines and the export, with an
// upload failing, fail with an error naming the object and publish
// nothing under a final name.
func TestScoringFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Beam pipelines and a training against a fake GCS server; skipped with -short")
	}
	in := &injector{}
	srv := startFakeGCS(t, in)
	data := preprocessed(t, srv)
	ckpt := gs("out/model/best.ckpt")
	if _, err := train.Run(context.Background(), tinyTrain(data, gs("out/model")), nil, nil); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name    string
		fault   fault
		run     func() error
		wantErr []string
		absent  []string
	}{
		{"evaluate: upload of a temp part", uploadOf("out/eval/_temporary/", "", http.StatusForbidden),
			func() error {
				_, err := evaluate.Run(ctx, evaluate.Config{Data: data, Checkpoint: ckpt, Out: gs("out/eval")}, runners.Options{})
				return err
			}, []string{gs("out/eval/_temporary/"), "403"}, []string{"out/eval/"}},
		{"evaluate: copy of the part to its final name", uploadOf("out/eval/metrics.parquet/part-", "", http.StatusForbidden),
			func() error {
				_, err := evaluate.Run(ctx, evaluate.Config{Data: data, Checkpoint: ckpt, Out: gs("out/eval")}, runners.Options{})
				return err
			}, []string{gs("out/eval/metrics.parquet/part-00000-of-00001.parquet"), "403"}, []string{"out/eval/"}},
		{"recommend: upload of a temp part", uploadOf("out/recs/_temporary/", "", http.StatusForbidden),
			func() error {
				_, err := recommend.Run(ctx, recommend.Config{Data: data, Checkpoint: ckpt, Out: gs("out/recs")}, runners.Options{})
				return err
			}, []string{gs("out/recs/_temporary/"), "403"}, []string{"out/recs/"}},
		{"export: upload of the ONNX file", uploadOf("out/model.onnx", "", http.StatusForbidden),
			func() error {
				_, err := train.Export(ctx, train.ExportConfig{Checkpoint: ckpt, Out: gs("out/model.onnx")})
				return err
			}, []string{gs("out/model.onnx"), "403"}, []string{"out/model.onnx", "out/model.items.parquet"}},
		{"export: upload of the item table", uploadOf("out/model.items.parquet", "", http.StatusForbidden),
			func() error {
				_, err := train.Export(ctx, train.ExportConfig{Checkpoint: ckpt, Out: gs("out/model.onnx")})
				return err
			}, []string{gs("out/model.items.parquet"), "403"}, []string{"out/model.onnx", "out/model.items.parquet"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in.Set(tc.fault)
			defer in.Set(nil)
			err := tc.run()
			if in.Failed() == 0 {
				t.Fatalf("the fault never fired (err %v)", err)
			}
			checkErr(t, err, tc.wantErr...)
			names := objects(t, srv)
			checkNone(t, names, tc.absent...)
			if t.Failed() {
				t.Logf("error: %v\nbucket holds:\n  %s", err, strings.Join(names, "\n  "))
			}
		})
	}
}

// preprocessed uploads the demo input to the bucket and preprocesses it
// into gs://bucket/out/data, which it returns.
func preprocessed(t *testing.T, srv *fakestorage.Server) string {
	t.Helper()
	interactions, _ := demoInput(t)
	put(t, srv, "in/interactions.csv", interactions)
	data := gs("out/data")
	if _, err := preprocess.Run(context.Background(), preprocess.Config{
		Inputs: []string{gs("in/interactions.csv")}, Format: "table", OutDir: data, MaxSeqLen: 20,
	}, runners.Options{}); err != nil {
		t.Fatalf("preprocess: %v", err)
	}
	return data
}
