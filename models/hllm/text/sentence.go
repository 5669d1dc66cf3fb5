package text

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// SentenceTransformer is a sentence-transformers model folder's pipeline
// (Reimers and Gurevych 2019, arXiv 1908.10084) on a BERT: for a text t,
//
//	ids = [CLS] WordPiece(t)[:MaxSeqLength-2] [SEP]          (n ids)
//	H   = BERT(ids)                                          (n x hidden)
//	v   = (1/n) sum_i H_i   (PoolMean)   or   H_0   (PoolCLS)
//	e   = v / max(||v||_2, 1e-12)                            (Normalize)
//
// all-MiniLM-L6-v2 is this with MaxSeqLength 256, mean pooling and
// normalisation: 384-d unit vectors. sentence-transformers pads a batch and
// averages over the attention mask; running each text at its own length is
// the same (BERT doc).
type SentenceTransformer struct {
	BERT         *BERT
	MaxSeqLength int    // sentence_bert_config.json max_seq_length; at most max_position_embeddings
	Pooling      string // PoolMean or PoolCLS, from 1_Pooling/config.json
	Normalize    bool   // a sentence_transformers.models.Normalize module follows the pooling
	Lower        bool   // sentence_bert_config.json do_lower_case: lower-case the text first
}

// IsSentenceTransformer reports whether dir is a sentence-transformers
// folder (it holds modules.json).
func IsSentenceTransformer(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "modules.json"))
	return err == nil
}

// LoadSentenceTransformer reads a sentence-transformers folder:
// modules.json listing a Transformer (a BERT folder, see LoadBERT), a
// Pooling (mean or CLS) and optionally a Normalize module, with
// sentence_bert_config.json's max_seq_length (default: the BERT's
// max_position_embeddings). Other modules or pooling modes are errors
// naming the file.
func LoadSentenceTransformer(dir string) (*SentenceTransformer, error) {
	modPath := filepath.Join(dir, "modules.json")
	raw, err := os.ReadFile(modPath)
	if err != nil {
		return nil, fmt.Errorf("text: sentence-transformers folder: %w", err)
	}
	var mods []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &mods); err != nil {
		return nil, fmt.Errorf("text: %s: %w", modPath, err)
	}
	s := &SentenceTransformer{}
	bertDir, poolDir := "", ""
	for i, m := range mods {
		typ := strings.TrimPrefix(m.Type, "sentence_transformers.models.")
		want := []string{"Transformer", "Pooling", "Normalize"}
		if i >= len(want) || typ != want[i] {
			return nil, fmt.Errorf("text: %s: module %d is %q; supported: Transformer, Pooling, then optionally Normalize", modPath, i, m.Type)
		}
		switch typ {
		case "Transformer":
			bertDir = filepath.Join(dir, m.Path)
		case "Pooling":
			poolDir = filepath.Join(dir, m.Path)
		case "Normalize":
			s.Normalize = true
		}
	}
	if poolDir == "" {
		return nil, fmt.Errorf("text: %s: no Transformer and Pooling modules", modPath)
	}
	if s.BERT, err = LoadBERT(bertDir); err != nil {
		return nil, err
	}
	if s.Pooling, err = readPooling(filepath.Join(poolDir, "config.json")); err != nil {
		return nil, err
	}
	s.MaxSeqLength = s.BERT.Config.MaxPositionEmbeddings
	sbPath := filepath.Join(bertDir, "sentence_bert_config.json")
	if raw, err := os.ReadFile(sbPath); err == nil {
		var sb struct {
			MaxSeqLength *int `json:"max_seq_length"`
			DoLowerCase  bool `json:"do_lower_case"`
		}
		if err := json.Unmarshal(raw, &sb); err != nil {
			return nil, fmt.Errorf("text: %s: %w", sbPath, err)
		}
		if sb.MaxSeqLength != nil {
			if *sb.MaxSeqLength < 2 || *sb.MaxSeqLength > s.MaxSeqLength {
				return nil, fmt.Errorf("text: %s: max_seq_length %d outside [2, %d] (max_position_embeddings)", sbPath, *sb.MaxSeqLength, s.MaxSeqLength)
			}
			s.MaxSeqLength = *sb.MaxSeqLength
		}
		s.Lower = sb.DoLowerCase
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("text: %w", err)
	}
	return s, nil
}

// readPooling reads a sentence-transformers Pooling config.json: exactly
// one of pooling_mode_mean_tokens and pooling_mode_cls_token may be set.
func readPooling(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("text: pooling: %w", err)
	}
	var pc map[string]any
	if err := json.Unmarshal(raw, &pc); err != nil {
		return "", fmt.Errorf("text: %s: %w", path, err)
	}
	var on []string
	for k, v := range pc {
		if b, ok := v.(bool); ok && b && strings.HasPrefix(k, "pooling_mode_") {
			on = append(on, k)
		}
	}
	switch {
	case len(on) == 1 && on[0] == "pooling_mode_mean_tokens":
		return PoolMean, nil
	case len(on) == 1 && on[0] == "pooling_mode_cls_token":
		return PoolCLS, nil
	}
	return "", fmt.Errorf("text: %s: pooling modes %v; supported: pooling_mode_mean_tokens or pooling_mode_cls_token alone", path, on)
}

// Dim is the length of the vectors Encode returns (hidden_size).
func (s *SentenceTransformer) Dim() int { return s.BERT.Config.HiddenSize }

// IDs returns the token ids of text as the model sees them: [CLS] pieces
// [SEP], at most MaxSeqLength.
func (s *SentenceTransformer) IDs(text string) []int32 {
	if s.Lower {
		text = strings.ToLower(text)
	}
	tok := s.BERT.Tokenizer
	tok.MaxLen = s.MaxSeqLength
	return tok.encode(text)
}

// Encode returns one vector per text (see SentenceTransformer). No texts
// give none.
func (s *SentenceTransformer) Encode(texts []string) ([][]float32, error) {
	ids := make([][]int32, len(texts))
	for i, t := range texts {
		ids[i] = s.IDs(t)
	}
	out, err := s.BERT.EncodeIDs(ids, s.Pooling)
	if err != nil {
		return nil, err
	}
	if s.Normalize {
		for _, v := range out {
			normalize(v)
		}
	}
	return out, nil
}

// normalize scales v to unit L2 norm, v / max(||v||, 1e-12) as torch's
// F.normalize.
func normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	inv := float32(1 / math.Max(math.Sqrt(ss), 1e-12))
	for i := range v {
		v[i] *= inv
	}
}
