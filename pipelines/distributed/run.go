package distributed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines/embeditems"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

// Config configures a distributed run.
type Config struct {
	// Train is the data, the model and the trainer's options; ModelPath is
	// required (the rounds' checkpoints go there).
	Train models.TrainSpec
	// Shards is the number of data-parallel workers (default 2).
	Shards int
	// StepsPerRound is each shard's local steps per round; 0 is one
	// epoch of its rows.
	StepsPerRound int
	// Rounds is the number of rounds (default Train.Epochs).
	Rounds int
	// Patience is the rounds without a better validation metric before
	// stopping (default Train.EarlyStopPatience; < 0 never stops).
	Patience int
	// OnRound, when set, is called after every finished round.
	OnRound func(RoundLog) `json:"-"`
	// Notes receives a line per step before the rounds (HLLM: the item
	// texts encoded); nil: none.
	Notes io.Writer `json:"-"`
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	c.Train.Options = c.Train.Options.WithDefaults()
	if c.Shards == 0 {
		c.Shards = 2
	}
	if c.Rounds == 0 {
		c.Rounds = c.Train.Epochs
	}
	if c.Patience == 0 {
		c.Patience = c.Train.EarlyStopPatience
	}
	return c
}

// Validate reports the first bad field.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Train.ModelPath == "":
		return fmt.Errorf("distributed: model_path is required: the rounds' checkpoints go there")
	case c.Shards < 1:
		return fmt.Errorf("distributed: shards must be positive, got %d", c.Shards)
	case c.StepsPerRound < 0:
		return fmt.Errorf("distributed: steps per round must not be negative, got %d", c.StepsPerRound)
	case c.Rounds < 1:
		return fmt.Errorf("distributed: rounds must be positive, got %d", c.Rounds)
	}
	return c.Train.Options.Validate()
}

// runConfig is what a run stores as its checkpoints' TrainConfig: the
// trainer's options and the rounds'.
type runConfig struct {
	trainer.Options
	Shards        int `json:"shards"`
	StepsPerRound int `json:"steps_per_round"`
	Rounds        int `json:"rounds"`
}

// sameRun reports whether a and b take the same steps: a run resumes only
// a run of its own configuration.
func sameRun(a, b runConfig) bool {
	return a.Shards == b.Shards && a.StepsPerRound == b.StepsPerRound && a.Rounds == b.Rounds && a.Seed == b.Seed &&
		a.BatchSize == b.BatchSize && a.Optimizer == b.Optimizer && a.Loss == b.Loss && a.StochasticLength == b.StochasticLength &&
		a.Engine == b.Engine
}

// RoundLog is one line of rounds.jsonl.
type RoundLog struct {
	Round    int                `json:"round"`
	Loss     float64            `json:"loss"`     // mean training loss of the round over all shards
	Examples int                `json:"examples"` // training windows seen by all shards
	Seconds  float64            `json:"seconds"`  // the round's pipeline
	Valid    map[string]float64 `json:"valid,omitempty"`
	Best     bool               `json:"best,omitempty"`
}

// Result is what Run reports.
type Result struct {
	Rounds      int // rounds finished in all (a resumed run counts earlier ones)
	BestRound   int // 0: never validated
	Valid, Test eval.Report
	Stopped     bool   // early stopping ended the run
	Resumed     bool   // the run continued after finished rounds
	Checkpoint  string // best.ckpt, else last.ckpt
	Log         []RoundLog
}

// Files Run writes in the model path beside round-NNN.ckpt, best.ckpt and
// last.ckpt.
const (
	RoundsLog   = "rounds.jsonl"
	MetricsFile = "metrics.json"
)

// Run trains cfg's model in rounds, one pipeline on the runner ropt
// chooses per round (HLLM's embed-items pipeline runs there too),
// validating in process after each. When the model path holds finished
// rounds of the same configuration (last.ckpt), it continues after the
// last one; a round that did not finish is redone, so an interrupted run
// ends with an uninterrupted run's weights.
func Run(ctx context.Context, cfg Config, ropt runners.Options) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	cfg = cfg.withDefaults()
	o := cfg.Train.Options
	dir := o.ModelPath
	if cfg.Train.Name == "hllm" { // the item texts, encoded on the rounds' runner
		if _, err := embeditems.ForModel(ctx, cfg.Train, ropt, cfg.Notes); err != nil {
			return Result{}, err
		}
	}
	data, err := cfg.Train.LoadData(ctx, cfg.Notes)
	if err != nil {
		return Result{}, err
	}
	last, resumed, err := start(ctx, cfg, data, runConfig{Options: o, Shards: cfg.Shards, StepsPerRound: cfg.StepsPerRound, Rounds: cfg.Rounds})
	if err != nil {
		return Result{}, err
	}
	res := Result{Resumed: resumed}
	log, err := readLog(ctx, dir, last.Epoch)
	if err != nil {
		return res, err
	}
	validate := len(sequential.SplitRows(data.Rows, transforms.SplitValid)) > 0
	for r := last.Epoch + 1; r <= cfg.Rounds && !(cfg.Patience > 0 && last.BadEpochs >= cfg.Patience); r++ {
		rc := Round{Data: cfg.Train.Data, Options: o, Shards: cfg.Shards, Steps: cfg.StepsPerRound, Rounds: cfg.Rounds,
			Round: r, From: roundPath(dir, r-1), To: roundPath(dir, r)}
		began := time.Now()
		p, s := beam.NewPipelineWithRoot()
		Pipeline(s, rc)
		if _, err := runners.Run(ctx, p, ropt); err != nil {
			return res, fmt.Errorf("distributed: round %d: %w", r, err)
		}
		ck, err := export.LoadCheckpoint(ctx, rc.To)
		if err != nil {
			return res, fmt.Errorf("distributed: round %d: %w", r, err)
		}
		entry := RoundLog{Round: r, Seconds: time.Since(began).Seconds()}
		entry.Loss, entry.Examples = roundLoss(ck)
		ck.Best, ck.BestEpoch, ck.BadEpochs = last.Best, last.BestEpoch, last.BadEpochs
		if validate {
			rep, err := evaluate(ck, data.Rows, transforms.SplitValid, o.Ks, o.EvalBatchSize)
			if err != nil {
				return res, fmt.Errorf("distributed: round %d validation: %w", r, err)
			}
			entry.Valid = rep.Map()
			if v := entry.Valid[o.EarlyStopMetric]; v > last.Best {
				ck.Best, ck.BestEpoch, ck.BadEpochs, entry.Best = v, r, 0, true
			} else {
				ck.BadEpochs++
			}
		}
		log = append(log, entry)
		res.Log = append(res.Log, entry)
		if err := writeLog(ctx, dir, log); err != nil {
			return res, err
		}
		if entry.Best {
			if err := ck.Save(ctx, transforms.JoinPath(dir, "best.ckpt")); err != nil {
				return res, err
			}
		}
		if err := ck.Save(ctx, transforms.JoinPath(dir, "last.ckpt")); err != nil {
			return res, err
		}
		last = ck
		if cfg.OnRound != nil {
			cfg.OnRound(entry)
		}
	}
	res.Rounds, res.BestRound = last.Epoch, last.BestEpoch
	res.Stopped = cfg.Patience > 0 && last.BadEpochs >= cfg.Patience && last.Epoch < cfg.Rounds
	res.Checkpoint = transforms.JoinPath(dir, "last.ckpt")
	final := last
	if last.BestEpoch > 0 {
		res.Checkpoint = transforms.JoinPath(dir, "best.ckpt")
		if final, err = export.LoadCheckpoint(ctx, res.Checkpoint); err != nil {
			return res, err
		}
		if res.Valid, err = evaluate(final, data.Rows, transforms.SplitValid, o.Ks, o.EvalBatchSize); err != nil {
			return res, err
		}
	}
	if len(sequential.SplitRows(data.Rows, transforms.SplitTest)) > 0 {
		if res.Test, err = evaluate(final, data.Rows, transforms.SplitTest, o.Ks, o.EvalBatchSize); err != nil {
			return res, err
		}
	}
	m := map[string]any{"model": cfg.Train.Name, "shards": cfg.Shards, "best_round": res.BestRound, "rounds": res.Rounds, "valid": res.Valid, "test": res.Test}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := transforms.WriteFileAtomic(ctx, transforms.JoinPath(dir, MetricsFile), append(b, '\n')); err != nil {
		return res, fmt.Errorf("distributed: %w", err)
	}
	return res, nil
}

// start returns the last finished round's checkpoint: the model path's
// last.ckpt when it was written by a run of the same configuration, else
// the freshly initialised model saved as round-000.ckpt.
func start(ctx context.Context, cfg Config, data *transforms.Dataset, rc runConfig) (*export.Checkpoint, bool, error) {
	dir := cfg.Train.ModelPath
	mc, err := cfg.Train.Resolve(ctx, data)
	if err != nil {
		return nil, false, err
	}
	tc, err := json.Marshal(rc)
	if err != nil {
		return nil, false, fmt.Errorf("distributed: %w", err)
	}
	lastPath := transforms.JoinPath(dir, "last.ckpt")
	found, err := transforms.Exists(ctx, lastPath)
	if err != nil {
		return nil, false, fmt.Errorf("distributed: %w", err) // unreadable is not absent: never start over it
	}
	if found {
		last, err := export.LoadCheckpoint(ctx, lastPath)
		if err != nil {
			return nil, false, err
		}
		var prev runConfig
		if err := json.Unmarshal(last.TrainConfig, &prev); err != nil || !sameRun(prev, rc) || !bytes.Equal(last.ModelConfig, mc.JSON()) {
			return nil, false, fmt.Errorf("distributed: %s was written by another run (its configuration: %s; this run's: %s); use another model_path", lastPath, last.TrainConfig, tc)
		}
		if err := export.SameCatalogue(last.Vocab, lastPath, data.VocabJSON(), cfg.Train.Data); err != nil {
			return nil, false, fmt.Errorf("distributed: cannot resume: %w", err)
		}
		return last, true, nil
	}
	m, err := models.Build(mc, cfg.Train.Seed)
	if err != nil {
		return nil, false, err
	}
	ck := &export.Checkpoint{Model: m.Name(), ModelConfig: mc.JSON(), TrainConfig: tc, Vocab: data.VocabJSON(), Best: math.Inf(-1)}
	for _, p := range m.Params() {
		ck.Params = append(ck.Params, export.Tensor{Name: p.Name, Shape: p.Shape, Value: p.Value})
	}
	if err := ck.Save(ctx, roundPath(dir, 0)); err != nil {
		return nil, false, err
	}
	return ck, false, nil
}

// roundLoss is the mean training loss and examples of the round that
// wrote ck.
func roundLoss(ck *export.Checkpoint) (float64, int) {
	var s roundState
	_ = json.Unmarshal(ck.RNG, &s)
	return s.Loss, s.Examples
}

// evaluate ranks split's rows with ck's model.
func evaluate(ck *export.Checkpoint, rows []transforms.SequenceRow, split string, ks []int, batch int) (eval.Report, error) {
	mc, err := models.ParseConfig(ck.ModelConfig)
	if err != nil {
		return eval.Report{}, err
	}
	m, err := models.Build(mc, 0)
	if err != nil {
		return eval.Report{}, err
	}
	if err := trainer.LoadWeights(m.Params(), ck); err != nil {
		return eval.Report{}, err
	}
	return sequential.Evaluate(m, rows, split, ks, batch)
}

// readLog reads the rounds log up to round done (a crash may have left
// lines of an unfinished round).
func readLog(ctx context.Context, dir string, done int) ([]RoundLog, error) {
	b, err := transforms.ReadFile(ctx, transforms.JoinPath(dir, RoundsLog))
	if err != nil {
		return nil, nil
	}
	var out []RoundLog
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var e RoundLog
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("distributed: %s:%d: %w", transforms.JoinPath(dir, RoundsLog), i+1, err)
		}
		if e.Round <= done {
			out = append(out, e)
		}
	}
	return out, nil
}

func writeLog(ctx context.Context, dir string, log []RoundLog) error {
	var b bytes.Buffer
	for _, e := range log {
		line, _ := json.Marshal(e)
		b.Write(append(line, '\n'))
	}
	if err := transforms.WriteFileAtomic(ctx, transforms.JoinPath(dir, RoundsLog), b.Bytes()); err != nil {
		return fmt.Errorf("distributed: %w", err)
	}
	return nil
}
