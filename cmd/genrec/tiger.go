package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/models/tiger/experiment"
	"github.com/genrec/genrec/pipelines"
)

// loadTigerConfig reads the tiger: section of a config file (local or
// gs://; unknown keys are errors naming the line, as every config).
func loadTigerConfig(path string) (experiment.Config, error) {
	job, err := pipelines.LoadJob(context.Background(), path)
	if err != nil {
		return experiment.Config{}, err
	}
	if job.Tiger == nil {
		return experiment.Config{}, fmt.Errorf("config %s has no tiger: section (see configs/demo-tiger.yaml)", path)
	}
	return *job.Tiger, nil
}

func newTigerCmd() *cobra.Command {
	var path, data, modelPath string
	var epochs int
	cmd := &cobra.Command{
		Use:   "tiger",
		Short: "Train and evaluate TIGER: RQ-VAE semantic IDs and an encoder-decoder that generates the next item's ID",
		Long: `tiger runs TIGER (Rajput et al. 2023, arXiv 2305.05065) on a preprocess output
folder, in one process:

  1. item features: co-occurrence features from the training split, plus
     attribute ids (attributes: an item2attributes.json) and/or the vectors of
     a genrec embed-items folder (item_embeddings:);
  2. the RQ-VAE tokenizer (rqvae:, rqvae_fit:), whose L codes plus a
     collision code are every item's semantic ID, written to
     <model_path>/semantic_ids.parquet;
  3. the encoder-decoder (model:) trained with teacher forcing on every
     training prefix, validated by beam search constrained to real items
     (beam:, valid_users:) with early stopping on NDCG@10 (train:);
  4. HR@K and NDCG@K of the test split (leave-one-out, items already in the
     history skipped), printed and written to <model_path>/metrics.json.

Flags override the file.`,
		Example: `  genrec demo && genrec tiger --config configs/demo-tiger.yaml
  genrec preprocess --config configs/beauty-hstu.yaml && genrec tiger --config configs/beauty-tiger.yaml`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return usageError{fmt.Errorf("tiger needs --config (e.g. configs/demo-tiger.yaml)")}
			}
			cfg, err := loadTigerConfig(path)
			if err != nil {
				return usageError{err}
			}
			if data != "" {
				cfg.Data = data
			}
			if modelPath != "" {
				cfg.Train.ModelPath = modelPath
			}
			if epochs > 0 {
				cfg.Train.Epochs = epochs
			}
			cfg.Notes = cmd.ErrOrStderr()
			res, err := experiment.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "tiger: %d items, %d training examples, best epoch %d, %.0fs training (%.0f examples/s); test %v\n",
				res.Items, res.TrainExamples, res.BestEpoch, res.TrainSeconds, res.ExamplesPerSecond, res.Test)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "config", "", "a TIGER config file (configs/*-tiger.yaml)")
	f.StringVar(&data, "data", "", "preprocess output folder (overrides tiger.data)")
	f.StringVar(&modelPath, "model-path", "", "output folder (overrides tiger.train.model_path)")
	f.IntVar(&epochs, "epochs", 0, "training epochs (overrides tiger.train.n_epoch)")
	return cmd
}
