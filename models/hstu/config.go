package hstu

import (
	"fmt"
)

// TransformerParams shape the stack of HSTU layers (the seed API's
// transformer_params).
type TransformerParams struct {
	NumLayers  int `yaml:"num_layers"`
	NumHeads   int `yaml:"num_heads"`
	HiddenSize int `yaml:"hidden_size"` // d, the embedding width
	// IntermediateSize is H*dqk = H*dv; 0 means HiddenSize. AttentionDim
	// and LinearDim (per head) set dqk and dv apart.
	IntermediateSize int     `yaml:"intermediate_size"`
	AttentionDim     int     `yaml:"attention_dim"`
	LinearDim        int     `yaml:"linear_dim"`
	Dropout          float64 `yaml:"dropout"`
	// AttentionScale multiplies QK^T; 0 means none, as the research code.
	AttentionScale float64 `yaml:"attention_scale"`
}

// HierarchicalParams restrict attention to local windows plus window
// summaries (see the package doc); zero values mean full attention.
type HierarchicalParams struct {
	Level1WindowSize int `yaml:"level1_window_size"`
	Level2WindowSize int `yaml:"level2_window_size"`
}

// Config is everything that fixes an HSTU model's shape.
type Config struct {
	Items        int                `yaml:"items" json:"items"`             // catalogue size, padding id 0 included
	MaxSeqLen    int                `yaml:"max_seq_len" json:"max_seq_len"` // N
	Transformer  TransformerParams  `yaml:"transformer_params" json:"transformer_params"`
	Hierarchical HierarchicalParams `yaml:"hierarchical_params" json:"hierarchical_params"`
	// NoPositionBias and NoTimeBias drop the two parts of rab (ablations).
	NoPositionBias bool `yaml:"no_position_bias" json:"no_position_bias"`
	NoTimeBias     bool `yaml:"no_time_bias" json:"no_time_bias"`
	// Categories > 0 adds an item side feature: ItemCategories[item] lists
	// the item's category ids in [0, Categories), whose mean embedding is
	// added to the item's input embedding (sequential.Input).
	Categories     int       `yaml:"-" json:"categories,omitempty"`
	ItemCategories [][]int32 `yaml:"-" json:"item_categories,omitempty"`
	// UserFeatures > 0 adds a user side feature: UserFeatureLists[user]
	// lists the user's feature ids (gender, age, ...) in [0, UserFeatures),
	// whose mean embedding is added at every position of the user's rows.
	UserFeatures     int       `yaml:"-" json:"user_features,omitempty"`
	UserFeatureLists [][]int32 `yaml:"-" json:"user_feature_lists,omitempty"`
	// Actions > 0 adds an action embedding of Actions rows: each position
	// adds the row of its action id (sequential.Batch.Actions), the
	// paper's interleaved actions. The ranking task uses it.
	Actions int `yaml:"-" json:"actions,omitempty"`
}

// Dims returns the per-head query/key and value widths.
func (c Config) Dims() (dqk, dv int) {
	t := c.Transformer
	inter := t.IntermediateSize
	if inter == 0 {
		inter = t.HiddenSize
	}
	dqk, dv = t.AttentionDim, t.LinearDim
	if t.NumHeads > 0 {
		if dqk == 0 {
			dqk = inter / t.NumHeads
		}
		if dv == 0 {
			dv = inter / t.NumHeads
		}
	}
	return dqk, dv
}

// Validate reports the first impossible setting, naming it as the config
// file does.
func (c Config) Validate() error {
	t, h := c.Transformer, c.Hierarchical
	switch {
	case c.Items < 2:
		return fmt.Errorf("hstu: items must be at least 2 (padding and one item), got %d", c.Items)
	case c.MaxSeqLen < 1:
		return fmt.Errorf("hstu: max_seq_len must be positive, got %d", c.MaxSeqLen)
	case t.NumLayers < 1:
		return fmt.Errorf("hstu: transformer_params.num_layers must be positive, got %d", t.NumLayers)
	case t.NumHeads < 1:
		return fmt.Errorf("hstu: transformer_params.num_heads must be positive, got %d", t.NumHeads)
	case t.HiddenSize < 1:
		return fmt.Errorf("hstu: transformer_params.hidden_size must be positive, got %d", t.HiddenSize)
	case t.IntermediateSize < 0 || t.AttentionDim < 0 || t.LinearDim < 0:
		return fmt.Errorf("hstu: transformer_params sizes must not be negative")
	case t.IntermediateSize%t.NumHeads != 0 && (t.AttentionDim == 0 || t.LinearDim == 0):
		return fmt.Errorf("hstu: transformer_params.intermediate_size %d is not a multiple of num_heads %d", t.IntermediateSize, t.NumHeads)
	case t.IntermediateSize == 0 && t.HiddenSize%t.NumHeads != 0 && (t.AttentionDim == 0 || t.LinearDim == 0):
		return fmt.Errorf("hstu: transformer_params.hidden_size %d is not a multiple of num_heads %d; set intermediate_size", t.HiddenSize, t.NumHeads)
	case t.Dropout < 0 || t.Dropout >= 1:
		return fmt.Errorf("hstu: transformer_params.dropout must be in [0, 1), got %v", t.Dropout)
	case h.Level1WindowSize < 0 || h.Level2WindowSize < 0:
		return fmt.Errorf("hstu: hierarchical_params window sizes must not be negative")
	case c.Categories < 0 || len(c.ItemCategories) > c.Items || (c.Categories == 0 && len(c.ItemCategories) > 0):
		return fmt.Errorf("hstu: item categories: %d categories for %d item lists (catalogue %d)", c.Categories, len(c.ItemCategories), c.Items)
	case c.Actions < 0:
		return fmt.Errorf("hstu: actions must not be negative, got %d", c.Actions)
	case h.Level2WindowSize > 0 && h.Level1WindowSize == 0:
		return fmt.Errorf("hstu: hierarchical_params.level2_window_size needs level1_window_size > 0")
	}
	if dqk, dv := c.Dims(); dqk < 1 || dv < 1 {
		return fmt.Errorf("hstu: per-head dims must be positive, got attention_dim %d, linear_dim %d", dqk, dv)
	}
	return nil
}
