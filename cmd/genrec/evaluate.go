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
		cfg      evaluate.Config
		pipeline bool
		ropt     *runners.Options
	)
	cmd := &cobra.Command{
		Use:   "evaluate",
		Short: "Rank a split's users with a trained checkpoint and print HR/NDCG@K, MRR, AUC",
		Long: `evaluate loads a checkpoint written by genrec train and ranks each user's
held-out item of --split against the whole catalogue, items already in the
user's history masked (DESIGN.md's protocol). Ties count against the model.
On a ranking folder (task: ranking) it prints AUC, GAUC and log loss.

It runs as a Beam pipeline (per-user ranks in DoFns) on the runner the
--runner flags choose: prism in this process by default, Flink or Dataflow
for a large catalogue (see docs/RUNNING.md). Besides printing the figures
it writes metrics.json and a per-user metrics.parquet under --out, each
published atomically.`,
		Example: `  genrec evaluate --data out/beauty --checkpoint out/beauty/hstu/best.ckpt
  genrec evaluate --data out/beauty --checkpoint out/beauty/hstu/best.ckpt --out out/beauty/eval
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
				rep, err := train.EvaluateRanking(cmd.Context(), train.EvalConfig{Data: cfg.Data, Checkpoint: cfg.Checkpoint, Split: cfg.Split})
				if err != nil {
					return missingIsUsage(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s  AUC %.4f  GAUC %.4f  logloss %.4f  (%d impressions, GAUC over %d users)\n",
					cfg.Split, rep.AUC, rep.GAUC, rep.LogLoss, rep.N, rep.GAUCUsers)
				return nil
			}
			if cfg.Split != "valid" && cfg.Split != "test" {
				return usageError{fmt.Errorf("--split %q: use valid or test (train and all are for ranking folders)", cfg.Split)}
			}
			opt, err := runnerOptions(ropt, map[string][]string{"--data": {cfg.Data}, "--checkpoint": {cfg.Checkpoint}, "--out": {cfg.Out}})
			if err != nil {
				return err
			}
			rep, err := evaluate.Run(cmd.Context(), cfg, opt)
			if err != nil {
				return missingIsUsage(err)
			}
			printReport(cmd.OutOrStdout(), cfg.Split, rep)
			fmt.Fprintf(cmd.OutOrStdout(), "metrics.json and per-user metrics.parquet in %s\n", cfg.WithDefaults().Out)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Data, "data", "", "preprocess output folder the model was trained on")
	cmd.Flags().StringVar(&cfg.Checkpoint, "checkpoint", "", "checkpoint file (best.ckpt or last.ckpt)")
	cmd.Flags().StringVar(&cfg.Split, "split", "test", "valid or test")
	cmd.Flags().IntSliceVar(&cfg.Ks, "ks", []int{10, 50, 200}, "cut-offs for HR@K and NDCG@K")
	cmd.Flags().StringVar(&cfg.Out, "out", "", "output folder of metrics.json and metrics.parquet (default: <checkpoint folder>/eval-<split>)")
	cmd.Flags().BoolVar(&pipeline, "pipeline", false, "")
	cmd.Flags().MarkDeprecated("pipeline", "evaluate always runs as a Beam pipeline now (prism in process unless --runner says otherwise); the flag does nothing and goes in the next release")
	ropt = addRunnerFlags(cmd.Flags())
	return cmd
}

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
