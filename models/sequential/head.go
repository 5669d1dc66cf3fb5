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
	// NegativesShared draws one set of Negatives uniform negatives for the
	// whole batch, scored against every position (a shared-negative
	// sampler), instead of Negatives per position: a step then touches at
	// most B·L + Negatives item rows instead of up to B·L·(Negatives+1),
	// which is what keeps a step's cost flat on catalogues of millions.
	NegativesShared bool `yaml:"negatives_shared" json:"negatives_shared"`
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

	items, norms, raw, dItems, du []float32
	neg, shared, pos, local       []int32
	cand                          []int32 // global ids of the local candidate rows 1..len(cand)
	slot                          []int32 // slot[id]: id's local row, 0 if not a candidate; reset after each step
	touched                       []int
	lastCand                      int
}

// Step runs one forward and backward pass of m on b: user embeddings at
// every position, the loss against each position's label, and gradients
// accumulated into m's parameters (the item table's touched rows only). It
// returns the mean loss and the number of labelled positions, and an error
// when the loss is not finite.
//
// With sampled negatives the step is independent of the catalogue size:
// the candidates C (every label and every sampled negative, k distinct
// ids) are gathered into a local table of k+1 rows (row 0 a zero padding
// row), only they are L2-normalised, and the loss and its gradient are
// those of kernels.SampledSoftmax on the local table with the ids mapped
// to local rows — the same numbers, bit for bit, as on the whole
// normalised table, since each row's normalisation and each row's
// gradient sum (row-major over positions) are unchanged. The gradient of
// a candidate row then goes through its normalisation into
// ItemTable().GradRow(id). Work and memory per step are O(k·d) plus one
// catalogue-sized slot index kept between steps. Shared negatives
// (NegativesShared) run kernels.SharedSampledSoftmax, the same loss as
// SampledSoftmax with the set repeated on every row, as matrix products:
// equal to it up to float32 summation order. The full softmax
// (Negatives 0) normalises and scores the whole catalogue, as it must.
func (h *Head) Step(m Model, b *Batch, rng *rand.Rand) (float64, int, error) {
	cfg := h.Loss.WithDefaults()
	d := m.Dim()
	user := m.Forward(b, rng)
	table := m.ItemTable()
	n := table.Rows()
	defer h.resetSlots() // also after a panic: the slot index must be all zero at the next step
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
		k := cfg.Negatives
		if cfg.NegativesShared {
			h.shared = Grow(h.shared, k)
			kernels.UniformNegatives(rng, n, h.shared)
			h.gatherCandidates(table, b.Labels, h.shared)
			loss, count = kernels.SharedSampledSoftmax(user, rows, d, h.items, h.pos, h.local, temperature, h.du, h.dItems, touch)
		} else {
			h.neg = Grow(h.neg, rows*k)
			kernels.UniformNegatives(rng, n, h.neg)
			h.gatherCandidates(table, b.Labels, h.neg)
			loss, count = kernels.SampledSoftmax(user, rows, d, h.items, h.pos, h.local, k, temperature, h.du, h.dItems, touch)
		}
	} else {
		h.normalize(table)
		h.dItems = Grow(h.dItems, n*d)
		clear(h.dItems)
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
	for _, li := range h.touched {
		id := li
		if cfg.Negatives > 0 {
			id = int(h.cand[li-1])
		}
		row := h.items[li*d : (li+1)*d]
		kernels.L2NormalizeBackward(row, h.norms[li:li+1], h.dItems[li*d:(li+1)*d], table.GradRow(id), 1, d, normEps)
	}
	if t, ok := m.(ItemTower); ok {
		t.BackwardItems()
	}
	return loss, count, nil
}

// gatherCandidates builds the local candidate table of a sampled step:
// h.cand lists the distinct ids of labels (> 0) and neg in first-seen
// order, local row j+1 of h.items is the L2-normalised table row
// h.cand[j] (row 0 zero), h.pos and h.local are labels and neg mapped to
// local rows (labels <= 0 kept), and h.dItems is a zeroed gradient of the
// local table. An id outside [0, table rows) panics, as SampledSoftmax
// does on the whole table.
func (h *Head) gatherCandidates(table *kernels.Param[float32], labels, neg []int32) {
	n, d := table.Rows(), table.Cols()
	if len(h.slot) != n {
		h.slot = make([]int32, n)
	}
	h.cand = h.cand[:0]
	add := func(id int32) int32 {
		if id < 0 || int(id) >= n {
			panic(fmt.Sprintf("sequential: Head: item id %d out of [0, %d)", id, n))
		}
		if s := h.slot[id]; s > 0 {
			return s
		}
		h.cand = append(h.cand, id)
		h.slot[id] = int32(len(h.cand))
		return int32(len(h.cand))
	}
	h.pos = Grow(h.pos, len(labels))
	for r, l := range labels {
		h.pos[r] = l
		if l > 0 {
			h.pos[r] = add(l)
		}
	}
	h.local = Grow(h.local, len(neg))
	for i, id := range neg {
		h.local[i] = add(id)
	}
	k := len(h.cand) + 1
	h.raw = Grow(h.raw, k*d)
	clear(h.raw[:d])
	for j, id := range h.cand {
		copy(h.raw[(j+1)*d:(j+2)*d], table.Value[int(id)*d:(int(id)+1)*d])
	}
	h.items = Grow(h.items, k*d)
	h.norms = Grow(h.norms, k)
	kernels.L2NormalizeForward(h.raw, h.items, h.norms, k, d, normEps)
	h.dItems = Grow(h.dItems, k*d)
	clear(h.dItems)
}

// resetSlots clears the slot index of the last step's candidates: O(k).
func (h *Head) resetSlots() {
	h.lastCand = len(h.cand)
	for _, id := range h.cand {
		h.slot[id] = 0
	}
	h.cand = h.cand[:0]
}

// CandidateRows is the number of distinct item rows (labels and sampled
// negatives) the last sampled Step scored; 0 after a full-softmax step.
func (h *Head) CandidateRows() int { return h.lastCand }

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
