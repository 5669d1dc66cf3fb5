package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/transforms"
)

// Session is one resumable training run on the Loop, with the hooks every
// task shares: a progress bar, validation after every EvalEvery epochs with
// early stopping on EarlyStopMetric, best.ckpt and last.ckpt in ModelPath
// (last.ckpt also every CheckpointEvery steps and when the run is
// cancelled), and train_log.jsonl with its plot. GenRecTrainer and the
// ranking task's Trainer are Sessions with their objectives and
// validations. Not safe for concurrent use.
type Session struct {
	Options     Options // defaults applied
	Model       string  // the model's name, stored in checkpoints
	ModelConfig []byte  // stored in checkpoints
	Vocab       []byte  // stored in checkpoints
	Objective   Objective
	// Validate scores the validation split and returns its metrics by name
	// (Options.EarlyStopMetric among them); nil: no validation.
	Validate func() (map[string]float64, error)

	Progress io.Writer          // a progress bar per epoch; nil: none
	OnStep   func(int, float64) // after every step: the total step count and the batch's loss
	OnEpoch  func(EpochLog)     // after every epoch, its checkpoints written
	OnBest   func(epoch int)    // when validation improves, before best.ckpt is written
	// ResumeChanged lets Resume continue a checkpoint trained with other
	// options (ChangedOptions); false: Resume refuses with a *ChangedError.
	ResumeChanged bool

	opt  *Optimizer
	pos  Position
	stop earlyStop
	loop *Loop // the loop under way
}

// earlyStop is early stopping's resumable state.
type earlyStop struct {
	best                 float64
	bestEpoch, badEpochs int
}

// NewSession checks opts (after defaults) and returns a session training
// obj's parameters.
func NewSession(model string, obj Objective, opts Options) (*Session, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Threads > 0 {
		kernels.SetWorkers(opts.Threads)
	}
	return &Session{Options: opts, Model: model, Objective: obj, opt: NewOptimizer(opts.Optimizer), stop: earlyStop{best: math.Inf(-1)}}, nil
}

// Fitted is what Session.Fit reports.
type Fitted struct {
	Epochs    int        // epochs completed in total (a resumed run counts earlier ones)
	BestEpoch int        // epoch of the best validation metric (0: never validated)
	Stopped   bool       // early stopping ended the run
	Log       []EpochLog // this call's epochs
}

// Fit trains on the training examples (indices into the objective's table,
// in table order) until Epochs or early stopping. When ctx is cancelled it
// saves last.ckpt at the current step and returns ctx's error; Resume
// continues from there. On return the parameters hold the best epoch's
// weights when a validation improved, else the last.
func (s *Session) Fit(ctx context.Context, examples []int) (Fitted, error) {
	o := s.Options
	if len(examples) == 0 {
		return Fitted{}, fmt.Errorf("trainer: no training rows")
	}
	params := s.Objective.Params()
	l := &Loop{Examples: examples, BatchSize: o.BatchSize, Seed: o.Seed, Epochs: o.Epochs,
		Optimizer: s.opt, Objective: s.Objective, Pos: s.pos}
	steps := l.StepsPerEpoch()
	l.Schedule = kernels.LRSchedule{Base: o.Optimizer.LR, Min: o.Optimizer.MinLR, Warmup: o.Optimizer.WarmupSteps, Total: steps * o.Epochs, Cosine: o.Optimizer.Cosine}
	logw, err := s.openLog(ctx)
	if err != nil {
		return Fitted{}, err
	}
	var best []export.Tensor
	if s.stop.bestEpoch > 0 {
		if ck, err := export.LoadCheckpoint(ctx, transforms.JoinPath(o.ModelPath, "best.ckpt")); err == nil {
			best = ck.Params
		}
	}
	res := Fitted{}
	var b bar
	l.EpochStart = append(l.EpochStart, func(epoch, steps int) { b = newBar(s.Progress, steps, epoch, o.Epochs) })
	l.StepEnd = append(l.StepEnd, func(si StepInfo) error {
		b.update(si.EpochStep, si.MeanLoss, si.Rate)
		if s.OnStep != nil {
			s.OnStep(l.Pos.Step, si.Loss)
		}
		if o.CheckpointEvery > 0 && l.Pos.Step%o.CheckpointEvery == 0 && si.EpochStep < si.Steps {
			return s.save(ctx, "last.ckpt")
		}
		return nil
	})
	l.EpochEnd = append(l.EpochEnd, func(e *EpochLog) error {
		b.finish()
		s.pos = l.Pos
		improved := false
		if s.Validate != nil && (e.Epoch%o.EvalEvery == 0 || e.Epoch == o.Epochs) {
			valid, err := s.Validate()
			if err != nil {
				return fmt.Errorf("trainer: epoch %d validation: %w", e.Epoch, err)
			}
			e.Valid = valid
			if v := valid[o.EarlyStopMetric]; v > s.stop.best {
				s.stop = earlyStop{best: v, bestEpoch: e.Epoch}
				improved = true
				best = snapshot(params)
				if s.OnBest != nil {
					s.OnBest(e.Epoch)
				}
			} else {
				s.stop.badEpochs++
			}
		}
		e.Best = improved
		res.Log = append(res.Log, *e)
		if err := logw.write(ctx, *e); err != nil {
			return err
		}
		if improved {
			if err := s.save(ctx, "best.ckpt"); err != nil {
				return err
			}
		}
		if err := s.save(ctx, "last.ckpt"); err != nil {
			return err
		}
		if s.OnEpoch != nil {
			s.OnEpoch(*e)
		}
		if o.EarlyStopPatience > 0 && s.stop.badEpochs >= o.EarlyStopPatience {
			res.Stopped = true
			return ErrStop
		}
		return nil
	})
	s.loop = l
	_, err = l.Run(ctx, 0)
	s.loop, s.pos = nil, l.Pos
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			if serr := s.save(ctx, "last.ckpt"); serr != nil {
				return res, errors.Join(err, serr)
			}
			return res, err
		}
		if errors.Is(err, ErrNonFinite) {
			return res, fmt.Errorf("%w; %s", err, s.lastGood())
		}
		return res, err
	}
	res.Epochs, res.BestEpoch = s.pos.Epoch, s.stop.bestEpoch
	if best != nil {
		if err := loadTensors(params, best, false); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Checkpoint returns the session's parameters, optimizer and position as
// a checkpoint.
func (s *Session) Checkpoint() *export.Checkpoint {
	pos := s.pos
	if s.loop != nil {
		pos = s.loop.Position()
	}
	params := s.Objective.Params()
	c := &export.Checkpoint{
		Model: s.Model, ModelConfig: s.ModelConfig, TrainConfig: marshalJSON(s.Options), Vocab: s.Vocab,
		Epoch: pos.Epoch, Step: pos.Step, EpochStep: pos.EpochStep, RNG: pos.RNG,
		AdamSteps: s.opt.AdamW.Steps, Best: s.stop.best, BestEpoch: s.stop.bestEpoch, BadEpochs: s.stop.badEpochs,
		Params: make([]export.Tensor, len(params)),
	}
	for i, p := range params {
		c.Params[i] = export.Tensor{Name: p.Name, Shape: p.Shape, Value: p.Value, M: p.M, V: p.V}
	}
	return c
}

// Resume loads the checkpoint at path (a model_path's last.ckpt): weights,
// AdamW moments and the run's position, so that Fit continues where the
// checkpointed run stopped and ends where an uninterrupted run with the
// same seed would have. The checkpoint must come from the same model
// configuration and item catalogue (export.SameCatalogue), and from the
// same training options unless ResumeChanged is set.
func (s *Session) Resume(ctx context.Context, path string) error {
	c, err := export.LoadCheckpoint(ctx, path)
	if err != nil {
		return err
	}
	if c.Model != s.Model {
		return fmt.Errorf("%w: %s holds a %s model, not %s", ErrCannotResume, path, c.Model, s.Model)
	}
	if s.ModelConfig != nil && c.ModelConfig != nil && string(c.ModelConfig) != string(s.ModelConfig) {
		return fmt.Errorf("%w: %s was trained with another model configuration:\n  checkpoint: %s\n  now:        %s", ErrCannotResume, path, c.ModelConfig, s.ModelConfig)
	}
	if err := export.SameCatalogue(c.Vocab, path, s.Vocab, "this run's data"); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotResume, err)
	}
	if ch := ChangedOptions(c.TrainConfig, s.Options); len(ch) > 0 && !s.ResumeChanged {
		return &ChangedError{Path: path, Changes: ch}
	}
	if err := loadTensors(s.Objective.Params(), c.Params, true); err != nil {
		return fmt.Errorf("trainer: %s: %w", path, err)
	}
	s.opt.AdamW.Steps = c.AdamSteps
	s.pos = Position{Epoch: c.Epoch, Step: c.Step, EpochStep: c.EpochStep, RNG: c.RNG}
	s.stop = earlyStop{best: c.Best, bestEpoch: c.BestEpoch, badEpochs: c.BadEpochs}
	return nil
}

// Epoch is the number of epochs completed.
func (s *Session) Epoch() int { return s.pos.Epoch }

func (s *Session) save(ctx context.Context, name string) error {
	if s.Options.ModelPath == "" {
		return nil
	}
	return s.Checkpoint().Save(ctx, transforms.JoinPath(s.Options.ModelPath, name))
}

func (s *Session) lastGood() string {
	if s.Options.ModelPath == "" || s.pos.Epoch == 0 {
		return "no checkpoint was written"
	}
	return fmt.Sprintf("the last good checkpoint is %s (epoch %d)", transforms.JoinPath(s.Options.ModelPath, "last.ckpt"), s.pos.Epoch)
}
