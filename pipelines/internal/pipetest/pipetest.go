// Package pipetest holds the fixtures the pipeline packages' tests share:
// a preprocessed synthetic data set and a small trained or untrained HSTU
// checkpoint.
package pipetest

import (
	"bytes"
	"cmp"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

// MakeData writes a synthetic data set of users and items under dir and
// preprocesses it (sequences of at most 20 items, users of at least
// minLength events, 0 = the generator's default); it returns the
// preprocess output folder.
func MakeData(tb testing.TB, dir string, users, items, minLength int) string {
	tb.Helper()
	cfg := synthetic.DefaultConfig()
	cfg.Users, cfg.Items, cfg.MeanLength = users, items, 15
	if minLength > 0 {
		cfg.MinLength = minLength
	}
	var b bytes.Buffer
	if _, err := synthetic.WriteInteractionsCSV(&b, cfg); err != nil {
		tb.Fatal(err)
	}
	input := filepath.Join(dir, "interactions.csv")
	if err := os.WriteFile(input, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	pcfg := preprocess.Config{Inputs: []string{input}, Format: "table", OutDir: filepath.Join(dir, "data"), MaxSeqLen: 20}
	if _, err := preprocess.Run(context.Background(), pcfg, runners.Options{}); err != nil {
		tb.Fatal(err)
	}
	return pcfg.OutDir
}

// TrainModel trains a 1-layer HSTU of width 16 on data for two epochs and
// returns its checkpoint.
func TrainModel(tb testing.TB, data, modelPath string) string {
	tb.Helper()
	res, err := train.Run(context.Background(), train.Config{TrainSpec: models.TrainSpec{
		Data: data,
		Spec: models.Spec{Name: "hstu", Transformer: hstu.TransformerParams{NumLayers: 1, NumHeads: 1, HiddenSize: 16}},
		Options: trainer.Options{Epochs: 2, BatchSize: 64, EarlyStopPatience: -1, Seed: 3, ModelPath: modelPath,
			Loss: sequential.LossConfig{Negatives: 16}, Optimizer: trainer.OptimizerParams{LR: 5e-3}},
	}}, nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Checkpoint
}

// SaveUntrained saves a freshly initialised HSTU of layers layers of width
// d for a catalogue of items (without padding) and sequences of maxLen as
// a checkpoint at path.
func SaveUntrained(tb testing.TB, path string, items, maxLen, layers, d int) {
	tb.Helper()
	mc := models.Config{Spec: models.Spec{Name: "hstu", Transformer: hstu.TransformerParams{NumLayers: layers, NumHeads: 1, HiddenSize: d}},
		Items: items + 1, MaxSeqLen: maxLen}
	m, err := hstu.New[float32](mc.HSTU(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		tb.Fatal(err)
	}
	ck := &export.Checkpoint{Model: "hstu", ModelConfig: mc.JSON()}
	for _, p := range m.Params() {
		ck.Params = append(ck.Params, export.Tensor{Name: p.Name, Shape: p.Shape, Value: p.Value})
	}
	if err := ck.Save(context.Background(), path); err != nil {
		tb.Fatal(err)
	}
}

// SaveOtherItems saves at path an untrained checkpoint (SaveUntrained) for
// data's catalogue size whose stored item vocabulary holds data's items in
// reverse order: the same size, other ids — the case only a check of the
// catalogue's identity catches.
func SaveOtherItems(tb testing.TB, path, data string, maxLen, layers, d int) {
	tb.Helper()
	ctx := context.Background()
	vs, err := transforms.LoadVocabs(ctx, data)
	if err != nil {
		tb.Fatal(err)
	}
	v := vs["item_id"]
	SaveUntrained(tb, path, v.Len(), maxLen, layers, d)
	ck, err := export.LoadCheckpoint(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	r := &features.Vocab{Name: v.Name, Tokens: slices.Clone(v.Tokens), Counts: slices.Clone(v.Counts)}
	slices.Reverse(r.Tokens)
	var b bytes.Buffer
	if err := (features.Vocabs{r.Name: r}).WriteJSON(&b); err != nil {
		tb.Fatal(err)
	}
	ck.Vocab = b.Bytes()
	if err := ck.Save(ctx, path); err != nil {
		tb.Fatal(err)
	}
}

// Evaluate is the in-memory reference of the evaluate pipeline: it loads
// the checkpoint and the data folder (the catalogue checked and extended
// as models.CheckpointCatalogue says) and ranks split's rows with
// sequential.Evaluate. Tests compare the pipeline with it, and use it
// where they need a checkpoint's metrics.
func Evaluate(tb testing.TB, data, checkpoint, split string, ks []int) eval.Report {
	tb.Helper()
	rep, err := EvaluateErr(data, checkpoint, split, ks)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// EvaluateErr is Evaluate returning its error.
func EvaluateErr(data, checkpoint, split string, ks []int) (eval.Report, error) {
	ctx := context.Background()
	m, _, ck, err := models.Load(ctx, checkpoint)
	if err != nil {
		return eval.Report{}, err
	}
	d, err := transforms.LoadDataset(ctx, data)
	if err != nil {
		return eval.Report{}, err
	}
	v, err := models.CheckpointCatalogue(ck, checkpoint, d.ItemVocab(), data)
	if err != nil {
		return eval.Report{}, err
	}
	if len(ks) == 0 {
		ks = []int{10, 50, 200}
	}
	return sequential.Evaluate(m, d.WithItems(v).Rows, cmp.Or(split, transforms.SplitTest), ks, 0)
}

// Recs is one user's recommendations: item tokens, best first, and their
// scores.
type Recs struct {
	Items  []string
	Scores []float32
}

// Recommend is the in-memory reference of the recommend pipeline:
// GenRecTrainer.Predict's top k after each user's whole known history
// (the users with a test row when the data has any), by user key.
func Recommend(tb testing.TB, data, checkpoint string, k int) map[string]Recs {
	tb.Helper()
	ctx := context.Background()
	m, _, ck, err := models.Load(ctx, checkpoint)
	if err != nil {
		tb.Fatal(err)
	}
	d, err := transforms.LoadDataset(ctx, data)
	if err != nil {
		tb.Fatal(err)
	}
	vocab, err := models.CheckpointCatalogue(ck, checkpoint, d.ItemVocab(), data)
	if err != nil {
		tb.Fatal(err)
	}
	t, err := trainer.NewGenRecTrainer(m, trainer.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	preds, err := t.Predict(d.Rows, k)
	if err != nil {
		tb.Fatal(err)
	}
	out := make(map[string]Recs, len(preds))
	for _, p := range preds {
		r := Recs{Scores: p.Scores}
		for _, id := range p.Items {
			tok, ok := vocab.Token(id)
			if !ok {
				tb.Fatalf("item id %d has no token", id)
			}
			r.Items = append(r.Items, tok)
		}
		out[p.UserKey] = r
	}
	return out
}
