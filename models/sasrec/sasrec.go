// Package sasrec implements SASRec (Kang & McAuley, "Self-Attentive
// Sequential Recommendation", arXiv 1808.09781) on genrec's kernels, as the
// baseline HSTU is compared with: same input layer, same retrieval head and
// loss, same trainer. Per block, on X (n x d):
//
//	A  = X + Dropout(MHA(LayerNorm(X)) W_o + b_o)        causal softmax attention
//	Y  = A + Dropout(GELU(LayerNorm(A) W_1 + b_1) W_2 + b_2)
//
// after the last block a LayerNorm, then the output is L2-normalised. The
// LayerNorms have no affine parameters (as HSTU's).
package sasrec

import (
	"fmt"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

const lnEps = 1e-6

// Config fixes a SASRec model's shape.
type Config struct {
	Items     int     `json:"items"`
	MaxSeqLen int     `json:"max_seq_len"`
	NumLayers int     `json:"num_layers"`
	NumHeads  int     `json:"num_heads"`
	Hidden    int     `json:"hidden_size"` // d; the FFN is d -> d -> d as in the paper
	Dropout   float64 `json:"dropout"`
	// Categories and ItemCategories: the item side feature, as hstu.Config.
	Categories       int       `json:"categories,omitempty"`
	ItemCategories   [][]int32 `json:"item_categories,omitempty"`
	UserFeatures     int       `json:"user_features,omitempty"`
	UserFeatureLists [][]int32 `json:"user_feature_lists,omitempty"`
}

// Validate reports an impossible setting.
func (c Config) Validate() error {
	switch {
	case c.Items < 2:
		return fmt.Errorf("sasrec: items must be at least 2, got %d", c.Items)
	case c.MaxSeqLen < 1 || c.NumLayers < 1 || c.NumHeads < 1 || c.Hidden < 1:
		return fmt.Errorf("sasrec: max_seq_len, num_layers, num_heads and hidden_size must be positive")
	case c.Hidden%c.NumHeads != 0:
		return fmt.Errorf("sasrec: hidden_size %d is not a multiple of num_heads %d", c.Hidden, c.NumHeads)
	case c.Categories < 0 || len(c.ItemCategories) > c.Items:
		return fmt.Errorf("sasrec: %d categories for %d item lists (catalogue %d)", c.Categories, len(c.ItemCategories), c.Items)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("sasrec: dropout must be in [0, 1), got %v", c.Dropout)
	}
	return nil
}

// Model is a SASRec model; Model[float32] is a sequential.Model.
type Model[T kernels.Float] struct {
	cfg    Config
	d, n   int
	In     *sequential.Input[T]
	Blocks []*Block[T]
	params []*kernels.Param[T]

	b                   *sequential.Batch
	p                   float64
	final, finalRstd    []T
	out                 sequential.Output[T]
	scratch, dq, dk, dv []T
}

// Block is one self-attention block with its saved activations.
type Block[T kernels.Float] struct {
	QKV, BQKV, WO, BO, W1, B1, W2, B2 *kernels.Param[T]

	x, ln1, rstd1, qkv, q, k, v, probs, o, proj, projD, a []T
	ln2, rstd2, pre1, h1, pre2, h2                        []T
	mask1, mask2                                          []bool
	y                                                     []T
}

// New builds a model: Xavier-uniform weights, zero biases.
func New[T kernels.Float](cfg Config, rng *rand.Rand) (*Model[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := cfg.Hidden
	m := &Model[T]{cfg: cfg, d: d, n: cfg.MaxSeqLen, In: sequential.NewInput[T](cfg.Items, cfg.MaxSeqLen, d, rng)}
	m.params = []*kernels.Param[T]{m.In.Items, m.In.Pos}
	if cfg.Categories > 0 {
		m.In.ItemSide = sequential.NewSide[T]("category_emb", cfg.Categories, cfg.Hidden, cfg.ItemCategories, rng)
		m.params = append(m.params, m.In.ItemSide.Table)
	}
	if cfg.UserFeatures > 0 {
		m.In.UserSide = sequential.NewSide[T]("user_feature_emb", cfg.UserFeatures, cfg.Hidden, cfg.UserFeatureLists, rng)
		m.params = append(m.params, m.In.UserSide.Table)
	}
	for l := range cfg.NumLayers {
		name := func(s string) string { return fmt.Sprintf("blocks.%d.%s", l, s) }
		bl := &Block[T]{
			QKV: kernels.NewParam[T](name("qkv_w"), d, 3*d), BQKV: kernels.NewParam[T](name("qkv_b"), 3*d),
			WO: kernels.NewParam[T](name("o_w"), d, d), BO: kernels.NewParam[T](name("o_b"), d),
			W1: kernels.NewParam[T](name("ffn1_w"), d, d), B1: kernels.NewParam[T](name("ffn1_b"), d),
			W2: kernels.NewParam[T](name("ffn2_w"), d, d), B2: kernels.NewParam[T](name("ffn2_b"), d),
		}
		kernels.InitXavierUniform(bl.QKV.Value, d, d, rng)
		kernels.InitXavierUniform(bl.WO.Value, d, d, rng)
		kernels.InitXavierUniform(bl.W1.Value, d, d, rng)
		kernels.InitXavierUniform(bl.W2.Value, d, d, rng)
		m.params = append(m.params, bl.QKV, bl.BQKV, bl.WO, bl.BO, bl.W1, bl.B1, bl.W2, bl.B2)
		m.Blocks = append(m.Blocks, bl)
	}
	return m, nil
}

func (m *Model[T]) Name() string                 { return "sasrec" }
func (m *Model[T]) Dim() int                     { return m.d }
func (m *Model[T]) MaxLen() int                  { return m.n }
func (m *Model[T]) Params() []*kernels.Param[T]  { return m.params }
func (m *Model[T]) ItemTable() *kernels.Param[T] { return m.In.Items }
func (m *Model[T]) Config() Config               { return m.cfg }

func (m *Model[T]) attention() kernels.SoftmaxAttention {
	return kernels.SoftmaxAttention{B: m.b.B, L: m.n, H: m.cfg.NumHeads, DK: m.d / m.cfg.NumHeads, DV: m.d / m.cfg.NumHeads}
}

// Forward returns the L2-normalised user embedding at every position of b
// (b.B*N x d, zero at padding); a non-nil rng turns dropout on.
func (m *Model[T]) Forward(b *sequential.Batch, rng *rand.Rand) []T {
	m.b, m.p = b, m.cfg.Dropout
	if rng == nil {
		m.p = 0
	}
	x := m.In.Forward(b, m.p, rng)
	for _, bl := range m.Blocks {
		x = m.forwardBlock(bl, x, rng)
	}
	r := m.In.Rows()
	m.final = sequential.Grow(m.final, r*m.d)
	m.finalRstd = sequential.Grow(m.finalRstd, r)
	kernels.LayerNormForward(x, m.final, r, m.d, lnEps, m.finalRstd)
	return m.out.Forward(b, m.In.Packed, m.final, m.d)
}

func (m *Model[T]) forwardBlock(bl *Block[T], x []T, rng *rand.Rand) []T {
	packed, r, d := m.In.Packed, m.In.Rows(), m.d
	padded := m.b.B * m.n
	bl.x = x
	bl.ln1, bl.rstd1 = sequential.Grow(bl.ln1, r*d), sequential.Grow(bl.rstd1, r)
	kernels.LayerNormForward(x, bl.ln1, r, d, lnEps, bl.rstd1)
	bl.qkv = sequential.Grow(bl.qkv, r*3*d)
	kernels.LinearForward(bl.ln1, bl.QKV.Value, bl.BQKV.Value, bl.qkv, r, d, 3*d)
	bl.q, bl.k, bl.v = sequential.Grow(bl.q, padded*d), sequential.Grow(bl.k, padded*d), sequential.Grow(bl.v, padded*d)
	for j, pr := range packed {
		row := bl.qkv[j*3*d : (j+1)*3*d]
		copy(bl.q[pr*d:(pr+1)*d], row[:d])
		copy(bl.k[pr*d:(pr+1)*d], row[d:2*d])
		copy(bl.v[pr*d:(pr+1)*d], row[2*d:])
	}
	a := m.attention()
	bl.probs = sequential.Grow(bl.probs, a.B*a.H*a.L*a.L)
	m.scratch = sequential.Grow(m.scratch, padded*d)
	kernels.SoftmaxAttentionForward(a, bl.q, bl.k, bl.v, m.b.Lens, m.scratch, bl.probs)
	bl.o = sequential.Grow(bl.o, r*d)
	sequential.GatherRows(bl.o, m.scratch, packed, d)
	bl.proj, bl.projD = sequential.Grow(bl.proj, r*d), sequential.Grow(bl.projD, r*d)
	kernels.LinearForward(bl.o, bl.WO.Value, bl.BO.Value, bl.proj, r, d, d)
	bl.mask1 = sequential.Grow(bl.mask1, r*d)
	kernels.DropoutForward(bl.proj, bl.projD, m.p, rng, bl.mask1)
	bl.a = sequential.Grow(bl.a, r*d)
	copy(bl.a, x)
	kernels.AddTo(bl.a, bl.projD)
	bl.ln2, bl.rstd2 = sequential.Grow(bl.ln2, r*d), sequential.Grow(bl.rstd2, r)
	kernels.LayerNormForward(bl.a, bl.ln2, r, d, lnEps, bl.rstd2)
	bl.pre1, bl.h1 = sequential.Grow(bl.pre1, r*d), sequential.Grow(bl.h1, r*d)
	kernels.LinearForward(bl.ln2, bl.W1.Value, bl.B1.Value, bl.pre1, r, d, d)
	kernels.GELUForward(bl.pre1, bl.h1)
	bl.pre2, bl.h2 = sequential.Grow(bl.pre2, r*d), sequential.Grow(bl.h2, r*d)
	kernels.LinearForward(bl.h1, bl.W2.Value, bl.B2.Value, bl.pre2, r, d, d)
	bl.mask2 = sequential.Grow(bl.mask2, r*d)
	kernels.DropoutForward(bl.pre2, bl.h2, m.p, rng, bl.mask2)
	bl.y = sequential.Grow(bl.y, r*d)
	copy(bl.y, bl.a)
	kernels.AddTo(bl.y, bl.h2)
	return bl.y
}

// Backward accumulates parameter gradients from dUser, the gradient of the
// last Forward's output.
func (m *Model[T]) Backward(dUser []T) {
	if m.b == nil {
		panic("sasrec: Backward before Forward")
	}
	r, d := m.In.Rows(), m.d
	dFinal := m.out.Backward(m.In.Packed, dUser, d)
	dx := make([]T, r*d)
	kernels.LayerNormBackward(m.final, m.finalRstd, dFinal, dx, r, d)
	for i := len(m.Blocks) - 1; i >= 0; i-- {
		dx = m.backwardBlock(m.Blocks[i], dx)
	}
	m.In.Backward(dx)
}

func (m *Model[T]) backwardBlock(bl *Block[T], dy []T) []T {
	packed, r, d := m.In.Packed, m.In.Rows(), m.d
	padded := m.b.B * m.n
	// y = a + Dropout(GELU(LN(a) W1 + b1) W2 + b2)
	da := dy // the residual path; dy is not needed after this
	dpre2 := make([]T, r*d)
	kernels.DropoutBackward(bl.mask2, m.p, dy, dpre2)
	dh1 := make([]T, r*d)
	kernels.LinearBackward(bl.h1, bl.W2.Value, dpre2, dh1, bl.W2.Grad, bl.B2.Grad, r, d, d)
	dpre1 := make([]T, r*d)
	kernels.GELUBackward(bl.pre1, dh1, dpre1)
	dln2 := make([]T, r*d)
	kernels.LinearBackward(bl.ln2, bl.W1.Value, dpre1, dln2, bl.W1.Grad, bl.B1.Grad, r, d, d)
	kernels.LayerNormBackward(bl.ln2, bl.rstd2, dln2, da, r, d)
	// a = x + Dropout(MHA(LN(x)) Wo + bo)
	dproj := make([]T, r*d)
	kernels.DropoutBackward(bl.mask1, m.p, da, dproj)
	do := make([]T, r*d)
	kernels.LinearBackward(bl.o, bl.WO.Value, dproj, do, bl.WO.Grad, bl.BO.Grad, r, d, d)
	m.scratch = sequential.Grow(m.scratch, padded*d)
	clear(m.scratch)
	sequential.ScatterRows(m.scratch, do, packed, d)
	m.dq, m.dk, m.dv = sequential.Grow(m.dq, padded*d), sequential.Grow(m.dk, padded*d), sequential.Grow(m.dv, padded*d)
	clear(m.dq)
	clear(m.dk)
	clear(m.dv)
	kernels.SoftmaxAttentionBackward(m.attention(), bl.q, bl.k, bl.v, m.b.Lens, bl.probs, m.scratch, m.dq, m.dk, m.dv)
	dqkv := make([]T, r*3*d)
	for j, pr := range packed {
		row := dqkv[j*3*d : (j+1)*3*d]
		copy(row[:d], m.dq[pr*d:(pr+1)*d])
		copy(row[d:2*d], m.dk[pr*d:(pr+1)*d])
		copy(row[2*d:], m.dv[pr*d:(pr+1)*d])
	}
	dln1 := make([]T, r*d)
	kernels.LinearBackward(bl.ln1, bl.QKV.Value, dqkv, dln1, bl.QKV.Grad, bl.BQKV.Grad, r, d, 3*d)
	dx := da // residual
	kernels.LayerNormBackward(bl.ln1, bl.rstd1, dln1, dx, r, d)
	return dx
}
