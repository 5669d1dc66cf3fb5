package train

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/genrec/genrec/models/hllm"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
)

// Models lists the model names a config's model: accepts.
var Models = []string{"hstu", "sasrec", "hllm"}

// ModelSpec is the model part of a train config.
type ModelSpec struct {
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
func (s ModelSpec) CheckShape() error {
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

// ModelConfig is a ModelSpec resolved against the data: what a checkpoint
// stores to rebuild its model.
type ModelConfig struct {
	ModelSpec
	Items     int `json:"items"`       // catalogue size with padding id 0
	MaxSeqLen int `json:"max_seq_len"` // N
	// The item side feature read from ModelSpec.ItemSideFeatures.
	Categories     int       `json:"categories,omitempty"`
	CategoryNames  []string  `json:"category_names,omitempty"`
	ItemCategories [][]int32 `json:"item_categories,omitempty"`
	// The user side feature read from ModelSpec.UserSideFeatures.
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
func (c ModelConfig) JSON() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic("train: " + err.Error())
	}
	return b
}

// ParseModelConfig reads a checkpoint's model configuration.
func ParseModelConfig(b []byte) (ModelConfig, error) {
	var c ModelConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("train: model configuration: %w", err)
	}
	return c, nil
}

// HSTU returns the HSTU configuration of c.
func (c ModelConfig) HSTU() hstu.Config {
	return hstu.Config{Items: c.Items, MaxSeqLen: c.MaxSeqLen, Transformer: c.Transformer, Hierarchical: c.Hierarchical,
		NoPositionBias: c.NoPositionBias, NoTimeBias: c.NoTimeBias, Categories: c.Categories, ItemCategories: c.ItemCategories,
		UserFeatures: c.UserFeatures, UserFeatureLists: c.UserFeatureLists}
}

// BuildModel creates the model c describes, initialised from seed.
func BuildModel(c ModelConfig, seed uint64) (sequential.Model, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6d6f64656c))
	switch c.Name {
	case "", "hstu":
		return hstu.New[float32](c.HSTU(), rng)
	case "sasrec":
		return newSASRec(c, rng)
	case "hllm":
		return newHLLM(c, rng)
	default:
		return nil, fmt.Errorf("train: unknown model %q; choose one of %v", c.Name, Models)
	}
}
