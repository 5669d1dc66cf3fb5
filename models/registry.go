package models

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models/hllm"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sasrec"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// The registry: a model's configuration (Spec, from a config file; Config,
// resolved against the data and stored in checkpoints), building a model by
// name (Build), rebuilding a trained one (Load, FromCheckpoint) and checking
// that a checkpoint is used on the catalogue it was trained on (CheckData,
// CheckpointCatalogue). Every job that builds or loads a model goes through
// here, so a new model is one case in Build.

// Names lists the model names a config's model: accepts.
var Names = []string{"hstu", "sasrec", "hllm"}

// Spec is the model part of a train config.
type Spec struct {
	Name         string                  `yaml:"model" json:"model"` // hstu (default), sasrec or hllm
	Transformer  hstu.TransformerParams  `yaml:"transformer_params" json:"transformer_params"`
	Hierarchical hstu.HierarchicalParams `yaml:"hierarchical_params" json:"hierarchical_params"`
	// NoPositionBias and NoTimeBias switch off HSTU's relative biases.
	NoPositionBias bool `yaml:"no_position_bias" json:"no_position_bias"`
	NoTimeBias     bool `yaml:"no_time_bias" json:"no_time_bias"`
	// ItemSideFeatures, when set, adds each item's categories (genres,
	// attributes) from an item metadata file to its input embedding.
	ItemSideFeatures *SideFile `yaml:"item_side_features" json:"item_side_features,omitempty"`
	// UserSideFeatures, when set, adds each user's gender, age and
	// occupation from a user metadata file (users.dat, u.user) at every
	// position of the user's sequences.
	UserSideFeatures *SideFile `yaml:"user_side_features" json:"user_side_features,omitempty"`
	// MLP lists the ranking head's hidden widths (ranking task; default 64, 32).
	MLP []int `yaml:"mlp" json:"mlp,omitempty"`
	// NoActions drops the ranking task's action embedding (each history
	// item's label, and "to predict" at the candidate), leaving items only.
	NoActions bool `yaml:"no_actions" json:"no_actions,omitempty"`
	// HLLM (model: hllm): the user model's shape and the item encoder
	// (llm_params), how text and ID embeddings fuse (fusion_params), and
	// the item texts (item_text). transformer_params are not used.
	LLM      hllm.LLMParams    `yaml:"llm_params" json:"llm_params,omitzero"`
	Fusion   hllm.FusionParams `yaml:"fusion_params" json:"fusion_params,omitzero"`
	ItemText *ItemText         `yaml:"item_text" json:"item_text,omitempty"`
}

// CheckShape reports a spec without a model shape: HLLM needs
// llm_params, the other models transformer_params.
func (s Spec) CheckShape() error {
	if s.Name == "hllm" {
		if s.LLM.NumLayers == 0 {
			return fmt.Errorf("no model shape: model hllm needs llm_params (hidden_size, num_heads, num_layers; see configs/ml-100k-hllm.yaml)")
		}
		return nil
	}
	if s.Transformer.NumLayers == 0 {
		return fmt.Errorf("no model shape: the config's train: section must set transformer_params (see configs/)")
	}
	return nil
}

// SideFile is an item metadata file: u.item, movies.dat, movies.csv or
// Beauty_item2attributes.json (format as transforms.ItemFormat; default:
// from the file name).
type SideFile struct {
	File   string `yaml:"file" json:"file"`
	Format string `yaml:"format" json:"format"`
}

// Config is a Spec resolved against the data: what a checkpoint
// stores to rebuild its model.
type Config struct {
	Spec
	Items     int `json:"items"`       // catalogue size with padding id 0
	MaxSeqLen int `json:"max_seq_len"` // N
	// The item side feature read from Spec.ItemSideFeatures.
	Categories     int       `json:"categories,omitempty"`
	CategoryNames  []string  `json:"category_names,omitempty"`
	ItemCategories [][]int32 `json:"item_categories,omitempty"`
	// The user side feature read from Spec.UserSideFeatures.
	UserFeatures     int       `json:"user_features,omitempty"`
	UserFeatureNames []string  `json:"user_feature_names,omitempty"`
	UserFeatureLists [][]int32 `json:"user_feature_lists,omitempty"`
	// HLLM: the width of the item text vectors, the items without
	// training interactions, and (not stored: checkpoints hold it as the
	// frozen text_emb tensor) the text table itself.
	TextDim int       `json:"text_dim,omitempty"`
	NoID    []int32   `json:"no_id,omitempty"`
	Text    []float32 `json:"-"`
	// HLLM's trainable encoder: the bucket count and each item's buckets.
	TextBuckets int       `json:"text_buckets,omitempty"`
	ItemBuckets [][]int32 `json:"item_buckets,omitempty"`
}

// JSON is the configuration as stored in checkpoints.
func (c Config) JSON() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic("models: " + err.Error())
	}
	return b
}

// ParseConfig reads a checkpoint's model configuration.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("models: model configuration: %w", err)
	}
	return c, nil
}

// HSTU returns the HSTU configuration of c.
func (c Config) HSTU() hstu.Config {
	return hstu.Config{Items: c.Items, MaxSeqLen: c.MaxSeqLen, Transformer: c.Transformer, Hierarchical: c.Hierarchical,
		NoPositionBias: c.NoPositionBias, NoTimeBias: c.NoTimeBias, Categories: c.Categories, ItemCategories: c.ItemCategories,
		UserFeatures: c.UserFeatures, UserFeatureLists: c.UserFeatureLists}
}

// Build creates the model c describes, initialised from seed. A
// configuration no model can be built from (an unknown name, a shape such
// as num_heads not dividing hidden_size) is transforms.ErrInvalid.
func Build(c Config, seed uint64) (sequential.Model, error) {
	m, err := build(c, seed)
	return m, transforms.Invalid(err)
}

func build(c Config, seed uint64) (sequential.Model, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64656c))
	switch c.Name {
	case "", "hstu":
		return hstu.New[float32](c.HSTU(), rng)
	case "sasrec":
		return newSASRec(c, rng)
	case "hllm":
		return newHLLM(c, rng)
	default:
		return nil, fmt.Errorf("models: unknown model %q; choose one of %v", c.Name, Names)
	}
}

// newSASRec builds the SASRec baseline from the same transformer_params:
// num_layers, num_heads, hidden_size and dropout.
func newSASRec(c Config, rng *rand.Rand) (sequential.Model, error) {
	t := c.Transformer
	return sasrec.New[float32](sasrec.Config{Items: c.Items, MaxSeqLen: c.MaxSeqLen, NumLayers: t.NumLayers,
		NumHeads: t.NumHeads, Hidden: t.HiddenSize, Dropout: t.Dropout,
		Categories: c.Categories, ItemCategories: c.ItemCategories,
		UserFeatures: c.UserFeatures, UserFeatureLists: c.UserFeatureLists}, rng)
}

// HLLM returns the HLLM configuration of c.
func (c Config) HLLM() hllm.Config {
	return hllm.Config{Items: c.Items, MaxSeqLen: c.MaxSeqLen, LLM: c.LLM, Fusion: c.Fusion, TextDim: c.TextDim, NoID: c.NoID,
		TextBuckets: c.TextBuckets, ItemBuckets: c.ItemBuckets}
}

// newHLLM builds the model with the text table of c when it has one (a
// checkpoint's comes with its weights).
func newHLLM(c Config, rng *rand.Rand) (sequential.Model, error) {
	m, err := hllm.New[float32](c.HLLM(), rng)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	if c.Text != nil {
		if err := m.SetText(c.Text); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ItemText says where an HLLM model's item texts come from: an item
// metadata file whose titles, genres (and tags) the embed-items pipeline
// encodes with llm_params.model_name into Embeddings, incrementally.
//
//	item_text:
//	  items: ../shared/data/ml-latest-small/movies.csv
//	  tags: ../shared/data/ml-latest-small/tags.csv
//	  embeddings: out/ml-latest-small/item_text   # default: <model_path>/item_text
type ItemText struct {
	Items    string `yaml:"items" json:"items"`
	Format   string `yaml:"format" json:"format,omitempty"`
	Tags     string `yaml:"tags" json:"tags,omitempty"`
	MaxTags  int    `yaml:"max_tags" json:"max_tags,omitempty"`
	Template string `yaml:"template" json:"template,omitempty"`
	// Dim is the built-in hashed encoder's width (default 64).
	Dim int `yaml:"dim" json:"dim,omitempty"`
	// Pooling is the text encoder's pooling: the model's own by default (BERT and
	// all-MiniLM-L6-v2: mean; LLaMA/Qwen2: last), or mean, cls, last, item.
	Pooling    string `yaml:"pooling" json:"pooling,omitempty"`
	Embeddings string `yaml:"embeddings" json:"embeddings,omitempty"`
	// Trainable switches to the trainable built-in encoder: a vector per
	// hashed word/character n-gram bucket (Buckets of them, default
	// 32768), learnt with the recommender, instead of frozen vectors.
	Trainable bool `yaml:"trainable" json:"trainable,omitempty"`
	Buckets   int  `yaml:"buckets" json:"buckets,omitempty"`
}

// Load rebuilds the model of a checkpoint with its weights.
func Load(ctx context.Context, path string) (sequential.Model, Config, *export.Checkpoint, error) {
	ck, err := export.LoadCheckpoint(ctx, path)
	if err != nil {
		return nil, Config{}, nil, err
	}
	m, mc, err := FromCheckpoint(ck, path)
	return m, mc, ck, err
}

// FromCheckpoint rebuilds the model of a loaded checkpoint (read from
// path, which errors name).
func FromCheckpoint(ck *export.Checkpoint, path string) (sequential.Model, Config, error) {
	mc, err := ParseConfig(ck.ModelConfig)
	if err != nil {
		return nil, mc, fmt.Errorf("%s: %w", path, err)
	}
	m, err := Build(mc, 0)
	if err != nil {
		return nil, mc, fmt.Errorf("%s: %w", path, err)
	}
	if err := trainer.LoadWeights(m.Params(), ck); err != nil {
		return nil, mc, fmt.Errorf("%s: %w", path, err)
	}
	return m, mc, nil
}

// checkpointItems returns the item vocabulary of checkpoint ck when it
// extends data's: data's items first, then the text-only items HLLM added
// (train.WithTextItems). ok is false when the checkpoint's catalogue is not
// such an extension.
func checkpointItems(ck *export.Checkpoint, data *features.Vocab, items int) (*features.Vocab, bool) {
	if ck == nil || len(ck.Vocab) == 0 || data == nil {
		return nil, false
	}
	vs, err := features.ReadVocabsJSON(bytes.NewReader(ck.Vocab), "checkpoint")
	if err != nil {
		return nil, false
	}
	v := vs[data.Name]
	if v == nil || v.Size() != items || v.Len() < data.Len() || !slices.Equal(v.Tokens[:data.Len()], data.Tokens) {
		return nil, false
	}
	return v, true
}

// CheckpointCatalogue returns the item vocabulary a checkpoint ranks over
// on data's item vocabulary: data's own when the sizes match, else the
// checkpoint's when it extends data's with text-only items, else an error
// naming both (also for a catalogue of the same size but other items),
// marked transforms.ErrInvalid.
func CheckpointCatalogue(ck *export.Checkpoint, path string, data *features.Vocab, dataDir string) (*features.Vocab, error) {
	mc, err := ParseConfig(ck.ModelConfig)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if data != nil && data.Size() == mc.Items {
		if len(ck.Vocab) > 0 {
			vs, err := features.ReadVocabsJSON(bytes.NewReader(ck.Vocab), path)
			if err != nil {
				return nil, err
			}
			if v := vs[data.Name]; v != nil && !slices.Equal(v.Tokens, data.Tokens) {
				return nil, transforms.Invalid(fmt.Errorf("%s was trained on another catalogue than %s (same size, other items): use it on the data it was trained on", path, dataDir))
			}
		}
		return data, nil
	}
	if v, ok := checkpointItems(ck, data, mc.Items); ok {
		return v, nil
	}
	n := 0
	if data != nil {
		n = data.Len()
	}
	return nil, transforms.Invalid(fmt.Errorf("%s was trained on a catalogue of %d items but %s has %d: use it on the data it was trained on", path, mc.Items-1, dataDir, n))
}

// CheckData checks, before a pipeline runs, that data is a finished
// retrieval preprocess output with a sequences table and that checkpoint
// loads and was trained on the data's catalogue: the same items in the same
// order, or the data's items and text-only ones after them
// (CheckpointCatalogue). It returns that
// size (with padding id 0) and the checkpoint. Its errors name the folder
// or file at fault.
func CheckData(ctx context.Context, data, checkpoint string) (int, *export.Checkpoint, error) {
	sum, err := transforms.ReadSummary(ctx, data)
	if err != nil {
		return 0, nil, fmt.Errorf("%s is not a finished preprocess output (run genrec preprocess first): %w", data, err)
	}
	if sum.Task == transforms.TaskRanking {
		return 0, nil, transforms.Invalid(fmt.Errorf("%s is a ranking data set (task: ranking); it has no sequences to rank (use genrec predict)", data))
	}
	table := transforms.JoinPath(data, transforms.TableSequences)
	if _, err := transforms.ExpandInputs(ctx, []string{transforms.JoinPath(table, "part-*.parquet")}); err != nil {
		return 0, nil, fmt.Errorf("sequences table of %s: %w", data, err)
	}
	ck, err := export.LoadCheckpoint(ctx, checkpoint)
	if err != nil {
		return 0, nil, err
	}
	mc, err := ParseConfig(ck.ModelConfig)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", checkpoint, err)
	}
	vs, err := transforms.LoadVocabs(ctx, data)
	if err != nil {
		return 0, nil, err
	}
	if _, err := CheckpointCatalogue(ck, checkpoint, vs["item_id"], data); err != nil {
		return 0, nil, err
	}
	return mc.Items, ck, nil
}
