package hllm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sasrec"
	"github.com/genrec/genrec/models/sequential"
)

// Model is an HLLM model: the item tower that fuses each item's text
// vector with its ID embedding, and the user model (an HSTU or softmax
// stack) over the fused embeddings. Model[float32] is a sequential.Model,
// a sequential.LogitScaled and a sequential.ItemTower; Model[float64]
// exists for gradient checks.
// Not safe for concurrent use.
type Model[T kernels.Float] struct {
	cfg Config
	d   int

	// The item tower's parameters. Text is frozen: the encoder's vectors;
	// with the trainable encoder Text and ProjW are nil and Bag holds a
	// vector per n-gram bucket.
	Text         *kernels.Param[T] // Items x TextDim
	ProjW, ProjB *kernels.Param[T] // TextDim x d, d
	Bag          *kernels.Param[T] // TextBuckets x d, row-sparse
	ID           *kernels.Param[T] // Items x d, row-sparse; nil for fusion none
	Hidden       []*kernels.Param[T]
	GateW, GateB *kernels.Param[T] // 2d x d, d (fusion gate)
	Scale        *kernels.Param[T] // the logit scale s, one value

	// Fused is the item table, computed from the tower by Forward (and by
	// ItemTable when the tower changed): the user model's input embedding
	// and the retrieval head's item table. It is not a parameter: its
	// gradient flows back into the tower.
	Fused *kernels.Param[T]

	bb backbone[T]
	in *sequential.Input[T]
	// bags[i] is item i's buckets that some item with an ID (a training
	// interaction) also has: a bucket only items without one have is never
	// trained, so it is left out rather than learnt from negatives alone.
	bags   [][]int32
	params []*kernels.Param[T]
	noID   []bool

	// tower activations of the last table computation
	p, e, cat, f []T
	keep         []bool
	hPre, hAct   [][]T // per hidden layer: pre-activation, activation after dropout
	hMask        [][]bool
	hIn          [][]T   // per linear of concat's MLP: its input
	z, g         []T     // gate
	hp           float64 // concat's dropout in the last table computation
	train        bool    // Fused holds a training step's table (dropouts drawn)
	inStep       bool    // between a training Forward and its Backward
	snap         [][]T   // the tower values Fused was computed from (evaluation)
	scratch      [4][]T
	bwd          [][]T // backward buffers of the fusion layers (zeroed)
}

type backbone[T kernels.Float] interface {
	Forward(b *sequential.Batch, rng *rand.Rand) []T
	Backward(dOut []T)
	Params() []*kernels.Param[T]
}

// New builds a model with the text table zero (fill it with SetText or
// load it from a checkpoint) or, for the trainable encoder, each bucket's
// vector the hashed encoder's fixed direction for it
// (itemtext.HashedNGram.BucketVector); W_p, the fusion weights Xavier-uniform,
// biases zero, ID embeddings ~ N(0, 0.02), the logit scale ln(1/0.07), and
// the backbone initialised as its own package does.
func New[T kernels.Float](cfg Config, rng *rand.Rand) (*Model[T], error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, n := cfg.LLM.HiddenSize, cfg.Items
	m := &Model[T]{cfg: cfg, d: d}
	m.ProjB = kernels.NewParam[T]("text_proj_b", d)
	if cfg.TextBuckets > 0 {
		m.Bag = kernels.NewParam[T]("text_bag", cfg.TextBuckets, d)
		m.Bag.Sparse = true
		row := make([]float32, d)
		for k := range cfg.TextBuckets {
			itemtext.HashedNGram{}.BucketVector(int32(k), row)
			for j, v := range row {
				m.Bag.Value[k*d+j] = T(v)
			}
		}
		m.params = []*kernels.Param[T]{m.Bag, m.ProjB}
	} else {
		m.Text = kernels.NewParam[T]("text_emb", n, cfg.TextDim)
		m.Text.Frozen = true
		m.ProjW = kernels.NewParam[T]("text_proj_w", cfg.TextDim, d)
		kernels.InitXavierUniform(m.ProjW.Value, cfg.TextDim, d, rng)
		m.params = []*kernels.Param[T]{m.Text, m.ProjW, m.ProjB}
	}
	if cfg.Fusion.FusionType != FusionNone {
		m.ID = kernels.NewParam[T]("id_emb", n, d)
		m.ID.Sparse = true
		kernels.InitNormal(m.ID.Value, 0.02, rng)
		m.params = append(m.params, m.ID)
	}
	switch cfg.Fusion.FusionType {
	case FusionConcat:
		in := 2 * d
		for i, w := range append(slices.Clone(cfg.Fusion.FusionDims), d) {
			wp := kernels.NewParam[T](fmt.Sprintf("fusion.%d.w", i), in, w)
			bp := kernels.NewParam[T](fmt.Sprintf("fusion.%d.b", i), w)
			kernels.InitXavierUniform(wp.Value, in, w, rng)
			m.Hidden = append(m.Hidden, wp, bp)
			in = w
		}
		m.params = append(m.params, m.Hidden...)
	case FusionGate:
		m.GateW, m.GateB = kernels.NewParam[T]("fusion.gate_w", 2*d, d), kernels.NewParam[T]("fusion.gate_b", d)
		kernels.InitXavierUniform(m.GateW.Value, 2*d, d, rng)
		m.params = append(m.params, m.GateW, m.GateB)
	}
	m.Scale = kernels.NewParam[T]("logit_scale", 1)
	m.Scale.Value[0] = T(LogitScaleInit)
	m.params = append(m.params, m.Scale)
	m.noID = make([]bool, n)
	for _, it := range cfg.NoID {
		m.noID[it] = true
	}
	if cfg.TextBuckets > 0 {
		live := make([]bool, cfg.TextBuckets)
		for i, l := range cfg.ItemBuckets {
			for _, k := range l {
				live[k] = live[k] || !m.noID[i]
			}
		}
		m.bags = make([][]int32, len(cfg.ItemBuckets))
		for i, l := range cfg.ItemBuckets {
			for _, k := range l {
				if live[k] {
					m.bags[i] = append(m.bags[i], k)
				}
			}
		}
	}

	l := cfg.LLM
	var bbItems *kernels.Param[T]
	switch l.Backbone {
	case BackboneHSTU:
		h, err := hstu.New[T](hstu.Config{Items: n, MaxSeqLen: cfg.MaxSeqLen,
			Transformer: hstu.TransformerParams{NumLayers: l.NumLayers, NumHeads: l.NumHeads, HiddenSize: d, Dropout: l.Dropout}}, rng)
		if err != nil {
			return nil, err
		}
		m.bb, m.in, bbItems = h, h.In, h.In.Items
	case BackboneSoftmax:
		s, err := sasrec.New[T](sasrec.Config{Items: n, MaxSeqLen: cfg.MaxSeqLen, NumLayers: l.NumLayers, NumHeads: l.NumHeads, Hidden: d, Dropout: l.Dropout}, rng)
		if err != nil {
			return nil, err
		}
		m.bb, m.in, bbItems = s, s.In, s.In.Items
	}
	m.Fused = kernels.NewParam[T]("fused_items", n, d)
	m.Fused.Sparse = true
	m.in.Items = m.Fused
	for _, p := range m.bb.Params() {
		if p != bbItems {
			m.params = append(m.params, p)
		}
	}
	return m, nil
}

// SetText copies the item text vectors (Items x TextDim, row 0 the padding
// id) into the frozen text table.
func (m *Model[T]) SetText(v []T) error {
	if m.Text == nil {
		return fmt.Errorf("hllm: the trainable encoder has no text table")
	}
	if len(v) != len(m.Text.Value) {
		return fmt.Errorf("hllm: text table has %d values, want %d (%d items x %d)", len(v), len(m.Text.Value), m.cfg.Items, m.cfg.TextDim)
	}
	copy(m.Text.Value, v)
	m.snap = nil
	return nil
}

// Name is "hllm".
func (m *Model[T]) Name() string { return "hllm" }

// Dim is the embedding width d.
func (m *Model[T]) Dim() int { return m.d }

// MaxLen is N.
func (m *Model[T]) MaxLen() int { return m.cfg.MaxSeqLen }

// Config returns the configuration with defaults filled in.
func (m *Model[T]) Config() Config { return m.cfg }

// Params lists the tower's parameters (text_emb, frozen, first; then
// text_proj_w, text_proj_b, id_emb, fusion.*, logit_scale) and the user
// model's, without its item table.
func (m *Model[T]) Params() []*kernels.Param[T] { return m.params }

// LogitScale is the logit scale s of the InfoNCE loss, clamped to
// [0, ln 100] by every Forward.
func (m *Model[T]) LogitScale() *kernels.Param[T] { return m.Scale }

// HSTU returns the user model when it is an HSTU stack, with its item
// table the fused table of the current weights (evaluation mode): an HSTU
// model in every respect, which is how the ONNX exporter writes HLLM.
func (m *Model[T]) HSTU() (*hstu.Model[T], bool) {
	h, ok := m.bb.(*hstu.Model[T])
	if ok {
		m.ItemTable()
	}
	return h, ok
}

// ItemTable is the fused item table: the current weights' evaluation-mode
// table, except between a training Forward and its Backward, where it is
// that step's table.
func (m *Model[T]) ItemTable() *kernels.Param[T] {
	if !m.inStep {
		m.refresh(nil)
	}
	return m.Fused
}

// Forward computes the fused table (a training one with ID dropout and
// fusion dropout when rng is non-nil) and returns the user model's
// L2-normalised embedding at every position of b.
func (m *Model[T]) Forward(b *sequential.Batch, rng *rand.Rand) []T {
	s := float64(m.Scale.Value[0])
	m.Scale.Value[0] = T(math.Min(math.Max(s, 0), LogitScaleMax))
	m.Fused.ZeroGrad()
	m.inStep = rng != nil
	m.refresh(rng)
	return m.bb.Forward(b, rng)
}

// Backward runs the user model's backward pass, which accumulates the
// gradient of its input into the fused table's.
func (m *Model[T]) Backward(dUser []T) {
	m.bb.Backward(dUser)
}

// BackwardItems carries the fused table's gradient (from the user model's
// input and the retrieval head) back into the tower and ends the step.
func (m *Model[T]) BackwardItems() {
	m.backwardTower(m.Fused.Grad)
	m.inStep = false
}

// refresh computes the fused table: always for training (rng non-nil),
// for evaluation only when the tower's values changed since.
func (m *Model[T]) refresh(rng *rand.Rand) {
	src := m.towerValues()
	if rng == nil && !m.train && m.snap != nil && sameValues(m.snap, src) {
		return
	}
	m.forwardTower(rng)
	m.train = rng != nil
	if m.train {
		m.snap = nil
		return
	}
	m.snap = m.snap[:0]
	for _, v := range src {
		m.snap = append(m.snap, slices.Clone(v))
	}
}

func (m *Model[T]) towerValues() [][]T {
	var out [][]T
	for _, p := range m.params {
		if p == m.Scale {
			break
		}
		out = append(out, p.Value)
	}
	return out
}

func sameValues[T kernels.Float](a, b [][]T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// forwardTower fills m.Fused.Value:
//
//	p = Text W_p + b_p
//	e = keep ⊙ ID                  keep = has an ID, and not dropped (training)
//	none:   f = p
//	sum:    f = p + e
//	gate:   g = σ([p, e] W_g + b_g),  f = g⊙p + (1-g)⊙e
//	concat: h_0 = [p, e],  h_k = Dropout(GELU(h_{k-1} W_k + b_k)),  f = h_K W_o + b_o
func (m *Model[T]) forwardTower(rng *rand.Rand) {
	n, d, t := m.cfg.Items, m.d, m.cfg.TextDim
	f := m.Fused.Value
	m.p = sequential.Grow(m.p, n*d)
	if m.Bag != nil {
		m.bagForward()
	} else {
		kernels.LinearForward(m.Text.Value, m.ProjW.Value, m.ProjB.Value, m.p, n, t, d)
	}
	if m.ID == nil {
		copy(f, m.p)
		return
	}
	m.keep = sequential.Grow(m.keep, n)
	m.e = sequential.Grow(m.e, n*d)
	for i := range n {
		m.keep[i] = !m.noID[i] && (rng == nil || m.cfg.Fusion.IDDropout <= 0 || rng.Float64() >= m.cfg.Fusion.IDDropout)
		if m.keep[i] {
			copy(m.e[i*d:(i+1)*d], m.ID.Value[i*d:(i+1)*d])
		} else {
			clear(m.e[i*d : (i+1)*d])
		}
	}
	switch m.cfg.Fusion.FusionType {
	case FusionSum:
		for i := range f {
			f[i] = m.p[i] + m.e[i]
		}
		return
	}
	m.cat = sequential.Grow(m.cat, n*2*d)
	for i := range n {
		copy(m.cat[i*2*d:], m.p[i*d:(i+1)*d])
		copy(m.cat[i*2*d+d:], m.e[i*d:(i+1)*d])
	}
	if m.cfg.Fusion.FusionType == FusionGate {
		m.z = sequential.Grow(m.z, n*d)
		m.g = sequential.Grow(m.g, n*d)
		kernels.LinearForward(m.cat, m.GateW.Value, m.GateB.Value, m.z, n, 2*d, d)
		for i := range f {
			g := kernels.Sigmoid(m.z[i])
			m.g[i] = g
			f[i] = g*m.p[i] + (1-g)*m.e[i]
		}
		return
	}
	// concat
	layers := len(m.Hidden) / 2
	p := m.cfg.Fusion.Dropout
	if rng == nil {
		p = 0
	}
	m.hp = p
	m.hIn = growList(m.hIn, layers)
	m.hPre = growList(m.hPre, layers-1)
	m.hAct = growList(m.hAct, layers-1)
	m.hMask = growList(m.hMask, layers-1)
	x, in := m.cat, 2*d
	for k := range layers {
		w, b := m.Hidden[2*k], m.Hidden[2*k+1]
		out := w.Cols()
		m.hIn[k] = x
		if k == layers-1 {
			kernels.LinearForward(x, w.Value, b.Value, f, n, in, out)
			return
		}
		m.hPre[k] = sequential.Grow(m.hPre[k], n*out)
		kernels.LinearForward(x, w.Value, b.Value, m.hPre[k], n, in, out)
		act := sequential.Grow(m.scratch[0], n*out)
		m.scratch[0] = act
		kernels.GELUForward(m.hPre[k], act)
		m.hAct[k] = sequential.Grow(m.hAct[k], n*out)
		m.hMask[k] = sequential.Grow(m.hMask[k], n*out)
		kernels.DropoutForward(act, m.hAct[k], p, rng, m.hMask[k])
		x, in = m.hAct[k], out
	}
}

// backwardTower accumulates the tower's gradients from df, the gradient
// of the fused table (zero in rows no loss touched).
func (m *Model[T]) backwardTower(df []T) {
	n, d, t := m.cfg.Items, m.d, m.cfg.TextDim
	dp := sequential.Grow(m.scratch[1], n*d)
	m.scratch[1] = dp
	var de []T
	switch m.cfg.Fusion.FusionType {
	case FusionNone:
		copy(dp, df)
	case FusionSum:
		copy(dp, df)
		de = df
	case FusionGate:
		de = sequential.Grow(m.scratch[2], n*d)
		m.scratch[2] = de
		dz := sequential.Grow(m.scratch[3], n*d)
		m.scratch[3] = dz
		for i := range df {
			g := m.g[i]
			dp[i], de[i] = df[i]*g, df[i]*(1-g)
			dz[i] = df[i] * (m.p[i] - m.e[i]) * g * (1 - g)
		}
		dcat := m.zeroed(0, n*2*d)
		kernels.LinearBackward(m.cat, m.GateW.Value, dz, dcat, m.GateW.Grad, m.GateB.Grad, n, 2*d, d)
		m.splitCat(dcat, dp, de, true)
	case FusionConcat:
		layers := len(m.Hidden) / 2
		dy := df
		for k := layers - 1; k >= 0; k-- {
			w, b := m.Hidden[2*k], m.Hidden[2*k+1]
			in, out := w.Rows(), w.Cols()
			dx := m.zeroed(3*k, n*in)
			kernels.LinearBackward(m.hIn[k], w.Value, dy, dx, w.Grad, b.Grad, n, in, out)
			if k > 0 {
				dAct := m.zeroed(3*k+1, n*in)
				kernels.DropoutBackward(m.hMask[k-1], m.hp, dx, dAct)
				dPre := m.zeroed(3*k+2, n*in)
				kernels.GELUBackward(m.hPre[k-1], dAct, dPre)
				dy = dPre
			} else {
				dy = dx
			}
		}
		de = sequential.Grow(m.scratch[2], n*d)
		m.scratch[2] = de
		m.splitCat(dy, dp, de, false)
	}
	if m.Bag != nil {
		m.bagBackward(dp)
	} else {
		kernels.LinearBackward(m.Text.Value, m.ProjW.Value, dp, nil, m.ProjW.Grad, m.ProjB.Grad, n, t, d)
	}
	if de == nil {
		return
	}
	for _, i := range m.Fused.TouchedRows() {
		if !m.keep[i] {
			continue
		}
		kernels.AddTo(m.ID.Grad[i*d:(i+1)*d], de[i*d:(i+1)*d])
		m.ID.Touch(i)
	}
}

// bagForward fills m.p with the trainable encoder's text part:
//
//	p_i = b_p + mean_{k ∈ ItemBuckets[i], k trained} Bag[k]
//
// where a bucket is trained when an item with an ID embedding has it.
func (m *Model[T]) bagForward() {
	d := m.d
	for i := range m.cfg.Items {
		row := m.p[i*d : (i+1)*d]
		copy(row, m.ProjB.Value)
		var l []int32
		if i < len(m.bags) {
			l = m.bags[i]
		}
		w := 1 / T(max(len(l), 1))
		for _, k := range l {
			kernels.Axpy(w, m.Bag.Value[int(k)*d:(int(k)+1)*d], row)
		}
	}
}

// bagBackward accumulates the trainable encoder's gradients from dp, the
// gradient of the text parts (zero outside the fused table's touched rows).
func (m *Model[T]) bagBackward(dp []T) {
	d := m.d
	for _, i := range m.Fused.TouchedRows() {
		g := dp[i*d : (i+1)*d]
		kernels.AddTo(m.ProjB.Grad, g)
		if i >= len(m.bags) {
			continue
		}
		l := m.bags[i]
		w := 1 / T(max(len(l), 1))
		for _, k := range l {
			kernels.Axpy(w, g, m.Bag.Grad[int(k)*d:(int(k)+1)*d])
			m.Bag.Touch(int(k))
		}
	}
}

// zeroed returns backward buffer i of length n, zeroed; the buffers are
// kept between steps.
func (m *Model[T]) zeroed(i, n int) []T {
	m.bwd = growList(m.bwd, max(len(m.bwd), i+1))
	m.bwd[i] = sequential.Grow(m.bwd[i], n)
	clear(m.bwd[i])
	return m.bwd[i]
}

// splitCat splits dcat (n x 2d, the gradient of [p, e]) into dp and de,
// adding to them when add is set.
func (m *Model[T]) splitCat(dcat, dp, de []T, add bool) {
	d := m.d
	for i := range m.cfg.Items {
		a, b := dcat[i*2*d:i*2*d+d], dcat[i*2*d+d:(i+1)*2*d]
		if add {
			kernels.AddTo(dp[i*d:(i+1)*d], a)
			kernels.AddTo(de[i*d:(i+1)*d], b)
		} else {
			copy(dp[i*d:(i+1)*d], a)
			copy(de[i*d:(i+1)*d], b)
		}
	}
}

func growList[S any](s []S, n int) []S {
	if len(s) < n {
		return append(s, make([]S, n-len(s))...)
	}
	return s[:n]
}

var (
	_ sequential.Model       = (*Model[float32])(nil)
	_ sequential.LogitScaled = (*Model[float32])(nil)
	_ sequential.ItemTower   = (*Model[float32])(nil)
)
