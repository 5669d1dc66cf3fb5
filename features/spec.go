package features

import (
	"fmt"
	"strings"
)

// Pooling says how a SequenceFeature's embeddings are reduced.
type Pooling string

// The supported poolings.
const (
	Mean   Pooling = "mean"   // average of the non-padding embeddings
	Sum    Pooling = "sum"    // sum of the non-padding embeddings
	Concat Pooling = "concat" // keep the sequence: [len, dim], what sequential models consume
)

// ParsePooling checks a pooling name; feature names the feature for the error.
func ParsePooling(feature, s string) (Pooling, error) {
	switch p := Pooling(strings.ToLower(strings.TrimSpace(s))); p {
	case Mean, Sum, Concat:
		return p, nil
	case "":
		return Concat, nil
	default:
		return "", fmt.Errorf("features: sequence feature %q: unknown pooling %q (want mean, sum or concat)", feature, s)
	}
}

// SparseFeature is a categorical input embedded by a lookup table of
// VocabSize rows (id 0 = padding/OOV) and EmbedDim columns. VocabSize 0
// means "take it from the vocabulary built from data".
type SparseFeature struct {
	Name      string
	VocabSize int
	EmbedDim  int
	// Source is where its tokens come from: "user" (the user id), "item"
	// (the item id) or "category" (item metadata genres/categories).
	// Empty means the Name decides: user_id → user, item_id → item.
	Source string
	// MinCount drops tokens seen fewer times than this from the vocabulary
	// (they map to id 0). 0 or 1 keeps everything.
	MinCount int
}

// SequenceFeature is a list of ids of another feature's vocabulary (the
// user's item history), embedded with that feature's table when SharedWith
// is set, and reduced by Pooling.
type SequenceFeature struct {
	Name       string
	VocabSize  int
	EmbedDim   int
	Pooling    Pooling
	SharedWith string
}

// DenseFeature is a real-valued input of Dim values.
type DenseFeature struct {
	Name string
	Dim  int
}

// Validate reports the first problem with f.
func (f SparseFeature) Validate() error {
	if f.Name == "" {
		return fmt.Errorf("features: sparse feature with no name")
	}
	if f.VocabSize < 0 || f.EmbedDim < 0 || f.MinCount < 0 {
		return fmt.Errorf("features: sparse feature %q: vocab_size, embed_dim and min_count must not be negative", f.Name)
	}
	if _, err := f.ResolvedSource(); err != nil {
		return err
	}
	return nil
}

// ResolvedSource is Source, or the source implied by a conventional name
// (user_id, item_id, category) when Source is empty.
func (f SparseFeature) ResolvedSource() (string, error) {
	s := f.Source
	if s == "" {
		switch f.Name {
		case "user_id", "user":
			s = SourceUser
		case "item_id", "item":
			s = SourceItem
		case "category", "genre", "genres":
			s = SourceCategory
		default:
			return "", fmt.Errorf("features: sparse feature %q: set source to one of %s, %s, %s", f.Name, SourceUser, SourceItem, SourceCategory)
		}
	}
	switch s {
	case SourceUser, SourceItem, SourceCategory:
		return s, nil
	}
	return "", fmt.Errorf("features: sparse feature %q: unknown source %q (want %s, %s or %s)", f.Name, s, SourceUser, SourceItem, SourceCategory)
}

// Where a sparse feature's tokens come from.
const (
	SourceUser     = "user"
	SourceItem     = "item"
	SourceCategory = "category"
)

// Validate reports the first problem with f.
func (f SequenceFeature) Validate() error {
	if f.Name == "" {
		return fmt.Errorf("features: sequence feature with no name")
	}
	if f.VocabSize < 0 || f.EmbedDim < 0 {
		return fmt.Errorf("features: sequence feature %q: vocab_size and embed_dim must not be negative", f.Name)
	}
	_, err := ParsePooling(f.Name, string(f.Pooling))
	return err
}

// Validate reports the first problem with f.
func (f DenseFeature) Validate() error {
	if f.Name == "" {
		return fmt.Errorf("features: dense feature with no name")
	}
	if f.Dim <= 0 {
		return fmt.Errorf("features: dense feature %q: dim must be positive, got %d", f.Name, f.Dim)
	}
	return nil
}
