package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/pipelines/evaluate"
	"github.com/genrec/genrec/pipelines/recommend"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

// trainFixture preprocesses a small synthetic data set and writes a train
// config for it; it returns the config path and the data folder.
func trainFixture(t *testing.T, epochs int) (config, data string) {
	t.Helper()
	dir := t.TempDir()
	data = filepath.Join(dir, "data")
	if code := run(context.Background(), []string{"demo", "--out", filepath.Join(dir, "demo"), "--users", "300", "--items", "120"}); code != 0 {
		t.Fatalf("demo exit %d", code)
	}
	data = filepath.Join(dir, "demo", "preprocess")
	config = filepath.Join(dir, "train.yaml")
	yaml := fmt.Sprintf(`train:
  data: %s
  model: hstu
  transformer_params: {num_layers: 1, num_heads: 1, hidden_size: 16, dropout: 0.1}
  item_side_features: {file: %s, format: ml-csv-movies}
  n_epoch: %d
  batch_size: 32
  earlystop_patience: -1
  checkpoint_every: 3
  optimizer_params: {lr: 0.005}
  loss: {negatives: 16}
  seed: 3
  model_path: %s
`, data, filepath.Join(dir, "demo", "input", "items.csv"), epochs, filepath.Join(dir, "model"))
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return config, data
}

func readMetrics(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTrainEvaluateRecommend runs the three commands end to end on the
// demo data and checks that they agree with each other.
func TestTrainEvaluateRecommend(t *testing.T) {
	config, data := trainFixture(t, 4)
	model := filepath.Join(filepath.Dir(config), "model")
	if code := run(context.Background(), []string{"train", "--config", config}); code != 0 {
		t.Fatalf("train exit %d", code)
	}
	for _, f := range []string{"best.ckpt", "last.ckpt", "train_log.jsonl", "train_log.png", train.MetricsFile} {
		if _, err := os.Stat(filepath.Join(model, f)); err != nil {
			t.Errorf("train output: %v", err)
		}
	}
	ck, err := export.LoadCheckpoint(context.Background(), filepath.Join(model, "best.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	mc, err := models.ParseConfig(ck.ModelConfig)
	if err != nil || mc.Categories != 20 || ck.Param("category_emb") == nil {
		t.Errorf("checkpoint: %d categories (err %v), category_emb %v; want the 20 synthetic categories", mc.Categories, err, ck.Param("category_emb") != nil)
	}
	m := readMetrics(t, filepath.Join(model, train.MetricsFile))
	test := m["test"].(map[string]any)
	rep, err := evaluate.Run(context.Background(), evaluate.Config{Data: data, Checkpoint: filepath.Join(model, "best.ckpt"), Out: t.TempDir()}, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Map()["NDCG@10"], test["NDCG@10"].(float64); math.Abs(got-want) > 1e-9 { // the pipeline sums users in another order
		t.Errorf("evaluate NDCG@10 %.6f, train's metrics.json %.6f", got, want)
	}
	// recommend is the Beam pipeline: 5 rows per user of the 300; the old
	// --pipeline is accepted with a deprecation note.
	for _, extra := range [][]string{nil, {"--pipeline"}} {
		recs := filepath.Join(t.TempDir(), "recs")
		code, stderr := runCaptured(t, append([]string{"recommend", "--data", data, "--checkpoint", filepath.Join(model, "best.ckpt"), "--k", "5", "--out", recs}, extra...))
		if code != 0 || (extra != nil) != strings.Contains(stderr, "--pipeline has been deprecated") {
			t.Fatalf("recommend %v: exit %d, stderr %q", extra, code, stderr)
		}
		rows, err := transforms.LoadTable[recommend.Recommendation](context.Background(), recs)
		if err != nil {
			t.Fatal(err)
		}
		users := map[string]int{}
		for _, r := range rows {
			if r.User == "" || r.Item == "" || r.Rank < 1 || r.Rank > 5 || r.Source != recommend.SourceModel {
				t.Fatalf("bad row %+v", r)
			}
			users[r.User]++
		}
		if len(users) != 300 || len(rows) != 300*5 {
			t.Errorf("recommend %v: %d rows for %d users, want 300 users x 5", extra, len(rows), len(users))
		}
	}
	// Data-parallel rounds, each a Beam pipeline: two shards, one round.
	rounds := filepath.Join(t.TempDir(), "rounds")
	if code := run(context.Background(), []string{"train", "--config", config, "--shards", "2", "--rounds", "1", "--model-path", rounds}); code != 0 {
		t.Fatalf("train --shards exit %d", code)
	}
	if _, err := os.Stat(filepath.Join(rounds, "best.ckpt")); err != nil {
		t.Errorf("train --shards: %v", err)
	}
	// genrec evaluate is the Beam pipeline (prism): the same figures, the
	// per-user table under --out; the old --pipeline is accepted, with a
	// deprecation note.
	for _, extra := range [][]string{nil, {"--pipeline"}} {
		evalOut := filepath.Join(t.TempDir(), "eval")
		code, stderr := runCaptured(t, append([]string{"evaluate", "--data", data, "--checkpoint", filepath.Join(model, "best.ckpt"), "--out", evalOut}, extra...))
		if code != 0 || (extra != nil) != strings.Contains(stderr, "--pipeline has been deprecated") {
			t.Fatalf("evaluate %v: exit %d, stderr %q", extra, code, stderr)
		}
		prep, err := evaluate.ReadReport(context.Background(), evalOut)
		if err != nil || !prep.Near(rep, 1e-9) {
			t.Errorf("evaluate %v: %+v (err %v), evaluate.Run %+v", extra, prep, err, rep)
		}
		if _, err := os.Stat(filepath.Join(evalOut, evaluate.MetricsTable)); err != nil {
			t.Errorf("evaluate %v: no per-user table: %v", extra, err)
		}
	}
	// Export: the ONNX file and the item table; with onnxruntime present,
	// the file ranks the test split as the Go model does.
	onnxPath := filepath.Join(t.TempDir(), "hstu.onnx")
	if code := run(context.Background(), []string{"export", "--checkpoint", filepath.Join(model, "best.ckpt"), "--out", onnxPath}); code != 0 {
		t.Fatalf("export exit %d", code)
	}
	items, err := transforms.ReadParquetFile[onnx.ItemEmbedding](context.Background(), train.ItemsPath(onnxPath))
	if err != nil || len(items) != mc.Items-1 {
		t.Errorf("item embeddings: %d rows (err %v), want %d", len(items), err, mc.Items-1)
	}
	if onnx.InitRuntime() == nil {
		res, err := train.Export(context.Background(), train.ExportConfig{Checkpoint: filepath.Join(model, "best.ckpt"), Out: onnxPath, Items: "-", Data: data})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Checked || res.ONNX.Users != res.Go.Users || res.ONNX.HR[0] != res.Go.HR[0] || math.Abs(res.ONNX.NDCG[0]-res.Go.NDCG[0]) > 1e-4 {
			t.Errorf("export check: onnxruntime %+v, Go %+v", res.ONNX, res.Go)
		}
	}
	// Usage errors, bad configs (found once read: an unknown key, a shape
	// no model can be built from) and missing inputs: exit 2 with a message.
	typo := filepath.Join(t.TempDir(), "typo.yaml")
	os.WriteFile(typo, []byte("train:\n  n_epochz: 3\n"), 0o644)
	heads := filepath.Join(t.TempDir(), "heads.yaml")
	os.WriteFile(heads, []byte("train:\n  data: "+data+"\n  transformer_params: {num_layers: 1, num_heads: 3, hidden_size: 32}\n"), 0o644)
	junk := filepath.Join(t.TempDir(), "junk.txt")
	os.WriteFile(junk, []byte("user_id\n\x00\x01binary\n"), 0o644)
	for _, args := range [][]string{
		{"recommend", "--data", data, "--checkpoint", filepath.Join(model, "best.ckpt"), "--users", junk, "--out", filepath.Join(t.TempDir(), "recs")},
		{"train", "--config", typo, "--data", data},
		{"train", "--config", heads, "--model-path", filepath.Join(t.TempDir(), "heads")},
		{"export", "--checkpoint", filepath.Join(model, "best.ckpt")},
		{"export", "--checkpoint", filepath.Join(model, "best.ckpt"), "--out", onnxPath, "--format", "tflite"},
		{"export", "--checkpoint", filepath.Join(model, "best.ckpt"), "--out", onnxPath, "--quantize", "int4"},
		{"export", "--checkpoint", filepath.Join(model, "nope.ckpt"), "--out", onnxPath},
		{"train"},
		{"train", "--config", config, "--device", "cuda"},
		{"evaluate", "--data", data},
		{"evaluate", "--data", data, "--checkpoint", filepath.Join(model, "nope.ckpt")},
		{"train", "--config", config, "--data", filepath.Join(model, "no-such-folder")},
		{"recommend", "--data", data, "--checkpoint", filepath.Join(model, "best.ckpt"), "--out", filepath.Join(t.TempDir(), "recs"), "--k", "0"},
	} {
		if code := run(context.Background(), args); code != 2 {
			t.Errorf("genrec %s: exit %d, want 2", strings.Join(args, " "), code)
		}
	}
	// A missing checkpoint is a failure naming the file.
	if _, err := evaluate.Run(context.Background(), evaluate.Config{Data: data, Checkpoint: filepath.Join(model, "nope.ckpt"), Out: t.TempDir()}, runners.Options{}); err == nil || !strings.Contains(err.Error(), "nope.ckpt") {
		t.Errorf("missing checkpoint: err = %v, want it to name nope.ckpt", err)
	}
}

// TestTrainKilledAndResumed kills genrec train with SIGKILL after its
// first checkpoint, reruns it with --resume and checks that the final
// metrics equal those of an uninterrupted run with the same seed.
func TestTrainKilledAndResumed(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three times")
	}
	config, _ := trainFixture(t, 6)
	model := filepath.Join(filepath.Dir(config), "model")
	// Uninterrupted run, into another model path.
	if code := run(context.Background(), []string{"train", "--config", config, "--model-path", model + "-full"}); code != 0 {
		t.Fatalf("train exit %d", code)
	}
	want := readMetrics(t, filepath.Join(model+"-full", train.MetricsFile))

	cmd := exec.Command(os.Args[0], "train", "--config", config)
	cmd.Env = append(os.Environ(), "GENREC_TEST_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	killed := false
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !killed; time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-exited:
			t.Skipf("train finished (%v) before it could be killed", err)
		default:
		}
		if ck, err := export.LoadCheckpoint(context.Background(), filepath.Join(model, "last.ckpt")); err == nil && ck.Epoch >= 2 {
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			killed = true
		}
	}
	if !killed {
		t.Fatal("no checkpoint of epoch 2 within 60 s")
	}
	if _, err := os.Stat(filepath.Join(model, train.MetricsFile)); err == nil {
		t.Skip("the run got to its end before the kill landed")
	}
	if code := run(context.Background(), []string{"train", "--config", config, "--resume"}); code != 0 {
		t.Fatalf("train --resume exit %d", code)
	}
	got := readMetrics(t, filepath.Join(model, train.MetricsFile))
	for _, split := range []string{"valid", "test"} {
		g, w := got[split].(map[string]any), want[split].(map[string]any)
		for _, k := range []string{"HR@10", "NDCG@10", "MRR"} {
			if g[k] != w[k] {
				t.Errorf("%s %s: resumed %v, uninterrupted %v", split, k, g[k], w[k])
			}
		}
	}
}
