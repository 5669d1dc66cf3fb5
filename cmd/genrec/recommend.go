package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/pipelines/recommend"
	"github.com/genrec/genrec/runners"
)

func newRecommendCmd() *cobra.Command {
	var (
		cfg      recommend.Config
		pipeline bool
		ropt     *runners.Options
	)
	cmd := &cobra.Command{
		Use:   "recommend",
		Short: "Write each user's top-K next items as Parquet",
		Long: `recommend loads a checkpoint and, for every user of --data, predicts the next
items after their whole known history (items they already have are not
recommended). It runs as a Beam pipeline on the runner the --runner flags
choose (prism in this process by default) and writes a Parquet dataset
folder --out, one row per (user, rank), published only when every part
succeeded:

  user (string), rank (1 = best), item (token), score (float),
  model_version, source ("model")

--users FILE (one user key per line) writes those users only; a user with
no history in --data (a new user) gets the most popular items of the
training rows instead, scored by their share of the training
interactions, with source "popular".`,
		Example: `  genrec recommend --data out/beauty --checkpoint out/beauty/hstu/best.ckpt --k 20 --out out/beauty/recs

  # Chosen users, new ones included (popularity fallback)
  genrec recommend --data out/ml-100k --checkpoint out/ml-100k/hllm/best.ckpt --users users.txt --out recs

  # Read them back
  duckdb -c "SELECT * FROM 'out/beauty/recs/*.parquet' WHERE user = '1' ORDER BY rank"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Data == "" || cfg.Checkpoint == "" || cfg.Out == "" {
				return usageError{fmt.Errorf("recommend needs --data, --checkpoint and --out")}
			}
			if cfg.K < 1 {
				return usageError{fmt.Errorf("--k must be positive, got %d", cfg.K)}
			}
			opt, err := runnerOptions(ropt, map[string][]string{"--data": {cfg.Data}, "--checkpoint": {cfg.Checkpoint}, "--out": {cfg.Out}, "--users": {cfg.Users}})
			if err != nil {
				return err
			}
			res, err := recommend.Run(cmd.Context(), cfg, opt)
			if err != nil {
				return missingIsUsage(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "recommend: top %d items for %d users in %s (%d part files; model %s)\n", cfg.K, res.Users, cfg.Out, len(res.Files), res.ModelVersion)
			if cfg.Users != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "recommend: %d users in %s: %d known, %d new given the %d most popular items\n", res.Users, cfg.Users, res.Users-res.NewUsers, res.NewUsers, min(cfg.K, res.Items))
			}
			if cfg.K > res.Items {
				fmt.Fprintf(cmd.ErrOrStderr(), "recommend: --k %d is more than the %d items of %s: each user got every item not in their history, fewer than %d\n", cfg.K, res.Items, cfg.Data, cfg.K)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Data, "data", "", "preprocess output folder")
	cmd.Flags().StringVar(&cfg.Checkpoint, "checkpoint", "", "checkpoint file")
	cmd.Flags().IntVar(&cfg.K, "k", 10, "items per user; a user gets at most the catalogue less their history (said when --k is larger)")
	cmd.Flags().StringVar(&cfg.Users, "users", "", "file of user keys, one per line: recommend for these only; new users get the popular items")
	cmd.Flags().StringVar(&cfg.Out, "out", "", "output folder of Parquet part files, local or gs://")
	cmd.Flags().BoolVar(&pipeline, "pipeline", false, "")
	cmd.Flags().MarkDeprecated("pipeline", "recommend always runs as a Beam pipeline now (prism in process unless --runner says otherwise); the flag does nothing and goes in the next release")
	ropt = addRunnerFlags(cmd.Flags())
	return cmd
}
