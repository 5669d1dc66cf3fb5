package trainer

import (
	"context"
	"fmt"
	"slices"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/transforms"
)

// Checkpoint returns the trainer's model, optimizer and progress as a
// checkpoint.
func (t *GenRecTrainer) Checkpoint() *export.Checkpoint {
	params := t.Model.Params()
	c := &export.Checkpoint{
		Model: t.Model.Name(), ModelConfig: t.ModelConfig, TrainConfig: marshalJSON(t.Options), Vocab: t.Vocab,
		Epoch: t.state.epoch, Step: t.state.step, EpochStep: t.state.epochStep, RNG: t.state.rng,
		AdamSteps: t.adam.Steps, Best: t.state.best, BestEpoch: t.state.bestEpoch, BadEpochs: t.state.badEpochs,
		Params: make([]export.Tensor, len(params)),
	}
	for i, p := range params {
		c.Params[i] = export.Tensor{Name: p.Name, Shape: p.Shape, Value: p.Value, M: p.M, V: p.V}
	}
	return c
}

func (t *GenRecTrainer) save(ctx context.Context, name string) error {
	if t.Options.ModelPath == "" {
		return nil
	}
	return t.Checkpoint().Save(ctx, transforms.JoinPath(t.Options.ModelPath, name))
}

func (t *GenRecTrainer) saveLast(ctx context.Context) error { return t.save(ctx, "last.ckpt") }

func (t *GenRecTrainer) loadBest(ctx context.Context) (*export.Checkpoint, error) {
	return export.LoadCheckpoint(ctx, transforms.JoinPath(t.Options.ModelPath, "best.ckpt"))
}

// Resume loads the checkpoint at path (a model_path's last.ckpt) into the
// trainer: weights, AdamW moments and the run's position, so that Fit
// continues where the checkpointed run stopped and ends where an
// uninterrupted run with the same seed would have. The checkpoint must
// come from the same model configuration.
func (t *GenRecTrainer) Resume(ctx context.Context, path string) error {
	c, err := export.LoadCheckpoint(ctx, path)
	if err != nil {
		return err
	}
	if c.Model != t.Model.Name() {
		return fmt.Errorf("trainer: %s holds a %s model, not %s", path, c.Model, t.Model.Name())
	}
	if t.ModelConfig != nil && c.ModelConfig != nil && string(c.ModelConfig) != string(t.ModelConfig) {
		return fmt.Errorf("trainer: %s was trained with another model configuration:\n  checkpoint: %s\n  now:        %s", path, c.ModelConfig, t.ModelConfig)
	}
	if err := loadTensors(t.Model.Params(), c.Params, true); err != nil {
		return fmt.Errorf("trainer: %s: %w", path, err)
	}
	t.adam.Steps = c.AdamSteps
	t.state = progress{epoch: c.Epoch, step: c.Step, epochStep: c.EpochStep, rng: c.RNG, best: c.Best, bestEpoch: c.BestEpoch, badEpochs: c.BadEpochs}
	return nil
}

// LoadWeights copies the checkpoint's weights into the model's parameters.
func LoadWeights(params []*kernels.Param[float32], c *export.Checkpoint) error {
	return loadTensors(params, c.Params, false)
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
