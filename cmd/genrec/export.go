package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/pipelines/train"
)

func newExportCmd() *cobra.Command {
	var (
		cfg      train.ExportConfig
		format   string
		quantize string
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write a trained model as ONNX (plus its item embeddings as Parquet)",
		Long: `export writes a checkpoint's model as an ONNX file (IR 8, opset 17) that
onnxruntime serves without Go, and its L2-normalised item embeddings as
Parquet for an approximate-nearest-neighbour index. Both are written
atomically. Only hstu models can be exported (retrieval, and the ranking
task's click model: history + candidate -> probability, see docs/EXPORT.md).

Inputs (batch and seq are dynamic; rows left-aligned, seq <= max_seq_len):
  item_ids    int64 [batch, seq]  encoded item ids, 0 = padding
  lengths     int64 [batch]       valid positions per row
  timestamps  int64 [batch, seq]  Unix times (models with time bias)
  query_time  int64 [batch]       time of the request (models with time bias)
  user_ids    int64 [batch]       encoded user ids (models with user side features)
Outputs:
  user_embedding  float [batch, d]      L2-normalised
  scores          float [batch, items]  every item's score; column = encoded item id
  top_k_items     int64 [batch, k]      best items, the row's own items excluded
  top_k_scores    float [batch, k]

The item Parquet (model.items.parquet beside model.onnx) has columns item
(encoded id), item_key (original token) and embedding: user_embedding ·
embedding is the model's score. With --data, export also ranks the test split
with the written file in onnxruntime and with the Go model and prints both
(the quality cost of --quantize int8). --data needs the onnxruntime shared
library: $ONNXRUNTIME_LIB, else the copy "make deps" installs under the
repository's .cache/ort (found from the working directory or from this
binary's folder, so from anywhere), else /usr/local/lib or /usr/lib. See
docs/EXPORT.md.`,
		Example: `  genrec export --checkpoint out/beauty/hstu/best.ckpt --out out/beauty/hstu.onnx
  genrec export --checkpoint out/beauty/hstu/best.ckpt --out out/beauty/hstu-int8.onnx --quantize int8 --data out/beauty`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Checkpoint == "" || cfg.Out == "" {
				return usageError{fmt.Errorf("export needs --checkpoint and --out")}
			}
			if format != "onnx" {
				return usageError{fmt.Errorf("--format %q: the only format is onnx", format)}
			}
			q, err := onnx.ParseQuantization(quantize)
			if err != nil {
				return usageError{err}
			}
			cfg.Quantization = q
			res, err := train.Export(cmd.Context(), cfg)
			if err != nil {
				return missingIsUsage(err)
			}
			printExport(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().StringVar(&cfg.Checkpoint, "checkpoint", "", "checkpoint file (best.ckpt or last.ckpt)")
	cmd.Flags().StringVar(&cfg.Out, "out", "", "ONNX file to write, local or gs://")
	cmd.Flags().StringVar(&format, "format", "onnx", "artifact format (onnx)")
	cmd.Flags().StringVar(&quantize, "quantize", "none", "weights: none (float32) or int8 (per-channel int8, MatMulInteger; ~4x smaller)")
	cmd.Flags().IntVar(&cfg.TopK, "top-k", 10, "items in top_k_items per row")
	cmd.Flags().StringVar(&cfg.Items, "items", "", "item-embedding Parquet to write (default: --out with .items.parquet; - for none)")
	cmd.Flags().StringVar(&cfg.Data, "data", "", "preprocess folder: rank its test split with the file (onnxruntime) and the Go model")
	return cmd
}

func printExport(w io.Writer, res train.ExportResult) {
	fmt.Fprintf(w, "export: %s (%.1f MiB)\n", res.Out, float64(res.Bytes)/(1<<20))
	if res.Items != "" {
		fmt.Fprintf(w, "export: item embeddings in %s\n", res.Items)
	}
	if !res.Checked {
		return
	}
	if res.GoRanking.N > 0 {
		fmt.Fprintf(w, "test split, %d impressions:\n", res.GoRanking.N)
		for _, x := range []struct {
			name string
			r    eval.LabelledReport
		}{{"genrec (Go)", res.GoRanking}, {"onnxruntime", res.ONNXRanking}} {
			fmt.Fprintf(w, "  %-12s  AUC %.4f  GAUC %.4f  logloss %.4f\n", x.name, x.r.AUC, x.r.GAUC, x.r.LogLoss)
		}
		return
	}
	fmt.Fprintf(w, "test split, %d users:\n", res.Go.Users)
	line := func(name string, r eval.Report) {
		fmt.Fprintf(w, "  %-12s", name)
		for i, k := range r.Ks {
			fmt.Fprintf(w, "  HR@%d %.4f  NDCG@%d %.4f", k, r.HR[i], k, r.NDCG[i])
		}
		fmt.Fprintf(w, "  MRR %.4f\n", r.MRR)
	}
	line("genrec (Go)", res.Go)
	line("onnxruntime", res.ONNX)
}
