package trainer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/transforms"
)

// Checkpoint returns the trainer's model, optimizer and progress as a
// checkpoint.
func (t *GenRecTrainer) Checkpoint() *export.Checkpoint {
	s := t.session
	if s.Objective == nil {
		s.Objective = paramsOnly(t.Model.Params())
	}
	s.Options, s.ModelConfig, s.Vocab = t.Options, t.ModelConfig, t.Vocab
	return s.Checkpoint()
}

// Resume loads the checkpoint at path (a model_path's last.ckpt) into the
// trainer: weights, AdamW moments and the run's position, so that Fit
// continues where the checkpointed run stopped and ends where an
// uninterrupted run with the same seed would have. The checkpoint must
// come from the same model configuration, and from the same options unless
// ResumeChanged is set.
func (t *GenRecTrainer) Resume(ctx context.Context, path string) error {
	s := t.session
	s.Options, s.Objective, s.ModelConfig = t.Options, paramsOnly(t.Model.Params()), t.ModelConfig
	s.ResumeChanged = t.ResumeChanged
	return s.Resume(ctx, path)
}

// paramsOnly is an Objective that only lists parameters: a session's
// before Fit sets its real one.
type paramsOnly []*kernels.Param[float32]

func (p paramsOnly) Params() []*kernels.Param[float32] { return p }
func (p paramsOnly) Loss([]int, *rand.Rand) (float64, int, error) {
	return 0, 0, fmt.Errorf("trainer: no objective")
}

// LoadWeights copies the checkpoint's weights into the model's parameters.
func LoadWeights(params []*kernels.Param[float32], c *export.Checkpoint) error {
	return loadTensors(params, c.Params, false)
}

// LoadParams copies the checkpoint's weights, and with moments its AdamW
// moments (none when the checkpoint has none), into params, checking that
// every parameter is present with its shape.
func LoadParams(params []*kernels.Param[float32], c *export.Checkpoint, moments bool) error {
	return loadTensors(params, c.Params, moments)
}

// loadTensors copies values (and AdamW moments when moments is true) by
// name, checking that every parameter is present with its shape.
func loadTensors(params []*kernels.Param[float32], ts []export.Tensor, moments bool) error {
	byName := make(map[string]*export.Tensor, len(ts))
	for i := range ts {
		byName[ts[i].Name] = &ts[i]
	}
	for _, p := range params {
		c := byName[p.Name]
		if c == nil {
			return fmt.Errorf("parameter %s is missing", p.Name)
		}
		if !slices.Equal(c.Shape, p.Shape) || len(c.Value) != len(p.Value) {
			return fmt.Errorf("parameter %s has shape %v, the model wants %v", p.Name, c.Shape, p.Shape)
		}
		copy(p.Value, c.Value)
		if moments {
			p.M, p.V = nil, nil
			if len(c.M) == len(p.Value) && len(c.V) == len(p.Value) {
				p.M, p.V = append([]float32(nil), c.M...), append([]float32(nil), c.V...)
			}
		}
	}
	return nil
}

// latestRows returns, per user, the index of the row with the highest
// window-0 split order test > valid > train, latest window first.
func latestRows(rows []transforms.SequenceRow) []int {
	rank := map[string]int{transforms.SplitTrain: 0, transforms.SplitValid: 1, transforms.SplitTest: 2}
	best := map[int64]int{}
	var users []int64
	for i, r := range rows {
		j, ok := best[r.User]
		if !ok {
			users = append(users, r.User)
			best[r.User] = i
			continue
		}
		o := rows[j]
		if rank[r.Split] > rank[o.Split] || (r.Split == o.Split && r.Window < o.Window) {
			best[r.User] = i
		}
	}
	idx := make([]int, len(users))
	for i, u := range users {
		idx[i] = best[u]
	}
	return idx
}

func insertSorted(s []int32, v int32) []int32 {
	i, found := slices.BinarySearch(s, v)
	if found {
		return s
	}
	return slices.Insert(s, i, v)
}
