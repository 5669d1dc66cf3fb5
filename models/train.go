package models

import (
	"cmp"
	"context"
	"fmt"
	"io"

	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// TrainSpec is the train section of a config file: the data, the model
// and the trainer's options. Resolve turns it into the Config that
// checkpoints store; every training job (train, the data-parallel rounds,
// scheduled runs) resolves it here.
//
//	train:
//	  data: out/beauty            # a preprocess --out folder
//	  model: hstu
//	  transformer_params: {num_layers: 2, num_heads: 1, hidden_size: 64, dropout: 0.5}
//	  n_epoch: 200
//	  earlystop_patience: 20
//	  optimizer_params: {lr: 0.001, weight_decay: 0}
//	  model_path: out/beauty/hstu
type TrainSpec struct {
	Data            string `yaml:"data" json:"data"`
	Spec            `yaml:",inline" json:",inline"`
	MaxSeqLen       int `yaml:"max_seq_len" json:"max_seq_len"` // default: the data's
	trainer.Options `yaml:",inline" json:",inline"`
	// Baseline is what the ranking task trains beside the model on the same
	// rows: mean (the mean-pooled-history model, default) or none.
	Baseline string `yaml:"baseline" json:"baseline,omitempty"`
}

// DefaultTextBuckets is the trainable encoder's bucket count by default.
const DefaultTextBuckets = 1 << 15

// EmbeddingsDir is where an HLLM spec's item text vectors are written (by
// the embed-items pipeline) and read: item_text.embeddings, else
// <model_path>/item_text.
func (t TrainSpec) EmbeddingsDir() (string, error) {
	it := t.ItemText
	switch {
	case it == nil || it.Items == "":
		return "", fmt.Errorf("train: model hllm needs item_text.items, an item metadata file with titles (movies.csv, u.item, movies.dat)")
	case it.Embeddings != "":
		return it.Embeddings, nil
	case t.ModelPath != "":
		return transforms.JoinPath(t.ModelPath, "item_text"), nil
	}
	return "", fmt.Errorf("train: model hllm needs item_text.embeddings or model_path: a folder for the item text vectors")
}

// LoadData loads t.Data for training. For HLLM it adds the items that
// have a text in EmbeddingsDir but no interaction to the catalogue
// (WithTextItems), saying so on notes (nil: quiet); the item texts must
// have been encoded there first (pipelines/embeditems.ForModel).
func (t TrainSpec) LoadData(ctx context.Context, notes io.Writer) (*transforms.Dataset, error) {
	data, err := transforms.LoadDataset(ctx, t.Data)
	if err != nil || t.Name != "hllm" {
		return data, err
	}
	dir, err := t.EmbeddingsDir()
	if err != nil {
		return nil, err
	}
	data, added, err := WithTextItems(ctx, data, dir)
	if err != nil {
		return nil, err
	}
	if notes != nil && added > 0 {
		fmt.Fprintf(notes, "catalogue: %d items with a text but no interaction added (ids %d..%d); they are ranked from their text\n", added, data.Items()-added, data.Items()-1)
	}
	return data, nil
}

// Resolve is the model configuration t asks for on data: the data's
// catalogue and max_seq_len (unless t sets one) and the side features
// read from their files; for HLLM, the item text vectors (the embed-items
// output in EmbeddingsDir) and the items without training rows. data
// needs its Summary and Vocabs only, and its Rows for HLLM.
func (t TrainSpec) Resolve(ctx context.Context, data *transforms.Dataset) (Config, error) {
	mc := Config{Spec: t.Spec, Items: data.Items(), MaxSeqLen: cmp.Or(t.MaxSeqLen, data.Summary.MaxSeqLen)}
	if mc.Name == "" {
		mc.Name = "hstu"
	}
	if mc.Name == "hllm" {
		if t.ItemSideFeatures != nil || t.UserSideFeatures != nil {
			return mc, fmt.Errorf("train: model hllm takes no item_side_features or user_side_features: item_text describes its items")
		}
		dir, err := t.EmbeddingsDir()
		if err != nil {
			return mc, err
		}
		if it := t.ItemText; it.Trainable {
			if itemtext.EncoderName(t.LLM.ModelName) != itemtext.EncoderHashed {
				return mc, fmt.Errorf("train: item_text.trainable needs the built-in encoder (llm_params.model_name: hashed-ngram), not %q", t.LLM.ModelName)
			}
			mc.TextBuckets = cmp.Or(it.Buckets, DefaultTextBuckets)
			if mc.ItemBuckets, err = itemBuckets(ctx, dir, data, mc.TextBuckets); err != nil {
				return mc, err
			}
		} else if mc.Text, mc.TextDim, err = textTable(ctx, dir, data); err != nil {
			return mc, err
		}
		mc.NoID = untrainedItems(data.Rows, mc.Items)
		return mc, nil
	}
	if sf := t.ItemSideFeatures; sf != nil {
		names, cats, err := ItemCategories(ctx, *sf, data.ItemVocab())
		if err != nil {
			return mc, err
		}
		mc.Categories, mc.CategoryNames, mc.ItemCategories = len(names), names, cats
	}
	if sf := t.UserSideFeatures; sf != nil {
		names, lists, err := UserFeatures(ctx, *sf, data.Vocabs["user_id"])
		if err != nil {
			return mc, err
		}
		mc.UserFeatures, mc.UserFeatureNames, mc.UserFeatureLists = len(names), names, lists
	}
	return mc, nil
}
