package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/models/tiger/experiment"
	"github.com/genrec/genrec/transforms"
)

func newSemanticIDsCmd() *cobra.Command {
	var path, data, out string
	cmd := &cobra.Command{
		Use:   "semantic-ids",
		Short: "Train TIGER's RQ-VAE tokenizer and write every item's semantic ID to Parquet",
		Long: `semantic-ids runs steps 1 and 2 of genrec tiger only: the item features of the
config's tiger: section and the RQ-VAE (rqvae:, rqvae_fit:), then writes

  <out>   item, item_key, codes (the L RQ-VAE codes), collision (the code that
          makes a tuple shared by several items unique)

The same seed (tiger.train.seed) gives the same codes. It runs in-process,
not as a Beam pipeline.`,
		Example: `  genrec semantic-ids --config configs/beauty-tiger.yaml --out out/beauty/semantic_ids.parquet`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" || out == "" {
				return usageError{fmt.Errorf("semantic-ids needs --config and --out")}
			}
			cfg, err := loadTigerConfig(path)
			if err != nil {
				return usageError{err}
			}
			if data != "" {
				cfg.Data = data
			}
			cfg.Notes = cmd.ErrOrStderr()
			d, err := transforms.LoadDataset(cmd.Context(), cfg.Data)
			if err != nil {
				return err
			}
			ids, codes, rep, err := experiment.SemanticIDs(cmd.Context(), cfg, d)
			if err != nil {
				return err
			}
			if err := experiment.WriteSemanticIDs(cmd.Context(), out, d, ids); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "semantic-ids: %d items, codes per level %v, %.1f%% unique before the collision code; %s\n",
				d.Items()-1, codes, 100*rep.Unique, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&path, "config", "", "a TIGER config file (configs/*-tiger.yaml)")
	f.StringVar(&data, "data", "", "preprocess output folder (overrides tiger.data)")
	f.StringVar(&out, "out", "", "the Parquet file to write")
	return cmd
}
