package distributed

import (
	"fmt"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/genrec/genrec/export"
)

// Averaged is a round's result: the shards' parameters and AdamW moments
// averaged, and each shard's state.
type Averaged struct {
	Params    []export.Tensor
	States    []ShardState // by shard
	AdamSteps int          // the largest of the shards'
	Examples  int
	LossSum   float64
	Labels    int
}

// Loss is the round's mean training loss per labelled position.
func (a Averaged) Loss() float64 { return a.LossSum / float64(max(a.Labels, 1)) }

// accumulator sums the shards' updates weighted by their examples, in
// float64. A shard that saw no examples adds its state only.
type accumulator struct {
	Names       []string
	Shapes      [][]int
	Value, M, V [][]float64
	Moments     bool // every weighted shard had moments
	// Frozen[i]: parameter i has no moments in any shard (a frozen
	// parameter such as HLLM's text table); the others keep theirs.
	Frozen            []bool
	Weight            float64
	States            []ShardState
	Shards            []int
	AdamSteps, Labels int
	Examples          int
	LossSum           float64
}

// add adds update u with weight u.Examples.
func (a *accumulator) add(u ShardUpdate) error {
	a.States, a.Shards = append(a.States, u.State), append(a.Shards, u.Shard)
	a.AdamSteps = max(a.AdamSteps, u.AdamSteps)
	a.Examples += u.Examples
	a.LossSum += u.LossSum
	a.Labels += u.Labels
	if u.Examples == 0 {
		return nil
	}
	w := float64(u.Examples)
	if a.Names == nil {
		a.Moments = true
		for _, t := range u.Params {
			a.Names, a.Shapes = append(a.Names, t.Name), append(a.Shapes, t.Shape)
			a.Value = append(a.Value, make([]float64, len(t.Value)))
			a.M = append(a.M, make([]float64, len(t.Value)))
			a.V = append(a.V, make([]float64, len(t.Value)))
			a.Frozen = append(a.Frozen, len(t.M) == 0 && len(t.V) == 0)
		}
	}
	if len(u.Params) != len(a.Names) {
		return fmt.Errorf("distributed: shard %d has %d parameters, others %d", u.Shard, len(u.Params), len(a.Names))
	}
	for i, t := range u.Params {
		if t.Name != a.Names[i] || len(t.Value) != len(a.Value[i]) {
			return fmt.Errorf("distributed: shard %d's parameter %d is %s of %d values, others' %s of %d", u.Shard, i, t.Name, len(t.Value), a.Names[i], len(a.Value[i]))
		}
		axpy(a.Value[i], w, t.Value)
		if frozen := len(t.M) == 0 && len(t.V) == 0; frozen || a.Frozen[i] {
			if frozen != a.Frozen[i] {
				a.Moments = false // moments in some shards only
			}
			continue
		}
		if len(t.M) != len(t.Value) || len(t.V) != len(t.Value) {
			a.Moments = false
			continue
		}
		axpy(a.M[i], w, t.M)
		axpy(a.V[i], w, t.V)
	}
	a.Weight += w
	return nil
}

func axpy(dst []float64, w float64, x []float32) {
	for j, v := range x {
		dst[j] += w * float64(v)
	}
}

// merge adds b into a.
func (a *accumulator) merge(b *accumulator) error {
	if b.Weight > 0 {
		if a.Weight == 0 {
			a.Names, a.Shapes, a.Value, a.M, a.V, a.Moments, a.Frozen = b.Names, b.Shapes, b.Value, b.M, b.V, b.Moments, b.Frozen
		} else {
			if !slices.Equal(a.Names, b.Names) {
				return fmt.Errorf("distributed: shards disagree on the parameters")
			}
			for i := range a.Value {
				addTo(a.Value[i], b.Value[i])
				addTo(a.M[i], b.M[i])
				addTo(a.V[i], b.V[i])
			}
			a.Moments = a.Moments && b.Moments && slices.Equal(a.Frozen, b.Frozen)
		}
		a.Weight += b.Weight
	}
	a.States, a.Shards = append(a.States, b.States...), append(a.Shards, b.Shards...)
	a.AdamSteps = max(a.AdamSteps, b.AdamSteps)
	a.Examples += b.Examples
	a.LossSum += b.LossSum
	a.Labels += b.Labels
	return nil
}

func addTo(dst, src []float64) {
	for j, v := range src {
		dst[j] += v
	}
}

// result divides the sums by the total weight: for every element
//
//	w = Σ_k n_k w_k / Σ_k n_k,  m and v likewise,
//
// with n_k the training windows shard k saw this round. The sums are in
// float64, where n_k w_k is exact, so one shard's update comes back
// unchanged and two shards' average does not depend on their order.
// shards is the number of shards; each must have reported exactly once.
func (a *accumulator) result(shards int) (Averaged, error) {
	out := Averaged{AdamSteps: a.AdamSteps, Examples: a.Examples, LossSum: a.LossSum, Labels: a.Labels, States: make([]ShardState, shards)}
	seen := make([]bool, shards)
	for i, k := range a.Shards {
		if k < 0 || k >= shards || seen[k] {
			return out, fmt.Errorf("distributed: shard %d reported twice or is out of range [0, %d)", k, shards)
		}
		seen[k], out.States[k] = true, a.States[i]
	}
	if len(a.Shards) != shards {
		return out, fmt.Errorf("distributed: %d of %d shards reported", len(a.Shards), shards)
	}
	if a.Weight == 0 {
		return out, fmt.Errorf("distributed: no shard saw a training row")
	}
	for i, name := range a.Names {
		t := export.Tensor{Name: name, Shape: a.Shapes[i], Value: scale(a.Value[i], a.Weight)}
		if a.Moments && !a.Frozen[i] {
			t.M, t.V = scale(a.M[i], a.Weight), scale(a.V[i], a.Weight)
		}
		out.Params = append(out.Params, t)
	}
	return out, nil
}

func scale(sum []float64, w float64) []float32 {
	out := make([]float32, len(sum))
	for j, v := range sum {
		out[j] = float32(v / w)
	}
	return out
}

// Average averages shards' updates as a round's combine does (see
// accumulator.result for the equation). Every shard 0..shards-1 must be
// among updates exactly once.
func Average(shards int, updates ...ShardUpdate) (Averaged, error) {
	var a accumulator
	for _, u := range updates {
		if err := a.add(u); err != nil {
			return Averaged{}, err
		}
	}
	return a.result(shards)
}

// averageFn is the CombineFn of AverageUpdates. Errors cannot leave a
// CombineFn, so it panics with them; the runner fails the job.
type averageFn struct {
	Shards int
}

func (f *averageFn) CreateAccumulator() accumulator { return accumulator{} }

func (f *averageFn) AddInput(a accumulator, u ShardUpdate) accumulator {
	if err := a.add(u); err != nil {
		panic(err)
	}
	return a
}

func (f *averageFn) MergeAccumulators(a, b accumulator) accumulator {
	if err := a.merge(&b); err != nil {
		panic(err)
	}
	return a
}

func (f *averageFn) ExtractOutput(a accumulator) Averaged {
	out, err := a.result(f.Shards)
	if err != nil {
		panic(err)
	}
	return out
}

// AverageUpdates averages the shards' updates element-wise, weighted by
// the examples each saw. It takes PCollection<ShardUpdate> (one per shard
// 0..shards-1) and returns PCollection<Averaged> with one element.
func AverageUpdates(s beam.Scope, updates beam.PCollection, shards int) beam.PCollection {
	s = s.Scope("distributed.AverageUpdates")
	return beam.Combine(s, &averageFn{Shards: shards}, updates)
}
