package hstu

import (
	"fmt"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// lnEps is HSTU's LayerNorm epsilon (DESIGN.md: 1e-6).
const lnEps = 1e-6

// Model is an HSTU model with its parameters and the activations of the
// last Forward. Model[float32] is a sequential.Model; Model[float64] exists
// for gradient checks. Not safe for concurrent use.
type Model[T kernels.Float] struct {
	cfg           Config
	d, h, dqk, dv int
	n             int // MaxSeqLen

	In     *sequential.Input[T] // item and position embeddings
	Layers []*Layer[T]
	params []*kernels.Param[T]

	st state[T]
}

// Layer holds one HSTU layer's parameters and saved activations.
type Layer[T kernels.Float] struct {
	UVQK     *kernels.Param[T] // d x (2*H*dv + 2*H*dqk), columns U, V, Q, K
	OW       *kernels.Param[T] // H*dv x d
	OB       *kernels.Param[T] // d
	PosBias  *kernels.Param[T] // N, by distance i-j; nil without position bias
	TimeBias *kernels.Param[T] // kernels.TimeBuckets; nil without time bias

	x, ln1, rstd1, pre, act, u, o, ln2, rstd2, g, gd, y []T
	mask                                                []bool
	q, k, v                                             []T // padded B*N rows for the attention kernel
}

// state is what one Forward keeps for Backward.
type state[T kernels.Float] struct {
	b          *sequential.Batch
	out        sequential.Output[T]
	dAttn      []T // padded scratch
	dq, dk, dv []T
	bw         [6][]T // backward scratch
	train      bool
}

// New builds a model with HSTU's initialisation (arXiv 2402.17152 and its
// reference code): item embeddings and W_uvqk ~ N(0, 0.02), position
// embeddings ~ N(0, 1/d), W_o Xavier-uniform, b_o zero and the relative
// position and time biases ~ N(0, 0.02).
func New[T kernels.Float](cfg Config, rng *rand.Rand) (*Model[T], error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := cfg.Transformer
	m := &Model[T]{cfg: cfg, d: t.HiddenSize, h: t.NumHeads, n: cfg.MaxSeqLen}
	m.dqk, m.dv = cfg.Dims()
	m.In = sequential.NewInput[T](cfg.Items, m.n, m.d, rng)
	m.params = []*kernels.Param[T]{m.In.Items, m.In.Pos}
	if cfg.Categories > 0 {
		m.In.ItemSide = sequential.NewSide[T]("category_emb", cfg.Categories, cfg.Transformer.HiddenSize, cfg.ItemCategories, rng)
		m.params = append(m.params, m.In.ItemSide.Table)
	}
	if cfg.UserFeatures > 0 {
		m.In.UserSide = sequential.NewSide[T]("user_feature_emb", cfg.UserFeatures, cfg.Transformer.HiddenSize, cfg.UserFeatureLists, rng)
		m.params = append(m.params, m.In.UserSide.Table)
	}
	if cfg.Actions > 0 {
		m.In.Actions = kernels.NewParam[T]("action_emb", cfg.Actions, cfg.Transformer.HiddenSize)
		kernels.InitNormal(m.In.Actions.Value, 0.02, rng)
		m.params = append(m.params, m.In.Actions)
	}
	width := 2*m.h*m.dv + 2*m.h*m.dqk
	for l := range t.NumLayers {
		ly := &Layer[T]{
			UVQK: kernels.NewParam[T](fmt.Sprintf("layers.%d.uvqk", l), m.d, width),
			OW:   kernels.NewParam[T](fmt.Sprintf("layers.%d.o_w", l), m.h*m.dv, m.d),
			OB:   kernels.NewParam[T](fmt.Sprintf("layers.%d.o_b", l), m.d),
		}
		kernels.InitNormal(ly.UVQK.Value, 0.02, rng)
		kernels.InitXavierUniform(ly.OW.Value, m.h*m.dv, m.d, rng)
		m.params = append(m.params, ly.UVQK, ly.OW, ly.OB)
		if !cfg.NoPositionBias {
			ly.PosBias = kernels.NewParam[T](fmt.Sprintf("layers.%d.pos_bias", l), m.n)
			kernels.InitNormal(ly.PosBias.Value, 0.02, rng)
			m.params = append(m.params, ly.PosBias)
		}
		if !cfg.NoTimeBias {
			ly.TimeBias = kernels.NewParam[T](fmt.Sprintf("layers.%d.time_bias", l), kernels.TimeBuckets)
			kernels.InitNormal(ly.TimeBias.Value, 0.02, rng)
			m.params = append(m.params, ly.TimeBias)
		}
		m.Layers = append(m.Layers, ly)
	}
	return m, nil
}

// Name is "hstu".
func (m *Model[T]) Name() string { return "hstu" }

// Dim is the embedding width d.
func (m *Model[T]) Dim() int { return m.d }

// MaxLen is N.
func (m *Model[T]) MaxLen() int { return m.n }

// Config returns the model's configuration.
func (m *Model[T]) Config() Config { return m.cfg }

// Params lists the parameters: item_emb, pos_emb, then per layer uvqk,
// o_w, o_b, pos_bias, time_bias.
func (m *Model[T]) Params() []*kernels.Param[T] { return m.params }

// ItemTable is the item-embedding table.
func (m *Model[T]) ItemTable() *kernels.Param[T] { return m.In.Items }

func (m *Model[T]) attention(rows int) kernels.HSTUAttention {
	scale := m.cfg.Transformer.AttentionScale
	return kernels.HSTUAttention{
		B: rows, L: m.n, H: m.h, DQK: m.dqk, DV: m.dv, Scale: scale,
		Window: m.cfg.Hierarchical.Level1WindowSize, Summaries: m.cfg.Hierarchical.Level2WindowSize,
	}
}

func biasValue[T kernels.Float](p *kernels.Param[T]) []T {
	if p == nil {
		return nil
	}
	return p.Value
}

func biasGrad[T kernels.Float](p *kernels.Param[T]) []T {
	if p == nil {
		return nil
	}
	return p.Grad
}
