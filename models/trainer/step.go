package trainer

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
)

// Objective is what a training step minimises: a task's loss on a batch of
// its training examples. Every task (retrieval, ranking) and every engine
// (the direct kernels, the gorgonia graph) is an Objective; the loop and the
// step know nothing else of them.
type Objective interface {
	// Params are the parameters the step updates.
	Params() []*kernels.Param[float32]
	// Loss computes the mean loss over the examples idx (indices into the
	// task's training table) and adds its gradient to Params' Grad, drawing
	// dropout masks and sampled negatives from rng. n is the number of
	// loss terms (0: nothing to learn from in the batch). An error with a
	// non-finite loss is a numerical failure; any other error is the task's.
	Loss(idx []int, rng *rand.Rand) (loss float64, n int, err error)
}

// ErrNonFinite is wrapped by a step's error when a loss or gradient is NaN
// or infinite.
var ErrNonFinite = errors.New("non-finite loss or gradient")

// Optimizer is the one training step of every task: zero the gradients,
// the objective's forward and backward, the NaN guard, global-norm clipping
// and an AdamW update (kernels.AdamWStep; sparse tables step their touched
// rows only).
type Optimizer struct {
	AdamW    kernels.AdamW
	ClipNorm float64 // global gradient-norm clip; 0 = none
}

// NewOptimizer is the optimizer of o.Optimizer (defaults applied).
func NewOptimizer(o OptimizerParams) *Optimizer {
	return &Optimizer{
		AdamW:    kernels.AdamW{LR: o.LR, Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, WeightDecay: o.WeightDecay},
		ClipNorm: o.ClipNorm,
	}
}

// Step trains obj on the examples idx at learning rate lr and returns the
// batch's mean loss and its number of loss terms. A batch without loss terms
// changes nothing; a non-finite loss or gradient changes nothing either and
// returns an error wrapping ErrNonFinite.
func (o *Optimizer) Step(obj Objective, idx []int, rng *rand.Rand, lr float64) (float64, int, error) {
	params := obj.Params()
	for _, p := range params {
		p.ZeroGrad()
	}
	loss, n, err := obj.Loss(idx, rng)
	if err != nil {
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return loss, n, fmt.Errorf("%w: %w", ErrNonFinite, err)
		}
		return loss, n, err
	}
	if n == 0 {
		return 0, 0, nil
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, n, fmt.Errorf("%w: the loss is %v", ErrNonFinite, loss)
	}
	if !kernels.GradFinite(params) {
		return loss, n, fmt.Errorf("%w: a gradient is NaN or infinite (loss %.4g)", ErrNonFinite, loss)
	}
	kernels.ClipGradNorm(params, o.ClipNorm)
	o.AdamW.LR = lr
	kernels.AdamWStep(&o.AdamW, params)
	return loss, n, nil
}
