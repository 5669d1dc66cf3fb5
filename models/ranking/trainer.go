package ranking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// Options configure a Trainer. Zero values take the defaults in brackets.
type Options struct {
	Epochs      int     `yaml:"n_epoch" json:"n_epoch"`                       // [20]
	BatchSize   int     `yaml:"batch_size" json:"batch_size"`                 // [256]
	LR          float64 `yaml:"lr" json:"lr"`                                 // AdamW learning rate [0.001]
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`             // [0]
	Patience    int     `yaml:"earlystop_patience" json:"earlystop_patience"` // epochs without a better validation AUC [3]; negative: never stop early
	Seed        uint64  `yaml:"seed" json:"seed"`
	ModelPath   string  `yaml:"model_path" json:"model_path"`           // best.ckpt and last.ckpt go here ("" = none)
	EvalBatch   int     `yaml:"eval_batch_size" json:"eval_batch_size"` // [1024]
}

// WithDefaults fills the zero fields.
func (o Options) WithDefaults() Options {
	if o.Epochs == 0 {
		o.Epochs = 20
	}
	if o.BatchSize == 0 {
		o.BatchSize = 256
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Patience == 0 {
		o.Patience = 3
	}
	if o.EvalBatch == 0 {
		o.EvalBatch = 1024
	}
	return o
}

// Validate reports the first impossible option.
func (o Options) Validate() error {
	switch {
	case o.Epochs < 1:
		return fmt.Errorf("ranking: n_epoch must be positive, got %d", o.Epochs)
	case o.BatchSize < 1:
		return fmt.Errorf("ranking: batch_size must be positive, got %d", o.BatchSize)
	case !(o.LR > 0):
		return fmt.Errorf("ranking: lr must be positive, got %v", o.LR)
	}
	return nil
}

// ErrNonFinite is returned (wrapped) when a loss or gradient is NaN or
// infinite.
var ErrNonFinite = errors.New("ranking: non-finite loss or gradient")

// Trainer fits a ranking Model on labelled examples: the seed API's
// GenRecTrainer for the ranking task (fit with early stopping on
// validation AUC, evaluate, predict, ONNX export). Not safe for concurrent
// use.
type Trainer struct {
	Model   *Model
	Options Options
	// Progress receives a progress bar per epoch (nil: none).
	Progress io.Writer
	// OnEpoch is called after every epoch.
	OnEpoch func(EpochLog)
	adam    *kernels.AdamW
}

// EpochLog is one epoch's summary.
type EpochLog struct {
	Epoch   int                 `json:"epoch"`
	Loss    float64             `json:"loss"`
	Valid   eval.LabelledReport `json:"valid"`
	Seconds float64             `json:"seconds"`
	Best    bool                `json:"best"`
}

// FitResult is what Fit ends with: the best epoch's validation report;
// the model holds that epoch's weights.
type FitResult struct {
	BestEpoch int
	Best      eval.LabelledReport
	Epochs    int
	Stopped   bool // early stopping ended the run
}

// NewTrainer checks opts and returns a trainer for m.
func NewTrainer(m *Model, opts Options) (*Trainer, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	a := kernels.NewAdamW(opts.LR)
	a.WeightDecay = opts.WeightDecay
	return &Trainer{Model: m, Options: opts, adam: a}, nil
}

// Fit trains on train with AdamW and binary cross-entropy, shuffling each
// epoch, scores valid after every epoch and keeps the weights of the epoch
// with the best validation AUC; it stops after Patience epochs without a
// better one. With ModelPath set it writes best.ckpt and last.ckpt there.
func (t *Trainer) Fit(ctx context.Context, train, valid []Example) (FitResult, error) {
	if len(train) == 0 || len(valid) == 0 {
		return FitResult{}, fmt.Errorf("ranking: fit needs training and validation examples (got %d and %d)", len(train), len(valid))
	}
	o := t.Options
	rng := rand.New(rand.NewPCG(o.Seed, 0x72616e6b))
	params := t.Model.Params()
	res := FitResult{BestEpoch: 0, Best: eval.LabelledReport{AUC: math.Inf(-1)}}
	var best [][]float32
	bad := 0
	idx := make([]int, len(train))
	for i := range idx {
		idx[i] = i
	}
	for epoch := 1; epoch <= o.Epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		var bar *progressbar.ProgressBar
		if t.Progress != nil {
			bar = progressbar.NewOptions(len(idx), progressbar.OptionSetWriter(t.Progress),
				progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, o.Epochs)),
				progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond))
		}
		var sum float64
		for lo := 0; lo < len(idx); lo += o.BatchSize {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			batch := idx[lo:min(lo+o.BatchSize, len(idx))]
			for _, p := range params {
				p.ZeroGrad()
			}
			logits, err := t.Model.Forward(train, batch, rng)
			if err != nil {
				return res, err
			}
			loss, g := Loss(logits, train, batch)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return res, fmt.Errorf("%w: loss %v at epoch %d", ErrNonFinite, loss, epoch)
			}
			t.Model.Backward(g)
			if !kernels.GradFinite(params) {
				return res, fmt.Errorf("%w: a gradient at epoch %d", ErrNonFinite, epoch)
			}
			kernels.AdamWStep(t.adam, params)
			sum += loss * float64(len(batch))
			if bar != nil {
				bar.Add(len(batch))
			}
		}
		if bar != nil {
			bar.Finish()
			fmt.Fprintln(t.Progress)
		}
		rep, err := t.Evaluate(valid)
		if err != nil {
			return res, fmt.Errorf("ranking: validation after epoch %d: %w", epoch, err)
		}
		log := EpochLog{Epoch: epoch, Loss: sum / float64(len(idx)), Valid: rep, Seconds: time.Since(start).Seconds()}
		res.Epochs = epoch
		if rep.AUC > res.Best.AUC {
			res.Best, res.BestEpoch, bad, log.Best = rep, epoch, 0, true
			best = best[:0]
			for _, p := range params {
				best = append(best, append([]float32(nil), p.Value...))
			}
			if err := t.save("best.ckpt", epoch, rep); err != nil {
				return res, err
			}
		} else {
			bad++
		}
		if err := t.save("last.ckpt", epoch, rep); err != nil {
			return res, err
		}
		if t.OnEpoch != nil {
			t.OnEpoch(log)
		}
		if o.Patience >= 0 && bad >= o.Patience {
			res.Stopped = true
			break
		}
	}
	for i, p := range params {
		copy(p.Value, best[i])
	}
	return res, nil
}

// save writes a checkpoint of the current weights under ModelPath.
func (t *Trainer) save(name string, epoch int, rep eval.LabelledReport) error {
	if t.Options.ModelPath == "" {
		return nil
	}
	cfg, err := json.Marshal(t.Model.Config())
	if err != nil {
		return fmt.Errorf("ranking: %w", err)
	}
	opts, _ := json.Marshal(t.Options)
	ck := &export.Checkpoint{Version: export.CheckpointVersion, Model: t.Model.Name(), ModelConfig: cfg, TrainConfig: opts,
		Epoch: epoch, Best: rep.AUC, AdamSteps: t.adam.Steps}
	for _, p := range t.Model.Params() {
		ck.Params = append(ck.Params, export.Tensor{Name: p.Name, Shape: p.Shape, Value: append([]float32(nil), p.Value...)})
	}
	return ck.Save(context.Background(), transforms.JoinPath(t.Options.ModelPath, name))
}

// Predict returns the click probability of every example, aligned with ex.
func (t *Trainer) Predict(ex []Example) ([]float32, error) {
	out := make([]float32, 0, len(ex))
	idx := make([]int, 0, t.Options.EvalBatch)
	for lo := 0; lo < len(ex); lo += t.Options.EvalBatch {
		idx = idx[:0]
		for i := lo; i < min(lo+t.Options.EvalBatch, len(ex)); i++ {
			idx = append(idx, i)
		}
		logits, err := t.Model.Forward(ex, idx, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, Sigmoid(logits)...)
	}
	return out, nil
}

// Evaluate scores ex and returns AUC, GAUC (per-user AUC weighted by
// impressions, users with one class left out) and log loss.
func (t *Trainer) Evaluate(ex []Example) (eval.LabelledReport, error) {
	p, err := t.Predict(ex)
	if err != nil {
		return eval.LabelledReport{}, err
	}
	scored := make([]eval.Scored, len(ex))
	for i, e := range ex {
		scored[i] = eval.Scored{User: e.User, Score: float64(p[i]), Label: float64(e.Label)}
	}
	return eval.Labelled(scored)
}

// LoadCheckpoint rebuilds a ranking model from a checkpoint Fit wrote.
func LoadCheckpoint(ctx context.Context, path string) (*Model, *export.Checkpoint, error) {
	ck, err := export.LoadCheckpoint(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	m, err := FromCheckpoint(ck, path)
	return m, ck, err
}

// FromCheckpoint rebuilds the ranking model of a loaded checkpoint (read
// from path, which errors name).
func FromCheckpoint(ck *export.Checkpoint, path string) (*Model, error) {
	var cfg Config
	if err := json.Unmarshal(ck.ModelConfig, &cfg); err != nil {
		return nil, fmt.Errorf("ranking: %s: model configuration: %w", path, err)
	}
	m, err := New(cfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Name() != ck.Model {
		return nil, fmt.Errorf("ranking: %s holds a %q model, not a ranking model", path, ck.Model)
	}
	if err := trainer.LoadWeights(m.Params(), ck); err != nil {
		return nil, fmt.Errorf("ranking: %s: %w", path, err)
	}
	return m, nil
}
