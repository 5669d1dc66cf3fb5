package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/pipelines/train"
)

func newPredictCmd() *cobra.Command {
	var cfg train.PredictConfig
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Write click probabilities of a ranking model for every row of a split as Parquet",
		Long: `predict loads a ranking checkpoint (genrec train on a task: ranking folder)
and writes one Parquet row per impression of --split, ordered by user and
time, atomically:

  user, item (original tokens), timestamp, label, probability, split`,
		Example: `  genrec predict --data out/ml-100k-ranking --checkpoint out/ml-100k-ranking/hstu/model/best.ckpt --out out/ml-100k-ranking/pred.parquet`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Data == "" || cfg.Checkpoint == "" || cfg.Out == "" {
				return usageError{fmt.Errorf("predict needs --data, --checkpoint and --out")}
			}
			switch cfg.Split {
			case "train", "valid", "test", "all":
			default:
				return usageError{fmt.Errorf("--split must be train, valid, test or all, got %q", cfg.Split)}
			}
			n, err := train.PredictRanking(cmd.Context(), cfg)
			if err != nil {
				return missingIsUsage(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "predict: %d probabilities in %s\n", n, cfg.Out)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Data, "data", "", "preprocess output folder (task: ranking)")
	cmd.Flags().StringVar(&cfg.Checkpoint, "checkpoint", "", "ranking checkpoint (model/best.ckpt)")
	cmd.Flags().StringVar(&cfg.Split, "split", "test", "train, valid, test or all")
	cmd.Flags().StringVar(&cfg.Out, "out", "", "Parquet file to write, local or gs://")
	return cmd
}
