package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/pipelines/recommend"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
)

func newRecommendCmd() *cobra.Command {
	var (
		cfg      train.RecommendConfig
		pipeline bool
		ropt     *runners.Options
	)
	cmd := &cobra.Command{
		Use:   "recommend",
		Short: "Write each user's top-K next items as Parquet",
		Long: `recommend loads a checkpoint and, for every user of --data, predicts the next
items after their whole known history (items they already have are not
recommended). It writes one Parquet file, atomically:

  user (string), items (list of item tokens, best first), scores (list of
  float), source ("model")

--users FILE (one user key per line) writes those users only, in file
order; a user with no history in --data (a new user) gets the most popular
items of the training rows instead, scored by their share of the training
interactions, with source "popular".`,
		Example: `  genrec recommend --data out/beauty --checkpoint out/beauty/hstu/best.ckpt --k 20 --out out/beauty/recs.parquet

  # Chosen users, new ones included (popularity fallback)
  genrec recommend --data out/ml-100k --checkpoint out/ml-100k/hllm/best.ckpt --users users.txt --out recs.parquet`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Data == "" || cfg.Checkpoint == "" || cfg.Out == "" {
				return usageError{fmt.Errorf("recommend needs --data, --checkpoint and --out")}
			}
			if cfg.K < 1 {
				return usageError{fmt.Errorf("--k must be positive, got %d", cfg.K)}
			}
			if pipeline && cfg.Users != "" {
				return usageError{fmt.Errorf("--users is not supported with --pipeline: the pipeline writes every user of --data")}
			}
			if pipeline {
				opt, err := runnerOptions(ropt, map[string][]string{"--data": {cfg.Data}, "--checkpoint": {cfg.Checkpoint}, "--out": {cfg.Out}})
				if err != nil {
					return err
				}
				res, err := recommend.Run(cmd.Context(), recommend.Config{Data: cfg.Data, Checkpoint: cfg.Checkpoint, K: cfg.K, Out: cfg.Out}, opt)
				if err != nil {
					return missingIsUsage(err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "recommend: top %d items for %d users in %s (%d part files; model %s)\n", cfg.K, res.Users, cfg.Out, len(res.Files), res.ModelVersion)
				if cfg.K > res.Items {
					fmt.Fprintf(cmd.ErrOrStderr(), "recommend: --k %d is more than the %d items of %s: each user got every item not in their history, fewer than %d\n", cfg.K, res.Items, cfg.Data, cfg.K)
				}
				return nil
			}
			cfg.Notes = cmd.ErrOrStderr()
			n, err := train.Recommend(cmd.Context(), cfg)
			if err != nil {
				return missingIsUsage(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recommend: top %d items for %d users in %s\n", cfg.K, n, cfg.Out)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Data, "data", "", "preprocess output folder")
	cmd.Flags().StringVar(&cfg.Checkpoint, "checkpoint", "", "checkpoint file")
	cmd.Flags().IntVar(&cfg.K, "k", 10, "items per user; a user gets at most the catalogue less their history (said when --k is larger)")
	cmd.Flags().StringVar(&cfg.Users, "users", "", "file of user keys, one per line: recommend for these only; new users get the popular items")
	cmd.Flags().StringVar(&cfg.Out, "out", "", "Parquet file to write, local or gs:// (with --pipeline: a folder of part files)")
	cmd.Flags().BoolVar(&pipeline, "pipeline", false, "run as a Beam pipeline on --runner: one row per (user, rank) with item, score and model version, for every user")
	ropt = addRunnerFlags(cmd.Flags())
	return cmd
}
