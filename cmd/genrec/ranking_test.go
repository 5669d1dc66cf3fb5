package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/transforms"
)

// TestRankingTask runs the seed's labelled example end to end on the demo
// data: preprocess with task: ranking, train (HSTU and the mean baseline),
// evaluate, predict (rows aligned with the ranking table) and export.
func TestRankingTask(t *testing.T) {
	dir := t.TempDir()
	if code := run(context.Background(), []string{"demo", "--out", filepath.Join(dir, "demo"), "--users", "200", "--items", "80"}); code != 0 {
		t.Fatalf("demo exit %d", code)
	}
	data, model := filepath.Join(dir, "ranking"), filepath.Join(dir, "model")
	config := filepath.Join(dir, "ranking.yaml")
	yaml := fmt.Sprintf(`preprocess:
  inputs: [%s]
  format: table
  task: ranking
  max_seq_len: 10
  out: %s
  ranking: {label_threshold: 4, split: time, split_ratio: [0.7, 0.1]}
train:
  data: %s
  transformer_params: {num_layers: 1, num_heads: 1, hidden_size: 8}
  mlp: [8]
  n_epoch: 2
  batch_size: 64
  seed: 2
  model_path: %s
`, filepath.Join(dir, "demo", "input", "interactions.csv"), data, data, model)
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := run(context.Background(), []string{"preprocess", "--config", config}); code != 0 {
		t.Fatalf("preprocess exit %d", code)
	}
	if code := run(context.Background(), []string{"train", "--config", config}); code != 0 {
		t.Fatalf("train exit %d", code)
	}
	// --resume continues both models from their last.ckpt (it was once
	// silently ignored on the ranking task).
	if code := run(context.Background(), []string{"train", "--config", config, "--resume", "--epochs", "3"}); code != 0 {
		t.Fatalf("train --resume exit %d", code)
	}
	m := readMetrics(t, filepath.Join(model, train.MetricsFile))
	for _, k := range []string{"model", "baseline"} {
		if r := m[k].(map[string]any); r["resumed"] != true || r["epochs"] != 3.0 {
			t.Errorf("%s after --resume --epochs 3: resumed %v, epochs %v; want true, 3", k, r["resumed"], r["epochs"])
		}
	}
	for _, k := range []string{"model", "baseline"} {
		test := m[k].(map[string]any)["test"].(map[string]any)
		if auc := test["AUC"].(float64); !(auc > 0 && auc < 1) {
			t.Errorf("%s test AUC %v", k, auc)
		}
	}
	ckpt := filepath.Join(model, "model", "best.ckpt")
	rep, err := train.EvaluateRanking(context.Background(), train.EvalConfig{Data: data, Checkpoint: ckpt})
	if err != nil {
		t.Fatal(err)
	}
	want := m["model"].(map[string]any)["test"].(map[string]any)["AUC"].(float64)
	if math.Abs(rep.AUC-want) > 1e-12 {
		t.Errorf("evaluate AUC %v, train's metrics.json %v", rep.AUC, want)
	}
	pred := filepath.Join(dir, "pred.parquet")
	if code := run(context.Background(), []string{"predict", "--data", data, "--checkpoint", ckpt, "--split", "all", "--out", pred}); code != 0 {
		t.Fatalf("predict exit %d", code)
	}
	rows, err := transforms.ReadParquetFile[train.PredictionRow](context.Background(), pred)
	if err != nil {
		t.Fatal(err)
	}
	d, err := train.LoadRankingData(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(d.Rows) {
		t.Fatalf("predict wrote %d rows for %d ranking rows", len(rows), len(d.Rows))
	}
	items := d.Vocabs["item_id"]
	for i, r := range rows {
		tok, _ := items.Token(d.Rows[i].Item)
		if r.User != d.Rows[i].UserKey || r.Item != tok || r.Timestamp != d.Rows[i].Timestamp || r.Label != d.Rows[i].Label || !(r.Probability > 0 && r.Probability < 1) {
			t.Fatalf("prediction %d = %+v, ranking row %+v", i, r, d.Rows[i])
		}
	}
	out := filepath.Join(dir, "ranking.onnx")
	if code := run(context.Background(), []string{"export", "--checkpoint", ckpt, "--out", out}); code != 0 {
		t.Fatalf("export exit %d", code)
	}
	if onnx.InitRuntime() == nil {
		res, err := train.Export(context.Background(), train.ExportConfig{Checkpoint: ckpt, Out: out, Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Checked || math.Abs(res.ONNXRanking.AUC-res.GoRanking.AUC) > 1e-4 || res.GoRanking.N == 0 {
			t.Errorf("export check: onnxruntime %+v, Go %+v", res.ONNXRanking, res.GoRanking)
		}
	}
	if code := run(context.Background(), []string{"export", "--checkpoint", filepath.Join(model, "baseline", "best.ckpt"), "--out", out + "2"}); code != 1 {
		t.Errorf("exporting the mean baseline: exit %d, want 1 (no ONNX graph)", code)
	}
	for _, args := range [][]string{
		{"predict", "--data", data, "--checkpoint", ckpt},
		{"predict", "--data", data, "--checkpoint", ckpt, "--out", pred, "--split", "later"},
		{"predict", "--data", data, "--checkpoint", filepath.Join(model, "nope.ckpt"), "--out", pred},
	} {
		if code := run(context.Background(), args); code != 2 {
			t.Errorf("genrec %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
}
