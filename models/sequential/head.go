package sequential

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
)

// LossConfig selects the training loss of the retrieval head.
type LossConfig struct {
	// Negatives is the number of uniform negatives per position for sampled
	// softmax (HSTU's default 128); 0 means the full softmax over the whole
	// catalogue, feasible for small catalogues.
	Negatives int `yaml:"negatives" json:"negatives"`
	// Temperature divides the cosine similarities (default 0.05).
	Temperature float64 `yaml:"temperature" json:"temperature"`
}

// WithDefaults fills zero fields with HSTU's defaults.
func (c LossConfig) WithDefaults() LossConfig {
	if c.Temperature == 0 {
		c.Temperature = 0.05
	}
	return c
}

// normEps is the clamp of every L2 normalisation of the head.
const normEps = 1e-12

// Head computes the retrieval loss and its gradient for a Model. It keeps
// its buffers between steps; it is not safe for concurrent use.
type Head struct {
	Loss LossConfig

	items, norms, dItems, du []float32
	neg                      []int32
	touched                  []int
}

// Step runs one forward and backward pass of m on b: user embeddings at
// every position, the loss against each position's label, and gradients
// accumulated into m's parameters (the item table's touched rows only). It
// returns the mean loss and the number of labelled positions, and an error
// when the loss is not finite.
func (h *Head) Step(m Model, b *Batch, rng *rand.Rand) (float64, int, error) {
	cfg := h.Loss.WithDefaults()
	d := m.Dim()
	user := m.Forward(b, rng)
	table := m.ItemTable()
	n := table.Rows()
	h.normalize(table)
	h.dItems = Grow(h.dItems, n*d)
	clear(h.dItems)
	h.du = Grow(h.du, len(user))
	clear(h.du)
	h.touched = h.touched[:0]
	touch := func(id int) { h.touched = append(h.touched, id) }
	rows := b.Positions()
	temperature := cfg.Temperature
	ls := logitScale(m)
	if ls != nil {
		temperature = 1 / math.Exp(float64(ls.Value[0]))
	}
	var loss float64
	var count int
	if cfg.Negatives > 0 {
		h.neg = Grow(h.neg, rows*cfg.Negatives)
		kernels.UniformNegatives(rng, n, h.neg)
		loss, count = kernels.SampledSoftmax(user, rows, d, h.items, b.Labels, h.neg, cfg.Negatives, temperature, h.du, h.dItems, touch)
	} else {
		loss, count = kernels.FullSoftmax(user, rows, d, h.items, n, b.Labels, temperature, h.du, h.dItems, touch)
	}
	if count == 0 {
		return 0, 0, nil
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, count, fmt.Errorf("sequential: %s loss is %v", m.Name(), loss)
	}
	if ls != nil {
		// logits = e^s u·v, so dL/ds = Σ_logits dL/dlogit · logit = Σ_rows u·du.
		var g float64
		for i := range user {
			g += float64(user[i]) * float64(h.du[i])
		}
		ls.Grad[0] += float32(g)
	}
	m.Backward(h.du)
	for _, id := range h.touched {
		row := h.items[id*d : (id+1)*d]
		kernels.L2NormalizeBackward(row, h.norms[id:id+1], h.dItems[id*d:(id+1)*d], table.Grad[id*d:(id+1)*d], 1, d, normEps)
		table.Touch(id)
	}
	if t, ok := m.(ItemTower); ok {
		t.BackwardItems()
	}
	return loss, count, nil
}

// ItemTower is a Model whose item table is computed from other
// parameters (HLLM's fusion of text and ID embeddings). Step calls
// BackwardItems after Backward and after it has added the head's gradient
// to the table: the model carries the table's whole gradient back then.
type ItemTower interface {
	BackwardItems()
}

// LogitScaled is a Model with a learnable logit scale s (HLLM): the head
// scores e^s·cos(u, v) instead of cos(u, v)/Temperature, and trains s.
// The model clamps s to its range before each Forward.
type LogitScaled interface {
	LogitScale() *kernels.Param[float32]
}

func logitScale(m Model) *kernels.Param[float32] {
	if l, ok := m.(LogitScaled); ok {
		return l.LogitScale()
	}
	return nil
}

// normalize fills h.items with the L2-normalised rows of table.
func (h *Head) normalize(table *kernels.Param[float32]) {
	n, d := table.Rows(), table.Cols()
	h.items = Grow(h.items, n*d)
	h.norms = Grow(h.norms, n)
	kernels.L2NormalizeForward(table.Value, h.items, h.norms, n, d, normEps)
}

// ItemEmbeddings returns m's L2-normalised item table (catalogue x Dim), a
// new slice.
func ItemEmbeddings(m Model) []float32 {
	t := m.ItemTable()
	out := make([]float32, len(t.Value))
	kernels.L2NormalizeForward(t.Value, out, make([]float32, t.Rows()), t.Rows(), t.Cols(), normEps)
	return out
}

// Grow returns s with length n, reusing its array when it is large enough
// (the contents are then stale): the models' activation buffers.
func Grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
