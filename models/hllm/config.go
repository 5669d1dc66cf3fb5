package hllm

import (
	"fmt"
	"math"
)

// Fusion types of FusionParams.FusionType.
const (
	FusionConcat = "concat" // MLP([text, id]) through FusionDims
	FusionSum    = "sum"    // text + id
	FusionGate   = "gate"   // g⊙text + (1-g)⊙id, g = σ([text, id] W_g + b_g)
	FusionNone   = "none"   // text only: no ID embeddings
)

// Backbones of LLMParams.Backbone.
const (
	BackboneHSTU    = "hstu"    // HSTU layers (models/hstu)
	BackboneSoftmax = "softmax" // causal softmax blocks (models/sasrec)
)

// LLMParams is the seed API's llm_params. ModelName chooses the item text
// encoder (read by the pipelines, not the model): "hashed-ngram", the
// built-in one, or a HuggingFace BERT folder (local or gs://). The other fields shape
// the user model, the causal transformer over item embeddings.
type LLMParams struct {
	ModelName  string  `yaml:"model_name" json:"model_name,omitempty"`
	Backbone   string  `yaml:"backbone" json:"backbone,omitempty"` // hstu (default) or softmax
	HiddenSize int     `yaml:"hidden_size" json:"hidden_size"`     // d
	NumHeads   int     `yaml:"num_heads" json:"num_heads"`
	NumLayers  int     `yaml:"num_layers" json:"num_layers"`
	Dropout    float64 `yaml:"dropout" json:"dropout"`
}

// FusionParams is the seed API's fusion_params: how an item's text vector
// and its ID embedding become the item embedding.
type FusionParams struct {
	FusionType string  `yaml:"fusion_type" json:"fusion_type,omitempty"` // concat (default), sum, gate, none
	FusionDims []int   `yaml:"fusion_dims" json:"fusion_dims,omitempty"` // concat's hidden widths (default [hidden_size])
	Dropout    float64 `yaml:"dropout" json:"dropout"`                   // on concat's hidden layers
	// IDDropout is the probability that an item's ID embedding is left out
	// of a training step (drawn per item and step), so that the model
	// learns to rank from text alone: what items without interactions
	// (cold start) have. Default 0.1; negative means none.
	IDDropout float64 `yaml:"id_dropout" json:"id_dropout"`
}

// Config is everything that fixes an HLLM model's shape.
type Config struct {
	Items     int          `json:"items"`       // catalogue size, padding id 0 included
	MaxSeqLen int          `json:"max_seq_len"` // N
	LLM       LLMParams    `json:"llm_params"`
	Fusion    FusionParams `json:"fusion_params"`
	// TextDim is the width of the item text vectors (the encoder's Dim),
	// projected by a trained W_p. Zero with the trainable encoder.
	TextDim int `json:"text_dim"`
	// TextBuckets > 0 is the trainable encoder instead: a learned vector
	// per hashed n-gram bucket, an item's text part the mean over its
	// ItemBuckets[item] (itemtext.HashedNGram.Features).
	TextBuckets int       `json:"text_buckets,omitempty"`
	ItemBuckets [][]int32 `json:"item_buckets,omitempty"`
	// NoID lists the items that have no ID embedding: those without a
	// training interaction, whose embedding comes from their text alone.
	NoID []int32 `json:"no_id,omitempty"`
}

// LogitScaleInit and LogitScaleMax are HLLM's logit-scale initial value
// ln(1/0.07) and upper clamp ln 100 (the lower is 0).
var (
	LogitScaleInit = math.Log(1 / 0.07)
	LogitScaleMax  = math.Log(100)
)

// WithDefaults fills the zero fields: backbone hstu, fusion concat with one
// hidden layer of hidden_size, ID dropout 0.1.
func (c Config) WithDefaults() Config {
	if c.LLM.Backbone == "" {
		c.LLM.Backbone = BackboneHSTU
	}
	if c.Fusion.FusionType == "" {
		c.Fusion.FusionType = FusionConcat
	}
	if c.Fusion.FusionType == FusionConcat && c.Fusion.FusionDims == nil {
		c.Fusion.FusionDims = []int{c.LLM.HiddenSize}
	}
	if c.Fusion.IDDropout == 0 {
		c.Fusion.IDDropout = 0.1
	}
	return c
}

// Validate reports the first impossible setting, named as in the config
// file.
func (c Config) Validate() error {
	l, f := c.LLM, c.Fusion
	switch {
	case c.Items < 2:
		return fmt.Errorf("hllm: items must be at least 2 (padding and one item), got %d", c.Items)
	case c.MaxSeqLen < 1:
		return fmt.Errorf("hllm: max_seq_len must be positive, got %d", c.MaxSeqLen)
	case l.HiddenSize < 1 || l.NumHeads < 1 || l.NumLayers < 1:
		return fmt.Errorf("hllm: llm_params.hidden_size, num_heads and num_layers must be positive, got %d, %d, %d", l.HiddenSize, l.NumHeads, l.NumLayers)
	case l.HiddenSize%l.NumHeads != 0:
		return fmt.Errorf("hllm: llm_params.hidden_size %d is not a multiple of num_heads %d", l.HiddenSize, l.NumHeads)
	case l.Dropout < 0 || l.Dropout >= 1:
		return fmt.Errorf("hllm: llm_params.dropout must be in [0, 1), got %v", l.Dropout)
	case l.Backbone != BackboneHSTU && l.Backbone != BackboneSoftmax:
		return fmt.Errorf("hllm: llm_params.backbone %q: want %s or %s", l.Backbone, BackboneHSTU, BackboneSoftmax)
	case f.FusionType != FusionConcat && f.FusionType != FusionSum && f.FusionType != FusionGate && f.FusionType != FusionNone:
		return fmt.Errorf("hllm: fusion_params.fusion_type %q: want concat, sum, gate or none", f.FusionType)
	case f.Dropout < 0 || f.Dropout >= 1:
		return fmt.Errorf("hllm: fusion_params.dropout must be in [0, 1), got %v", f.Dropout)
	case f.IDDropout >= 1:
		return fmt.Errorf("hllm: fusion_params.id_dropout must be below 1, got %v", f.IDDropout)
	case (c.TextDim < 1) == (c.TextBuckets < 1):
		return fmt.Errorf("hllm: want either text_dim (the item text vectors' width, %d) or text_buckets (the trainable encoder's, %d) positive", c.TextDim, c.TextBuckets)
	case len(c.ItemBuckets) > c.Items || (c.TextBuckets < 1 && len(c.ItemBuckets) > 0):
		return fmt.Errorf("hllm: %d item bucket lists for a catalogue of %d with text_buckets %d", len(c.ItemBuckets), c.Items, c.TextBuckets)
	}
	for i, l := range c.ItemBuckets {
		for _, b := range l {
			if b < 0 || int(b) >= c.TextBuckets {
				return fmt.Errorf("hllm: item %d lists bucket %d, not in [0, %d)", i, b, c.TextBuckets)
			}
		}
	}
	for _, w := range f.FusionDims {
		if w < 1 {
			return fmt.Errorf("hllm: fusion_params.fusion_dims %v: widths must be positive", f.FusionDims)
		}
	}
	for _, it := range c.NoID {
		if it < 0 || int(it) >= c.Items {
			return fmt.Errorf("hllm: no_id lists item %d, not in [0, %d)", it, c.Items)
		}
	}
	return nil
}
