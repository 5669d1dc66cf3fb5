package graph

import (
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"sync/atomic"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

var (
	matType = gorgonia.TensorType{Dims: 2, Of: gorgonia.Float32}
	vecType = gorgonia.TensorType{Dims: 1, Of: gorgonia.Float32}
)

// The forward Ops are differentiable symbolically (gorgonia.Grad); the
// gradient Ops are plain Ops.
var (
	_ gorgonia.SDOp = (*layerNormOp)(nil)
	_ gorgonia.SDOp = (*siluOp)(nil)
	_ gorgonia.SDOp = (*linearOp)(nil)
	_ gorgonia.SDOp = (*l2NormOp)(nil)
	_ gorgonia.SDOp = (*hstuAttentionOp)(nil)
	_ gorgonia.SDOp = (*SampledSoftmaxOp)(nil)
	_ gorgonia.SDOp = (*rowsOp)(nil)
	_ gorgonia.SDOp = (*columnsOp)(nil)
	_ gorgonia.Op   = (*gradOp)(nil)
)

// opSeq numbers Op instances. Each Op's hash carries its number, so
// gorgonia never merges two nodes whose Ops keep separate state.
var opSeq atomic.Int64

// opBase holds the gorgonia.Op methods every Op here shares: Do returns a
// new Value (never a pointer to an input), calls no cgo and overwrites no
// input.
type opBase struct{ desc string }

func newBase(format string, args ...any) opBase {
	return opBase{desc: fmt.Sprintf(format, args...) + fmt.Sprintf("#%d", opSeq.Add(1))}
}

func (o opBase) ReturnsPtr() bool      { return false }
func (o opBase) CallsExtern() bool     { return false }
func (o opBase) OverwritesInput() int  { return -1 }
func (o opBase) WriteHash(h hash.Hash) { io.WriteString(h, o.desc) }
func (o opBase) String() string        { return o.desc }

func (o opBase) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// LayerNorm normalises each row of the matrix x (rows x d), without
// affine parameters, by kernels.LayerNormForward:
//
//	y[r,i] = (x[r,i] - mean_r) / sqrt(var_r + eps)
//
// Its gradient node calls kernels.LayerNormBackward with the rstd the
// forward saved. Ba et al. 2016, arXiv 1607.06450.
func LayerNorm(x *gorgonia.Node, eps float64) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&layerNormOp{opBase: newBase("LayerNorm{%g}", eps), eps: eps}, x)
}

type layerNormOp struct {
	opBase
	eps     float64
	y, rstd []float32
}

func (op *layerNormOp) Arity() int    { return 1 }
func (op *layerNormOp) Type() hm.Type { return hm.NewFnType(matType, matType) }
func (op *layerNormOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return sameMatrix(in[0])
}

func (op *layerNormOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, r, d, err := matrix(in[0])
	if err != nil {
		return nil, err
	}
	op.y, op.rstd = sequential.Grow(op.y, r*d), sequential.Grow(op.rstd, r)
	kernels.LayerNormForward(x, op.y, r, d, op.eps, op.rstd)
	return dense(op.y, r, d), nil
}

func (op *layerNormOp) DiffWRT(int) []bool { return []bool{true} }

func (op *layerNormOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := newGrad("LayerNormGrad", in[0].Shape(), func(v []gorgonia.Value, dx []float32) error {
		y, r, d, err := matrix(v[0])
		if err != nil {
			return err
		}
		kernels.LayerNormBackward(y, op.rstd, floats(v[1]), dx, r, d)
		return nil
	}, out, grad)
	return gorgonia.Nodes{dx}, err
}

// SiLU applies x * sigmoid(x) elementwise to the matrix x by
// kernels.SiLUForward; its gradient node calls kernels.SiLUBackward.
// Elfwing et al. 2017, arXiv 1702.03118.
func SiLU(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&siluOp{opBase: newBase("SiLU")}, x)
}

type siluOp struct {
	opBase
	y []float32
}

func (op *siluOp) Arity() int    { return 1 }
func (op *siluOp) Type() hm.Type { return hm.NewFnType(matType, matType) }
func (op *siluOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return sameMatrix(in[0])
}

func (op *siluOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, r, d, err := matrix(in[0])
	if err != nil {
		return nil, err
	}
	op.y = sequential.Grow(op.y, r*d)
	kernels.SiLUForward(x, op.y)
	return dense(op.y, r, d), nil
}

func (op *siluOp) DiffWRT(int) []bool { return []bool{true} }

func (op *siluOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := newGrad("SiLUGrad", in[0].Shape(), func(v []gorgonia.Value, dx []float32) error {
		kernels.SiLUBackward(floats(v[0]), floats(v[1]), dx)
		return nil
	}, in[0], grad)
	return gorgonia.Nodes{dx}, err
}

// Linear is a dense layer by kernels.LinearForward, for x (m x k), w
// (k x n) and b (n) or nil:
//
//	y (m x n) = x w + b
//
// Each input gets its own gradient node calling kernels.LinearBackward for
// that input's gradient alone.
func Linear(x, w, b *gorgonia.Node) (*gorgonia.Node, error) {
	op := &linearOp{opBase: newBase("Linear{bias=%t}", b != nil), bias: b != nil}
	if b == nil {
		return gorgonia.ApplyOp(op, x, w)
	}
	return gorgonia.ApplyOp(op, x, w, b)
}

type linearOp struct {
	opBase
	bias bool
	y    []float32
}

func (op *linearOp) Arity() int {
	if op.bias {
		return 3
	}
	return 2
}

func (op *linearOp) Type() hm.Type {
	if op.bias {
		return hm.NewFnType(matType, matType, vecType, matType)
	}
	return hm.NewFnType(matType, matType, matType)
}

func (op *linearOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	xs, err := sameMatrix(in[0])
	if err != nil {
		return nil, err
	}
	ws, err := sameMatrix(in[1])
	if err != nil {
		return nil, err
	}
	if xs[1] != ws[0] {
		return nil, fmt.Errorf("graph: Linear: x is %v but w is %v", xs, ws)
	}
	if op.bias {
		bs, ok := in[2].(tensor.Shape)
		if !ok || bs.TotalSize() != ws[1] {
			return nil, fmt.Errorf("graph: Linear: w is %v but b is %v", ws, in[2])
		}
	}
	return tensor.Shape{xs[0], ws[1]}, nil
}

func (op *linearOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, m, k, err := matrix(in[0])
	if err != nil {
		return nil, err
	}
	w, _, n, err := matrix(in[1])
	if err != nil {
		return nil, err
	}
	var b []float32
	if op.bias {
		b = floats(in[2])
	}
	op.y = sequential.Grow(op.y, m*n)
	kernels.LinearForward(x, w, b, op.y, m, k, n)
	return dense(op.y, m, n), nil
}

func (op *linearOp) DiffWRT(n int) []bool { return allTrue(n) }

func (op *linearOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	grads := make(gorgonia.Nodes, len(in))
	for i := range in {
		var err error
		grads[i], err = newGrad(fmt.Sprintf("LinearGrad{%d}", i), in[i].Shape(), func(v []gorgonia.Value, d []float32) error {
			x, m, k, err := matrix(v[0])
			if err != nil {
				return err
			}
			w, _, n, err := matrix(v[1])
			if err != nil {
				return err
			}
			out := [3][]float32{}
			out[i] = d
			kernels.LinearBackward(x, w, floats(v[2]), out[0], out[1], out[2], m, k, n)
			return nil
		}, in[0], in[1], grad)
		if err != nil {
			return nil, err
		}
	}
	return grads, nil
}

// L2Normalize scales each row of the matrix x to unit Euclidean norm by
// kernels.L2NormalizeForward:
//
//	y[r] = x[r] / max(||x[r]||, eps)
//
// Its gradient node calls kernels.L2NormalizeBackward with the saved norms.
func L2Normalize(x *gorgonia.Node, eps float64) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&l2NormOp{opBase: newBase("L2Normalize{%g}", eps), eps: eps}, x)
}

type l2NormOp struct {
	opBase
	eps      float64
	y, norms []float32
}

func (op *l2NormOp) Arity() int    { return 1 }
func (op *l2NormOp) Type() hm.Type { return hm.NewFnType(matType, matType) }
func (op *l2NormOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return sameMatrix(in[0])
}

func (op *l2NormOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, r, d, err := matrix(in[0])
	if err != nil {
		return nil, err
	}
	op.y, op.norms = sequential.Grow(op.y, r*d), sequential.Grow(op.norms, r)
	kernels.L2NormalizeForward(x, op.y, op.norms, r, d, op.eps)
	return dense(op.y, r, d), nil
}

func (op *l2NormOp) DiffWRT(int) []bool { return []bool{true} }

func (op *l2NormOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := newGrad("L2NormalizeGrad", in[0].Shape(), func(v []gorgonia.Value, dx []float32) error {
		y, r, d, err := matrix(v[0])
		if err != nil {
			return err
		}
		kernels.L2NormalizeBackward(y, op.norms, floats(v[1]), dx, r, d, op.eps)
		return nil
	}, out, grad)
	return gorgonia.Nodes{dx}, err
}

// HSTUAttention is HSTU's pointwise SiLU attention, kernels.HSTUAttention
// (Zhai et al. 2024, arXiv 2402.17152, eq. 2), on q, k ((B*L) x (H*DQK)),
// v ((B*L) x (H*DV)) and the optional bias vectors posBias (L) and
// timeBias (kernels.TimeBuckets); nil leaves a bias out. lens and the
// timestamps are held by the Op. It returns (B*L) x (H*DV). One gradient
// node calls kernels.HSTUAttentionBackward for all inputs at once; each
// input's gradient is then picked from it.
func HSTUAttention(a kernels.HSTUAttention, lens []int, tsQuery, tsKey []int64, q, k, v, posBias, timeBias *gorgonia.Node) (*gorgonia.Node, error) {
	op := &hstuAttentionOp{
		opBase: newBase("HSTUAttention{%+v}", a), a: a, lens: lens, tsQuery: tsQuery, tsKey: tsKey,
		pos: posBias != nil, time: timeBias != nil,
	}
	in := gorgonia.Nodes{q, k, v}
	if op.pos {
		in = append(in, posBias)
	}
	if op.time {
		in = append(in, timeBias)
	}
	return gorgonia.ApplyOp(op, in...)
}

type hstuAttentionOp struct {
	opBase
	a              kernels.HSTUAttention
	lens           []int
	tsQuery, tsKey []int64
	pos, time      bool

	out []float32
	// grads holds dq, dk, dv and the bias gradients, written by the
	// gradient node and picked by one node per input.
	grads [5][]float32
}

func (op *hstuAttentionOp) Arity() int { return 3 + btoi(op.pos) + btoi(op.time) }

func (op *hstuAttentionOp) Type() hm.Type {
	ts := []hm.Type{matType, matType, matType}
	for range op.Arity() - 3 {
		ts = append(ts, vecType)
	}
	return hm.NewFnType(append(ts, matType)...)
}

func (op *hstuAttentionOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	a := op.a
	rows := a.B * a.L
	want := []tensor.Shape{{rows, a.H * a.DQK}, {rows, a.H * a.DQK}, {rows, a.H * a.DV}}
	if op.pos {
		want = append(want, tensor.Shape{a.L})
	}
	if op.time {
		want = append(want, tensor.Shape{kernels.TimeBuckets})
	}
	for i, w := range want {
		if s, ok := in[i].(tensor.Shape); !ok || !s.Eq(w) {
			return nil, fmt.Errorf("graph: HSTUAttention: input %d is %v, want %v", i, in[i], w)
		}
	}
	return tensor.Shape{rows, a.H * a.DV}, nil
}

// biases returns the bias inputs of in (nil where left out).
func (op *hstuAttentionOp) biases(in []gorgonia.Value) (pos, time []float32) {
	i := 3
	if op.pos {
		pos = floats(in[i])
		i++
	}
	if op.time {
		time = floats(in[i])
	}
	return pos, time
}

func (op *hstuAttentionOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	a := op.a
	pos, time := op.biases(in)
	op.out = sequential.Grow(op.out, a.B*a.L*a.H*a.DV)
	kernels.HSTUAttentionForward(a, floats(in[0]), floats(in[1]), floats(in[2]), op.lens, pos, time, op.tsQuery, op.tsKey, op.out)
	return dense(op.out, a.B*a.L, a.H*a.DV), nil
}

func (op *hstuAttentionOp) DiffWRT(n int) []bool { return allTrue(n) }

func (op *hstuAttentionOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	// all's Value is a one-element placeholder: the gradients stay in
	// op.grads, out of reach of gorgonia's register reuse.
	all, err := newGrad("HSTUAttentionGrad", tensor.Shape{1}, func(v []gorgonia.Value, _ []float32) error {
		for i, x := range v[:len(v)-1] {
			op.grads[i] = sequential.Grow(op.grads[i], x.Shape().TotalSize())
			clear(op.grads[i])
		}
		pos, time := op.biases(v)
		var dpos, dtime []float32
		if op.pos {
			dpos = op.grads[3]
		}
		if op.time {
			dtime = op.grads[3+btoi(op.pos)]
		}
		kernels.HSTUAttentionBackward(op.a, floats(v[0]), floats(v[1]), floats(v[2]), op.lens, pos, time, op.tsQuery, op.tsKey,
			floats(v[len(v)-1]), op.grads[0], op.grads[1], op.grads[2], dpos, dtime)
		return nil
	}, append(append(gorgonia.Nodes{}, in...), grad)...)
	if err != nil {
		return nil, err
	}
	grads := make(gorgonia.Nodes, len(in))
	for i := range in {
		grads[i], err = newPick(fmt.Sprintf("HSTUAttentionGrad{%d}", i), in[i].Shape(), func([]gorgonia.Value) ([]float32, error) {
			return op.grads[i], nil
		}, all)
		if err != nil {
			return nil, err
		}
	}
	return grads, nil
}

// SampledSoftmaxOp is the sampled-softmax loss of kernels.SampledSoftmax
// (HSTU's retrieval loss, arXiv 2402.17152) as a gorgonia Op. Applied with
// gorgonia.ApplyOp(op, user, items) to the user embeddings (m x d) and the
// L2-normalised item table (n x d), it returns the scalar mean loss over
// the rows with a label, and keeps the loss, the count and the gradients
// that kernels.SampledSoftmax returns with it; the gradient nodes scale
// those by the incoming gradient.
type SampledSoftmaxOp struct {
	opBase
	labels, neg []int32
	k           int
	temperature float64
	// rng, when set (training graphs), redraws neg at every run with
	// kernels.UniformNegatives, after everything upstream of the loss
	// (dropout) has drawn, as sequential.Head.Step does.
	rng *rand.Rand

	loss       float64
	count      int
	du, dItems []float32
	touched    []int
}

// NewSampledSoftmax returns the loss Op for labels (m, 0 for no loss), k
// negatives per row (neg, m*k item ids) and the temperature.
func NewSampledSoftmax(labels, neg []int32, k int, temperature float64) *SampledSoftmaxOp {
	if k < 1 || len(neg) != len(labels)*k {
		panic(fmt.Sprintf("graph: NewSampledSoftmax: %d negatives for %d labels and k = %d", len(neg), len(labels), k))
	}
	return &SampledSoftmaxOp{
		opBase: newBase("SampledSoftmax{k=%d,t=%g}", k, temperature),
		labels: labels, neg: neg, k: k, temperature: temperature,
	}
}

// Loss returns the loss of the last run in float64, as the kernel
// computed it, and the number of labelled rows it averages over.
func (op *SampledSoftmaxOp) Loss() (float64, int) { return op.loss, op.count }

// Touched lists the item rows the last run's loss gradient reached.
func (op *SampledSoftmaxOp) Touched() []int { return op.touched }

func (op *SampledSoftmaxOp) Arity() int    { return 2 }
func (op *SampledSoftmaxOp) Type() hm.Type { return hm.NewFnType(matType, matType, gorgonia.Float32) }

func (op *SampledSoftmaxOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	us, err := sameMatrix(in[0])
	if err != nil {
		return nil, err
	}
	is, err := sameMatrix(in[1])
	if err != nil {
		return nil, err
	}
	if us[0] != len(op.labels) || us[1] != is[1] {
		return nil, fmt.Errorf("graph: SampledSoftmax: user %v, items %v, %d labels", us, is, len(op.labels))
	}
	return tensor.ScalarShape(), nil
}

func (op *SampledSoftmaxOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	u, m, d, err := matrix(in[0])
	if err != nil {
		return nil, err
	}
	items, _, _, err := matrix(in[1])
	if err != nil {
		return nil, err
	}
	if op.rng != nil {
		kernels.UniformNegatives(op.rng, len(items)/d, op.neg)
	}
	op.du, op.dItems = sequential.Grow(op.du, len(u)), sequential.Grow(op.dItems, len(items))
	clear(op.du)
	clear(op.dItems)
	op.touched = op.touched[:0]
	op.loss, op.count = kernels.SampledSoftmax(u, m, d, items, op.labels, op.neg, op.k, op.temperature, op.du, op.dItems,
		func(id int) { op.touched = append(op.touched, id) })
	return gorgonia.NewF32(float32(op.loss)), nil
}

func (op *SampledSoftmaxOp) DiffWRT(int) []bool { return []bool{true, true} }

func (op *SampledSoftmaxOp) SymDiff(in gorgonia.Nodes, out, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	grads := make(gorgonia.Nodes, 2)
	for i, name := range []string{"user", "items"} {
		var err error
		// out is an input only to order the pick after the loss.
		grads[i], err = newPick("SampledSoftmaxGrad{"+name+"}", in[i].Shape(), func(v []gorgonia.Value) ([]float32, error) {
			g, err := scalar(v[1])
			if err != nil {
				return nil, err
			}
			d := op.du
			if i == 1 {
				d = op.dItems
			}
			if g != 1 {
				kernels.ScaleBy(d, g)
			}
			return d, nil
		}, out, grad)
		if err != nil {
			return nil, err
		}
	}
	return grads, nil
}

// GatherRows returns rows idx of the matrix x, len(idx) x width:
//
//	y[j] = x[idx[j]]
//
// It looks up embeddings and packs the valid rows of a padded batch. Its
// gradient is ScatterRows, which adds rows gathered more than once.
func GatherRows(x *gorgonia.Node, idx []int) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&rowsOp{opBase: newBase("GatherRows{%d}", len(idx)), idx: idx, n: -1}, x)
}

// ScatterRows returns the n x width matrix that is zero but for rows idx,
// to which the rows of x (len(idx) x width) are added:
//
//	y[idx[j]] += x[j]
//
// Its gradient is GatherRows. Indices outside [0, n) panic.
func ScatterRows(x *gorgonia.Node, idx []int, n int) (*gorgonia.Node, error) {
	for _, i := range idx {
		if i < 0 || i >= n {
			panic(fmt.Sprintf("graph: ScatterRows: index %d outside [0, %d)", i, n))
		}
	}
	return gorgonia.ApplyOp(&rowsOp{opBase: newBase("ScatterRows{%d,%d}", len(idx), n), idx: idx, n: n}, x)
}

// rowsOp gathers (n < 0) or scatters (n rows) the rows idx.
type rowsOp struct {
	opBase
	idx []int
	n   int
	y   []float32
}

func (op *rowsOp) Arity() int    { return 1 }
func (op *rowsOp) Type() hm.Type { return hm.NewFnType(matType, matType) }

func (op *rowsOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := sameMatrix(in[0])
	if err != nil {
		return nil, err
	}
	if op.n < 0 {
		return tensor.Shape{len(op.idx), s[1]}, nil
	}
	if s[0] != len(op.idx) {
		return nil, fmt.Errorf("graph: ScatterRows: %d rows for %d indices", s[0], len(op.idx))
	}
	return tensor.Shape{op.n, s[1]}, nil
}

func (op *rowsOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, r, w, err := matrix(in[0])
	if err != nil {
		return nil, err
	}
	if op.n < 0 {
		op.y = sequential.Grow(op.y, len(op.idx)*w)
		for j, i := range op.idx {
			if i < 0 || i >= r {
				return nil, fmt.Errorf("graph: GatherRows: index %d outside [0, %d)", i, r)
			}
			copy(op.y[j*w:(j+1)*w], x[i*w:(i+1)*w])
		}
		return dense(op.y, len(op.idx), w), nil
	}
	op.y = sequential.Grow(op.y, op.n*w)
	clear(op.y)
	for j, i := range op.idx {
		kernels.AddTo(op.y[i*w:(i+1)*w], x[j*w:(j+1)*w])
	}
	return dense(op.y, op.n, w), nil
}

func (op *rowsOp) DiffWRT(int) []bool { return []bool{true} }

func (op *rowsOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	var dx *gorgonia.Node
	var err error
	if op.n < 0 {
		dx, err = ScatterRows(grad, op.idx, in[0].Shape()[0])
	} else {
		dx, err = GatherRows(grad, op.idx)
	}
	return gorgonia.Nodes{dx}, err
}

// Columns returns columns [lo, hi) of the matrix x as a new matrix; its
// gradient places the incoming gradient in those columns of a zero matrix.
func Columns(x *gorgonia.Node, lo, hi int) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(&columnsOp{opBase: newBase("Columns{%d:%d}", lo, hi), lo: lo, hi: hi}, x)
}

type columnsOp struct {
	opBase
	lo, hi int
	y      []float32
}

func (op *columnsOp) Arity() int    { return 1 }
func (op *columnsOp) Type() hm.Type { return hm.NewFnType(matType, matType) }

func (op *columnsOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := sameMatrix(in[0])
	if err != nil {
		return nil, err
	}
	if op.lo < 0 || op.hi < op.lo || op.hi > s[1] {
		return nil, fmt.Errorf("graph: Columns: [%d, %d) outside the %d columns", op.lo, op.hi, s[1])
	}
	return tensor.Shape{s[0], op.hi - op.lo}, nil
}

func (op *columnsOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, r, w, err := matrix(in[0])
	if err != nil {
		return nil, err
	}
	c := op.hi - op.lo
	op.y = sequential.Grow(op.y, r*c)
	for i := range r {
		copy(op.y[i*c:(i+1)*c], x[i*w+op.lo:i*w+op.hi])
	}
	return dense(op.y, r, c), nil
}

func (op *columnsOp) DiffWRT(int) []bool { return []bool{true} }

func (op *columnsOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	s := in[0].Shape()
	w, c := s[1], op.hi-op.lo
	dx, err := newGrad("ColumnsGrad", s, func(v []gorgonia.Value, dx []float32) error {
		dy := floats(v[0])
		for i := range s[0] {
			copy(dx[i*w+op.lo:i*w+op.hi], dy[i*c:(i+1)*c])
		}
		return nil
	}, grad)
	return gorgonia.Nodes{dx}, err
}

// gradOp is a gradient node. With fill, Do zeroes the node's own buffer
// (the kernels' backward functions accumulate) and fill writes the
// gradient into it; with pick, Do wraps the slice pick returns, a buffer
// the forward Op owns and exposes through this node alone. Gradient nodes
// are not differentiable themselves.
type gradOp struct {
	opBase
	in    []hm.Type
	shape tensor.Shape
	buf   []float32
	fill  func(in []gorgonia.Value, out []float32) error
	pick  func(in []gorgonia.Value) ([]float32, error)
}

func newGrad(name string, shape tensor.Shape, fill func([]gorgonia.Value, []float32) error, children ...*gorgonia.Node) (*gorgonia.Node, error) {
	return applyGrad(&gradOp{opBase: newBase("%s", name), shape: shape.Clone(), fill: fill}, children)
}

func newPick(name string, shape tensor.Shape, pick func([]gorgonia.Value) ([]float32, error), children ...*gorgonia.Node) (*gorgonia.Node, error) {
	return applyGrad(&gradOp{opBase: newBase("%s", name), shape: shape.Clone(), pick: pick}, children)
}

func applyGrad(op *gradOp, children gorgonia.Nodes) (*gorgonia.Node, error) {
	for _, c := range children {
		op.in = append(op.in, c.Type())
	}
	return gorgonia.ApplyOp(op, children...)
}

func (op *gradOp) Arity() int { return len(op.in) }

func (op *gradOp) Type() hm.Type {
	out := hm.Type(gorgonia.TensorType{Dims: op.shape.Dims(), Of: gorgonia.Float32})
	return hm.NewFnType(append(append([]hm.Type{}, op.in...), out)...)
}

func (op *gradOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.shape.Clone(), nil
}

func (op *gradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	if op.pick != nil {
		d, err := op.pick(in)
		if err != nil {
			return nil, err
		}
		if len(d) != op.shape.TotalSize() {
			return nil, fmt.Errorf("graph: %s: gradient has %d values, want %v", op.desc, len(d), op.shape)
		}
		return dense(d, op.shape...), nil
	}
	op.buf = sequential.Grow(op.buf, op.shape.TotalSize())
	clear(op.buf)
	if err := op.fill(in, op.buf); err != nil {
		return nil, err
	}
	return dense(op.buf, op.shape...), nil
}

// floats returns the float32 data of a tensor Value, materialising views.
// Shapes were checked when the graph was built; a Value of another kind
// is a programmer mistake and panics.
func floats(v gorgonia.Value) []float32 {
	if t, ok := v.(tensor.Tensor); ok && t.RequiresIterator() {
		if vw, ok := t.(tensor.View); ok {
			v = vw.Materialize()
		}
	}
	d, ok := v.Data().([]float32)
	if !ok {
		panic(fmt.Sprintf("graph: want float32 tensor data, got %T", v.Data()))
	}
	return d
}

// matrix returns the data and shape of a 2-D Value.
func matrix(v gorgonia.Value) (data []float32, rows, cols int, err error) {
	s := v.Shape()
	if s.Dims() != 2 {
		return nil, 0, 0, fmt.Errorf("graph: want a matrix, got shape %v", s)
	}
	return floats(v), s[0], s[1], nil
}

// scalar returns the value of a scalar float32 Value.
func scalar(v gorgonia.Value) (float32, error) {
	switch x := v.Data().(type) {
	case float32:
		return x, nil
	case []float32:
		if len(x) == 1 {
			return x[0], nil
		}
	}
	return 0, fmt.Errorf("graph: want a float32 scalar, got %v", v)
}

// sameMatrix returns the shape of a matrix input.
func sameMatrix(d gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := d.(tensor.Shape)
	if !ok || s.Dims() != 2 {
		return nil, fmt.Errorf("graph: want a matrix, got shape %v", d)
	}
	return s.Clone(), nil
}

func dense(data []float32, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

func allTrue(n int) []bool {
	b := make([]bool, n)
	for i := range b {
		b[i] = true
	}
	return b
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
