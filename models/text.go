package models

import (
	"context"
	"fmt"
	"slices"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/transforms"
)

// HLLM's item texts as a model configuration reads them: the
// embed-items output table (itemtext.EmbeddingsTable) in catalogue ids.

// catalogueTexts reads the item-text table of dir and returns its row for
// each catalogue id of data (nil for id 0 and items without a text). When
// most catalogue items have none, the files do not belong together and it
// is an error.
func catalogueTexts(ctx context.Context, dir string, data *transforms.Dataset) ([]*itemtext.EmbeddingRow, error) {
	rows, err := itemtext.LoadEmbeddings(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("train: item texts: %w", err)
	}
	vocab := data.ItemVocab()
	if vocab == nil {
		return nil, fmt.Errorf("train: %s has no item_id vocabulary", data.Dir)
	}
	byID := make([]*itemtext.EmbeddingRow, data.Items())
	found := 0
	for i, r := range rows {
		if id := vocab.ID(r.ItemKey); id > 0 && id < int64(len(byID)) {
			byID[id] = &rows[i]
			found++
		}
	}
	if found*2 < len(byID)-1 {
		return nil, fmt.Errorf("train: only %d of the %d catalogue items of %s have a text in %s: is item_text.items the metadata of this data set?", found, len(byID)-1, data.Dir, dir)
	}
	return byID, nil
}

// textTable reads the item text vectors of dir into a catalogue x dim
// table in data's item ids; items without a text keep a zero vector.
func textTable(ctx context.Context, dir string, data *transforms.Dataset) ([]float32, int, error) {
	byID, err := catalogueTexts(ctx, dir, data)
	if err != nil {
		return nil, 0, err
	}
	dim := -1
	for _, r := range byID {
		if r == nil {
			continue
		}
		if dim < 0 {
			dim = len(r.Vector)
		}
		if len(r.Vector) != dim {
			return nil, 0, fmt.Errorf("train: %s: item %q has a vector of %d values, others %d (two encoders in one folder?)", dir, r.ItemKey, len(r.Vector), dim)
		}
	}
	table := make([]float32, len(byID)*dim)
	for id, r := range byID {
		if r != nil {
			copy(table[id*dim:], r.Vector)
		}
	}
	return table, dim, nil
}

// itemBuckets reads the item texts of dir and returns each catalogue
// item's hashed n-gram buckets (itemtext.HashedNGram.Features), the
// trainable encoder's input.
func itemBuckets(ctx context.Context, dir string, data *transforms.Dataset, buckets int) ([][]int32, error) {
	byID, err := catalogueTexts(ctx, dir, data)
	if err != nil {
		return nil, err
	}
	h := itemtext.HashedNGram{Buckets: buckets}
	out := make([][]int32, len(byID))
	for id, r := range byID {
		if r == nil {
			continue
		}
		if r.Text == "" {
			return nil, fmt.Errorf("train: %s has no text for item %q (written before texts were stored?): use a fresh item_text.embeddings folder", dir, r.ItemKey)
		}
		out[id] = h.Features(r.Text)
	}
	return out, nil
}

// untrainedItems lists the catalogue items that no training row holds:
// they get no ID embedding, only their text (hllm.Config.NoID).
func untrainedItems(rows []transforms.SequenceRow, items int) []int32 {
	seen := make([]bool, items)
	for _, r := range rows {
		if r.Split != transforms.SplitTrain {
			continue
		}
		for _, it := range r.Items {
			seen[it] = true
		}
		seen[r.Target] = true
	}
	var out []int32
	for i := 1; i < items; i++ {
		if !seen[i] {
			out = append(out, int32(i))
		}
	}
	return out
}

// WithTextItems returns data with the items of the item-text folder dir
// that its item vocabulary lacks appended, in token order with count 0:
// items with a text but no interaction (a new film in movies.csv), which
// HLLM ranks from their text. It also returns how many it added; data
// itself is not changed.
func WithTextItems(ctx context.Context, data *transforms.Dataset, dir string) (*transforms.Dataset, int, error) {
	rows, err := itemtext.LoadEmbeddings(ctx, dir)
	if err != nil {
		return nil, 0, fmt.Errorf("train: item texts: %w", err)
	}
	vocab := data.ItemVocab()
	if vocab == nil {
		return nil, 0, fmt.Errorf("train: %s has no item_id vocabulary", data.Dir)
	}
	var extra []string
	for _, r := range rows {
		if vocab.ID(r.ItemKey) == 0 && r.ItemKey != "" {
			extra = append(extra, r.ItemKey)
		}
	}
	if len(extra) == 0 {
		return data, 0, nil
	}
	slices.SortFunc(extra, features.CompareTokens)
	extra = slices.Compact(extra)
	ext := &features.Vocab{Name: vocab.Name, Tokens: append(slices.Clone(vocab.Tokens), extra...),
		Counts: append(slices.Clone(vocab.Counts), make([]int64, len(extra))...)}
	return data.WithItems(ext), len(extra), nil
}
