package tiger

import (
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/transforms"
)

// Example is one next-item example: a user, the items before the target
// (oldest first) and the target.
type Example struct {
	User   int64
	Hist   []int64
	Target int64
}

// Examples turns the sequence rows of one split into examples. A training
// row gives one example per prefix of at least one item (every item of
// the row's window and its target is predicted from the items before
// it); a validation or test row gives one, its target after its items.
func Examples(rows []transforms.SequenceRow, split string) []Example {
	var out []Example
	for _, r := range rows {
		if r.Split != split {
			continue
		}
		if split != transforms.SplitTrain {
			if len(r.Items) > 0 {
				out = append(out, Example{User: r.User, Hist: r.Items, Target: r.Target})
			}
			continue
		}
		seq := append(append([]int64(nil), r.Items...), r.Target)
		for i := 1; i < len(seq); i++ {
			out = append(out, Example{User: r.User, Hist: seq[:i], Target: seq[i]})
		}
	}
	return out
}

// userBucket hashes a user id into [0, buckets) (splitmix64).
func userBucket(u int64, buckets int) int {
	x := uint64(u) + 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return int(x % uint64(buckets))
}

// NewBatch is the batch of examples ex: the user token and the code
// tokens of the last MaxItems history items (ids[item] is an item's
// tuple), and with targets the decoder input BOS, c_1 .. c_K-1 and the
// target codes.
func (c Config) NewBatch(ex []Example, ids [][]int32, targets bool) *Batch {
	le, K := c.EncLen(), c.K()
	b := &Batch{B: len(ex), Enc: make([]int32, len(ex)*le), EncLen: make([]int, len(ex)), DecLen: K}
	if targets {
		b.Dec, b.Target = make([]int32, len(ex)*K), make([]int32, len(ex)*K)
	}
	for r, e := range ex {
		row := b.Enc[r*le : (r+1)*le]
		row[0] = c.UserToken(userBucket(e.User, c.UserBuckets))
		n := 1
		for _, it := range e.Hist[max(0, len(e.Hist)-c.MaxItems):] {
			for l, code := range ids[it] {
				row[n] = c.CodeToken(l, int(code))
				n++
			}
		}
		b.EncLen[r] = n
		if targets {
			t := ids[e.Target]
			b.Dec[r*K] = c.BOS()
			for l := range K {
				b.Target[r*K+l] = t[l]
				if l+1 < K {
					b.Dec[r*K+l+1] = c.CodeToken(l, int(t[l]))
				}
			}
		}
	}
	return b
}

// Objective is TIGER's training task on the trainer's loop: teacher-forced
// cross-entropy of the target's codes for a batch of examples.
type Objective struct {
	Model    *Model[float32]
	IDs      [][]int32 // IDs[item]: its semantic ID
	Examples []Example
}

// Params are the model's.
func (o *Objective) Params() []*kernels.Param[float32] { return o.Model.Params() }

// Loss is the batch's mean code cross-entropy; its gradient goes to Params.
func (o *Objective) Loss(idx []int, rng *rand.Rand) (float64, int, error) {
	ex := make([]Example, len(idx))
	for i, j := range idx {
		ex[i] = o.Examples[j]
	}
	b := o.Model.Config.NewBatch(ex, o.IDs, true)
	loss := o.Model.Loss(b, rng)
	o.Model.Backward()
	return loss, len(idx) * o.Model.Config.K(), nil
}
