package trainer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/genrec/genrec/models/sequential"
)

// OptimizerParams configure AdamW and its schedule (the seed API's
// optimizer_params).
type OptimizerParams struct {
	LR          float64 `yaml:"lr" json:"lr"`                     // default 1e-3
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"` // decoupled; default 0
	Beta1       float64 `yaml:"beta1" json:"beta1"`               // default 0.9
	Beta2       float64 `yaml:"beta2" json:"beta2"`               // default 0.98 (HSTU)
	Eps         float64 `yaml:"eps" json:"eps"`                   // default 1e-8
	WarmupSteps int     `yaml:"warmup_steps" json:"warmup_steps"` // linear warmup; 0 = none
	Cosine      bool    `yaml:"cosine" json:"cosine"`             // cosine decay to MinLR over the run
	MinLR       float64 `yaml:"min_lr" json:"min_lr"`
	ClipNorm    float64 `yaml:"clip_norm" json:"clip_norm"` // global gradient-norm clip; 0 = none
}

// Options configure a GenRecTrainer. Zero fields take the defaults of
// WithDefaults.
type Options struct {
	Epochs            int                   `yaml:"n_epoch" json:"n_epoch"`                       // default 100
	BatchSize         int                   `yaml:"batch_size" json:"batch_size"`                 // default 128
	EarlyStopPatience int                   `yaml:"earlystop_patience" json:"earlystop_patience"` // epochs without improvement; default 10, <0 = never stop
	EarlyStopMetric   string                `yaml:"earlystop_metric" json:"earlystop_metric"`     // validation metric to maximise; default NDCG@10
	EvalEvery         int                   `yaml:"eval_every" json:"eval_every"`                 // epochs between validations; default 1
	Optimizer         OptimizerParams       `yaml:"optimizer_params" json:"optimizer_params"`
	Loss              sequential.LossConfig `yaml:"loss" json:"loss"`
	// StochasticLength is HSTU's alpha in (1, 2]; 0 = off.
	StochasticLength float64 `yaml:"stochastic_length_alpha" json:"stochastic_length_alpha"`
	Device           string  `yaml:"device" json:"device"`         // only "cpu"
	ModelPath        string  `yaml:"model_path" json:"model_path"` // folder of best.ckpt, last.ckpt and the log; "" = keep nothing
	Seed             uint64  `yaml:"seed" json:"seed"`
	Ks               []int   `yaml:"ks" json:"ks"`                             // cut-offs reported; default 10, 50, 200
	EvalBatchSize    int     `yaml:"eval_batch_size" json:"eval_batch_size"`   // default 256
	CheckpointEvery  int     `yaml:"checkpoint_every" json:"checkpoint_every"` // steps between mid-epoch checkpoints; 0 = epoch ends only
	Threads          int     `yaml:"threads" json:"threads"`                   // kernel goroutines; 0 = all cores
	// Engine computes each step's loss and gradients: "kernels" (default)
	// the direct path, sequential.Head on the model's Forward/Backward;
	// "gorgonia" the same kernels composed as a gorgonia graph per batch
	// (models/graph; hstu models with sampled negatives only), which
	// gives bit-identical losses and gradients, more slowly.
	Engine string `yaml:"engine" json:"engine"`
	// ValidUsers is the number of validation users early stopping ranks:
	// a seeded sample of the valid split (0 = all of them).
	ValidUsers int `yaml:"valid_users" json:"valid_users,omitempty"`
}

// Devices lists the values Options.Device accepts.
var Devices = []string{"cpu"}

// WithDefaults returns o with zero fields set to their defaults.
func (o Options) WithDefaults() Options {
	if o.Epochs == 0 {
		o.Epochs = 100
	}
	if o.BatchSize == 0 {
		o.BatchSize = 128
	}
	if o.EarlyStopPatience == 0 {
		o.EarlyStopPatience = 10
	}
	if o.EarlyStopMetric == "" {
		o.EarlyStopMetric = "NDCG@10"
	}
	if o.EvalEvery == 0 {
		o.EvalEvery = 1
	}
	p := &o.Optimizer
	if p.LR == 0 {
		p.LR = 1e-3
	}
	if p.Beta1 == 0 {
		p.Beta1 = 0.9
	}
	if p.Beta2 == 0 {
		p.Beta2 = 0.98
	}
	if p.Eps == 0 {
		p.Eps = 1e-8
	}
	o.Loss = o.Loss.WithDefaults()
	if o.Device == "" {
		o.Device = "cpu"
	}
	if o.Engine == "" {
		o.Engine = EngineKernels
	}
	if len(o.Ks) == 0 {
		o.Ks = []int{10, 50, 200}
	}
	if o.EvalBatchSize == 0 {
		o.EvalBatchSize = 256
	}
	return o
}

// Validate reports the first bad option, named as in the config file.
func (o Options) Validate() error {
	p := o.Optimizer
	switch {
	case !slices.Contains(Devices, o.Device):
		return fmt.Errorf("trainer: device %q is not supported; this build trains on %s (set device: cpu, and threads: to use more cores)", o.Device, strings.Join(Devices, ", "))
	case !slices.Contains(Engines, o.Engine):
		return fmt.Errorf("trainer: engine %q is not supported; use %s", o.Engine, strings.Join(Engines, " or "))
	case o.Engine == EngineGorgonia && o.Loss.Negatives < 1:
		return fmt.Errorf("trainer: engine gorgonia needs sampled negatives (loss.negatives >= 1); the full softmax (negatives 0) runs on engine kernels only")
	case o.Epochs < 1:
		return fmt.Errorf("trainer: n_epoch must be positive, got %d", o.Epochs)
	case o.BatchSize < 1:
		return fmt.Errorf("trainer: batch_size must be positive, got %d", o.BatchSize)
	case o.EvalEvery < 1:
		return fmt.Errorf("trainer: eval_every must be positive, got %d", o.EvalEvery)
	case p.LR <= 0:
		return fmt.Errorf("trainer: optimizer_params.lr must be positive, got %v", p.LR)
	case p.WeightDecay < 0:
		return fmt.Errorf("trainer: optimizer_params.weight_decay must not be negative, got %v", p.WeightDecay)
	case p.Beta1 < 0 || p.Beta1 >= 1 || p.Beta2 < 0 || p.Beta2 >= 1:
		return fmt.Errorf("trainer: optimizer_params betas must be in [0, 1), got %v, %v", p.Beta1, p.Beta2)
	case p.WarmupSteps < 0 || p.ClipNorm < 0 || p.MinLR < 0:
		return fmt.Errorf("trainer: optimizer_params warmup_steps, clip_norm and min_lr must not be negative")
	case o.Loss.Negatives < 0:
		return fmt.Errorf("trainer: loss.negatives must not be negative, got %d", o.Loss.Negatives)
	case o.Loss.NegativesShared && o.Loss.Negatives < 1:
		return fmt.Errorf("trainer: loss.negatives_shared needs sampled negatives (loss.negatives >= 1)")
	case o.Loss.NegativesShared && o.Engine == EngineGorgonia:
		return fmt.Errorf("trainer: loss.negatives_shared runs on engine kernels only, not engine gorgonia")
	case o.Loss.Temperature <= 0:
		return fmt.Errorf("trainer: loss.temperature must be positive, got %v", o.Loss.Temperature)
	case o.StochasticLength != 0 && (o.StochasticLength <= 1 || o.StochasticLength > 2):
		return fmt.Errorf("trainer: stochastic_length_alpha must be in (1, 2], got %v", o.StochasticLength)
	case o.CheckpointEvery < 0 || o.Threads < 0 || o.EvalBatchSize < 1:
		return fmt.Errorf("trainer: checkpoint_every and threads must not be negative, eval_batch_size must be positive")
	case o.ValidUsers < 0:
		return fmt.Errorf("trainer: valid_users must not be negative (0 = every validation user), got %d", o.ValidUsers)
	}
	for _, k := range o.Ks {
		if k < 1 {
			return fmt.Errorf("trainer: ks must be positive, got %d", k)
		}
	}
	if !metricKnown(o.EarlyStopMetric, o.Ks) {
		return fmt.Errorf("trainer: earlystop_metric %q is not reported; use HR@k or NDCG@k with k in ks %v, MRR or AUC", o.EarlyStopMetric, o.Ks)
	}
	return nil
}

func metricKnown(name string, ks []int) bool {
	if name == "MRR" || name == "AUC" {
		return true
	}
	for _, prefix := range []string{"HR@", "NDCG@"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			k, err := strconv.Atoi(rest)
			return err == nil && slices.Contains(ks, k)
		}
	}
	return false
}
