package distributed

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models/graph"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// ShardState is where a shard's stream of batches stands after a round:
// the shard's epochs are permutations of its training rows, as in
// GenRecTrainer.Fit.
type ShardState struct {
	Epoch     int    `json:"epoch"`         // shard epochs completed
	EpochStep int    `json:"epoch_step"`    // batches done in epoch Epoch+1
	Step      int    `json:"step"`          // batches done in all (the learning-rate schedule's position)
	RNG       []byte `json:"rng,omitempty"` // the epoch's random state after EpochStep batches
}

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

// shardTrainer runs a shard's local steps; it is GenRecTrainer.step
// without the trainer's bookkeeping.
type shardTrainer struct {
	opt   trainer.Options
	model sequential.Model
	head  sequential.Head
	adam  kernels.AdamW
}

func newShardTrainer(m sequential.Model, opt trainer.Options) *shardTrainer {
	p := opt.Optimizer
	return &shardTrainer{opt: opt, model: m, head: sequential.Head{Loss: opt.Loss},
		adam: kernels.AdamW{LR: p.LR, Beta1: p.Beta1, Beta2: p.Beta2, Eps: p.Eps, WeightDecay: p.WeightDecay}}
}

// load sets the model's weights and moments and the optimizer's step
// count from ck.
func (t *shardTrainer) load(ck *export.Checkpoint) error {
	byName := make(map[string]*export.Tensor, len(ck.Params))
	for i := range ck.Params {
		byName[ck.Params[i].Name] = &ck.Params[i]
	}
	for _, p := range t.model.Params() {
		c := byName[p.Name]
		if c == nil || len(c.Value) != len(p.Value) {
			return fmt.Errorf("distributed: parameter %s is missing or has another shape", p.Name)
		}
		copy(p.Value, c.Value)
		p.M, p.V = nil, nil
		if len(c.M) == len(p.Value) && len(c.V) == len(p.Value) {
			p.M, p.V = append([]float32(nil), c.M...), append([]float32(nil), c.V...)
		}
	}
	t.adam.Steps = ck.AdamSteps
	return nil
}

// run trains on the rows idx of rows (the shard's training rows, in table
// order) from state st: Fit's epoch loop, for steps batches (0: to the end
// of the current epoch). rounds is the run's length for the schedule.
func (t *shardTrainer) run(ctx context.Context, rows []transforms.SequenceRow, idx []int, seed uint64, st ShardState, steps, rounds int) (ShardState, ShardUpdate, error) {
	o := t.opt
	u := ShardUpdate{}
	if len(idx) == 0 {
		return st, u, nil
	}
	perEpoch := (len(idx) + o.BatchSize - 1) / o.BatchSize
	total := perEpoch * rounds
	if steps > 0 {
		total = steps * rounds
	}
	sched := kernels.LRSchedule{Base: o.Optimizer.LR, Min: o.Optimizer.MinLR, Warmup: o.Optimizer.WarmupSteps, Total: total, Cosine: o.Optimizer.Cosine}
	done := 0
	for steps == 0 || done < steps {
		epoch := st.Epoch + 1
		src := rand.NewPCG(seed, uint64(epoch))
		rng := rand.New(src)
		order := make([]int, len(idx))
		for i, j := range rng.Perm(len(idx)) {
			order[i] = idx[j]
		}
		if st.EpochStep > 0 && st.RNG != nil {
			if err := src.UnmarshalBinary(st.RNG); err != nil {
				return st, u, fmt.Errorf("distributed: shard random state: %w", err)
			}
		}
		s := st.EpochStep
		for ; s < perEpoch && (steps == 0 || done < steps); s++ {
			if err := ctx.Err(); err != nil {
				return st, u, err
			}
			b := order[s*o.BatchSize : min((s+1)*o.BatchSize, len(order))]
			loss, n, err := t.step(rows, b, rng, sched.At(st.Step))
			if err != nil {
				return st, u, fmt.Errorf("distributed: shard epoch %d, step %d: %w", epoch, s+1, err)
			}
			st.Step++
			done++
			u.LossSum += loss * float64(n)
			u.Labels += n
			u.Examples += len(b)
		}
		if s == perEpoch {
			st.Epoch, st.EpochStep, st.RNG = epoch, 0, nil
			if steps == 0 {
				break
			}
			continue
		}
		b, err := src.MarshalBinary()
		if err != nil {
			panic("distributed: " + err.Error())
		}
		st.EpochStep, st.RNG = s, b
	}
	return st, u, nil
}

// step trains on one batch and returns its mean loss and labelled count;
// it is GenRecTrainer.step.
func (t *shardTrainer) step(rows []transforms.SequenceRow, idx []int, rng *rand.Rand, lr float64) (float64, int, error) {
	if a := t.opt.StochasticLength; a > 0 {
		sub := make([]transforms.SequenceRow, len(idx))
		pos := make([]int, len(idx))
		for i, r := range idx {
			sub[i], pos[i] = sequential.StochasticLength(rows[r], t.model.MaxLen(), a, rng), i
		}
		rows, idx = sub, pos
	}
	b, err := sequential.NewBatch(rows, idx, t.model.MaxLen(), true)
	if err != nil {
		return 0, 0, err
	}
	params := t.model.Params()
	for _, p := range params {
		p.ZeroGrad()
	}
	var loss float64
	var n int
	if t.opt.Engine == trainer.EngineGorgonia {
		h, ok := t.model.(*hstu.Model[float32])
		if !ok {
			return 0, 0, fmt.Errorf("engine gorgonia trains hstu models only, got %s", t.model.Name())
		}
		loss, n, err = graph.Step(h, b, rng, t.opt.Loss)
		if err != nil && !(math.IsNaN(loss) || math.IsInf(loss, 0)) {
			return loss, n, err
		}
	} else {
		loss, n, err = t.head.Step(t.model, b, rng)
	}
	if err != nil {
		return loss, n, fmt.Errorf("%w: %w", trainer.ErrNonFinite, err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	if !kernels.GradFinite(params) {
		return loss, n, fmt.Errorf("%w: a gradient is NaN or infinite (loss %.4g)", trainer.ErrNonFinite, loss)
	}
	kernels.ClipGradNorm(params, t.opt.Optimizer.ClipNorm)
	t.adam.LR = lr
	kernels.AdamWStep(&t.adam, params)
	return loss, n, nil
}

// shard loads ck and runs shard k's round.
func (t *shardTrainer) shard(ctx context.Context, rows []transforms.SequenceRow, idx []int, ck *export.Checkpoint, k, shards, steps, rounds int) (ShardUpdate, error) {
	states, err := decodeStates(ck, shards)
	if err != nil {
		return ShardUpdate{}, err
	}
	if err := t.load(ck); err != nil {
		return ShardUpdate{}, err
	}
	st, u, err := t.run(ctx, rows, idx, shardSeed(t.opt.Seed, k), states[k], steps, rounds)
	if err != nil {
		return u, err
	}
	u.Shard, u.State, u.AdamSteps = k, st, t.adam.Steps
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
