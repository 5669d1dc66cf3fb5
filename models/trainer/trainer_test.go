package trainer_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sasrec"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// patternRows makes users whose histories follow item i → i+1 (mod the
// catalogue) from a random start, split leave-one-out: a pattern a
// sequential model learns and popularity cannot.
func patternRows(users, items, length int, seed uint64) []transforms.SequenceRow {
	rng := rand.New(rand.NewPCG(seed, 1))
	var rows []transforms.SequenceRow
	for u := range users {
		n := length/2 + rng.IntN(length/2+1)
		seq, times := make([]int64, n), make([]int64, n)
		start := rng.IntN(items - 1)
		for i := range n {
			seq[i] = int64(1 + (start+i)%(items-1))
			times[i] = int64(1000 + 60*i)
		}
		transforms.SplitUser(int64(u+1), "u"+string(rune('a'+u%26)), seq, times, transforms.SplitOptions{MaxSeqLen: 8}, func(r transforms.SequenceRow) {
			rows = append(rows, r)
		})
	}
	return rows
}

func newModel(t *testing.T, items int, seed uint64) *hstu.Model[float32] {
	t.Helper()
	m, err := hstu.New[float32](hstu.Config{Items: items, MaxSeqLen: 8,
		Transformer: hstu.TransformerParams{NumLayers: 1, NumHeads: 1, HiddenSize: 16, Dropout: 0.1}},
		rand.New(rand.NewPCG(seed, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func tinyOptions(dir string) trainer.Options {
	return trainer.Options{Epochs: 3, BatchSize: 16, Seed: 5, ModelPath: dir, EarlyStopPatience: -1,
		Loss: sequential.LossConfig{Negatives: 8}, Optimizer: trainer.OptimizerParams{LR: 0.01}, Ks: []int{10}}
}

func TestFitLearnsSequentialPattern(t *testing.T) {
	rows := patternRows(120, 30, 12, 1)
	m := newModel(t, 30, 1)
	opt := tinyOptions(t.TempDir())
	opt.Epochs = 15
	tr, err := trainer.NewGenRecTrainer(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Fit(context.Background(), rows, rows)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tr.Evaluate(rows, transforms.SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	// Random ranking of ~20 unseen candidates gives HR@10 ≈ 0.5 at best;
	// the pattern makes the target predictable.
	if hr := rep.HR[0]; hr < 0.9 {
		t.Errorf("test HR@10 = %.3f after %d epochs, want >= 0.9 (the i → i+1 pattern)", hr, res.Epochs)
	}
	for _, f := range []string{"best.ckpt", "last.ckpt", "train_log.jsonl", "train_log.png"} {
		if _, err := os.Stat(filepath.Join(opt.ModelPath, f)); err != nil {
			t.Errorf("model path: %v", err)
		}
	}
	if len(res.Log) != opt.Epochs || res.Log[0].Loss <= res.Log[len(res.Log)-1].Loss {
		t.Errorf("loss did not fall: first %.4f, last %.4f", res.Log[0].Loss, res.Log[len(res.Log)-1].Loss)
	}
	recs, err := tr.Predict(rows, 3)
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, r := range recs {
		if len(r.Items) != 3 {
			t.Fatalf("user %d: %d items, want 3", r.User, len(r.Items))
		}
		if r.Scores[0] < r.Scores[1] || r.Scores[1] < r.Scores[2] {
			t.Fatalf("user %d: scores not descending: %v", r.User, r.Scores)
		}
		hits++
	}
	if hits != 120 {
		t.Errorf("predicted for %d users, want 120", hits)
	}
}

// TestResumeMatchesUninterrupted kills a run mid-epoch (context
// cancelled), resumes it into a freshly initialised model and checks the
// final weights equal an uninterrupted run's bit for bit.
func TestResumeMatchesUninterrupted(t *testing.T) {
	rows := patternRows(60, 20, 10, 2)
	full := newModel(t, 20, 1)
	tr, _ := trainer.NewGenRecTrainer(full, tinyOptions(t.TempDir()))
	want, err := tr.Fit(context.Background(), rows, rows)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	first := newModel(t, 20, 1)
	tr1, _ := trainer.NewGenRecTrainer(first, tinyOptions(dir))
	tr1.OnStep = func(step int, _ float64) {
		if step == 6 { // epoch 2 of 3 (4 steps an epoch)
			cancel()
		}
	}
	if _, err := tr1.Fit(ctx, rows, rows); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Fit: err = %v, want context.Canceled", err)
	}
	ck, err := export.LoadCheckpoint(context.Background(), filepath.Join(dir, "last.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 1 || ck.EpochStep != 2 {
		t.Fatalf("checkpoint at epoch %d step %d, want epoch 1 + 2 steps", ck.Epoch, ck.EpochStep)
	}

	resumed := newModel(t, 20, 99) // other init: everything must come from the checkpoint
	tr2, _ := trainer.NewGenRecTrainer(resumed, tinyOptions(dir))
	if err := tr2.Resume(context.Background(), filepath.Join(dir, "last.ckpt")); err != nil {
		t.Fatal(err)
	}
	got, err := tr2.Fit(context.Background(), rows, rows)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epochs != want.Epochs || got.BestEpoch != want.BestEpoch {
		t.Errorf("resumed run: %d epochs, best %d; uninterrupted: %d, best %d", got.Epochs, got.BestEpoch, want.Epochs, want.BestEpoch)
	}
	if got.Best.NDCG[0] != want.Best.NDCG[0] {
		t.Errorf("best NDCG@10: resumed %.6f, uninterrupted %.6f", got.Best.NDCG[0], want.Best.NDCG[0])
	}
	for i, p := range full.Params() {
		q := resumed.Params()[i]
		for j := range p.Value {
			if p.Value[j] != q.Value[j] {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", p.Name, j, q.Value[j], p.Value[j])
			}
		}
	}
}

func TestNonFiniteLossStopsAndKeepsCheckpoint(t *testing.T) {
	rows := patternRows(40, 20, 10, 3)
	dir := t.TempDir()
	m := newModel(t, 20, 1)
	opt := tinyOptions(dir)
	opt.Epochs = 1
	tr, _ := trainer.NewGenRecTrainer(m, opt)
	if _, err := tr.Fit(context.Background(), rows, rows); err != nil {
		t.Fatal(err)
	}
	for i := range m.Params()[2].Value { // poison a layer weight
		m.Params()[2].Value[i] = float32(math.NaN())
	}
	tr.Options.Epochs = 2
	_, err := tr.Fit(context.Background(), rows, rows)
	if !errors.Is(err, trainer.ErrNonFinite) || !strings.Contains(err.Error(), "last.ckpt") || !strings.Contains(err.Error(), "epoch 2, step 1") {
		t.Fatalf("err = %v, want a non-finite error at epoch 2 step 1 naming last.ckpt", err)
	}
	ck, err := export.LoadCheckpoint(context.Background(), filepath.Join(dir, "last.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 1 {
		t.Errorf("last.ckpt is at epoch %d, want the last good one, 1", ck.Epoch)
	}
	for _, v := range ck.Param(m.Params()[2].Name).Value {
		if math.IsNaN(float64(v)) {
			t.Fatal("last.ckpt holds NaN weights")
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		name   string
		modify func(*trainer.Options)
		want   string
	}{
		{"device", func(o *trainer.Options) { o.Device = "cuda" }, `device "cuda" is not supported; this build trains on cpu`},
		{"metric", func(o *trainer.Options) { o.EarlyStopMetric = "NDCG@7" }, "earlystop_metric"},
		{"lr", func(o *trainer.Options) { o.Optimizer.LR = -1 }, "lr"},
		{"alpha", func(o *trainer.Options) { o.StochasticLength = 3 }, "stochastic_length_alpha"},
	}
	for _, tc := range cases {
		o := trainer.Options{}
		tc.modify(&o)
		_, err := trainer.NewGenRecTrainer(nil, o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

// TestGorgoniaEngineMatchesKernels trains the same model from the same
// seed for 2 epochs (dropout 0.1, sampled negatives) with each engine:
// the graph's steps give the direct path's losses and gradients bit for
// bit, so the weights end equal.
func TestGorgoniaEngineMatchesKernels(t *testing.T) {
	rows := patternRows(60, 20, 10, 4)
	var models [2]*hstu.Model[float32]
	var logs [2][]trainer.EpochLog
	for i, engine := range []string{trainer.EngineKernels, trainer.EngineGorgonia} {
		models[i] = newModel(t, 20, 1)
		opt := tinyOptions("")
		opt.Epochs, opt.Engine = 2, engine
		tr, err := trainer.NewGenRecTrainer(models[i], opt)
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Fit(context.Background(), rows, rows)
		if err != nil {
			t.Fatalf("engine %s: %v", engine, err)
		}
		logs[i] = res.Log
	}
	if len(logs[0]) != 2 || len(logs[1]) != 2 {
		t.Fatalf("epochs run: kernels %d, gorgonia %d, want 2", len(logs[0]), len(logs[1]))
	}
	init := newModel(t, 20, 1)
	if slices.Equal(init.Params()[2].Value, models[0].Params()[2].Value) {
		t.Fatal("the kernels engine did not change the weights")
	}
	for e := range logs[0] {
		if a, b := logs[0][e].Loss, logs[1][e].Loss; a != b {
			t.Errorf("epoch %d loss: kernels %v, gorgonia %v", e+1, a, b)
		}
	}
	for i, p := range models[0].Params() {
		q := models[1].Params()[i]
		for j := range p.Value {
			if p.Value[j] != q.Value[j] {
				t.Fatalf("%s[%d]: kernels %v, gorgonia %v", p.Name, j, p.Value[j], q.Value[j])
			}
		}
	}
}

// sasrecLike is a sequential.Model that is not HSTU.
type sasrecLike struct{ sequential.Model }

func (sasrecLike) Name() string { return "sasrec" }

func TestEngineValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		m      sequential.Model
		modify func(*trainer.Options)
		want   string
	}{
		{"unknown", nil, func(o *trainer.Options) { o.Engine = "tpu" }, `engine "tpu" is not supported; use kernels or gorgonia`},
		{"full softmax", nil, func(o *trainer.Options) { o.Engine = "gorgonia" }, "engine gorgonia needs sampled negatives"},
		{"shared, full softmax", nil, func(o *trainer.Options) { o.Loss.NegativesShared = true }, "loss.negatives_shared needs sampled negatives"},
		{"shared on gorgonia", nil, func(o *trainer.Options) { o.Engine, o.Loss.Negatives, o.Loss.NegativesShared = "gorgonia", 8, true }, "negatives_shared runs on engine kernels only"},
		{"not hstu", sasrecLike{}, func(o *trainer.Options) { o.Engine, o.Loss.Negatives = "gorgonia", 8 }, "engine gorgonia trains hstu models only, got model sasrec"},
	} {
		o := trainer.Options{}
		tc.modify(&o)
		_, err := trainer.NewGenRecTrainer(tc.m, o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	for _, engine := range []string{"", "kernels", "gorgonia"} {
		o := trainer.Options{Engine: engine, Loss: sequential.LossConfig{Negatives: 8}}
		if _, err := trainer.NewGenRecTrainer(newModel(t, 20, 1), o); err != nil {
			t.Errorf("engine %q: %v", engine, err)
		}
	}
}

// TestExportONNX fits a model and exports it: the file holds the trained
// weights (onnxruntime, when present, gives the trained model's user
// embeddings on test rows) and a model without an ONNX graph is refused
// with nothing written.
func TestExportONNX(t *testing.T) {
	rows := patternRows(60, 30, 12, 4)
	tr, err := trainer.NewGenRecTrainer(newModel(t, 30, 1), tinyOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Fit(context.Background(), rows, rows); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := tr.ExportONNX(context.Background(), path, onnx.Options{TopK: 5}); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() < int64(4*30*16) {
		t.Fatalf("exported file: %v (size %v), want at least the item table", err, st)
	}
	if onnx.InitRuntime() == nil {
		s, err := onnx.NewSession(path, nil, onnx.SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		idx := sequential.SplitRows(rows, transforms.SplitTest)[:10]
		b, err := sequential.NewBatch(rows, idx, 8, false)
		if err != nil {
			t.Fatal(err)
		}
		want := sequential.LastEmbeddings(tr.Model, b)
		got, err := s.Run(onnx.RequestFromBatch(b))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(float64(got.User[i]-want[i])) > 1e-4 {
				t.Fatalf("user_embedding[%d] = %v, trainer's model %v", i, got.User[i], want[i])
			}
		}
	}
	sm, err := sasrec.New[float32](sasrec.Config{Items: 30, MaxSeqLen: 8, NumLayers: 1, NumHeads: 1, Hidden: 16}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := trainer.NewGenRecTrainer(sm, tinyOptions(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "sasrec.onnx")
	if err := st.ExportONNX(context.Background(), bad, onnx.Options{}); err == nil || !strings.Contains(err.Error(), "sasrec") {
		t.Errorf("sasrec export: err = %v, want a refusal naming it", err)
	}
	if _, err := os.Stat(bad); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused export left %s (%v)", bad, err)
	}
}

// TestResumeRefusesChangedOptions resumes a checkpoint with another
// learning rate and batch size (refused, both named), with another n_epoch
// and patience (accepted: they do not shape the steps) and with
// ResumeChanged set (accepted).
func TestResumeRefusesChangedOptions(t *testing.T) {
	rows := patternRows(40, 20, 10, 3)
	dir := t.TempDir()
	opt := tinyOptions(dir)
	opt.Epochs = 1
	tr, _ := trainer.NewGenRecTrainer(newModel(t, 20, 1), opt)
	if _, err := tr.Fit(context.Background(), rows, rows); err != nil {
		t.Fatal(err)
	}
	last := filepath.Join(dir, "last.ckpt")

	changed := opt
	changed.Optimizer.LR *= 2
	changed.BatchSize++
	tr2, _ := trainer.NewGenRecTrainer(newModel(t, 20, 1), changed)
	err := tr2.Resume(context.Background(), last)
	var ce *trainer.ChangedError
	if !errors.As(err, &ce) || !errors.Is(err, trainer.ErrCannotResume) {
		t.Fatalf("resume with another lr: err = %v, want a *ChangedError", err)
	}
	if len(ce.Changes) != 2 || !strings.HasPrefix(ce.Changes[0], "batch_size: ") || !strings.HasPrefix(ce.Changes[1], "optimizer_params.lr: ") {
		t.Errorf("changes %q, want batch_size then optimizer_params.lr", ce.Changes)
	}
	if !strings.Contains(err.Error(), last) {
		t.Errorf("error %q does not name %s", err, last)
	}
	tr2.ResumeChanged = true
	if err := tr2.Resume(context.Background(), last); err != nil {
		t.Errorf("resume with ResumeChanged: %v", err)
	}

	longer := opt
	longer.Epochs, longer.EarlyStopPatience, longer.Threads = 3, 7, 1
	tr3, _ := trainer.NewGenRecTrainer(newModel(t, 20, 1), longer)
	if err := tr3.Resume(context.Background(), last); err != nil {
		t.Errorf("resume with more epochs and another patience: %v", err)
	}
	cos := opt.WithDefaults()
	cos.Optimizer.Cosine = true
	was, _ := json.Marshal(cos)
	cos.Epochs = 9
	if got := trainer.ChangedOptions(was, cos); len(got) != 1 || !strings.HasPrefix(got[0], "n_epoch: ") {
		t.Errorf("n_epoch under a cosine schedule: changes %q, want n_epoch (it stretches the schedule)", got)
	}
	if got := trainer.ChangedOptions(nil, longer); got != nil {
		t.Errorf("a checkpoint without options: changes %q, want none", got)
	}
}
