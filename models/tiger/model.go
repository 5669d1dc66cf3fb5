package tiger

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
)

// Config is the encoder-decoder's shape. Zero fields take the defaults of
// WithDefaults, the paper's (Rajput et al. 2023, section 4.1): 4 + 4
// layers, d 128, 6 heads of 64, feed-forward 1024, dropout 0.1, 2,000 user
// buckets, 20 history items.
type Config struct {
	Codes       []int   `json:"codes" yaml:"-"`                       // codes per level of a semantic ID (set from the tokenizer); K = len(Codes)
	UserBuckets int     `json:"user_buckets" yaml:"user_buckets"`     // the user token's hash buckets
	MaxItems    int     `json:"max_items" yaml:"max_items"`           // history items the encoder reads (the most recent)
	Dim         int     `json:"hidden_size" yaml:"hidden_size"`       // d
	Heads       int     `json:"num_heads" yaml:"num_heads"`           // H
	HeadDim     int     `json:"head_dim" yaml:"head_dim"`             // per head
	FFN         int     `json:"ffn_size" yaml:"ffn_size"`             // feed-forward width
	EncLayers   int     `json:"encoder_layers" yaml:"encoder_layers"` // encoder blocks
	DecLayers   int     `json:"decoder_layers" yaml:"decoder_layers"` // decoder blocks
	Dropout     float64 `json:"dropout" yaml:"dropout"`
}

// WithDefaults fills zero fields (Codes excepted).
func (c Config) WithDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.UserBuckets, 2000)
	def(&c.MaxItems, 20)
	def(&c.Dim, 128)
	def(&c.Heads, 6)
	def(&c.HeadDim, 64)
	def(&c.FFN, 1024)
	def(&c.EncLayers, 4)
	def(&c.DecLayers, 4)
	return c
}

// Validate reports the first bad field, naming it.
func (c Config) Validate() error {
	switch {
	case len(c.Codes) == 0:
		return fmt.Errorf("tiger: no semantic-ID levels (codes)")
	case c.UserBuckets < 1, c.MaxItems < 1, c.Dim < 1, c.Heads < 1, c.HeadDim < 1, c.FFN < 1, c.EncLayers < 1, c.DecLayers < 1:
		return fmt.Errorf("tiger: user_buckets, max_items, hidden_size, num_heads, head_dim, ffn_size, encoder_layers and decoder_layers must be positive: %+v", c)
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("tiger: dropout must be in [0, 1), got %v", c.Dropout)
	}
	for l, n := range c.Codes {
		if n < 1 {
			return fmt.Errorf("tiger: level %d has %d codes", l, n)
		}
	}
	return nil
}

// K is the number of tokens of a semantic ID.
func (c Config) K() int { return len(c.Codes) }

// EncLen is the encoder's padded length: the user token and MaxItems*K
// code tokens.
func (c Config) EncLen() int { return 1 + c.MaxItems*c.K() }

// Vocab is the token vocabulary's size: padding 0, the user buckets
// 1..UserBuckets, then the codes of each level, then BOS.
func (c Config) Vocab() int {
	n := 1 + c.UserBuckets
	for _, k := range c.Codes {
		n += k
	}
	return n + 1
}

// CodeToken is the token of code c at level l.
func (c Config) CodeToken(l, code int) int32 {
	off := 1 + c.UserBuckets
	for _, k := range c.Codes[:l] {
		off += k
	}
	return int32(off + code)
}

// UserToken is the token of user bucket u.
func (c Config) UserToken(u int) int32 { return int32(1 + u) }

// BOS is the decoder's start token.
func (c Config) BOS() int32 { return int32(c.Vocab() - 1) }

type encLayer[T kernels.Float] struct {
	att    *attention[T]
	ff     *ffn[T]
	r1, r2 residual[T]
}

type decLayer[T kernels.Float] struct {
	self, cross *attention[T]
	ff          *ffn[T]
	r1, r2, r3  residual[T]
}

// Model is TIGER's sequence-to-sequence Transformer (Rajput et al. 2023,
// arXiv 2305.05065; T5, Raffel et al. 2020, arXiv 1910.10683) over
// semantic-ID tokens. Encoder input: the user token then the history's
// code tokens, left-aligned, with learnt absolute positions; decoder input:
// BOS then the first K-1 codes of the target (teacher forcing). Each block
// is pre-LayerNorm (LayerNorm without affine, eps 1e-6):
//
//	encoder:  x = x + Drop(SelfAttn(LN x));  x = x + Drop(FFN(LN x));  enc = LN x
//	decoder:  y = y + Drop(CausalSelfAttn(LN y));  y = y + Drop(CrossAttn(LN y, enc))
//	          y = y + Drop(FFN(LN y));  h = LN y
//	logits_l = h_l W_l + b_l      (C_l codes of level l at decoder position l)
//	loss     = mean over (b, l) of -log softmax(logits_l)[target_l]
//
// FFN(x) = ReLU(x W1 + b1) W2 + b2. Token embeddings (shared by encoder and
// decoder inputs) and positions are N(0, 0.02); dense weights Xavier-uniform.
// Not safe for concurrent use.
type Model[T kernels.Float] struct {
	Config           Config
	emb, encPos, dec *kernels.Param[T]
	enc              []*encLayer[T]
	dl               []*decLayer[T]
	heads, bias      []*kernels.Param[T]

	st state[T]
}

// state is the last forward's.
type state[T kernels.Float] struct {
	b, le, ld       int
	etok, dtok      []int32
	elens, dlens    []int
	emask, dmask    []bool
	encOut, encRstd []T
	encX            []T // before the final LN
	decOut, decRstd []T
	decX            []T
	probs           [][]T // per level: B x C_l softmax
	targets         []int32
	encP, decP      float64 // dropout rates the forward used
}

// New returns a model of cfg (defaults applied) with weights from seed.
func New[T kernels.Float](cfg Config, seed uint64) (*Model[T], error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x71ce))
	d := cfg.Dim
	m := &Model[T]{Config: cfg,
		emb: kernels.NewParam[T]("embedding", cfg.Vocab(), d), encPos: kernels.NewParam[T]("encoder.pos", cfg.EncLen(), d),
		dec: kernels.NewParam[T]("decoder.pos", cfg.K(), d)}
	for _, p := range []*kernels.Param[T]{m.emb, m.encPos, m.dec} {
		kernels.InitNormal(p.Value, 0.02, rng)
	}
	for i := range cfg.EncLayers {
		n := fmt.Sprintf("encoder.%d", i)
		m.enc = append(m.enc, &encLayer[T]{att: newAttention[T](n+".attn", d, cfg.Heads, cfg.HeadDim, false, rng), ff: newFFN[T](n+".ffn", d, cfg.FFN, rng)})
	}
	for i := range cfg.DecLayers {
		n := fmt.Sprintf("decoder.%d", i)
		m.dl = append(m.dl, &decLayer[T]{self: newAttention[T](n+".self", d, cfg.Heads, cfg.HeadDim, true, rng),
			cross: newAttention[T](n+".cross", d, cfg.Heads, cfg.HeadDim, false, rng), ff: newFFN[T](n+".ffn", d, cfg.FFN, rng)})
	}
	for l, c := range cfg.Codes {
		m.heads = append(m.heads, linear[T](fmt.Sprintf("head.%d", l), d, c, rng))
		m.bias = append(m.bias, kernels.NewParam[T](fmt.Sprintf("head.%d.b", l), c))
	}
	return m, nil
}

// Params are every trainable tensor, in a fixed order.
func (m *Model[T]) Params() []*kernels.Param[T] {
	ps := []*kernels.Param[T]{m.emb, m.encPos, m.dec}
	for _, l := range m.enc {
		ps = append(append(ps, l.att.params()...), l.ff.params()...)
	}
	for _, l := range m.dl {
		ps = append(append(append(ps, l.self.params()...), l.cross.params()...), l.ff.params()...)
	}
	for l := range m.heads {
		ps = append(ps, m.heads[l], m.bias[l])
	}
	return ps
}

// Batch is B encoder inputs and decoder inputs.
type Batch struct {
	B      int
	Enc    []int32 // B x EncLen tokens, left-aligned, 0 = padding
	EncLen []int   // valid encoder tokens per row (>= 1)
	Dec    []int32 // B x Ld decoder input tokens (BOS, code tokens ...)
	DecLen int     // Ld, 1..K
	Target []int32 // B x K target codes (level values, not tokens); nil at inference
}

// embed gathers tok embeddings plus positions (pos table rows 0..L-1 per
// row of L tokens).
func (m *Model[T]) embed(tok []int32, pos []T, l int) []T {
	d := m.Config.Dim
	out := make([]T, len(tok)*d)
	kernels.EmbeddingGather(m.emb.Value, d, tok, out)
	for r := range tok {
		kernels.AddTo(out[r*d:(r+1)*d], pos[(r%l)*d:(r%l+1)*d])
	}
	return out
}

// Encode runs the encoder on b (rng draws dropout; nil: no dropout) and
// returns enc ((B*EncLen) x d).
func (m *Model[T]) Encode(b *Batch, rng *rand.Rand) []T {
	c, s := m.Config, &m.st
	le, d := c.EncLen(), c.Dim
	checkLen("Encode", "Enc", len(b.Enc), b.B*le)
	p := c.Dropout
	if rng == nil {
		p = 0
	}
	s.b, s.le, s.etok, s.elens, s.encP = b.B, le, b.Enc, b.EncLen, p
	x0 := m.embed(b.Enc, m.encPos.Value, le)
	s.emask = make([]bool, len(x0))
	x := make([]T, len(x0))
	kernels.DropoutForward(x0, x, p, rng, s.emask)
	rows := b.B * le
	for _, l := range m.enc {
		n := l.r1.norm(x, rows, d)
		x = l.r1.add(x, l.att.forward(n, n, b.B, le, le, b.EncLen, b.EncLen), p, rng)
		n = l.r2.norm(x, rows, d)
		x = l.r2.add(x, l.ff.forward(n, rows), p, rng)
	}
	s.encX = x
	s.encOut, s.encRstd = make([]T, len(x)), make([]T, rows)
	kernels.LayerNormForward(x, s.encOut, rows, d, lnEps, s.encRstd)
	return s.encOut
}

// Decode runs the decoder on b's decoder input over enc (from Encode,
// (B*EncLen) x d, B rows of b) and returns h ((B*DecLen) x d).
func (m *Model[T]) Decode(b *Batch, enc []T, rng *rand.Rand) []T {
	c, s := m.Config, &m.st
	ld, d := b.DecLen, c.Dim
	checkLen("Decode", "Dec", len(b.Dec), b.B*ld)
	p := c.Dropout
	if rng == nil {
		p = 0
	}
	s.ld, s.dtok, s.decP = ld, b.Dec, p
	s.dlens = make([]int, b.B)
	for i := range s.dlens {
		s.dlens[i] = ld
	}
	y0 := m.embed(b.Dec, m.dec.Value, ld)
	s.dmask = make([]bool, len(y0))
	y := make([]T, len(y0))
	kernels.DropoutForward(y0, y, p, rng, s.dmask)
	rows := b.B * ld
	for _, l := range m.dl {
		n := l.r1.norm(y, rows, d)
		y = l.r1.add(y, l.self.forward(n, n, b.B, ld, ld, s.dlens, s.dlens), p, rng)
		n = l.r2.norm(y, rows, d)
		y = l.r2.add(y, l.cross.forward(n, enc, b.B, ld, c.EncLen(), s.dlens, b.EncLen), p, rng)
		n = l.r3.norm(y, rows, d)
		y = l.r3.add(y, l.ff.forward(n, rows), p, rng)
	}
	s.decX = y
	s.decOut, s.decRstd = make([]T, len(y)), make([]T, rows)
	kernels.LayerNormForward(y, s.decOut, rows, d, lnEps, s.decRstd)
	return s.decOut
}

// Logits returns level l's logits (B x C_l) from decoder position pos of h.
func (m *Model[T]) Logits(h []T, bsz, ld, pos, l int) []T {
	d, cl := m.Config.Dim, m.Config.Codes[l]
	x := make([]T, bsz*d)
	for b := range bsz {
		copy(x[b*d:(b+1)*d], h[(b*ld+pos)*d:])
	}
	out := make([]T, bsz*cl)
	kernels.LinearForward(x, m.heads[l].Value, m.bias[l].Value, out, bsz, d, cl)
	return out
}

// Loss runs the model on b with teacher forcing (DecLen == K, Target set)
// and returns the mean cross-entropy over the B*K target codes; Backward
// then accumulates its gradient.
func (m *Model[T]) Loss(b *Batch, rng *rand.Rand) float64 {
	K := m.Config.K()
	if b.DecLen != K || len(b.Target) != b.B*K {
		panic(fmt.Sprintf("tiger: Loss: DecLen %d, %d targets for B %d, K %d", b.DecLen, len(b.Target), b.B, K))
	}
	enc := m.Encode(b, rng)
	h := m.Decode(b, enc, rng)
	s := &m.st
	s.targets, s.probs = b.Target, make([][]T, K)
	loss := 0.0
	for l := range K {
		lg := m.Logits(h, b.B, K, l, l)
		cl := m.Config.Codes[l]
		for r := range b.B {
			row := lg[r*cl : (r+1)*cl]
			mx := row[0]
			for _, v := range row {
				mx = max(mx, v)
			}
			sum := 0.0
			for j, v := range row {
				e := math.Exp(float64(v - mx))
				row[j] = T(e)
				sum += e
			}
			t := int(b.Target[r*K+l])
			if t < 0 || t >= cl {
				panic(fmt.Sprintf("tiger: Loss: row %d level %d: target code %d outside [0, %d)", r, l, t, cl))
			}
			loss -= math.Log(float64(row[t]) / sum)
			for j := range row {
				row[j] = T(float64(row[j]) / sum)
			}
		}
		s.probs[l] = lg
	}
	return loss / float64(b.B*K)
}

// Backward accumulates the gradient of the last Loss into Params' Grad.
func (m *Model[T]) Backward() {
	c, s := m.Config, &m.st
	K, d, B := c.K(), c.Dim, s.b
	scale := 1 / float64(B*K)
	dh := make([]T, B*K*d)
	for l := range K {
		cl := c.Codes[l]
		g := append([]T(nil), s.probs[l]...)
		for r := range B {
			g[r*cl+int(s.targets[r*K+l])] -= 1
		}
		kernels.ScaleBy(g, T(scale))
		x := make([]T, B*d)
		for b := range B {
			copy(x[b*d:(b+1)*d], s.decOut[(b*K+l)*d:(b*K+l+1)*d])
		}
		dx := make([]T, B*d)
		kernels.LinearBackward(x, m.heads[l].Value, g, dx, m.heads[l].Grad, m.bias[l].Grad, B, d, cl)
		for b := range B {
			kernels.AddTo(dh[(b*K+l)*d:(b*K+l+1)*d], dx[b*d:(b+1)*d])
		}
	}
	rows := B * K
	dy := make([]T, rows*d)
	kernels.LayerNormBackward(s.decOut, s.decRstd, dh, dy, rows, d)
	dEnc := make([]T, B*s.le*d)
	for i := len(m.dl) - 1; i >= 0; i-- {
		l := m.dl[i]
		dy = l.ff.backThrough(&l.r3, dy, rows, d)
		df := l.r2.dropBack(dy)
		dn := make([]T, len(dy))
		l.cross.backward(df, dn, dEnc)
		l.r2.normBack(dn, dy, rows, d)
		dy = l.self.backThrough(&l.r1, dy, rows, d)
	}
	m.scatter(s.dmask, s.decP, dy, s.dtok, m.dec, K)
	rows = B * s.le
	dx := make([]T, rows*d)
	kernels.LayerNormBackward(s.encOut, s.encRstd, dEnc, dx, rows, d)
	for i := len(m.enc) - 1; i >= 0; i-- {
		l := m.enc[i]
		dx = l.ff.backThrough(&l.r2, dx, rows, d)
		dx = l.att.backThrough(&l.r1, dx, rows, d)
	}
	m.scatter(s.emask, s.encP, dx, s.etok, m.encPos, s.le)
}

// scatter sends the gradient of the dropped-out embedding input to the
// token table and the position table.
func (m *Model[T]) scatter(mask []bool, p float64, dy []T, tok []int32, pos *kernels.Param[T], l int) {
	d := m.Config.Dim
	dx := make([]T, len(dy))
	kernels.DropoutBackward(mask, p, dy, dx)
	kernels.EmbeddingScatter(m.emb, tok, dx, 1)
	for r := range tok {
		kernels.AddTo(pos.Grad[(r%l)*d:(r%l+1)*d], dx[r*d:(r+1)*d])
	}
}

// backThrough returns dx of y = x + Drop(FFN(LN x)) from dy.
func (f *ffn[T]) backThrough(r *residual[T], dy []T, rows, d int) []T {
	dn := make([]T, len(dy))
	f.backward(r.dropBack(dy), dn, rows)
	dx := append([]T(nil), dy...)
	r.normBack(dn, dx, rows, d)
	return dx
}

// backThrough returns dx of y = x + Drop(SelfAttn(LN x)) from dy.
func (a *attention[T]) backThrough(r *residual[T], dy []T, rows, d int) []T {
	dn := make([]T, len(dy))
	a.backward(r.dropBack(dy), dn, dn)
	dx := append([]T(nil), dy...)
	r.normBack(dn, dx, rows, d)
	return dx
}
