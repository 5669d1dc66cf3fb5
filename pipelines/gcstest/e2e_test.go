package gcstest_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines/evaluate"
	"github.com/genrec/genrec/pipelines/internal/pipetest"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/recommend"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

func TestMain(m *testing.M) {
	runners.SetLogLevel("warn")
	os.Exit(m.Run())
}

// gs is the gs:// URL of an object or folder of the test bucket.
func gs(name string) string { return "gs://" + bucket + "/" + name }

// demoInput is a small synthetic demo data set: interactions.csv and
// items.csv as cmd/genrec demo writes them.
func demoInput(t *testing.T) (interactions, items []byte) {
	t.Helper()
	cfg := synthetic.DefaultConfig()
	cfg.Users, cfg.Items, cfg.MeanLength = 150, 80, 12
	var a, b bytes.Buffer
	if _, err := synthetic.WriteInteractionsCSV(&a, cfg); err != nil {
		t.Fatal(err)
	}
	if err := synthetic.WriteItemsCSV(&b, cfg); err != nil {
		t.Fatal(err)
	}
	return a.Bytes(), b.Bytes()
}

// tinyTrain is a 1-layer HSTU of width 8 trained for two epochs.
func tinyTrain(data, modelPath string) train.Config {
	return train.Config{TrainSpec: models.TrainSpec{
		Data: data,
		Spec: models.Spec{Name: "hstu", Transformer: hstu.TransformerParams{NumLayers: 1, NumHeads: 1, HiddenSize: 8}},
		Options: trainer.Options{Epochs: 2, BatchSize: 64, EarlyStopPatience: -1, Seed: 3, ModelPath: modelPath,
			Loss: sequential.LossConfig{Negatives: 8}, Optimizer: trainer.OptimizerParams{LR: 5e-3}},
	}}
}

// tempName matches what a finished job must not leave behind: run temp
// folders and WriteFileAtomic's sibling temp files.
var tempName = regexp.MustCompile(`(^|/)_temporary/|\.tmp-[0-9a-f]+$`)

// The whole chain with every input and output on gs://: preprocess (Beam
// on prism), train, evaluate as a pipeline and in process (same report),
// recommend as a pipeline, export to ONNX. Afterwards the bucket holds
// the expected final objects and no temporary one.
func TestChainOnGCS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four Beam pipelines and a training against a fake GCS server; skipped with -short")
	}
	start := time.Now()
	srv := startFakeGCS(t, nil)
	ctx := context.Background()
	interactions, items := demoInput(t)
	put(t, srv, "in/interactions.csv", interactions)
	put(t, srv, "in/items.csv", items)

	data := gs("out/data")
	sum, err := preprocess.Run(ctx, preprocess.Config{
		Inputs: []string{gs("in/interactions.csv")}, Format: "table", OutDir: data, MaxSeqLen: 20,
	}, runners.Options{})
	if err != nil {
		t.Fatalf("preprocess: %v", err)
	}
	if sum.Users == 0 || sum.Items == 0 {
		t.Fatalf("preprocess summary %+v: no users or items", sum)
	}
	for table, files := range sum.Tables {
		for _, f := range files {
			if !strings.HasPrefix(f, data+"/"+table+"/part-") {
				t.Errorf("summary lists %s under table %s; want it under %s", f, table, data)
			}
		}
	}
	t.Logf("preprocess: %d users, %d items (%s)", sum.Users, sum.Items, time.Since(start).Round(time.Millisecond))

	model := gs("out/model")
	res, err := train.Run(ctx, tinyTrain(data, model), nil, nil)
	if err != nil {
		t.Fatalf("train: %v", err)
	}
	ckpt := transforms.JoinPath(model, "best.ckpt")
	if res.Checkpoint != ckpt {
		t.Fatalf("train checkpoint %s, want %s", res.Checkpoint, ckpt)
	}
	t.Logf("train: best epoch %d (%s)", res.Fit.BestEpoch, time.Since(start).Round(time.Millisecond))

	ks := []int{10, 50}
	evalOut := gs("out/eval")
	got, err := evaluate.Run(ctx, evaluate.Config{Data: data, Checkpoint: ckpt, Ks: ks, Out: evalOut}, runners.Options{})
	if err != nil {
		t.Fatalf("evaluate pipeline: %v", err)
	}
	want, err := pipetest.EvaluateErr(data, ckpt, "", ks)
	if err != nil {
		t.Fatalf("in-memory evaluation: %v", err)
	}
	checkReport(t, got, want)
	if onDisk, err := evaluate.ReadReport(ctx, evalOut); err != nil {
		t.Error(err)
	} else {
		checkReport(t, onDisk, got)
	}
	t.Logf("evaluate: %d users (%s)", got.Users, time.Since(start).Round(time.Millisecond))

	recsOut := gs("out/recommendations")
	recs, err := recommend.Run(ctx, recommend.Config{Data: data, Checkpoint: ckpt, K: 5, Out: recsOut}, runners.Options{})
	if err != nil {
		t.Fatalf("recommend: %v", err)
	}
	if recs.Users != int64(sum.Users) || len(recs.Files) == 0 {
		t.Errorf("recommend: %d users in %v, want %d users", recs.Users, recs.Files, sum.Users)
	}
	onnxOut := gs("out/model.onnx")
	exp, err := train.Export(ctx, train.ExportConfig{Checkpoint: ckpt, Out: onnxOut})
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	if exp.Items != gs("out/model.items.parquet") || exp.Bytes == 0 {
		t.Errorf("export wrote %d bytes, items to %s; want items at %s", exp.Bytes, exp.Items, gs("out/model.items.parquet"))
	}
	t.Logf("recommend, export (%s)", time.Since(start).Round(time.Millisecond))

	names := objects(t, srv)
	for _, n := range names {
		if tempName.MatchString(n) {
			t.Errorf("temporary object left in the bucket: %s", n)
		}
	}
	wantObjects := []string{
		"in/interactions.csv",
		"out/data/summary.json",
		"out/data/sequences/part-00000-of-",
		"out/data/vocab/part-00000-of-",
		"out/model/best.ckpt",
		"out/model/last.ckpt",
		"out/model/metrics.json",
		"out/model/train_log.jsonl",
		"out/eval/metrics.json",
		"out/eval/metrics.parquet/part-00000-of-",
		"out/recommendations/part-00000-of-",
		"out/model.onnx",
		"out/model.items.parquet",
	}
	for _, w := range wantObjects {
		if !slicesContainsPrefix(names, w) {
			t.Errorf("bucket has no object %s*", w)
		}
	}
	if t.Failed() {
		t.Logf("bucket holds:\n  %s", strings.Join(names, "\n  "))
	}
}

func slicesContainsPrefix(names []string, prefix string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// checkReport compares two reports of the same ranks: equal users and
// cut-offs, metrics within 1e-9 (sums in another order may differ in the
// last bits).
func checkReport(t *testing.T, got, want eval.Report) {
	t.Helper()
	gm, wm := got.Map(), want.Map()
	if len(gm) != len(wm) || got.Users != want.Users {
		t.Fatalf("report %v, want %v", gm, wm)
	}
	for k, w := range wm {
		if math.Abs(gm[k]-w) > 1e-9 {
			t.Errorf("%s = %g, want %g", k, gm[k], w)
		}
	}
}
