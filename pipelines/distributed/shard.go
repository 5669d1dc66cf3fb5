package distributed

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// ShardState is where a shard's stream of batches stands after a round:
// the shard's epochs are permutations of its training rows, as in
// GenRecTrainer.Fit (the shard runs the same trainer.Loop).
type ShardState = trainer.Position

// ShardUpdate is what one shard emits after its local steps: its
// parameters with their AdamW moments, and what it saw.
type ShardUpdate struct {
	Shard     int
	Examples  int     // training windows seen this round (the averaging weight)
	LossSum   float64 // Σ batch loss · labelled positions
	Labels    int     // labelled positions
	AdamSteps int
	State     ShardState
	Params    []export.Tensor
}

// shardSeed is the PCG seed of shard k's random streams: the run's seed
// for shard 0, so that one shard draws what Fit draws.
func shardSeed(seed uint64, k int) uint64 {
	return seed + uint64(k)*0x9e3779b97f4a7c15
}

// ShardOf is the shard of a user: a SplitMix64 hash of the encoded user
// id modulo shards.
func ShardOf(user int64, shards int) int {
	z := uint64(user) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return int(z % uint64(shards))
}

// roundState is what a round checkpoint keeps in its RNG field, as JSON:
// the shards' states and the round's training loss.
type roundState struct {
	Shards   []ShardState `json:"shards"`
	Loss     float64      `json:"loss"`
	Examples int          `json:"examples"`
}

// decodeStates reads the shard states of a round checkpoint; a checkpoint
// without them (round 0) gives fresh states.
func decodeStates(ck *export.Checkpoint, shards int) ([]ShardState, error) {
	if len(ck.RNG) == 0 {
		return make([]ShardState, shards), nil
	}
	var st roundState
	if err := json.Unmarshal(ck.RNG, &st); err != nil {
		return nil, fmt.Errorf("distributed: shard states: %w", err)
	}
	if len(st.Shards) != shards {
		return nil, fmt.Errorf("distributed: the checkpoint was trained with %d shards, not %d", len(st.Shards), shards)
	}
	return st.Shards, nil
}

// shardTrainer runs a shard's local steps: trainer.Loop on the shard's
// rows from the round's state, without validation or checkpoints.
type shardTrainer struct {
	opt   trainer.Options
	model sequential.Model
}

func newShardTrainer(m sequential.Model, opt trainer.Options) *shardTrainer {
	return &shardTrainer{opt: opt, model: m}
}

// shard loads ck and runs shard k's round on the rows idx of rows (the
// shard's training rows, in table order): steps batches (0: to the end of
// the shard's current epoch); rounds is the run's length for the
// learning-rate schedule.
func (t *shardTrainer) shard(ctx context.Context, rows []transforms.SequenceRow, idx []int, ck *export.Checkpoint, k, shards, steps, rounds int) (ShardUpdate, error) {
	states, err := decodeStates(ck, shards)
	if err != nil {
		return ShardUpdate{}, err
	}
	if err := trainer.LoadParams(t.model.Params(), ck, true); err != nil {
		return ShardUpdate{}, fmt.Errorf("distributed: %w", err)
	}
	u := ShardUpdate{Shard: k, State: states[k], AdamSteps: ck.AdamSteps}
	if len(idx) > 0 {
		obj, err := trainer.SequenceObjective(t.model, rows, t.opt)
		if err != nil {
			return u, err
		}
		o := t.opt
		opt := trainer.NewOptimizer(o.Optimizer)
		opt.AdamW.Steps = ck.AdamSteps
		l := &trainer.Loop{Examples: idx, BatchSize: o.BatchSize, Seed: shardSeed(o.Seed, k), Epochs: math.MaxInt,
			Optimizer: opt, Objective: obj, Pos: states[k]}
		total := l.StepsPerEpoch() * rounds
		if steps > 0 {
			total = steps * rounds
		} else {
			l.Epochs = l.Pos.Epoch + 1
		}
		l.Schedule = kernels.LRSchedule{Base: o.Optimizer.LR, Min: o.Optimizer.MinLR, Warmup: o.Optimizer.WarmupSteps, Total: total, Cosine: o.Optimizer.Cosine}
		tally, err := l.Run(ctx, steps)
		if err != nil {
			return u, fmt.Errorf("distributed: shard %d: %w", k, err)
		}
		u.State, u.AdamSteps = l.Pos, opt.AdamW.Steps
		u.Examples, u.LossSum, u.Labels = tally.Examples, tally.LossSum, tally.Terms
	}
	for _, p := range t.model.Params() {
		u.Params = append(u.Params, export.Tensor{Name: p.Name, Shape: p.Shape, Value: clone(p.Value), M: clone(p.M), V: clone(p.V)})
	}
	return u, nil
}

// shardRows returns the indices of the training rows of shard k, in table
// order (with one shard: sequential.SplitRows's, Fit's).
func shardRows(rows []transforms.SequenceRow, k, shards int) []int {
	var idx []int
	for _, i := range sequential.SplitRows(rows, transforms.SplitTrain) {
		if shards == 1 || ShardOf(rows[i].User, shards) == k {
			idx = append(idx, i)
		}
	}
	return idx
}

func clone(s []float32) []float32 {
	if s == nil {
		return nil
	}
	return append([]float32(nil), s...)
}
