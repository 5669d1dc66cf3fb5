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
// the mean over tokens as Pooling says. A plain BERT folder's vectors are
// not normalised; a sentence-transformers folder (all-MiniLM-L6-v2) runs
// its own pipeline: its max_seq_length, its pooling and its Normalize.
type BERTEncoder struct {
	Dir     string
	Pooling string // text.PoolCLS, text.PoolMean or text.PoolItem
	model   *text.BERT
	st      *text.SentenceTransformer // non-nil for a sentence-transformers folder
}

// LoadBERTEncoder reads the HuggingFace folder dir (see text.LoadBERT, or
// text.LoadSentenceTransformer when dir holds modules.json); pooling ""
// means text.PoolMean. A sentence-transformers folder fixes its pooling:
// another one is an error.
func LoadBERTEncoder(dir, pooling string) (*BERTEncoder, error) {
	if pooling == "" {
		pooling = text.PoolMean
	}
	if pooling != text.PoolCLS && pooling != text.PoolMean && pooling != text.PoolItem {
		return nil, fmt.Errorf("itemtext: pooling %q (want %q, %q or %q)", pooling, text.PoolCLS, text.PoolMean, text.PoolItem)
	}
	if text.IsSentenceTransformer(dir) {
		st, err := text.LoadSentenceTransformer(dir)
		if err != nil {
			return nil, err
		}
		if st.Pooling != pooling {
			return nil, fmt.Errorf("itemtext: %s is a sentence-transformers model pooled by %q; pooling %q would not give its embeddings (set item_text.pooling: %s)", dir, st.Pooling, pooling, st.Pooling)
		}
		return &BERTEncoder{Dir: dir, Pooling: pooling, model: st.BERT, st: st}, nil
	}
	m, err := text.LoadBERT(dir)
	if err != nil {
		return nil, err
	}
	return &BERTEncoder{Dir: dir, Pooling: pooling, model: m}, nil
}

// ID is "bert:<dir>:<pooling>", or "sentence-transformers:<dir>" for a
// sentence-transformers folder. It names the folder, not its weights:
// replacing the weights in place needs a fresh output folder.
func (e *BERTEncoder) ID() string {
	if e.st != nil {
		return "sentence-transformers:" + strings.TrimRight(e.Dir, "/")
	}
	return "bert:" + strings.TrimRight(e.Dir, "/") + ":" + e.Pooling
}

// Dim is the model's hidden size.
func (e *BERTEncoder) Dim() int { return e.model.Config.HiddenSize }

// Encode runs the model on texts.
func (e *BERTEncoder) Encode(texts []string) ([][]float32, error) {
	if e.st != nil {
		return e.st.Encode(texts)
	}
	return e.model.Encode(texts, e.Pooling)
}

// LlamaEncoder encodes texts with a decoder LLM of the LLaMA family
// (text.LoadLlama): the final-norm hidden state of the last token (or of an
// appended [ITEM] token, or the mean), hidden_size long, not normalised.
type LlamaEncoder struct {
	Dir     string
	Pooling string // text.PoolLast, text.PoolItem or text.PoolMean
	model   *text.Llama
}

// LoadLlamaEncoder reads the folder dir (see text.LoadLlama), which must
// hold tokenizer.json; pooling "" means text.PoolLast.
func LoadLlamaEncoder(dir, pooling string) (*LlamaEncoder, error) {
	if pooling == "" {
		pooling = text.PoolLast
	}
	if pooling != text.PoolLast && pooling != text.PoolMean && pooling != text.PoolItem {
		return nil, fmt.Errorf("itemtext: pooling %q for a decoder LLM (want %q, %q or %q)", pooling, text.PoolLast, text.PoolItem, text.PoolMean)
	}
	m, err := text.LoadLlama(dir)
	if err != nil {
		return nil, err
	}
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("itemtext: %s: no tokenizer.json", dir)
	}
	return &LlamaEncoder{Dir: dir, Pooling: pooling, model: m}, nil
}

// ID is "llm:<dir>:<pooling>" (the folder, not its weights, as BERTEncoder).
func (e *LlamaEncoder) ID() string {
	return "llm:" + strings.TrimRight(e.Dir, "/") + ":" + e.Pooling
}

// Dim is the model's hidden size.
func (e *LlamaEncoder) Dim() int { return e.model.Config.HiddenSize }

// Encode runs the model on texts.
func (e *LlamaEncoder) Encode(texts []string) ([][]float32, error) {
	return e.model.Encode(texts, e.Pooling)
}

var (
	_ Encoder = HashedNGram{}
	_ Encoder = (*BERTEncoder)(nil)
	_ Encoder = (*LlamaEncoder)(nil)
)
