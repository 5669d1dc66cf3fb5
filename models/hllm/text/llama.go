package text

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/genrec/genrec/models/kernels"
)

// PoolLast pools a decoder's last position: with causal attention it is
// the only one that has seen the whole text (HLLM reads the item there, at
// an [ITEM] token appended to the text).
const PoolLast = "last"

// LlamaConfig is the part of a HuggingFace LLaMA / Qwen2 config.json the
// decoder uses. num_key_value_heads < num_attention_heads is grouped-query
// attention; head_dim defaults to hidden_size / num_attention_heads.
type LlamaConfig struct {
	ModelType             string          `json:"model_type"`
	VocabSize             int             `json:"vocab_size"`
	HiddenSize            int             `json:"hidden_size"`
	IntermediateSize      int             `json:"intermediate_size"`
	NumHiddenLayers       int             `json:"num_hidden_layers"`
	NumAttentionHeads     int             `json:"num_attention_heads"`
	NumKeyValueHeads      int             `json:"num_key_value_heads"`
	HeadDim               int             `json:"head_dim"`
	MaxPositionEmbeddings int             `json:"max_position_embeddings"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	RopeTheta             float64         `json:"rope_theta"`
	HiddenAct             string          `json:"hidden_act"`
	AttentionBias         bool            `json:"attention_bias"` // LLaMA: biases on q, k, v and o
	RopeScaling           json.RawMessage `json:"rope_scaling"`
}

// qkvBias reports whether q, k, v carry biases (Qwen2 always; LLaMA with
// attention_bias), oBias whether o does (LLaMA with attention_bias).
func (c LlamaConfig) qkvBias() bool { return c.ModelType == "qwen2" || c.AttentionBias }
func (c LlamaConfig) oBias() bool   { return c.ModelType != "qwen2" && c.AttentionBias }

// loadLlamaConfig reads config.json with HuggingFace's defaults (head_dim
// hidden/heads, kv heads = heads, rms_norm_eps 1e-6, rope_theta 10000).
func loadLlamaConfig(path string) (LlamaConfig, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return LlamaConfig{}, fmt.Errorf("text: config: %w", err)
	}
	c := LlamaConfig{RMSNormEps: 1e-6, RopeTheta: 10000, HiddenAct: "silu"}
	if err := json.Unmarshal(raw, &c); err != nil {
		return LlamaConfig{}, fmt.Errorf("text: %s: %w", path, err)
	}
	if c.NumKeyValueHeads == 0 {
		c.NumKeyValueHeads = c.NumAttentionHeads
	}
	if c.HeadDim == 0 && c.NumAttentionHeads > 0 {
		c.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	bad := ""
	switch {
	case c.ModelType != "llama" && c.ModelType != "qwen2":
		bad = fmt.Sprintf("model_type %q: want llama or qwen2", c.ModelType)
	case c.VocabSize < 1 || c.HiddenSize < 1 || c.IntermediateSize < 1 || c.NumHiddenLayers < 0 ||
		c.NumAttentionHeads < 1 || c.NumKeyValueHeads < 1 || c.HeadDim < 2 || c.HeadDim%2 != 0 || c.MaxPositionEmbeddings < 1:
		bad = fmt.Sprintf("bad sizes %+v", c)
	case c.NumAttentionHeads%c.NumKeyValueHeads != 0:
		bad = fmt.Sprintf("num_attention_heads %d not a multiple of num_key_value_heads %d", c.NumAttentionHeads, c.NumKeyValueHeads)
	case c.HiddenAct != "silu":
		bad = fmt.Sprintf("hidden_act %q: only silu is supported", c.HiddenAct)
	case len(c.RopeScaling) > 0 && string(c.RopeScaling) != "null":
		bad = fmt.Sprintf("rope_scaling %s: only plain rotary positions are supported", c.RopeScaling)
	case c.RMSNormEps <= 0 || c.RopeTheta <= 0:
		bad = fmt.Sprintf("rms_norm_eps %g, rope_theta %g: want > 0", c.RMSNormEps, c.RopeTheta)
	}
	if bad != "" {
		return LlamaConfig{}, fmt.Errorf("text: %s: %s", path, bad)
	}
	return c, nil
}

type llamaLayer struct {
	inNorm, postNorm []float32
	q, k, v, o       linear
	gate, up, down   linear
}

// Llama is a decoder LLM of the LLaMA family for inference in float32
// (Touvron et al. 2023, arXiv 2302.13971; Qwen2, arXiv 2407.10671), with
// HuggingFace LlamaModel's / Qwen2Model's equations. For token ids t of
// length n, positions p = 0..n-1, H query heads and G key/value heads of
// width dh (head h reads kv head h / (H/G)):
//
//	x = embed[t]                                                   n x d
//	per layer:
//	  h = RMS(x) * g_in,        RMS(z) = z / sqrt(mean(z^2) + eps)
//	  Q = h Wq^T (+bq), K = h Wk^T (+bk), V = h Wv^T (+bv)          n x H*dh, n x G*dh
//	  Q, K = RoPE(Q, p), RoPE(K, p):  for i < dh/2, a = p theta^(-2i/dh),
//	         (z_i, z_{i+dh/2}) -> (z_i cos a - z_{i+dh/2} sin a, z_{i+dh/2} cos a + z_i sin a)
//	  A_h = softmax(Q_h K_g^T / sqrt(dh) + causal mask) V_g
//	  x = x + concat_h(A_h) Wo^T (+bo)
//	  h = RMS(x) * g_post
//	  x = x + (SiLU(h Wgate^T) * (h Wup^T)) Wdown^T
//	out = RMS(x) * g_final                                         n x d
//
// Biases: Qwen2 has bq, bk, bv; LLaMA with attention_bias has all four.
// Sequences run at their own lengths (no padding).
type Llama struct {
	Config    LlamaConfig
	Tokenizer *BPETokenizer // nil when the folder has no tokenizer.json

	embed, norm []float32
	layers      []llamaLayer
}

// LoadLlama reads a HuggingFace LLaMA or Qwen2 folder: config.json,
// model.safetensors or shards listed by model.safetensors.index.json
// (float32, bfloat16 or float16, widened to float32; LlamaModel names with
// or without the "model." prefix of LlamaForCausalLM), and tokenizer.json
// (byte-level BPE) when present.
func LoadLlama(dir string) (*Llama, error) {
	cfg, err := loadLlamaConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, err
	}
	st, err := readWeights(dir)
	if err != nil {
		return nil, err
	}
	d, f, dh := cfg.HiddenSize, cfg.IntermediateSize, cfg.HeadDim
	qd, kd := cfg.NumAttentionHeads*dh, cfg.NumKeyValueHeads*dh
	m := &Llama{Config: cfg}
	get := func(name string, shape ...int) (w []float32) {
		if err == nil {
			w, err = st.float32s(name, shape)
		}
		return w
	}
	lin := func(name string, in, out int, bias bool) linear {
		l := linear{w: get(name+".weight", out, in), in: in, out: out}
		if bias {
			l.b = get(name+".bias", out)
		}
		return l
	}
	m.embed = get("embed_tokens.weight", cfg.VocabSize, d)
	m.norm = get("norm.weight", d)
	for i := range cfg.NumHiddenLayers {
		p := fmt.Sprintf("layers.%d.", i)
		m.layers = append(m.layers, llamaLayer{
			inNorm: get(p+"input_layernorm.weight", d), postNorm: get(p+"post_attention_layernorm.weight", d),
			q: lin(p+"self_attn.q_proj", d, qd, cfg.qkvBias()), k: lin(p+"self_attn.k_proj", d, kd, cfg.qkvBias()),
			v: lin(p+"self_attn.v_proj", d, kd, cfg.qkvBias()), o: lin(p+"self_attn.o_proj", qd, d, cfg.oBias()),
			gate: lin(p+"mlp.gate_proj", d, f, false), up: lin(p+"mlp.up_proj", d, f, false), down: lin(p+"mlp.down_proj", f, d, false),
		})
	}
	if err != nil {
		return nil, err
	}
	if tp := filepath.Join(dir, "tokenizer.json"); fileExists(tp) {
		if m.Tokenizer, err = LoadBPETokenizer(tp); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// EncodeIDs returns one hidden_size vector per sequence of token ids (each
// 1..max_position_embeddings ids in [0, vocab_size)): the final-norm hidden
// state of the last position (PoolLast, PoolItem: the caller appended the
// item token) or the mean over positions (PoolMean).
func (m *Llama) EncodeIDs(seqs [][]int32, pooling string) ([][]float32, error) {
	if pooling != PoolLast && pooling != PoolMean && pooling != PoolItem {
		return nil, fmt.Errorf("text: pooling %q (want %q, %q or %q)", pooling, PoolLast, PoolMean, PoolItem)
	}
	if err := checkIDs(seqs, m.Config.MaxPositionEmbeddings, m.Config.VocabSize); err != nil {
		return nil, err
	}
	last := func(_ int, s []int32) int {
		if pooling == PoolMean {
			return -1
		}
		return len(s) - 1
	}
	return poolChunks(seqs, m.Config.HiddenSize, m.Forward, last), nil
}

// Forward returns the final-norm hidden states of seqs packed row after
// row ((sum of lengths) x hidden_size). Ids must be valid.
func (m *Llama) Forward(seqs [][]int32) []float32 {
	c := m.Config
	d, f, dh := c.HiddenSize, c.IntermediateSize, c.HeadDim
	H, G := c.NumAttentionHeads, c.NumKeyValueHeads
	qd, kd := H*dh, G*dh
	offs := make([]int, len(seqs)+1)
	pos := []int{}
	for i, s := range seqs {
		offs[i+1] = offs[i] + len(s)
		for p := range s {
			pos = append(pos, p)
		}
	}
	n := offs[len(seqs)]
	x, h := make([]float32, n*d), make([]float32, n*d)
	q, k, v, ctx := make([]float32, n*qd), make([]float32, n*kd), make([]float32, n*kd), make([]float32, n*qd)
	g, u := make([]float32, n*f), make([]float32, n*f)
	for r, p := 0, 0; r < len(seqs); r++ {
		for _, id := range seqs[r] {
			copy(x[p*d:(p+1)*d], m.embed[int(id)*d:(int(id)+1)*d])
			p++
		}
	}
	cos, sin := ropeTables(pos, dh, c.RopeTheta)
	scale := float32(1 / math.Sqrt(float64(dh)))
	for _, ly := range m.layers {
		rmsNorm(x, h, ly.inNorm, n, c.RMSNormEps)
		ly.q.forward(h, q, n)
		ly.k.forward(h, k, n)
		ly.v.forward(h, v, n)
		applyRoPE(q, cos, sin, n, H, dh)
		applyRoPE(k, cos, sin, n, G, dh)
		kernels.Parallel(len(seqs)*H, func(p int) {
			s, hd := p/H, p%H
			o, L := offs[s], offs[s+1]-offs[s]
			kv := hd / (H / G)
			S := make([]float32, L*L)
			kernels.Gemm(false, true, L, L, dh, scale, q[o*qd+hd*dh:], qd, k[o*kd+kv*dh:], kd, 0, S, L)
			for i := range L {
				row := S[i*L : (i+1)*L]
				softmaxRow(row[:i+1])
				clear(row[i+1:])
			}
			kernels.Gemm(false, false, L, dh, L, 1, S, L, v[o*kd+kv*dh:], kd, 0, ctx[o*qd+hd*dh:], qd)
		})
		ly.o.forward(ctx, h, n)
		kernels.Axpy(1, h, x)
		rmsNorm(x, h, ly.postNorm, n, c.RMSNormEps)
		ly.gate.forward(h, g, n)
		ly.up.forward(h, u, n)
		for i, z := range g {
			g[i] = z / (1 + float32(math.Exp(float64(-z)))) * u[i]
		}
		ly.down.forward(g, h, n)
		kernels.Axpy(1, h, x)
	}
	rmsNorm(x, x, m.norm, n, c.RMSNormEps)
	return x
}

// rmsNorm writes y = x / sqrt(mean(x^2) + eps) * w row by row (y may be x).
func rmsNorm(x, y, w []float32, rows int, eps float64) {
	d := len(w)
	for r := range rows {
		xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
		var ss float64
		for _, z := range xr {
			ss += float64(z) * float64(z)
		}
		inv := float32(1 / math.Sqrt(ss/float64(d)+eps))
		for i, z := range xr {
			yr[i] = z * inv * w[i]
		}
	}
}

// ropeTables returns cos and sin of p theta^(-2i/dh) for every row's
// position p and i < dh/2 (len(pos) x dh/2 each).
func ropeTables(pos []int, dh int, theta float64) (cos, sin []float32) {
	half := dh / 2
	cos, sin = make([]float32, len(pos)*half), make([]float32, len(pos)*half)
	for r, p := range pos {
		for i := range half {
			a := float64(p) * math.Pow(theta, -float64(2*i)/float64(dh))
			cos[r*half+i], sin[r*half+i] = float32(math.Cos(a)), float32(math.Sin(a))
		}
	}
	return cos, sin
}

// applyRoPE rotates each of the heads (width dh) of every row of z (rows x
// heads*dh) in place: HuggingFace's rotate_half pairing (i, i + dh/2).
func applyRoPE(z, cos, sin []float32, rows, heads, dh int) {
	half := dh / 2
	for r := range rows {
		cr, sr := cos[r*half:(r+1)*half], sin[r*half:(r+1)*half]
		for h := range heads {
			a := z[(r*heads+h)*dh : (r*heads+h+1)*dh]
			for i := range half {
				x1, x2 := a[i], a[i+half]
				a[i] = x1*cr[i] - x2*sr[i]
				a[i+half] = x2*cr[i] + x1*sr[i]
			}
		}
	}
}

// IsDecoder reports whether dir's config.json names a decoder LoadLlama
// reads (model_type llama or qwen2).
func IsDecoder(dir string) bool {
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return false
	}
	var c struct {
		ModelType string `json:"model_type"`
	}
	return json.Unmarshal(raw, &c) == nil && (c.ModelType == "llama" || c.ModelType == "qwen2")
}

// Encode tokenizes each text (the tokenizer's template included; PoolItem
// appends the tokenizer's [ITEM] token, as HLLM) and pools as EncodeIDs
// does. Texts are cut to max_position_embeddings tokens, keeping the
// appended [ITEM].
func (m *Llama) Encode(texts []string, pooling string) ([][]float32, error) {
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("text: the model folder has no tokenizer.json")
	}
	item, hasItem := m.Tokenizer.ID(ItemToken)
	if pooling == PoolItem && !hasItem {
		return nil, fmt.Errorf("text: pooling %q needs an %s token in tokenizer.json's added tokens (an HLLM-trained item LLM); use %q", PoolItem, ItemToken, PoolLast)
	}
	ids := make([][]int32, len(texts))
	limit := m.Config.MaxPositionEmbeddings
	for i, t := range texts {
		s, err := m.Tokenizer.Encode(t)
		if err != nil {
			return nil, err
		}
		if pooling == PoolItem {
			s = append(s[:min(len(s), limit-1)], item)
		} else if len(s) > limit {
			s = s[:limit]
		}
		if len(s) == 0 {
			return nil, fmt.Errorf("text: text %d %q has no tokens (the tokenizer adds no <s>); use pooling %q with an [ITEM] token", i, t, PoolItem)
		}
		ids[i] = s
	}
	return m.EncodeIDs(ids, pooling)
}
