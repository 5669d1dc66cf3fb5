package trainer

import (
	"fmt"
	"math/rand/v2"

	"github.com/genrec/genrec/models/graph"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// Engine computes a batch's retrieval loss and adds its gradients to the
// model's parameters. NewEngine chooses one; nothing else knows which.
type Engine interface {
	Gradients(m sequential.Model, b *sequential.Batch, rng *rand.Rand) (loss float64, n int, err error)
}

// The values of Options.Engine.
const (
	EngineKernels  = "kernels"
	EngineGorgonia = "gorgonia"
)

// Engines lists the values Options.Engine accepts.
var Engines = []string{EngineKernels, EngineGorgonia}

// NewEngine returns the engine name for m: "kernels" (sequential.Head on
// the model's Forward and Backward) or "gorgonia" (the same kernels as a
// gorgonia graph per batch, models/graph; HSTU with sampled negatives only,
// bit-identical losses and gradients). What an engine cannot train is an
// error that names it.
func NewEngine(name string, m sequential.Model, loss sequential.LossConfig) (Engine, error) {
	switch name {
	case EngineKernels, "":
		return &kernelEngine{head: sequential.Head{Loss: loss}}, nil
	case EngineGorgonia:
		h, ok := m.(*hstu.Model[float32])
		if !ok {
			got := "none"
			if m != nil {
				got = m.Name()
			}
			return nil, fmt.Errorf("trainer: engine gorgonia trains hstu models only, got model %s; use engine kernels", got)
		}
		if loss.WithDefaults().Negatives < 1 {
			return nil, fmt.Errorf("trainer: engine gorgonia needs sampled negatives (loss.negatives >= 1); the full softmax (negatives 0) runs on engine kernels only")
		}
		return &graphEngine{model: h, loss: loss}, nil
	}
	return nil, fmt.Errorf("trainer: engine %q is not supported; use kernels or gorgonia", name)
}

type kernelEngine struct{ head sequential.Head }

func (e *kernelEngine) Gradients(m sequential.Model, b *sequential.Batch, rng *rand.Rand) (float64, int, error) {
	return e.head.Step(m, b, rng)
}

type graphEngine struct {
	model *hstu.Model[float32]
	loss  sequential.LossConfig
}

func (e *graphEngine) Gradients(_ sequential.Model, b *sequential.Batch, rng *rand.Rand) (float64, int, error) {
	return graph.Step(e.model, b, rng, e.loss)
}

// SequenceObjective is the retrieval task's Objective: the training rows
// idx of rows as a batch of windows (with HSTU's stochastic length when
// o.StochasticLength is set), their loss and gradients on o.Engine.
func SequenceObjective(m sequential.Model, rows []transforms.SequenceRow, o Options) (Objective, error) {
	e, err := NewEngine(o.Engine, m, o.Loss)
	if err != nil {
		return nil, err
	}
	return &sequenceObjective{model: m, rows: rows, alpha: o.StochasticLength, engine: e}, nil
}

type sequenceObjective struct {
	model  sequential.Model
	rows   []transforms.SequenceRow
	alpha  float64
	engine Engine
}

func (o *sequenceObjective) Params() []*kernels.Param[float32] { return o.model.Params() }

func (o *sequenceObjective) Loss(idx []int, rng *rand.Rand) (float64, int, error) {
	rows := o.rows
	if o.alpha > 0 {
		sub := make([]transforms.SequenceRow, len(idx))
		pos := make([]int, len(idx))
		for i, r := range idx {
			sub[i], pos[i] = sequential.StochasticLength(rows[r], o.model.MaxLen(), o.alpha, rng), i
		}
		rows, idx = sub, pos
	}
	b, err := sequential.NewBatch(rows, idx, o.model.MaxLen(), true)
	if err != nil {
		return 0, 0, err
	}
	return o.engine.Gradients(o.model, b, rng)
}
