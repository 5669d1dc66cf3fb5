package train

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models/hllm"
	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/pipelines/embeditems"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

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

// encoderName maps llm_params.model_name to embed-items' encoder: the
// built-in hashed n-gram encoder by default, else a BERT folder.
func encoderName(modelName string) string {
	switch modelName {
	case "", "hashed", "hashed-ngram":
		return embeditems.EncoderHashed
	}
	return modelName
}

// embeddingsDir is where the item text vectors are written and read.
func (c Config) embeddingsDir() (string, error) {
	t := c.ItemText
	switch {
	case t == nil || t.Items == "":
		return "", fmt.Errorf("train: model hllm needs item_text.items, an item metadata file with titles (movies.csv, u.item, movies.dat)")
	case t.Embeddings != "":
		return t.Embeddings, nil
	case c.ModelPath != "":
		return transforms.JoinPath(c.ModelPath, "item_text"), nil
	}
	return "", fmt.Errorf("train: model hllm needs item_text.embeddings or model_path: a folder for the item text vectors")
}

// EmbedItemTexts runs the embed-items pipeline for an HLLM config: every
// item of item_text.items is encoded with llm_params.model_name, reusing
// the vectors of texts that did not change since the last run. It
// returns the output folder.
func EmbedItemTexts(ctx context.Context, cfg Config, progress io.Writer) (string, error) {
	dir, err := cfg.embeddingsDir()
	if err != nil {
		return "", err
	}
	t := cfg.ItemText
	res, err := embeditems.Run(ctx, embeditems.Config{Items: t.Items, Format: t.Format, Tags: t.Tags, MaxTags: t.MaxTags,
		Template: t.Template, Encoder: encoderName(cfg.LLM.ModelName), Dim: t.Dim, Pooling: t.Pooling, Out: dir}, runners.Options{})
	if err != nil {
		return "", fmt.Errorf("train: item texts: %w", err)
	}
	if progress != nil {
		fmt.Fprintf(progress, "item texts: %d items (%d encoded, %d reused) with %s in %s\n", res.Rows, res.Encoded, res.Reused, res.Encoder, dir)
	}
	return dir, nil
}

// prepareHLLM encodes the item texts (EmbedItemTexts) and adds the items
// that have a text but no interaction to data's catalogue.
func prepareHLLM(ctx context.Context, cfg Config, data *Data) (*Data, error) {
	dir, err := EmbedItemTexts(ctx, cfg, cfg.Notes)
	if err != nil {
		return nil, err
	}
	data, added, err := WithTextItems(ctx, data, dir)
	if err != nil {
		return nil, err
	}
	if cfg.Notes != nil && added > 0 {
		fmt.Fprintf(cfg.Notes, "catalogue: %d items with a text but no interaction added (ids %d..%d); they are ranked from their text\n", added, data.Items()-added, data.Items()-1)
	}
	return data, nil
}

// catalogueTexts reads the item-text table of dir and returns its row for
// each catalogue id of data (nil for id 0 and items without a text). When
// most catalogue items have none, the files do not belong together and it
// is an error.
func catalogueTexts(ctx context.Context, dir string, data *Data) ([]*embeditems.EmbeddingRow, error) {
	rows, err := embeditems.Load(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("train: item texts: %w", err)
	}
	vocab := data.ItemVocab()
	if vocab == nil {
		return nil, fmt.Errorf("train: %s has no item_id vocabulary", data.Dir)
	}
	byID := make([]*embeditems.EmbeddingRow, data.Items())
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
func textTable(ctx context.Context, dir string, data *Data) ([]float32, int, error) {
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

// DefaultTextBuckets is the trainable encoder's bucket count by default.
const DefaultTextBuckets = 1 << 15

// itemBuckets reads the item texts of dir and returns each catalogue
// item's hashed n-gram buckets (itemtext.HashedNGram.Features), the
// trainable encoder's input.
func itemBuckets(ctx context.Context, dir string, data *Data, buckets int) ([][]int32, error) {
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

// HLLM returns the HLLM configuration of c.
func (c ModelConfig) HLLM() hllm.Config {
	return hllm.Config{Items: c.Items, MaxSeqLen: c.MaxSeqLen, LLM: c.LLM, Fusion: c.Fusion, TextDim: c.TextDim, NoID: c.NoID,
		TextBuckets: c.TextBuckets, ItemBuckets: c.ItemBuckets}
}

// newHLLM builds the model with the text table of c when it has one (a
// checkpoint's comes with its weights).
func newHLLM(c ModelConfig, rng *rand.Rand) (sequential.Model, error) {
	m, err := hllm.New[float32](c.HLLM(), rng)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if c.Text != nil {
		if err := m.SetText(c.Text); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// WithTextItems returns data with the items of the item-text folder dir
// that its item vocabulary lacks appended, in token order with count 0:
// items with a text but no interaction (a new film in movies.csv), which
// HLLM ranks from their text. It also returns how many it added; data
// itself is not changed.
func WithTextItems(ctx context.Context, data *Data, dir string) (*Data, int, error) {
	rows, err := embeditems.Load(ctx, dir)
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
	return data.withItems(ext), len(extra), nil
}

// withItems returns data with item vocabulary v (an extension of its own:
// see WithTextItems), or data itself when v is its vocabulary.
func (d *Data) withItems(v *features.Vocab) *Data {
	if v == d.ItemVocab() {
		return d
	}
	out := *d
	out.Vocabs = maps.Clone(d.Vocabs)
	out.Vocabs[v.Name] = v
	out.Summary.Items = v.Len()
	return &out
}

// checkpointItems returns the item vocabulary of checkpoint ck when it
// extends data's: data's items first, then the text-only items HLLM added
// (WithTextItems). ok is false when the checkpoint's catalogue is not
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
// naming both (also for a catalogue of the same size but other items).
func CheckpointCatalogue(ck *export.Checkpoint, path string, data *features.Vocab, dataDir string) (*features.Vocab, error) {
	mc, err := ParseModelConfig(ck.ModelConfig)
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
				return nil, fmt.Errorf("%s was trained on another catalogue than %s (same size, other items): use it on the data it was trained on", path, dataDir)
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
	return nil, fmt.Errorf("%s was trained on a catalogue of %d items but %s has %d: use it on the data it was trained on", path, mc.Items-1, dataDir, n)
}
