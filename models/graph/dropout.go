package graph

import (
	"fmt"
	"math/rand/v2"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

var _ gorgonia.SDOp = (*dropoutOp)(nil)

// Dropout is inverted dropout on the matrix x by kernels.DropoutForward:
// each element is kept with probability 1-p and scaled by 1/(1-p), or
// zeroed. Every run draws a new mask from rng, one rng.Float64() per
// element in row-major order, exactly as the direct path
// (sequential.Input, hstu.Model) draws it; with p = 0 it draws nothing
// and copies x. The mask stays in the Op and the gradient node calls
// kernels.DropoutBackward with it. (gorgonia's own Dropout is not used:
// its gradient is wrong in v0.9.18.) Srivastava et al. 2014, JMLR 15.
//
// It returns an error when p is outside [0, 1) or when p > 0 and rng is
// nil.
func Dropout(x *gorgonia.Node, p float64, rng *rand.Rand) (*gorgonia.Node, error) {
	switch {
	case !(p >= 0 && p < 1):
		return nil, fmt.Errorf("graph: Dropout: p = %v outside [0, 1)", p)
	case p > 0 && rng == nil:
		return nil, fmt.Errorf("graph: Dropout: p = %v needs an rng", p)
	}
	return gorgonia.ApplyOp(&dropoutOp{opBase: newBase("Dropout{%g}", p), p: p, rng: rng}, x)
}

type dropoutOp struct {
	opBase
	p    float64
	rng  *rand.Rand
	y    []float32
	mask []bool // the last run's mask, read by the gradient node
}

func (op *dropoutOp) Arity() int    { return 1 }
func (op *dropoutOp) Type() hm.Type { return hm.NewFnType(matType, matType) }
func (op *dropoutOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return sameMatrix(in[0])
}

func (op *dropoutOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, r, d, err := matrix(in[0])
	if err != nil {
		return nil, err
	}
	op.y = sequential.Grow(op.y, r*d)
	if cap(op.mask) < r*d {
		op.mask = make([]bool, r*d)
	}
	op.mask = op.mask[:r*d]
	kernels.DropoutForward(x, op.y, op.p, op.rng, op.mask)
	return dense(op.y, r, d), nil
}

func (op *dropoutOp) DiffWRT(int) []bool { return []bool{true} }

func (op *dropoutOp) SymDiff(in gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	// grad depends on the forward's output, so the mask is drawn before
	// this node runs.
	dx, err := newGrad("DropoutGrad", in[0].Shape(), func(v []gorgonia.Value, dx []float32) error {
		dy := floats(v[0])
		if len(dy) != len(op.mask) {
			return fmt.Errorf("graph: DropoutGrad: %d gradients for a mask of %d", len(dy), len(op.mask))
		}
		kernels.DropoutBackward(op.mask, op.p, dy, dx)
		return nil
	}, grad)
	return gorgonia.Nodes{dx}, err
}
