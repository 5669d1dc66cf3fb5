package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/pipelines/embeditems"
	"github.com/genrec/genrec/runners"
)

func newEmbedItemsCmd() *cobra.Command {
	var (
		cfg  embeditems.Config
		ropt *runners.Options
	)
	cmd := &cobra.Command{
		Use:   "embed-items",
		Short: "Encode item texts into embeddings as a Beam pipeline (HLLM's item side)",
		Long: `embed-items reads an item metadata file (u.item, movies.dat, movies.csv,
*item2attributes.json; optionally MovieLens tags.csv), builds each item's
text from --template, encodes the texts in batches with the encoder loaded
once per worker, and writes under --out:

  item_embeddings.parquet/part-*.parquet   item_key, item, vector, encoder, text_hash

--encoder hashed (the default) is the built-in hashed word/character n-gram
encoder, which needs no weights; a folder path loads a HuggingFace BERT
(config.json, vocab.txt, model.safetensors). A rerun into the same --out
re-encodes only the items whose text changed (same encoder); the others are
copied. Throughput (items/s) is printed at the end.`,
		Example: `  genrec embed-items --items ../shared/data/ml-100k/u.item --out out/ml-100k-items
  genrec embed-items --items ../shared/data/ml-latest-small/movies.csv --tags ../shared/data/ml-latest-small/tags.csv \
      --data out/ml-latest-small --out out/mls-items
  genrec embed-items --items movies.csv --encoder /models/bert-base-uncased --pooling cls --out out/items-bert`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Items == "" || cfg.Out == "" {
				return usageError{fmt.Errorf("embed-items needs --items and --out")}
			}
			opt, err := runnerOptions(ropt, map[string][]string{"--items": {cfg.Items}, "--out": {cfg.Out}})
			if err != nil {
				return err
			}
			res, err := embeditems.Run(cmd.Context(), cfg, opt)
			if err != nil {
				return missingIsUsage(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "embed-items: %d items (%d encoded, %d reused) with %s in %.1fs, %.0f items/s; %s\n",
				res.Rows, res.Encoded, res.Reused, res.Encoder, res.Seconds, res.ItemsPerSecond, cfg.Out)
			if len(res.StaleTemps) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "embed-items: removed %d stale temporary folder(s) of killed earlier runs: %s\n",
					len(res.StaleTemps), strings.Join(res.StaleTemps, ", "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Items, "items", "", "item metadata file, local or gs://")
	f.StringVar(&cfg.Format, "format", "", "metadata format (default: from the file name)")
	f.StringVar(&cfg.Tags, "tags", "", "optional MovieLens tags.csv: tags join the text")
	f.StringVar(&cfg.Data, "data", "", "optional preprocess folder: keep its items only, keyed by their encoded ids")
	f.StringVar(&cfg.Template, "template", "", `item text template (default "Title: {title}. Genres: {genres}. Tags: {tags}.")`)
	f.StringVar(&cfg.Encoder, "encoder", "hashed", "hashed (built in, no weights) or a HuggingFace BERT folder, local or gs:// (config.json, vocab.txt, model.safetensors)")
	f.IntVar(&cfg.Dim, "dim", 0, "hashed encoder dimension (default 64)")
	f.StringVar(&cfg.Pooling, "pooling", "", "pooling: the model's own by default (BERT: mean; a sentence-transformers folder: its pooling; a LLaMA/Qwen2 decoder: last); mean, cls, last (decoders), or item (the hidden state of an [ITEM] token appended to the text, as HLLM; the vocabulary must hold [ITEM])")
	f.IntVar(&cfg.BatchSize, "batch-size", 0, "texts per encoder call (default 64)")
	f.StringVar(&cfg.Out, "out", "", "output folder, local or gs://")
	ropt = addRunnerFlags(f)
	return cmd
}
