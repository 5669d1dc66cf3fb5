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

	"github.com/genrec/genrec/models/kernels"
)

// Pooling names how Encode turns a text's last hidden states into one
// vector.
const (
	PoolCLS  = "cls"  // the [CLS] (first) position's hidden state
	PoolMean = "mean" // the mean over the attention mask ([CLS] and [SEP] included)
	// PoolItem is HLLM's item token: [ITEM] is appended after the text
	// ([CLS] pieces [ITEM] [SEP]) and its hidden state is the item's
	// vector. The vocabulary must hold [ITEM]: a model whose item LLM was
	// trained with it (HLLM); a plain BERT has none.
	PoolItem = "item"
)

// ItemToken is the token PoolItem appends and pools.
const ItemToken = "[ITEM]"

// maxChunkRows bounds the tokens one forward pass packs together, so memory
// stays at about maxChunkRows * (4*hidden + intermediate) float32s.
const maxChunkRows = 4096

// linear is a dense layer in HuggingFace's layout: w is out x in.
type linear struct {
	w, b    []float32
	in, out int
}

// forward writes y (rows x out) = x (rows x in) w^T + b (no b: nil).
func (l linear) forward(x, y []float32, rows int) {
	beta := float32(0)
	if l.b != nil {
		beta = 1
		for r := range rows {
			copy(y[r*l.out:(r+1)*l.out], l.b)
		}
	}
	kernels.Gemm(false, true, rows, l.out, l.in, 1, x, l.in, l.w, l.in, beta, y, l.out)
}

// layerNorm holds LayerNorm's affine parameters.
type layerNorm struct{ g, b []float32 }

// forward writes y = LN(x) * g + b row by row (y may be x); rstd is
// scratch of len rows.
func (n layerNorm) forward(x, y, rstd []float32, rows int, eps float64) {
	d := len(n.g)
	kernels.LayerNormForward(x, y, rows, d, eps, rstd)
	for r := range rows {
		yr := y[r*d : (r+1)*d]
		for i := range yr {
			yr[i] = yr[i]*n.g[i] + n.b[i]
		}
	}
}

// layer is one BERT encoder layer.
type layer struct {
	q, k, v, attnOut linear
	attnLN           layerNorm
	inter, out       linear
	outLN            layerNorm
}

// BERT is a BERT encoder for inference in float32 (Devlin et al. 2018,
// arXiv 1810.04805), with HuggingFace BertModel's weights and equations.
// For a sequence of n token ids t (token type 0, positions 0..n-1):
//
//	x = LN_emb(word[t_i] + pos[i] + type[0])
//	per layer, heads h = 1..H of width dh = hidden/H:
//	  A_h = softmax(Q_h K_h^T / sqrt(dh)) V_h,  Q = x Wq^T + bq, K, V alike
//	  x   = LN_attn(x + concat_h(A_h) Wo^T + bo)
//	  x   = LN_out(x + GELU(x Wi^T + bi) Wf^T + bf)    GELU(z) = z Phi(z) (erf)
//	LN(z) = (z - mean(z)) / sqrt(var(z) + eps) * gamma + beta  (biased var)
//
// A sequence runs at its own length: this equals HuggingFace's batched
// forward with padding masked out (padded keys get zero weight).
type BERT struct {
	Config    Config
	Tokenizer Tokenizer // MaxLen = max_position_embeddings after LoadBERT

	word, pos, typ []float32
	embLN          layerNorm
	layers         []layer
}

// LoadBERT reads a HuggingFace BERT folder: config.json, vocab.txt and
// model.safetensors, or shards listed by model.safetensors.index.json
// (float32, bfloat16 or float16, widened to float32; tensor names as
// BertModel's, with or without a "bert." prefix). The tokenizer lower-cases (bert-base-uncased) unless
// tokenizer_config.json says do_lower_case false. A model
// name such as "bert-base-uncased" is not downloaded: the error says how to
// provide the folder.
func LoadBERT(dir string) (*BERT, error) {
	if strings.Contains(dir, "://") {
		return nil, fmt.Errorf("text: %q: only local folders are supported; copy config.json, vocab.txt and model.safetensors to a local folder and pass its path", dir)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("text: %q is not a local folder and models are not downloaded; download the HuggingFace model folder elsewhere "+
				"(e.g. huggingface-cli download %s config.json vocab.txt model.safetensors --local-dir DIR) and pass DIR", dir, dir)
		}
		if err == nil {
			err = errors.New("not a folder")
		}
		return nil, fmt.Errorf("text: model folder %q: %w", dir, err)
	}
	cfgPath := filepath.Join(dir, "config.json")
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		return nil, err
	}
	vocabPath := filepath.Join(dir, "vocab.txt")
	vocab, err := LoadVocab(vocabPath)
	if err != nil {
		return nil, err
	}
	if vocab.Len() > cfg.VocabSize {
		return nil, fmt.Errorf("text: %s: %d tokens, more than vocab_size %d in %s", vocabPath, vocab.Len(), cfg.VocabSize, cfgPath)
	}
	st, err := readWeights(dir)
	if err != nil {
		return nil, err
	}
	ws := map[string][]float32{}
	for _, t := range cfg.tensorShapes() {
		if ws[t.Name], err = st.float32s(t.Name, t.Shape); err != nil {
			return nil, err
		}
	}
	tok := Tokenizer{Vocab: vocab, Lower: lowerCase(dir), MaxLen: cfg.MaxPositionEmbeddings}
	return newBERT(cfg, tok, ws), nil
}

// lowerCase reads do_lower_case from tokenizer_config.json (true when
// absent or unreadable, as for bert-base-uncased).
func lowerCase(dir string) bool {
	raw, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return true
	}
	var tc struct {
		DoLowerCase *bool `json:"do_lower_case"`
	}
	if json.Unmarshal(raw, &tc) != nil || tc.DoLowerCase == nil {
		return true
	}
	return *tc.DoLowerCase
}

// newBERT builds the model from tensors named and shaped as
// cfg.tensorShapes says (checked by the caller).
func newBERT(cfg Config, tok Tokenizer, ws map[string][]float32) *BERT {
	d, f := cfg.HiddenSize, cfg.IntermediateSize
	m := &BERT{Config: cfg, Tokenizer: tok,
		word: ws["embeddings.word_embeddings.weight"], pos: ws["embeddings.position_embeddings.weight"],
		typ:   ws["embeddings.token_type_embeddings.weight"],
		embLN: layerNorm{ws["embeddings.LayerNorm.weight"], ws["embeddings.LayerNorm.bias"]}}
	lin := func(name string, in, out int) linear {
		return linear{w: ws[name+".weight"], b: ws[name+".bias"], in: in, out: out}
	}
	for i := range cfg.NumHiddenLayers {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		m.layers = append(m.layers, layer{
			q: lin(p+"attention.self.query", d, d), k: lin(p+"attention.self.key", d, d),
			v: lin(p+"attention.self.value", d, d), attnOut: lin(p+"attention.output.dense", d, d),
			attnLN: layerNorm{ws[p+"attention.output.LayerNorm.weight"], ws[p+"attention.output.LayerNorm.bias"]},
			inter:  lin(p+"intermediate.dense", d, f), out: lin(p+"output.dense", f, d),
			outLN: layerNorm{ws[p+"output.LayerNorm.weight"], ws[p+"output.LayerNorm.bias"]},
		})
	}
	return m
}

// Encode tokenizes each text (Tokenizer.Encode, truncated to MaxLen) and
// returns one hidden_size vector per text, pooled as pooling says (PoolCLS
// or PoolMean). No texts give none; an unknown pooling is an error.
func (m *BERT) Encode(texts []string, pooling string) ([][]float32, error) {
	ids := make([][]int32, len(texts))
	item, hasItem := m.Tokenizer.Vocab.ID(ItemToken)
	if pooling == PoolItem && !hasItem {
		return nil, fmt.Errorf("text: pooling %q needs an %s token in the vocabulary: a model whose item LLM was trained with one (HLLM); a plain BERT has none, use %q or %q", PoolItem, ItemToken, PoolMean, PoolCLS)
	}
	for i, t := range texts {
		if pooling != PoolItem {
			ids[i] = m.Tokenizer.encode(t)
			continue
		}
		tok := m.Tokenizer
		if tok.MaxLen > 0 {
			tok.MaxLen-- // room for [ITEM]
		}
		s := tok.encode(t)
		ids[i] = append(s[:len(s)-1:len(s)-1], item, s[len(s)-1]) // [CLS] pieces [ITEM] [SEP]
	}
	return m.EncodeIDs(ids, pooling)
}

// EncodeIDs is Encode on token ids, one unpadded sequence per item (each
// 1..max_position_embeddings ids in [0, vocab_size)).
func (m *BERT) EncodeIDs(seqs [][]int32, pooling string) ([][]float32, error) {
	if pooling != PoolCLS && pooling != PoolMean && pooling != PoolItem {
		return nil, fmt.Errorf("text: pooling %q (want %q, %q or %q)", pooling, PoolCLS, PoolMean, PoolItem)
	}
	item, _ := m.Tokenizer.Vocab.ID(ItemToken)
	at := make([]int, len(seqs)) // PoolItem: the last [ITEM] position of each sequence
	for i, s := range seqs {
		at[i] = -1
		if pooling == PoolItem {
			for j, id := range s {
				if id == item {
					at[i] = j
				}
			}
			if at[i] < 0 {
				return nil, fmt.Errorf("text: sequence %d has no %s token to pool", i, ItemToken)
			}
		}
	}
	if err := checkIDs(seqs, m.Config.MaxPositionEmbeddings, m.Config.VocabSize); err != nil {
		return nil, err
	}
	row := func(i int, _ []int32) int {
		switch pooling {
		case PoolCLS:
			return 0
		case PoolItem:
			return at[i]
		}
		return -1
	}
	return poolChunks(seqs, m.Config.HiddenSize, m.forward, row), nil
}

// poolChunks runs forward over seqs in chunks of at most maxChunkRows rows
// (chunkEnd) and pools each sequence's hidden states (len(s) x d, packed
// row after row) into one d-vector: the state at position row(i, s), or,
// when row returns -1, the mean over the sequence's positions.
func poolChunks(seqs [][]int32, d int, forward func([][]int32) []float32, row func(i int, s []int32) int) [][]float32 {
	out := make([][]float32, len(seqs))
	for lo := 0; lo < len(seqs); {
		hi := chunkEnd(seqs, lo)
		x := forward(seqs[lo:hi])
		o := 0
		for i, s := range seqs[lo:hi] {
			v := make([]float32, d)
			if r := row(lo+i, s); r >= 0 {
				copy(v, x[(o+r)*d:(o+r+1)*d])
			} else {
				for r := o; r < o+len(s); r++ {
					kernels.Axpy(1, x[r*d:(r+1)*d], v)
				}
				inv := 1 / float32(len(s))
				for j := range v {
					v[j] *= inv
				}
			}
			out[lo+i] = v
			o += len(s)
		}
		lo = hi
	}
	return out
}

// forward returns the last hidden states of seqs packed row after row
// ((sum of lengths) x hidden). Ids must be valid.
func (m *BERT) forward(seqs [][]int32) []float32 {
	c := m.Config
	d, f, H := c.HiddenSize, c.IntermediateSize, c.NumAttentionHeads
	dh := d / H
	offs := make([]int, len(seqs)+1)
	for i, s := range seqs {
		offs[i+1] = offs[i] + len(s)
	}
	n := offs[len(seqs)]
	x, q, k, v := make([]float32, n*d), make([]float32, n*d), make([]float32, n*d), make([]float32, n*d)
	ctx, tmp, inter, rstd := make([]float32, n*d), make([]float32, n*d), make([]float32, n*f), make([]float32, n)

	for i, s := range seqs {
		for p, id := range s {
			xr := x[(offs[i]+p)*d : (offs[i]+p+1)*d]
			w, ps := m.word[int(id)*d:], m.pos[p*d:]
			for j := range xr {
				xr[j] = w[j] + ps[j] + m.typ[j]
			}
		}
	}
	m.embLN.forward(x, x, rstd, n, c.LayerNormEps)

	scale := float32(1 / math.Sqrt(float64(dh)))
	for _, ly := range m.layers {
		ly.q.forward(x, q, n)
		ly.k.forward(x, k, n)
		ly.v.forward(x, v, n)
		kernels.Parallel(len(seqs)*H, func(p int) {
			s, h := p/H, p%H
			o, L := offs[s], offs[s+1]-offs[s]
			at := o*d + h*dh
			S := make([]float32, L*L)
			kernels.Gemm(false, true, L, L, dh, scale, q[at:], d, k[at:], d, 0, S, L)
			for i := range L {
				softmaxRow(S[i*L : (i+1)*L])
			}
			kernels.Gemm(false, false, L, dh, L, 1, S, L, v[at:], d, 0, ctx[at:], d)
		})
		ly.attnOut.forward(ctx, tmp, n)
		for i := range tmp {
			tmp[i] += x[i]
		}
		ly.attnLN.forward(tmp, x, rstd, n, c.LayerNormEps)
		ly.inter.forward(x, inter, n)
		kernels.GELUForward(inter, inter)
		ly.out.forward(inter, tmp, n)
		for i := range tmp {
			tmp[i] += x[i]
		}
		ly.outLN.forward(tmp, x, rstd, n, c.LayerNormEps)
	}
	return x
}

// softmaxRow replaces s by softmax(s), shifting by the maximum.
func softmaxRow(s []float32) {
	mx := s[0]
	for _, v := range s[1:] {
		mx = max(mx, v)
	}
	var sum float32
	for i, v := range s {
		e := float32(math.Exp(float64(v - mx)))
		s[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range s {
		s[i] *= inv
	}
}

// checkIDs reports the first sequence of seqs that is empty, longer than
// maxLen tokens, or holds an id outside [0, vocab).
func checkIDs(seqs [][]int32, maxLen, vocab int) error {
	for i, s := range seqs {
		if len(s) == 0 || len(s) > maxLen {
			return fmt.Errorf("text: sequence %d: %d tokens (want 1..%d)", i, len(s), maxLen)
		}
		for j, id := range s {
			if id < 0 || int(id) >= vocab {
				return fmt.Errorf("text: sequence %d, token %d: id %d outside [0, %d)", i, j, id, vocab)
			}
		}
	}
	return nil
}

// chunkEnd is the end of the chunk of seqs that starts at lo: as many
// sequences as fit in maxChunkRows positions, and at least one.
func chunkEnd(seqs [][]int32, lo int) int {
	hi, rows := lo, 0
	for hi < len(seqs) && (hi == lo || rows+len(seqs[hi]) <= maxChunkRows) {
		rows += len(seqs[hi])
		hi++
	}
	return hi
}
