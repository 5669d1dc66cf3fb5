package ranking

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
)

// Options are the trainer's options (trainer.Options: the one set every
// task shares). The ranking task honours all of them but the retrieval
// loss's (loss, stochastic_length_alpha, ks, engine gorgonia), which are
// errors here; it early-stops on validation AUC.
type Options = trainer.Options

// CheckOptions returns o with the ranking task's defaults (earlystop_metric
// AUC) and the trainer's, or an error naming an option the task cannot
// honour. o is as the config file gave it, before defaults.
func CheckOptions(o Options) (Options, error) {
	switch {
	case o.Loss != (sequential.LossConfig{}):
		return o, fmt.Errorf("ranking: loss.* configures the retrieval loss; the ranking task trains binary cross-entropy on its labels (remove loss)")
	case o.StochasticLength != 0:
		return o, fmt.Errorf("ranking: stochastic_length_alpha is not supported by the ranking task (its histories are fixed per row)")
	case len(o.Ks) > 0:
		return o, fmt.Errorf("ranking: ks sets retrieval cut-offs; the ranking task reports AUC, GAUC and logloss (remove ks)")
	case o.Engine != "" && o.Engine != trainer.EngineKernels:
		return o, fmt.Errorf("ranking: engine %q does not train the ranking model; use engine kernels", o.Engine)
	case o.EarlyStopMetric != "" && o.EarlyStopMetric != "AUC":
		return o, fmt.Errorf("ranking: earlystop_metric must be AUC for the ranking task, got %q", o.EarlyStopMetric)
	case o.ValidUsers != 0:
		return o, fmt.Errorf("ranking: valid_users samples retrieval validation users; the ranking task scores every validation row")
	}
	o.EarlyStopMetric = "AUC"
	o = o.WithDefaults()
	return o, o.Validate()
}

// Trainer fits a ranking Model on labelled examples: the seed API's
// GenRecTrainer for the ranking task (fit with early stopping on
// validation AUC, evaluate, predict, ONNX export). It is a
// trainer.Session whose objective is binary cross-entropy and whose
// validation scores AUC, GAUC and log loss. Not safe for concurrent use.
type Trainer struct {
	Model   *Model
	Options Options
	// Progress receives a progress bar per epoch (nil: none).
	Progress io.Writer
	// OnEpoch is called after every epoch.
	OnEpoch func(EpochLog)
	// ResumeChanged lets Resume continue a checkpoint trained with other
	// options (trainer.ChangedOptions); false: Resume refuses.
	ResumeChanged bool
	session       *trainer.Session
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

// NewTrainer checks opts (CheckOptions) and returns a trainer for m.
func NewTrainer(m *Model, opts Options) (*Trainer, error) {
	opts, err := CheckOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(m.Config())
	if err != nil {
		return nil, fmt.Errorf("ranking: %w", err)
	}
	s, err := trainer.NewSession(m.Name(), nil, opts)
	if err != nil {
		return nil, err
	}
	s.ModelConfig = cfg
	return &Trainer{Model: m, Options: opts, session: s}, nil
}

// objective is binary cross-entropy of the model's logits on labelled
// examples.
type objective struct {
	m  *Model
	ex []Example
}

func (o objective) Params() []*kernels.Param[float32] { return o.m.Params() }

func (o objective) Loss(idx []int, rng *rand.Rand) (float64, int, error) {
	logits, err := o.m.Forward(o.ex, idx, rng)
	if err != nil {
		return 0, 0, err
	}
	loss, g := Loss(logits, o.ex, idx)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, len(idx), fmt.Errorf("ranking: the loss is %v", loss)
	}
	o.m.Backward(g)
	return loss, len(idx), nil
}

// Fit trains on train with the one training loop (trainer.Session: AdamW,
// the options' schedule and clipping, a seeded shuffle per epoch), scores
// valid after every epoch and keeps the weights of the epoch with the best
// validation AUC; it stops after earlystop_patience epochs without a
// better one. With model_path set it writes best.ckpt, last.ckpt and
// train_log.jsonl there; Resume continues a killed run.
func (t *Trainer) Fit(ctx context.Context, train, valid []Example) (FitResult, error) {
	if len(train) == 0 || len(valid) == 0 {
		return FitResult{}, fmt.Errorf("ranking: fit needs training and validation examples (got %d and %d)", len(train), len(valid))
	}
	s := t.session
	s.Options, s.Objective, s.Progress = t.Options, objective{t.Model, train}, t.Progress
	var last, best eval.LabelledReport
	s.Validate = func() (map[string]float64, error) {
		var err error
		if last, err = t.Evaluate(valid); err != nil {
			return nil, err
		}
		return map[string]float64{"AUC": last.AUC, "GAUC": last.GAUC, "logloss": last.LogLoss}, nil
	}
	s.OnBest = func(int) { best = last }
	s.OnEpoch = func(e trainer.EpochLog) {
		if t.OnEpoch != nil {
			t.OnEpoch(EpochLog{Epoch: e.Epoch, Loss: e.Loss, Valid: last, Seconds: e.Seconds, Best: e.Best})
		}
	}
	idx := make([]int, len(train))
	for i := range idx {
		idx[i] = i
	}
	f, err := s.Fit(ctx, idx)
	res := FitResult{BestEpoch: f.BestEpoch, Best: best, Epochs: f.Epochs, Stopped: f.Stopped}
	if err == nil && res.BestEpoch > 0 && best == (eval.LabelledReport{}) {
		res.Best, err = t.Evaluate(valid) // the best epoch came before a resume
	}
	return res, err
}

// Resume loads a checkpoint Fit wrote (model_path's last.ckpt) so that Fit
// continues that run; the checkpoint must come from the same options
// unless ResumeChanged is set.
func (t *Trainer) Resume(ctx context.Context, path string) error {
	t.session.Options, t.session.Objective = t.Options, objective{m: t.Model}
	t.session.ResumeChanged = t.ResumeChanged
	return t.session.Resume(ctx, path)
}

// Predict returns the click probability of every example, aligned with ex.
func (t *Trainer) Predict(ex []Example) ([]float32, error) {
	out := make([]float32, 0, len(ex))
	idx := make([]int, 0, t.Options.EvalBatchSize)
	for lo := 0; lo < len(ex); lo += t.Options.EvalBatchSize {
		idx = idx[:0]
		for i := lo; i < min(lo+t.Options.EvalBatchSize, len(ex)); i++ {
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
