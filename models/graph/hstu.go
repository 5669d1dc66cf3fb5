package graph

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

const (
	lnEps   = 1e-6  // HSTU's LayerNorm epsilon (DESIGN.md), as models/hstu
	normEps = 1e-12 // the L2-normalisation clamp of models/sequential
)

// HSTU is an HSTU model's forward pass and sampled-softmax loss on one
// batch, composed as a gorgonia graph of this package's Ops, differentiated
// by gorgonia.Grad and run by a TapeMachine. Its parameter nodes wrap the
// model's own Param.Value and Param.Grad slices, so a Step reads the
// current weights and accumulates into the model's gradients.
type HSTU struct {
	G      *gorgonia.ExprGraph
	Loss   *gorgonia.Node // scalar mean loss
	Params gorgonia.Nodes // the model's parameters, in Model.Params order
	Grads  gorgonia.Nodes // their gradient nodes
	VM     gorgonia.VM    // a TapeMachine with the Params' dual values bound
	params []*kernels.Param[float32]
	table  *kernels.Param[float32]
	// dense is the catalogue-sized gradient the machine accumulates the
	// table's gradient into when the table is compact (kernels.NewTable);
	// Step adds its touched rows to the table's GradRow. The gorgonia
	// engine is the reference engine: it pays O(catalogue) per step.
	dense []float32
	ids   []int // item ids of the packed rows
	loss  *SampledSoftmaxOp
}

// BuildHSTU composes m's forward pass on b in eval mode (no dropout, as
// Model.Forward with a nil rng) and the sampled-softmax loss of
// sequential.Head with the given negatives (b.B*b.L*loss.Negatives item
// ids, one block of loss.Negatives per padded position). With R the valid
// positions of b packed as the model packs them, and rows of a padded
// matrix at b*L+i:
//
//	x0   = E[items] * sqrt(d) + P[i]                            R x d
//	h    = SiLU(LayerNorm(x) W_uvqk), split u | v | q | k       R x (2*H*dv + 2*H*dqk)
//	o    = Gather(HSTUAttention(Scatter(q), Scatter(k), Scatter(v)))  R x H*dv
//	y    = (u * LayerNorm(o)) W_o + b_o + x                     R x d
//	user = Scatter(y / ||y||)                                   B*L x d
//	loss = SampledSoftmax(user, E / ||E||)                      scalar
//
// The graph holds b and the negatives, so it is built once per batch. It
// returns an error when b does not fit m or the negatives do not fit b,
// or when gorgonia cannot build or differentiate the graph.
func BuildHSTU(m *hstu.Model[float32], b *sequential.Batch, neg []int32, loss sequential.LossConfig) (*HSTU, error) {
	return build(m, b, neg, loss, nil)
}

// build is BuildHSTU, in training mode when rng is non-nil: Dropout after
// the embedding and after u * LayerNorm(o) in every layer, with the
// model's dropout rate, and the negatives redrawn into neg from rng by the
// loss at every run. The draws come in the direct path's order
// (sequential.Head.Step): the data dependencies make the machine run the
// input's dropout, then each layer's in turn, then the loss.
func build(m *hstu.Model[float32], b *sequential.Batch, neg []int32, loss sequential.LossConfig, rng *rand.Rand) (h *HSTU, err error) {
	loss = loss.WithDefaults()
	switch {
	case b.L != m.MaxLen():
		return nil, fmt.Errorf("graph: batch length %d, model max_seq_len %d", b.L, m.MaxLen())
	case loss.Negatives < 1:
		return nil, fmt.Errorf("graph: BuildHSTU needs sampled negatives, got %d", loss.Negatives)
	case loss.NegativesShared:
		return nil, fmt.Errorf("graph: the gorgonia engine has no shared negatives (loss.negatives_shared); use engine kernels")
	case m.In.ItemSide != nil || m.In.UserSide != nil || m.In.Actions != nil:
		return nil, fmt.Errorf("graph: the gorgonia engine has no side features or actions (item_side_features, user_side_features); use engine kernels")
	case len(neg) != b.B*b.L*loss.Negatives:
		return nil, fmt.Errorf("graph: %d negatives for %d positions and %d per position", len(neg), b.B*b.L, loss.Negatives)
	}
	defer func() {
		// must and gorgonia's NewTapeMachine panic with errors.
		if r := recover(); r != nil {
			e, ok := r.(error)
			if !ok {
				panic(r)
			}
			h, err = nil, fmt.Errorf("graph: BuildHSTU: %w", e)
		}
	}()
	cfg := m.Config()
	d, l, heads := m.Dim(), m.MaxLen(), cfg.Transformer.NumHeads
	// dropout applies Dropout in training mode; without an rng or with a
	// zero rate it is the identity and no node, as the direct path's
	// DropoutForward then copies and draws nothing.
	p := cfg.Transformer.Dropout
	dropout := func(x *gorgonia.Node) *gorgonia.Node {
		if rng == nil || p == 0 {
			return x
		}
		return must(Dropout(x, p, rng))
	}
	dqk, dv := cfg.Dims()
	hv, hqk := heads*dv, heads*dqk
	padRows := b.B * l

	var packed, pos []int
	h = &HSTU{G: gorgonia.NewGraph(), params: m.Params(), table: m.ItemTable()}
	for bi, n := range b.Lens {
		for i := range n {
			packed = append(packed, bi*l+i)
			h.ids = append(h.ids, int(b.Items[bi*l+i]))
			pos = append(pos, i)
		}
	}
	node := make(map[*kernels.Param[float32]]*gorgonia.Node)
	for _, p := range h.params {
		grad := p.Grad
		if p == h.table && p.Compact() {
			h.dense = make([]float32, len(p.Value))
			grad = h.dense
		}
		n := paramNode(h.G, p, grad)
		node[p] = n
		h.Params = append(h.Params, n)
	}

	sqrtD := gorgonia.NewConstant(float32(math.Sqrt(float64(d))))
	x := dropout(must(gorgonia.Add(
		must(gorgonia.Mul(must(GatherRows(node[m.In.Items], h.ids)), sqrtD)),
		must(GatherRows(node[m.In.Pos], pos)))))
	att := kernels.HSTUAttention{
		B: b.B, L: l, H: heads, DQK: dqk, DV: dv, Scale: cfg.Transformer.AttentionScale,
		Window: cfg.Hierarchical.Level1WindowSize, Summaries: cfg.Hierarchical.Level2WindowSize,
	}
	for _, ly := range m.Layers {
		act := must(SiLU(must(Linear(must(LayerNorm(x, lnEps)), node[ly.UVQK], nil))))
		padded := func(lo, hi int) *gorgonia.Node {
			return must(ScatterRows(must(Columns(act, lo, hi)), packed, padRows))
		}
		u := must(Columns(act, 0, hv))
		v, q, k := padded(hv, 2*hv), padded(2*hv, 2*hv+hqk), padded(2*hv+hqk, 2*hv+2*hqk)
		// A missing bias has no node: node[nil] is nil.
		o := must(GatherRows(must(HSTUAttention(att, b.Lens, b.QueryTimes, b.Times, q, k, v, node[ly.PosBias], node[ly.TimeBias])), packed))
		gated := dropout(must(gorgonia.HadamardProd(u, must(LayerNorm(o, lnEps)))))
		x = must(gorgonia.Add(must(Linear(gated, node[ly.OW], node[ly.OB])), x))
	}
	user := must(ScatterRows(must(L2Normalize(x, normEps)), packed, padRows))
	items := must(L2Normalize(node[m.In.Items], normEps))
	h.loss = NewSampledSoftmax(b.Labels, neg, loss.Negatives, loss.Temperature)
	h.loss.rng = rng
	h.Loss = must(gorgonia.ApplyOp(h.loss, user, items))
	if h.Grads, err = gorgonia.Grad(h.Loss, h.Params...); err != nil {
		return nil, fmt.Errorf("graph: differentiating HSTU: %w", err)
	}
	h.VM = gorgonia.NewTapeMachine(h.G, gorgonia.BindDualValues(h.Params...))
	return h, nil
}

// Step runs the graph once and resets the machine. It returns the mean
// loss and the number of labelled positions, accumulates the gradients
// into the model's Param.Grad and touches the item-table rows the batch
// and the loss reached, in sequential.Head.Step's order. As Head.Step, it
// returns (0, 0, nil) and touches nothing when no position is labelled,
// and an error when the loss is not finite.
func (h *HSTU) Step() (float64, int, error) {
	defer h.VM.Reset()
	clear(h.dense) // the machine accumulates: each run starts from zero
	if err := h.VM.RunAll(); err != nil {
		return 0, 0, fmt.Errorf("graph: running HSTU: %w", err)
	}
	loss, count := h.loss.Loss()
	if count == 0 {
		return 0, 0, nil
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, count, fmt.Errorf("graph: hstu loss is %v", loss)
	}
	var added []bool // compact table: rows whose dense gradient is already in GradRow
	if h.dense != nil {
		added = make([]bool, h.table.Rows())
	}
	d := h.table.Cols()
	for _, ids := range [][]int{h.ids, h.loss.Touched()} {
		for _, id := range ids {
			switch {
			case h.dense == nil:
				h.table.Touch(id)
			case !added[id]:
				added[id] = true
				kernels.AddTo(h.table.GradRow(id), h.dense[id*d:(id+1)*d])
			}
		}
	}
	return loss, count, nil
}

// Close releases the machine.
func (h *HSTU) Close() error { return h.VM.Close() }

// paramNode is an input node whose value and dual gradient wrap p.Value
// and grad (p.Grad, or a dense buffer for a compact table), so that the
// machine accumulates p's gradient in place.
func paramNode(g *gorgonia.ExprGraph, p *kernels.Param[float32], grad []float32) *gorgonia.Node {
	shape := append([]int(nil), p.Shape...)
	opts := []gorgonia.NodeConsOpt{
		gorgonia.WithName(p.Name), gorgonia.WithShape(shape...),
		gorgonia.WithValue(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(p.Value))),
		gorgonia.WithGrad(tensor.New(tensor.WithShape(shape...), tensor.WithBacking(grad))),
	}
	if len(shape) == 1 {
		return gorgonia.NewVector(g, gorgonia.Float32, opts...)
	}
	return gorgonia.NewMatrix(g, gorgonia.Float32, opts...)
}

// must panics with err, which BuildHSTU recovers as its error.
func must(n *gorgonia.Node, err error) *gorgonia.Node {
	if err != nil {
		panic(err)
	}
	return n
}
