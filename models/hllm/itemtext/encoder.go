package itemtext

import (
	"fmt"
	"strings"

	"github.com/genrec/genrec/models/hllm/text"
)

// Encoder maps item texts to fixed-size vectors.
type Encoder interface {
	// ID names the encoder and every setting that changes its vectors;
	// embeddings made under one ID may be reused under the same ID.
	ID() string
	// Dim is the length of every vector.
	Dim() int
	// Encode returns one Dim-long vector per text, in order.
	Encode(texts []string) ([][]float32, error)
}

// BERTEncoder encodes texts with a BERT-family model (package
// models/hllm/text): one hidden_size vector per text, the [CLS] state or
// the mean over tokens as Pooling says. The vectors are not normalised.
type BERTEncoder struct {
	Dir     string
	Pooling string // text.PoolCLS, text.PoolMean or text.PoolItem
	model   *text.BERT
}

// LoadBERTEncoder reads the HuggingFace folder dir (see text.LoadBERT);
// pooling "" means text.PoolMean.
func LoadBERTEncoder(dir, pooling string) (*BERTEncoder, error) {
	if pooling == "" {
		pooling = text.PoolMean
	}
	if pooling != text.PoolCLS && pooling != text.PoolMean && pooling != text.PoolItem {
		return nil, fmt.Errorf("itemtext: pooling %q (want %q, %q or %q)", pooling, text.PoolCLS, text.PoolMean, text.PoolItem)
	}
	m, err := text.LoadBERT(dir)
	if err != nil {
		return nil, err
	}
	return &BERTEncoder{Dir: dir, Pooling: pooling, model: m}, nil
}

// ID is "bert:<dir>:<pooling>". It names the folder, not its weights:
// replacing the weights in place needs a fresh output folder.
func (e *BERTEncoder) ID() string {
	return "bert:" + strings.TrimRight(e.Dir, "/") + ":" + e.Pooling
}

// Dim is the model's hidden size.
func (e *BERTEncoder) Dim() int { return e.model.Config.HiddenSize }

// Encode runs the model on texts.
func (e *BERTEncoder) Encode(texts []string) ([][]float32, error) {
	return e.model.Encode(texts, e.Pooling)
}

var (
	_ Encoder = HashedNGram{}
	_ Encoder = (*BERTEncoder)(nil)
)
