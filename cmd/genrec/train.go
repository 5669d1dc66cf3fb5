package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/ranking"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines"
	"github.com/genrec/genrec/pipelines/distributed"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

type trainFlags struct {
	config    string
	data      string
	model     string
	modelPath string
	epochs    int
	batch     int
	lr        float64
	patience  int
	negatives int
	seed      uint64
	threads   int
	device    string
	engine    string
	resume    bool
	changed   bool
	// Data-parallel rounds (pipelines/distributed).
	shards, stepsPerRound, rounds int
	runner                        *runners.Options
	coldStart                     float64
}

func (f *trainFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "YAML config file with a train: section (flags override it)")
	fs.StringVar(&f.data, "data", "", "preprocess output folder (default: the config's preprocess out)")
	fs.StringVar(&f.model, "model", "", "model: "+strings.Join(models.Names, ", ")+" (default hstu)")
	fs.StringVar(&f.modelPath, "model-path", "", "folder for best.ckpt, last.ckpt, train_log.jsonl/.png, metrics.json")
	fs.IntVar(&f.epochs, "epochs", 0, "maximum epochs (n_epoch; default 100)")
	fs.IntVar(&f.batch, "batch-size", 0, "sequences per step (default 128)")
	fs.Float64Var(&f.lr, "lr", 0, "AdamW learning rate (default 0.001)")
	fs.IntVar(&f.patience, "patience", 0, "early stopping: epochs without validation gain (default 10)")
	fs.IntVar(&f.negatives, "negatives", -1, "sampled-softmax negatives per position; 0 = full softmax (default 128 in configs)")
	fs.Uint64Var(&f.seed, "seed", 0, "random seed: same seed, same data, same metrics")
	fs.IntVar(&f.threads, "threads", 0, "kernel goroutines (default: all cores)")
	fs.StringVar(&f.device, "device", "", "device: cpu (the only one this build has)")
	fs.StringVar(&f.engine, "engine", "", "training engine: kernels (direct, default) or gorgonia (the same kernels as a gorgonia graph; hstu only)")
	fs.BoolVar(&f.resume, "resume", false, "continue from model-path/last.ckpt when it exists; refused when the checkpoint was trained with other options (n_epoch, patience, ks, threads may change)")
	fs.BoolVar(&f.changed, "resume-changed", false, "with --resume: continue even though options that shape the steps (batch size, optimizer, loss, seed, ...) changed")
	fs.IntVar(&f.shards, "shards", 0, "train in synchronous data-parallel rounds as Beam pipelines on --runner: each of N shards runs local AdamW steps from the round's checkpoint, the weights are averaged (0 = the in-process trainer)")
	fs.IntVar(&f.stepsPerRound, "steps-per-round", 0, "with --shards: local steps per shard per round (0 = one epoch of the shard's rows)")
	fs.IntVar(&f.rounds, "rounds", 0, "with --shards: rounds (default n_epoch)")
	fs.Float64Var(&f.coldStart, "cold-start", 0, "the cold-start check: hold this fraction of the items (e.g. 0.1) out of training entirely, then report HR/NDCG on the test targets that are held-out items beside a random ranking; checkpoints go to model-path/coldstart")
	f.runner = addRunnerFlags(fs)
}

func (f *trainFlags) resolve(ctx context.Context, fs *pflag.FlagSet) (train.Config, error) {
	var cfg train.Config
	if f.config != "" {
		job, err := pipelines.LoadJob(ctx, f.config)
		if err != nil {
			return cfg, err
		}
		cfg = job.Train
	}
	set := fs.Changed
	// A flag given explicitly must hold a usable value: 0 would silently
	// mean "the default" further down.
	for _, c := range []struct {
		flag string
		bad  bool
		want string
	}{
		{"epochs", f.epochs < 1, "at least 1"},
		{"batch-size", f.batch < 1, "at least 1"},
		{"lr", !(f.lr > 0), "positive"},
		{"negatives", f.negatives < 0, "0 (full softmax) or more"},
		{"threads", f.threads < 0, "0 (all cores) or more"},
	} {
		if set(c.flag) && c.bad {
			v := fs.Lookup(c.flag).Value.String()
			return cfg, usageError{fmt.Errorf("--%s %s: must be %s", c.flag, v, c.want)}
		}
	}
	if set("data") {
		cfg.Data = f.data
	}
	if set("model") {
		cfg.Name = f.model
	}
	if set("model-path") {
		cfg.ModelPath = f.modelPath
	}
	if set("epochs") {
		cfg.Epochs = f.epochs
	}
	if set("batch-size") {
		cfg.BatchSize = f.batch
	}
	if set("lr") {
		cfg.Optimizer.LR = f.lr
	}
	if set("patience") {
		cfg.EarlyStopPatience = f.patience
	}
	if set("negatives") {
		cfg.Loss.Negatives = f.negatives
	}
	if set("seed") {
		cfg.Seed = f.seed
	}
	if set("threads") {
		cfg.Threads = f.threads
	}
	if set("device") {
		cfg.Device = f.device
	}
	if set("engine") {
		cfg.Engine = f.engine
	}
	cfg.Resume = f.resume
	cfg.ResumeChanged = f.changed
	if f.changed && !f.resume {
		return cfg, usageError{fmt.Errorf("--resume-changed needs --resume")}
	}
	if err := cfg.CheckShape(); err != nil {
		return cfg, usageError{err}
	}
	if err := cfg.Options.WithDefaults().Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func newTrainCmd() *cobra.Command {
	var f trainFlags
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train HSTU, HLLM (or the SASRec baseline) on preprocessed sequences",
		Long: `train loads a preprocess output folder, trains the model of the config's
train: section with AdamW on a sampled-softmax loss at every position, ranks
the validation users against the whole catalogue after each epoch (history
masked), keeps the best epoch by earlystop_metric (NDCG@10) and stops after
earlystop_patience epochs without gain. It then reports the best epoch's
validation metrics and its test metrics. Under --model-path it writes:

  best.ckpt, last.ckpt   weights, optimizer state, config and vocabulary
  train_log.jsonl/.png   loss and validation metrics per epoch, and their plot
  metrics.json           validation and test metrics of the best epoch

Ctrl-C saves last.ckpt at the current step; --resume continues from it and
ends where an uninterrupted run with the same seed would. --resume refuses a
checkpoint trained with other options, naming each ("optimizer_params.lr:
0.001 → 0.002"); n_epoch, earlystop_patience, ks, threads and the other
options that do not shape the steps may change, and --resume-changed
continues anyway. A NaN or infinite
loss stops the run with an error and keeps the last good checkpoint.

On a folder preprocessed with task: ranking (labelled impressions), train
fits HSTU as a click model (binary cross-entropy, early stopping on
validation AUC) and the mean-pooled-history baseline with the same head,
and prints both models' test AUC, GAUC and log loss. Checkpoints go to
model-path/model and model-path/baseline.

model: hllm trains HLLM: each item's text (item_text: titles, genres, tags)
is encoded first by the embed-items pipeline (llm_params.model_name: the
built-in hashed-ngram encoder, or a BERT folder, local or gs://; unchanged texts are
reused), fused with an ID embedding as fusion_params say (concat, sum, gate;
none = text only), and a causal HSTU or softmax stack over the fused item
embeddings is trained with InfoNCE and a learnable logit scale. Items with
no training interaction get their embedding from their text alone, so they
can be recommended. --cold-start 0.1 measures exactly that.`,
		Example: `  # The demo data, then HSTU on it
  genrec demo && genrec train --config configs/demo-hstu.yaml

  # Amazon Beauty (preprocess first), the reference HSTU figure
  genrec preprocess --config configs/beauty.yaml
  genrec train --config configs/beauty-hstu.yaml

  # The SASRec baseline on the same data and config
  genrec train --config configs/beauty-hstu.yaml --model sasrec --model-path out/beauty/sasrec

  # The ranking task (labelled impressions; trains HSTU and the mean baseline)
  genrec preprocess --config configs/ml-100k-ranking.yaml
  genrec train --config configs/ml-100k-ranking.yaml

  # HLLM on the demo data (item texts from out/demo/input/items.csv)
  genrec demo && genrec train --config configs/demo-hllm.yaml

  # HLLM (text + ID fusion) on MovieLens-100K, and its cold-start check
  genrec preprocess --config configs/ml-100k-hllm.yaml
  genrec train --config configs/ml-100k-hllm.yaml
  genrec train --config configs/ml-100k-hllm.yaml --cold-start 0.1

  # Continue a killed run
  genrec train --config configs/beauty-hstu.yaml --resume`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.resolve(cmd.Context(), cmd.Flags())
			if err != nil {
				return err
			}
			// The runner flags place the Beam pipelines this run starts:
			// the rounds with --shards, and HLLM's embed-items always.
			if cfg.Runner, err = runnerOptions(f.runner, map[string][]string{"--data": {cfg.Data}, "--model-path": {cfg.ModelPath}}); err != nil {
				return err
			}
			if f.shards > 0 {
				return runRounds(cmd.Context(), cmd.OutOrStdout(), cfg, f)
			}
			if f.coldStart != 0 {
				return runColdStart(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg, f.coldStart)
			}
			return runTrain(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg)
		},
	}
	f.register(cmd.Flags())
	return cmd
}

func runTrain(ctx context.Context, stdout, stderr io.Writer, cfg train.Config) error {
	start := time.Now()
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr
	} else {
		progress = &trainer.PlainLines{W: stderr} // logs, cron, CI: a line every 30 s, not a \r bar
	}
	if task, err := train.Task(ctx, cfg.Data); err == nil && task == preprocess.TaskRanking {
		warnTrainSetup(ctx, stderr, cfg, "model")
		return runRanking(ctx, stdout, progress, cfg, start)
	}
	onEpoch := func(e trainer.EpochLog) {
		line := fmt.Sprintf("epoch %3d  loss %.4f  %6.0f seq/s  %5.1fs", e.Epoch, e.Loss, e.ExamplesPerSecond, e.Seconds)
		if v, ok := e.Valid["NDCG@10"]; ok {
			line += fmt.Sprintf("  valid HR@10 %.4f NDCG@10 %.4f", e.Valid["HR@10"], v)
		}
		if e.Best {
			line += "  *"
		}
		fmt.Fprintln(stdout, line)
	}
	cfg.Notes = stdout
	warnTrainSetup(ctx, stderr, cfg, "")
	res, err := train.Run(ctx, cfg, progress, onEpoch)
	if err != nil {
		var ce train.ConfigError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &ce) {
			return usageError{err} // a missing data folder or file, an option the data cannot take: exit 2
		}
		if ctx.Err() != nil && cfg.ModelPath != "" {
			return fmt.Errorf("%w (interrupted; last.ckpt saved in %s: rerun with --resume to continue)", err, cfg.ModelPath)
		}
		return err
	}
	if res.Resumed {
		fmt.Fprintf(stdout, "resumed from %s\n", cfg.ModelPath)
	}
	fmt.Fprintf(stdout, "train done in %s: %d epochs, best epoch %d", time.Since(start).Round(time.Second), res.Fit.Epochs, res.Fit.BestEpoch)
	if res.Fit.Stopped {
		fmt.Fprint(stdout, " (early stop)")
	}
	fmt.Fprintln(stdout)
	if len(res.Valid.Ks) > 0 {
		printReport(stdout, "valid", res.Valid)
	}
	printReport(stdout, "test", res.Test)
	if res.Checkpoint != "" {
		fmt.Fprintf(stdout, "checkpoint %s\n", res.Checkpoint)
	}
	return nil
}

// runColdStart trains with a fraction of the items held out of training
// and prints how well the held-out test targets rank beside random.
func runColdStart(ctx context.Context, stdout, stderr io.Writer, cfg train.Config, frac float64) error {
	start := time.Now()
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr
	} else {
		progress = &trainer.PlainLines{W: stderr} // logs, cron, CI: a line every 30 s, not a \r bar
	}
	if cfg.ModelPath != "" {
		cfg.ModelPath = transforms.JoinPath(cfg.ModelPath, "coldstart")
	}
	cfg.Notes = stdout
	res, err := train.ColdStart(ctx, cfg, frac, progress, func(e trainer.EpochLog) {
		fmt.Fprintf(stdout, "epoch %3d  loss %.4f  valid NDCG@10 %.4f\n", e.Epoch, e.Loss, e.Valid["NDCG@10"])
	})
	if err != nil {
		return missingIsUsage(err)
	}
	name := cfg.Name
	if name == "" {
		name = "hstu"
	}
	fmt.Fprintf(stdout, "cold start (%s) done in %s: %d items held out of training, best epoch %d\n", name, time.Since(start).Round(time.Second), res.Held, res.Fit.BestEpoch)
	printReport(stdout, "held-out targets", res.Cold)
	fmt.Fprint(stdout, "random ranking on them: ")
	for _, k := range res.Cold.Ks {
		fmt.Fprintf(stdout, " HR@%d %.4f", k, res.RandomHR[k])
	}
	for _, k := range res.Cold.Ks {
		fmt.Fprintf(stdout, " NDCG@%d %.4f", k, res.RandomNDCG[k])
	}
	fmt.Fprintln(stdout, "  AUC 0.5")
	printReport(stdout, "other targets", res.Warm)
	return nil
}

// runRounds trains in data-parallel rounds, one Beam pipeline per round
// (pipelines/distributed), and prints the best round's validation and test
// metrics.
func runRounds(ctx context.Context, stdout io.Writer, cfg train.Config, f trainFlags) error {
	if cfg.ModelPath == "" {
		return usageError{fmt.Errorf("--shards needs --model-path (or model_path:) for the round checkpoints")}
	}
	ropt := cfg.Runner
	start := time.Now()
	dcfg := distributed.Config{Train: cfg.TrainSpec, Shards: f.shards, StepsPerRound: f.stepsPerRound, Rounds: f.rounds, Notes: stdout,
		OnRound: func(l distributed.RoundLog) {
			fmt.Fprintf(stdout, "round %3d  %s\n", l.Round, roundLine(l))
		}}
	res, err := distributed.Run(ctx, dcfg, ropt)
	if err != nil {
		return missingIsUsage(err)
	}
	fmt.Fprintf(stdout, "train done in %s: %d rounds of %d shards, best round %d\n", time.Since(start).Round(time.Second), res.Rounds, f.shards, res.BestRound)
	printReport(stdout, "valid", res.Valid)
	printReport(stdout, "test", res.Test)
	fmt.Fprintf(stdout, "checkpoint %s\n", res.Checkpoint)
	return nil
}

// runRanking trains the ranking task (data preprocessed with task:
// ranking): HSTU as a click model and the mean-pooled baseline, and prints
// their test AUC, GAUC and log loss side by side.
func runRanking(ctx context.Context, stdout, progress io.Writer, cfg train.Config, start time.Time) error {
	onEpoch := func(model string, e ranking.EpochLog) {
		line := fmt.Sprintf("%-13s epoch %3d  loss %.4f  %5.1fs  valid AUC %.4f GAUC %.4f logloss %.4f", model, e.Epoch, e.Loss, e.Seconds, e.Valid.AUC, e.Valid.GAUC, e.Valid.LogLoss)
		if e.Best {
			line += "  *"
		}
		fmt.Fprintln(stdout, line)
	}
	res, err := train.RunRanking(ctx, cfg, progress, onEpoch)
	if err != nil {
		var ce train.ConfigError
		if errors.Is(err, fs.ErrNotExist) || errors.As(err, &ce) {
			return usageError{err}
		}
		if ctx.Err() != nil && cfg.ModelPath != "" {
			return fmt.Errorf("%w (interrupted; last.ckpt saved under %s/model (and /baseline once it started): rerun with --resume to continue)", err, cfg.ModelPath)
		}
		return err
	}
	for _, r := range []*train.RankingReport{&res.Model, res.Baseline} {
		if r != nil && r.Resumed {
			fmt.Fprintf(stdout, "%s resumed from its last.ckpt\n", r.Model)
		}
	}
	fmt.Fprintf(stdout, "train done in %s (ranking task, test split)\n", time.Since(start).Round(time.Second))
	fmt.Fprintf(stdout, "  %-13s %7s %7s %8s %10s  %s\n", "model", "AUC", "GAUC", "logloss", "best epoch", "checkpoint")
	for _, r := range []*train.RankingReport{&res.Model, res.Baseline} {
		if r != nil {
			fmt.Fprintf(stdout, "  %-13s %7.4f %7.4f %8.4f %10d  %s\n", r.Model, r.Test.AUC, r.Test.GAUC, r.Test.LogLoss, r.BestEpoch, r.Checkpoint)
		}
	}
	return nil
}

// printReport prints one line of metrics in the report's own order.
func printReport(w io.Writer, name string, r eval.Report) {
	m := r.Map()
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != "Users" {
			keys = append(keys, k)
		}
	}
	order := func(k string) int {
		switch {
		case strings.HasPrefix(k, "HR@"):
			return 0
		case strings.HasPrefix(k, "NDCG@"):
			return 1
		case k == "MRR":
			return 2
		}
		return 3
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if order(keys[i]) != order(keys[j]) {
			return order(keys[i]) < order(keys[j])
		}
		return metricK(keys[i]) < metricK(keys[j])
	})
	fmt.Fprintf(w, "%-6s users %d", name, r.Users)
	for _, k := range keys {
		fmt.Fprintf(w, "  %s %.4f", k, m[k])
	}
	fmt.Fprintln(w)
}

func metricK(k string) int {
	var n int
	if i := strings.IndexByte(k, '@'); i >= 0 {
		fmt.Sscan(k[i+1:], &n)
	}
	return n
}

func roundLine(l distributed.RoundLog) string {
	line := fmt.Sprintf("loss %.4f  %6d windows  %5.1fs", l.Loss, l.Examples, l.Seconds)
	if v, ok := l.Valid["NDCG@10"]; ok {
		line += fmt.Sprintf("  valid HR@10 %.4f NDCG@10 %.4f", l.Valid["HR@10"], v)
	}
	if l.Best {
		line += "  *"
	}
	return line
}

// warnTrainSetup says, before training, what a silent run would leave
// unsaid (issue 15 item 6): that without a model path nothing is saved, and
// that --resume without a last.ckpt starts from scratch. sub is the folder
// under the model path that holds last.ckpt ("model" on the ranking task).
func warnTrainSetup(ctx context.Context, stderr io.Writer, cfg train.Config, sub string) {
	if cfg.ModelPath == "" {
		fmt.Fprintln(stderr, "genrec: warning: no --model-path (model_path:): no checkpoint or metrics will be saved")
		return
	}
	if cfg.Resume {
		last := transforms.JoinPath(cfg.ModelPath, sub, "last.ckpt")
		// A size query, not a read: the run itself decodes last.ckpt once. An
		// unreadable one is the run's error to report (it never starts fresh).
		if ok, err := transforms.Exists(ctx, last); err == nil && !ok {
			fmt.Fprintf(stderr, "genrec: --resume: no %s to resume from; starting fresh\n", last)
		}
	}
}
