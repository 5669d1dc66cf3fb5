package features

import (
	"fmt"
	"strings"
)

// Spec is one feature as a config file declares it: Type picks which of
// SparseFeature, SequenceFeature or DenseFeature it is.
//
//   - {type: sparse, name: item_id, embed_dim: 50, min_count: 1}
//   - {type: sequence, name: hist_item_id, shared_with: item_id, pooling: concat}
//   - {type: dense, name: age, dim: 1}
type Spec struct {
	Type       string `yaml:"type" json:"type"`
	Name       string `yaml:"name" json:"name"`
	VocabSize  int    `yaml:"vocab_size,omitempty" json:"vocab_size,omitempty"`
	EmbedDim   int    `yaml:"embed_dim,omitempty" json:"embed_dim,omitempty"`
	Source     string `yaml:"source,omitempty" json:"source,omitempty"`
	MinCount   int    `yaml:"min_count,omitempty" json:"min_count,omitempty"`
	Pooling    string `yaml:"pooling,omitempty" json:"pooling,omitempty"`
	SharedWith string `yaml:"shared_with,omitempty" json:"shared_with,omitempty"`
	Dim        int    `yaml:"dim,omitempty" json:"dim,omitempty"`
}

// Schema lists a model's inputs, as the seed API's user_features and
// item_features lists do.
type Schema struct {
	UserFeatures []Spec `yaml:"user_features" json:"user_features"`
	ItemFeatures []Spec `yaml:"item_features" json:"item_features"`
}

// DefaultSchema is what a config without a features: section gets: user
// and item ids and the item history sharing the item table.
func DefaultSchema() Schema {
	return Schema{
		UserFeatures: []Spec{{Type: "sparse", Name: "user_id", EmbedDim: 16}},
		ItemFeatures: []Spec{
			{Type: "sparse", Name: "item_id", EmbedDim: 64},
			{Type: "sequence", Name: "hist_item_id", SharedWith: "item_id", Pooling: string(Concat)},
		},
	}
}

func (s Schema) all() []Spec {
	return append(append([]Spec(nil), s.UserFeatures...), s.ItemFeatures...)
}

// Sparse returns the sparse features in declaration order.
func (s Schema) Sparse() []SparseFeature {
	var out []SparseFeature
	for _, f := range s.all() {
		if strings.EqualFold(f.Type, "sparse") {
			out = append(out, SparseFeature{Name: f.Name, VocabSize: f.VocabSize, EmbedDim: f.EmbedDim, Source: f.Source, MinCount: f.MinCount})
		}
	}
	return out
}

// Sequences returns the sequence features in declaration order; an empty
// pooling means concat.
func (s Schema) Sequences() []SequenceFeature {
	var out []SequenceFeature
	for _, f := range s.all() {
		if strings.EqualFold(f.Type, "sequence") {
			p, _ := ParsePooling(f.Name, f.Pooling)
			if p == "" {
				p = Pooling(f.Pooling) // keep the bad value for Validate to name
			}
			out = append(out, SequenceFeature{Name: f.Name, VocabSize: f.VocabSize, EmbedDim: f.EmbedDim, Pooling: p, SharedWith: f.SharedWith})
		}
	}
	return out
}

// Dense returns the dense features in declaration order.
func (s Schema) Dense() []DenseFeature {
	var out []DenseFeature
	for _, f := range s.all() {
		if strings.EqualFold(f.Type, "dense") {
			out = append(out, DenseFeature{Name: f.Name, Dim: f.Dim})
		}
	}
	return out
}

// SparseBySource returns the first sparse feature fed from source
// (SourceUser, SourceItem, SourceCategory), if any.
func (s Schema) SparseBySource(source string) (SparseFeature, bool) {
	for _, f := range s.Sparse() {
		if src, err := f.ResolvedSource(); err == nil && src == source {
			return f, true
		}
	}
	return SparseFeature{}, false
}

// Validate checks every feature, that names are unique, that exactly one
// sparse feature is fed from the item ids, and that shared_with names a
// sparse feature. Errors name the feature.
func (s Schema) Validate() error {
	seen := map[string]bool{}
	sparse := map[string]bool{}
	for _, f := range s.all() {
		if f.Name == "" {
			return fmt.Errorf("features: a %s feature has no name", f.Type)
		}
		if seen[f.Name] {
			return fmt.Errorf("features: feature %q is declared twice", f.Name)
		}
		seen[f.Name] = true
		switch strings.ToLower(f.Type) {
		case "sparse":
			sparse[f.Name] = true
		case "sequence", "dense":
		default:
			return fmt.Errorf("features: feature %q: unknown type %q (want sparse, sequence or dense)", f.Name, f.Type)
		}
	}
	var items []string
	for _, f := range s.Sparse() {
		if err := f.Validate(); err != nil {
			return err
		}
		if src, _ := f.ResolvedSource(); src == SourceItem {
			items = append(items, f.Name)
		}
	}
	if len(items) != 1 {
		return fmt.Errorf("features: want exactly one sparse feature with source item (e.g. item_id), found %d %q", len(items), items)
	}
	for _, f := range s.Sequences() {
		if err := f.Validate(); err != nil {
			return err
		}
		if f.SharedWith != "" && !sparse[f.SharedWith] {
			return fmt.Errorf("features: sequence feature %q: shared_with %q is not a sparse feature", f.Name, f.SharedWith)
		}
	}
	for _, f := range s.Dense() {
		if err := f.Validate(); err != nil {
			return err
		}
	}
	return nil
}
