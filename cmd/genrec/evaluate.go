package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/pipelines/evaluate"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
)

func newEvaluateCmd() *cobra.Command {
	var (
		cfg      train.EvalConfig
		pipeline bool
		out      string
		ropt     *runners.Options
	)
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Rank a split's users with a trained checkpoint and print HR/NDCG@K, MRR, AUC",
		Long: `evaluate loads a checkpoint written by genrec train and ranks each user's
held-out item of --split against the whole catalogue, items already in the
user's history masked (DESIGN.md's protocol). Ties count against the model.
On a ranking folder (task: ranking) it prints AUC, GAUC and log loss.

With --pipeline it runs as a Beam pipeline on the runner the --runner flags
choose (prism by default; see docs/RUNNING.md): the same figures, plus
metrics.json and a per-user metrics.parquet under --out.`,
		Example: `  genrec evaluate --data out/beauty --checkpoint out/beauty/hstu/best.ckpt
  genrec evaluate --data out/beauty --checkpoint out/beauty/hstu/best.ckpt --pipeline --out out/beauty/eval
  genrec evaluate --data out/beauty --checkpoint out/beauty/hstu/best.ckpt --split valid --ks 5,10,20`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Data == "" || cfg.Checkpoint == "" {
				return usageError{fmt.Errorf("evaluate needs --data and --checkpoint")}
			}
			if err := checkKs(cfg.Ks); err != nil {
				return err
			}
			if cfg.Split != "" && cfg.Split != "valid" && cfg.Split != "test" && cfg.Split != "train" && cfg.Split != "all" {
				return usageError{fmt.Errorf("--split %q: use valid or test (train or all on a ranking folder)", cfg.Split)}
			}
			if task, err := train.Task(cmd.Context(), cfg.Data); err == nil && task == preprocess.TaskRanking {
				rep, err := train.EvaluateRanking(cmd.Context(), cfg)
				if err != nil {
					return missingIsUsage(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s  AUC %.4f  GAUC %.4f  logloss %.4f  (%d impressions, GAUC over %d users)\n",
					cfg.Split, rep.AUC, rep.GAUC, rep.LogLoss, rep.N, rep.GAUCUsers)
				return nil
			}
			if pipeline {
				opt, err := runnerOptions(ropt, map[string][]string{"--data": {cfg.Data}, "--checkpoint": {cfg.Checkpoint}, "--out": {out}})
				if err != nil {
					return err
				}
				ecfg := evaluate.Config{Data: cfg.Data, Checkpoint: cfg.Checkpoint, Split: cfg.Split, Ks: cfg.Ks, Out: out}
				rep, err := evaluate.Run(cmd.Context(), ecfg, opt)
				if err != nil {
					return missingIsUsage(err)
				}
				printReport(cmd.OutOrStdout(), cfg.Split, rep)
				fmt.Fprintf(cmd.OutOrStdout(), "metrics.json and per-user metrics.parquet in %s\n", ecfg.WithDefaults().Out)
				return nil
			}
			rep, err := train.Evaluate(cmd.Context(), cfg)
			if err != nil {
				return missingIsUsage(err)
			}
			printReport(cmd.OutOrStdout(), cfg.Split, rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Data, "data", "", "preprocess output folder the model was trained on")
	cmd.Flags().StringVar(&cfg.Checkpoint, "checkpoint", "", "checkpoint file (best.ckpt or last.ckpt)")
	cmd.Flags().StringVar(&cfg.Split, "split", "test", "valid or test")
	cmd.Flags().IntSliceVar(&cfg.Ks, "ks", []int{10, 50, 200}, "cut-offs for HR@K and NDCG@K")
	cmd.Flags().BoolVar(&pipeline, "pipeline", false, "run as a Beam pipeline on --runner (per-user ranks in DoFns; writes metrics.json and metrics.parquet to --out)")
	cmd.Flags().StringVar(&out, "out", "", "with --pipeline: output folder (default: <checkpoint folder>/eval-<split>)")
	ropt = addRunnerFlags(cmd.Flags())
	return cmd
}

// checkKs returns a usage error naming --ks unless every cut-off is
// positive and none repeats (a cut-off of 0 or less used to reach the metric
// code and panic).
func checkKs(ks []int) error {
	if len(ks) == 0 {
		return usageError{fmt.Errorf("--ks needs at least one cut-off, e.g. --ks 10,50")}
	}
	seen := map[int]bool{}
	for _, k := range ks {
		if k < 1 {
			return usageError{fmt.Errorf("--ks: cut-off %d is not positive (got %v)", k, ks)}
		}
		if seen[k] {
			return usageError{fmt.Errorf("--ks: cut-off %d appears twice (got %v)", k, ks)}
		}
		seen[k] = true
	}
	return nil
}
