package schedule

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/transforms"
)

// warmStart prepares training in cfg.ModelPath to start from the weights
// of prev (a finished partition's model/best.ckpt) when prev has the
// model configuration cfg trains on cfg.Data, same item catalogue
// included. It returns the reason when it does not (a cold start).
//
// It works through train.Run's resume: it writes prev as
// cfg.ModelPath/last.ckpt with the weights only, at epoch 0 and step 0,
// with no AdamW moments and no best metric, and sets cfg.Resume. Resuming
// from that is training a fresh trainer whose model holds prev's weights
// (trainer.LoadWeights), which is what a warm start is.
func warmStart(ctx context.Context, cfg *train.Config, prev string) (reason string, err error) {
	if cfg.Name == "hllm" {
		return "HLLM's model configuration (the items without training rows, the text-only items) follows each partition's data", nil
	}
	ck, err := export.LoadCheckpoint(ctx, prev)
	if err != nil {
		return fmt.Sprintf("cannot read %s: %v", prev, err), nil
	}
	mc, itemVocab, err := modelConfig(ctx, *cfg)
	if err != nil {
		return "", err
	}
	prevMC, err := models.ParseConfig(ck.ModelConfig)
	if err != nil {
		return fmt.Sprintf("%s: %v", prev, err), nil
	}
	prevVocab, err := features.ReadVocabsJSON(bytes.NewReader(ck.Vocab), prev)
	if err != nil || prevVocab["item_id"] == nil {
		return fmt.Sprintf("%s holds no item vocabulary to compare the catalogue with", prev), nil
	}
	switch {
	case prevMC.Items != mc.Items:
		return fmt.Sprintf("the catalogue changed: %d items in %s, %d now", prevMC.Items-1, prev, mc.Items-1), nil
	case !slices.Equal(prevVocab["item_id"].Tokens, itemVocab.Tokens):
		return fmt.Sprintf("the catalogue changed: the same %d items, but with other ids than in %s (ids follow item counts)", mc.Items-1, prev), nil
	case !bytes.Equal(ck.ModelConfig, mc.JSON()):
		return fmt.Sprintf("the model configuration changed:\n  %s: %s\n  now: %s", prev, ck.ModelConfig, mc.JSON()), nil
	}
	warm := &export.Checkpoint{
		Model: ck.Model, ModelConfig: ck.ModelConfig, TrainConfig: ck.TrainConfig, Vocab: ck.Vocab,
		Best: math.Inf(-1), Params: make([]export.Tensor, len(ck.Params)),
	}
	for i, p := range ck.Params {
		warm.Params[i] = export.Tensor{Name: p.Name, Shape: p.Shape, Value: p.Value}
	}
	if err := warm.Save(ctx, transforms.JoinPath(cfg.ModelPath, "last.ckpt")); err != nil {
		return "", err
	}
	cfg.Resume = true
	return "", nil
}

// modelConfig is the models.Config train.Run builds for cfg on
// cfg.Data, and the data's item vocabulary. It reads the summary and
// vocabularies only, not the sequences.
func modelConfig(ctx context.Context, cfg train.Config) (models.Config, *features.Vocab, error) {
	sum, err := preprocess.ReadSummary(ctx, cfg.Data)
	if err != nil {
		return models.Config{}, nil, err
	}
	vs, err := transforms.LoadVocabs(ctx, cfg.Data)
	if err != nil {
		return models.Config{}, nil, err
	}
	data := &transforms.Dataset{Dir: cfg.Data, Summary: sum, Vocabs: vs}
	if data.ItemVocab() == nil {
		return models.Config{}, nil, fmt.Errorf("schedule: %s has no item_id vocabulary", cfg.Data)
	}
	mc, err := cfg.Resolve(ctx, data)
	return mc, data.ItemVocab(), err
}
