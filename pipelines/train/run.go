package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines/embeditems"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

// Config is the train section of a config file (models.TrainSpec) and
// how this run treats it.
type Config struct {
	models.TrainSpec `yaml:",inline" json:",inline"`
	// Resume continues from model_path/last.ckpt when it exists.
	Resume bool `yaml:"-" json:"-"`
	// ResumeChanged lets Resume continue a checkpoint trained with other
	// training options (trainer.ChangedOptions names them); false: refuse.
	ResumeChanged bool `yaml:"-" json:"-"`
	// Runner is where the Beam pipelines a training run starts itself run
	// (HLLM's embed-items); zero: prism in this process.
	Runner runners.Options `yaml:"-" json:"-"`
	// Notes receives a line per step before training (HLLM: the item
	// texts encoded); nil: none.
	Notes io.Writer `yaml:"-" json:"-"`
}

// Result is what Run reports.
type Result struct {
	Fit         trainer.FitResult
	Valid, Test eval.Report
	Checkpoint  string // best.ckpt, or "" without a model path
	Resumed     bool
}

// MetricsFile is written in the model path by Run.
const MetricsFile = "metrics.json"

// Run loads cfg.Data, trains the model with GenRecTrainer and evaluates
// the best epoch on the test split. Progress bars go to progress (nil:
// none); OnEpoch, when set, is called after every epoch.
func Run(ctx context.Context, cfg Config, progress io.Writer, onEpoch func(trainer.EpochLog)) (Result, error) {
	data, err := LoadTrainData(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	t, mc, err := newTrainer(ctx, cfg, data, progress, onEpoch)
	if err != nil {
		return Result{}, err
	}
	res := Result{}
	t.ResumeChanged = cfg.ResumeChanged
	if res.Resumed, err = resumeLast(ctx, cfg, cfg.ModelPath, t.Resume); err != nil {
		return res, err
	}
	res.Fit, err = t.Fit(ctx, data.Rows, validRows(data.Rows))
	if err != nil {
		return res, err
	}
	res.Valid = res.Fit.Best
	if res.Test, err = t.Evaluate(data.Rows, transforms.SplitTest); err != nil {
		return res, err
	}
	if cfg.ModelPath != "" {
		if res.Fit.BestEpoch > 0 {
			res.Checkpoint = transforms.JoinPath(cfg.ModelPath, "best.ckpt")
		} else {
			res.Checkpoint = transforms.JoinPath(cfg.ModelPath, "last.ckpt")
		}
		m := map[string]any{"model": mc.Name, "best_epoch": res.Fit.BestEpoch, "epochs": res.Fit.Epochs, "valid": res.Valid, "test": res.Test}
		b, _ := json.MarshalIndent(m, "", "  ")
		if err := transforms.WriteFileAtomic(ctx, transforms.JoinPath(cfg.ModelPath, MetricsFile), append(b, '\n')); err != nil {
			return res, fmt.Errorf("train: %w", err)
		}
	}
	return res, nil
}

// resumeLast continues a run from dir/last.ckpt with resume when cfg asks
// for --resume and that file can be read, and reports whether it did. A
// checkpoint that does not belong to this run (another model, catalogue or
// options: trainer.ErrCannotResume) is a ConfigError; a corrupt one stays
// an error.
func resumeLast(ctx context.Context, cfg Config, dir string, resume func(context.Context, string) error) (bool, error) {
	if !cfg.Resume || dir == "" {
		return false, nil
	}
	last := transforms.JoinPath(dir, "last.ckpt")
	ok, err := transforms.Exists(ctx, last)
	if err != nil {
		return false, fmt.Errorf("--resume: %w", err) // unreadable is not absent: never start fresh over it
	}
	if !ok {
		return false, nil // nothing to resume: the CLI has said it starts fresh
	}
	if err := resume(ctx, last); err != nil {
		if errors.Is(err, trainer.ErrCannotResume) {
			return false, ConfigError{err}
		}
		return false, err
	}
	return true, nil
}

// ConfigError is an option that does not fit the data it is run on (found
// only once the data is read); the CLI reports it as bad usage (exit 2).
type ConfigError struct{ error }

func (e ConfigError) Unwrap() error { return e.error }

// newTrainer builds cfg's model on data (models.TrainSpec.Resolve, models.Build)
// and a GenRecTrainer for it that stores the model configuration and item
// vocabulary in its checkpoints.
func newTrainer(ctx context.Context, cfg Config, data *transforms.Dataset, progress io.Writer, onEpoch func(trainer.EpochLog)) (*trainer.GenRecTrainer, models.Config, error) {
	mc, err := cfg.Resolve(ctx, data)
	if err != nil {
		return nil, mc, err
	}
	// Sampled softmax draws loss.negatives items per position from the
	// catalogue; as many as it holds or more is no sample (and overflowed
	// the logits buffer after a first epoch of training).
	if n := cfg.Options.Loss.Negatives; n >= mc.Items-1 {
		return nil, mc, ConfigError{fmt.Errorf("train: loss.negatives (--negatives) is %d, but %s has %d items: use fewer than %d", n, cfg.Data, mc.Items-1, mc.Items-1)}
	}
	model, err := models.Build(mc, cfg.Seed)
	if err != nil {
		return nil, mc, err
	}
	t, err := trainer.NewGenRecTrainer(model, cfg.Options)
	if err != nil {
		return nil, mc, err
	}
	t.ModelConfig, t.Vocab, t.Progress, t.OnEpoch = mc.JSON(), data.VocabJSON(), progress, onEpoch
	return t, mc, nil
}

// LoadTrainData loads cfg.Data for training: for HLLM it first encodes
// the item texts with the embed-items pipeline on cfg.Runner
// (embeditems.ForModel), then models.TrainSpec.LoadData adds the items
// that have a text but no interaction to the catalogue.
func LoadTrainData(ctx context.Context, cfg Config) (*transforms.Dataset, error) {
	if cfg.Name == "hllm" {
		if _, err := embeditems.ForModel(ctx, cfg.TrainSpec, cfg.Runner, cfg.Notes); err != nil {
			return nil, err
		}
	}
	return cfg.LoadData(ctx, cfg.Notes)
}

func validRows(rows []transforms.SequenceRow) []transforms.SequenceRow {
	var out []transforms.SequenceRow
	for _, r := range rows {
		if r.Split == transforms.SplitValid {
			out = append(out, r)
		}
	}
	return out
}
