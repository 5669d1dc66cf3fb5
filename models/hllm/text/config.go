package text

import (
	"encoding/json"
	"fmt"
	"os"
)

// Config is the part of a HuggingFace BERT config.json the encoder uses.
type Config struct {
	VocabSize             int     `json:"vocab_size"`
	HiddenSize            int     `json:"hidden_size"`
	NumHiddenLayers       int     `json:"num_hidden_layers"`
	NumAttentionHeads     int     `json:"num_attention_heads"`
	IntermediateSize      int     `json:"intermediate_size"`
	HiddenAct             string  `json:"hidden_act"`
	MaxPositionEmbeddings int     `json:"max_position_embeddings"`
	TypeVocabSize         int     `json:"type_vocab_size"`
	LayerNormEps          float64 `json:"layer_norm_eps"`
}

// BaseConfig is bert-base-uncased's configuration.
var BaseConfig = Config{VocabSize: 30522, HiddenSize: 768, NumHiddenLayers: 12, NumAttentionHeads: 12,
	IntermediateSize: 3072, HiddenAct: "gelu", MaxPositionEmbeddings: 512, TypeVocabSize: 2, LayerNormEps: 1e-12}

// loadConfig reads config.json; a missing layer_norm_eps means 1e-12 and a
// missing hidden_act "gelu" (HuggingFace's defaults).
func loadConfig(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("text: config: %w", err)
	}
	c := Config{HiddenAct: "gelu", LayerNormEps: 1e-12, TypeVocabSize: 2}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, fmt.Errorf("text: %s: %w", path, err)
	}
	if err := c.check(); err != nil {
		return Config{}, fmt.Errorf("text: %s: %w", path, err)
	}
	return c, nil
}

// check reports a configuration the encoder cannot run.
func (c Config) check() error {
	switch {
	case c.VocabSize < 1 || c.HiddenSize < 1 || c.NumHiddenLayers < 0 || c.NumAttentionHeads < 1 ||
		c.IntermediateSize < 1 || c.MaxPositionEmbeddings < 2 || c.TypeVocabSize < 1:
		return fmt.Errorf("bad sizes %+v", c)
	case c.HiddenSize%c.NumAttentionHeads != 0:
		return fmt.Errorf("hidden_size %d not divisible by num_attention_heads %d", c.HiddenSize, c.NumAttentionHeads)
	case c.HiddenAct != "gelu":
		return fmt.Errorf("hidden_act %q: only \"gelu\" (erf) is supported", c.HiddenAct)
	case c.LayerNormEps <= 0:
		return fmt.Errorf("layer_norm_eps %g <= 0", c.LayerNormEps)
	}
	return nil
}

// tensorShapes lists the tensors of a HuggingFace BertModel checkpoint the
// encoder reads, with their shapes (linear weights are [out, in]).
func (c Config) tensorShapes() []struct {
	Name  string
	Shape []int
} {
	type ts = struct {
		Name  string
		Shape []int
	}
	d, f := c.HiddenSize, c.IntermediateSize
	out := []ts{
		{"embeddings.word_embeddings.weight", []int{c.VocabSize, d}},
		{"embeddings.position_embeddings.weight", []int{c.MaxPositionEmbeddings, d}},
		{"embeddings.token_type_embeddings.weight", []int{c.TypeVocabSize, d}},
		{"embeddings.LayerNorm.weight", []int{d}},
		{"embeddings.LayerNorm.bias", []int{d}},
	}
	for i := range c.NumHiddenLayers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		out = append(out,
			ts{p + "attention.self.query.weight", []int{d, d}}, ts{p + "attention.self.query.bias", []int{d}},
			ts{p + "attention.self.key.weight", []int{d, d}}, ts{p + "attention.self.key.bias", []int{d}},
			ts{p + "attention.self.value.weight", []int{d, d}}, ts{p + "attention.self.value.bias", []int{d}},
			ts{p + "attention.output.dense.weight", []int{d, d}}, ts{p + "attention.output.dense.bias", []int{d}},
			ts{p + "attention.output.LayerNorm.weight", []int{d}}, ts{p + "attention.output.LayerNorm.bias", []int{d}},
			ts{p + "intermediate.dense.weight", []int{f, d}}, ts{p + "intermediate.dense.bias", []int{f}},
			ts{p + "output.dense.weight", []int{d, f}}, ts{p + "output.dense.bias", []int{d}},
			ts{p + "output.LayerNorm.weight", []int{d}}, ts{p + "output.LayerNorm.bias", []int{d}},
		)
	}
	return out
}
