package graph

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
)

// BuildHSTUTrain is BuildHSTU in training mode: the graph applies the
// model's dropout (transformer_params.dropout) where hstu.Model.Forward
// does, after the embedding and after u * LayerNorm(o) in every layer, and
// the loss draws its loss.Negatives uniform negatives per position at
// every run. All draws come from rng in sequential.Head.Step's order (the
// input's dropout mask, each layer's in turn, then the negatives), so
// that from the same rng state a run of the graph computes bit for bit
// the loss and gradients of Head.Step on m, and leaves rng in the same
// state. Each run (HSTU.Step) draws anew.
//
// Like BuildHSTU it needs sampled negatives (loss.Negatives >= 1); the
// full softmax has no graph.
func BuildHSTUTrain(m *hstu.Model[float32], b *sequential.Batch, rng *rand.Rand, loss sequential.LossConfig) (*HSTU, error) {
	if rng == nil {
		return nil, errors.New("graph: BuildHSTUTrain needs an rng")
	}
	loss = loss.WithDefaults()
	if loss.Negatives < 1 {
		return nil, fmt.Errorf("graph: the gorgonia graph needs sampled negatives (loss.negatives >= 1), got %d", loss.Negatives)
	}
	return build(m, b, make([]int32, b.B*b.L*loss.Negatives), loss, rng)
}

// Step is one training step of m on b as a gorgonia graph, in place of
// sequential.Head{Loss: loss}.Step(m, b, rng): it builds the training
// graph (BuildHSTUTrain), runs it once, which draws the dropout masks and
// the negatives from rng and accumulates the gradients into m's
// Param.Grad, touches the item rows the batch and the loss reached, and
// closes the machine. It returns the mean loss and the number of
// labelled positions: (0, 0, nil) when there are none, and an error when
// the loss is not finite or the graph cannot be built or run.
func Step(m *hstu.Model[float32], b *sequential.Batch, rng *rand.Rand, loss sequential.LossConfig) (l float64, n int, err error) {
	h, err := BuildHSTUTrain(m, b, rng, loss)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := h.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("graph: closing the machine: %w", cerr)
		}
	}()
	return h.Step()
}
