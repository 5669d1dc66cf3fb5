package schedule

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/pipelines/evaluate"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/recommend"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/transforms"
)

// preprocessConfig is the config's preprocess: section for c's partition:
// {date} in the inputs replaced, the output in the partition's data/.
func (c Config) preprocessConfig() preprocess.Config {
	p := c.Job.Preprocess
	p.Inputs = make([]string, len(c.Job.Preprocess.Inputs))
	for i, in := range c.Job.Preprocess.Inputs {
		p.Inputs[i] = strings.ReplaceAll(in, DatePlaceholder, c.Date.Format(time.DateOnly))
	}
	p.OutDir = transforms.JoinPath(c.Partition(), DataDir)
	return p
}

// metricsReport is the content of a partition's metrics.json.
type metricsReport struct {
	Checkpoint string             `json:"checkpoint"`
	Split      string             `json:"split"`
	Metrics    map[string]float64 `json:"metrics"`
	Report     eval.Report        `json:"report"`
}

// runChain runs the steps into the clean, locked partition and writes
// _SUCCESS, or _FAILED at the first step that fails.
func runChain(ctx context.Context, cfg Config, res Result) (Result, error) {
	part := res.Partition
	started := time.Now().UTC()
	data := transforms.JoinPath(part, DataDir)
	tcfg := cfg.Job.Train
	tcfg.Data, tcfg.ModelPath, tcfg.Resume = data, transforms.JoinPath(part, ModelDir), false
	var checkpoint string

	steps := []struct {
		name string
		run  func() error
	}{
		{"preprocess", func() error {
			sum, err := preprocess.Run(ctx, cfg.preprocessConfig(), cfg.Runner)
			if err == nil {
				fmt.Fprintf(cfg.Log, "preprocess: %d events of %d users over %d items (%d bad lines) in %s\n", sum.Events, sum.Users, sum.Items, sum.BadLines, data)
			}
			return err
		}},
		{"train", func() error {
			if err := prepareWarmStart(ctx, cfg, &tcfg, &res); err != nil {
				return err
			}
			tr, err := train.Run(ctx, tcfg, cfg.Progress, cfg.OnEpoch)
			if err != nil {
				return err
			}
			if tr.Resumed != (res.WarmStart != "") {
				return fmt.Errorf("schedule: warm start %q prepared but train resumed = %v", res.WarmStart, tr.Resumed)
			}
			checkpoint = tr.Checkpoint
			fmt.Fprintf(cfg.Log, "train: %d epochs, best epoch %d, valid NDCG@10 %.4f, checkpoint %s\n", tr.Fit.Epochs, tr.Fit.BestEpoch, tr.Valid.Map()["NDCG@10"], checkpoint)
			return nil
		}},
		{"evaluate", func() error {
			// The evaluate pipeline, on the runner the other steps use; its
			// metrics.json and per-user metrics.parquet go under EvalDir.
			rep, err := evaluate.Run(ctx, evaluate.Config{Data: data, Checkpoint: checkpoint, Ks: tcfg.Ks,
				Out: transforms.JoinPath(part, EvalDir)}, cfg.Runner)
			if err != nil {
				return err
			}
			res.Metrics = rep.Map()
			out := transforms.JoinPath(part, MetricsFile)
			if err := writeJSON(ctx, out, metricsReport{Checkpoint: checkpoint, Split: transforms.SplitTest, Metrics: res.Metrics, Report: rep}); err != nil {
				return err
			}
			fmt.Fprintf(cfg.Log, "evaluate: test HR@10 %.4f NDCG@10 %.4f over %d users in %s\n", res.Metrics["HR@10"], res.Metrics["NDCG@10"], rep.Users, out)
			return nil
		}},
		{"recommend", func() error {
			out := transforms.JoinPath(part, RecsDir)
			rr, err := recommend.Run(ctx, recommend.Config{Data: data, Checkpoint: checkpoint, K: cfg.K, Out: out}, cfg.Runner)
			if err == nil {
				fmt.Fprintf(cfg.Log, "recommend: top %d items of %d users in %s\n", cfg.K, rr.Users, out)
			}
			return err
		}},
		{"export", func() error {
			er, err := train.Export(ctx, train.ExportConfig{Checkpoint: checkpoint, Out: transforms.JoinPath(part, ModelFile)})
			if err == nil {
				fmt.Fprintf(cfg.Log, "export: %s (%d bytes) and %s\n", er.Out, er.Bytes, er.Items)
			}
			return err
		}},
	}
	for _, s := range steps {
		t0 := time.Now()
		err := ctx.Err()
		if err == nil {
			err = s.run()
		}
		if err != nil {
			return res, fail(ctx, cfg, res, s.name, err)
		}
		res.Steps = append(res.Steps, StepRecord{Name: s.name, Started: t0.UTC(), Seconds: time.Since(t0).Seconds()})
	}
	res.Success = &Success{
		Date: cfg.Date.Format(time.DateOnly), Partition: part, Config: cfg.ConfigPath, Version: cfg.Version,
		Started: started, Finished: time.Now().UTC(), Steps: res.Steps, Metrics: res.Metrics,
		WarmStart: res.WarmStart, ColdStart: res.ColdStart,
	}
	if err := writeJSON(ctx, transforms.JoinPath(part, SuccessFile), res.Success); err != nil {
		res.Success = nil
		return res, fail(ctx, cfg, res, "success", err)
	}
	fmt.Fprintf(cfg.Log, "%s done in %s\n", part, time.Since(started).Round(time.Millisecond))
	return res, nil
}

// prepareWarmStart looks for the previous finished partition and, when its
// model fits, sets tcfg up to start from its weights.
func prepareWarmStart(ctx context.Context, cfg Config, tcfg *train.Config, res *Result) error {
	prev, _, err := previousPartition(ctx, cfg.Root, cfg.PartitionKey, cfg.Date)
	if err != nil {
		return err
	}
	if prev == "" {
		res.ColdStart = fmt.Sprintf("no earlier partition with %s under %s", SuccessFile, cfg.Root)
		fmt.Fprintf(cfg.Log, "train: cold start: %s\n", res.ColdStart)
		return nil
	}
	ckpt := transforms.JoinPath(prev, ModelDir, "best.ckpt")
	reason, err := warmStart(ctx, tcfg, ckpt)
	if err != nil {
		return err
	}
	if reason != "" {
		res.ColdStart = reason
		fmt.Fprintf(cfg.Log, "train: cold start, not from %s: %s\n", ckpt, reason)
		return nil
	}
	res.WarmStart = ckpt
	fmt.Fprintf(cfg.Log, "train: warm start from %s (weights only; epochs and optimizer start afresh)\n", ckpt)
	return nil
}

// fail writes _FAILED for step and returns the *StepError. It writes even
// when ctx is cancelled (an interrupted run), and marks such an error so
// that errors.Is(err, context.Canceled) holds.
func fail(ctx context.Context, cfg Config, res Result, step string, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("interrupted (%w): %w", cerr, err)
	}
	f := Failure{Date: cfg.Date.Format(time.DateOnly), Partition: res.Partition, Step: step, Error: err.Error(), Time: time.Now().UTC(), Done: res.Steps}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if werr := writeJSON(wctx, transforms.JoinPath(res.Partition, FailedFile), f); werr != nil {
		err = errors.Join(err, fmt.Errorf("schedule: writing %s: %w", FailedFile, werr))
	}
	return &StepError{Step: step, Err: err}
}
