package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/baseline"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines/evaluate"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/recommend"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

func newDemoCmd() *cobra.Command {
	var out string
	var users, items int
	var seed uint64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the main job on embedded synthetic data: generate, preprocess, train HSTU, evaluate",
		Long: `demo needs no download. It writes a synthetic interaction log (users with
category tastes and a planted "item i is often followed by item succ(i)"
pattern) to <out>/input, preprocesses it into Parquet sequences with the
Beam pipeline on the prism runner, trains a small HSTU on it, and evaluates
it beside the popularity and first-order Markov baselines with the
leave-one-out, full-ranking protocol. The Markov baseline finding the
planted pattern is what a sequential model must at least match. Outputs:

  <out>/input/interactions.csv, items.csv   the generated data
  <out>/preprocess/...                      sequences, vocab, summary.json
  <out>/hstu/...                            checkpoints, train_log.jsonl/.png
  <out>/metrics.json                        HR/NDCG@10/50/200, MRR, AUC per model`,
		Example: `  genrec demo
  genrec demo --out /tmp/genrec-demo --users 5000 --seed 7`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := synthetic.DefaultConfig()
			cfg.Users, cfg.Items, cfg.Seed = users, items, seed
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			return runDemo(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), out, cfg)
		},
	}
	d := synthetic.DefaultConfig()
	cmd.Flags().StringVar(&out, "out", "out/demo", "output folder")
	cmd.Flags().IntVar(&users, "users", d.Users, "synthetic users")
	cmd.Flags().IntVar(&items, "items", d.Items, "synthetic items")
	cmd.Flags().Uint64Var(&seed, "seed", d.Seed, "random seed (same seed, same data)")
	return cmd
}

// demoTrainConfig is the small HSTU the demo trains (configs/demo-hstu.yaml
// holds the same settings for genrec train).
func demoTrainConfig(data, modelPath string, seed uint64) train.Config {
	return train.Config{TrainSpec: models.TrainSpec{
		Data: data,
		Spec: models.Spec{Name: "hstu", Transformer: hstu.TransformerParams{
			NumLayers: 2, NumHeads: 1, HiddenSize: 32, Dropout: 0.2}},
		Options: trainer.Options{
			Epochs: 30, BatchSize: 128, EarlyStopPatience: 3, Seed: seed, ModelPath: modelPath,
			Loss: sequential.LossConfig{Negatives: 64}, Optimizer: trainer.OptimizerParams{LR: 2e-3},
		},
	}}
}

// demoKs are the cutoffs of DESIGN.md's protocol.
var demoKs = []int{10, 50, 200}

func runDemo(ctx context.Context, stdout, stderr io.Writer, out string, cfg synthetic.Config) error {
	start := time.Now()
	input := transforms.JoinPath(out, "input", "interactions.csv")
	var buf bytes.Buffer
	n, err := synthetic.WriteInteractionsCSV(&buf, cfg)
	if err != nil {
		return err
	}
	if err := transforms.WriteFileAtomic(ctx, input, buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := synthetic.WriteItemsCSV(&buf, cfg); err != nil {
		return err
	}
	if err := transforms.WriteFileAtomic(ctx, transforms.JoinPath(out, "input", "items.csv"), buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo: generated %d events of %d users over %d items in %s\n", n, cfg.Users, cfg.Items, input)

	pcfg := preprocess.DefaultConfig()
	pcfg.Inputs = []string{input}
	pcfg.Format = "table"
	pcfg.OutDir = transforms.JoinPath(out, "preprocess")
	sum, err := runPreprocess(ctx, stdout, stderr, pcfg, runners.Options{})
	if err != nil {
		return err
	}

	rows, err := transforms.LoadTable[transforms.SequenceRow](ctx, transforms.JoinPath(pcfg.OutDir, transforms.TableSequences))
	if err != nil {
		return err
	}
	size := sum.Items + 1
	metrics := map[string]eval.Report{}
	for _, s := range []baseline.Scorer{baseline.FitPopularity(rows, size), baseline.FitMarkov(rows, size)} {
		rep, err := baseline.Evaluate(s, rows, transforms.SplitTest, size, demoKs)
		if err != nil {
			return err
		}
		metrics[s.Name()] = rep
	}
	tcfg := demoTrainConfig(pcfg.OutDir, transforms.JoinPath(out, "hstu"), cfg.Seed)
	fmt.Fprintf(stdout, "\ntraining HSTU (%d layers, d=%d, %d negatives) on %s, one Beam pipeline per epoch (one shard: the same weights as the in-process trainer):\n",
		tcfg.Transformer.NumLayers, tcfg.Transformer.HiddenSize, tcfg.Loss.Negatives, pcfg.OutDir)
	if err := runRounds(ctx, stdout, tcfg, trainFlags{shards: 1, runner: &runners.Options{}}); err != nil {
		return err
	}
	// Evaluate and recommend as Beam pipelines (prism), then export.
	ckpt := transforms.JoinPath(tcfg.ModelPath, "best.ckpt")
	evalOut := transforms.JoinPath(out, "eval")
	hrep, err := evaluate.Run(ctx, evaluate.Config{Data: pcfg.OutDir, Checkpoint: ckpt, Ks: demoKs, Out: evalOut}, runners.Options{})
	if err != nil {
		return err
	}
	metrics["hstu"] = hrep
	recsOut := transforms.JoinPath(out, "recommendations")
	recs, err := recommend.Run(ctx, recommend.Config{Data: pcfg.OutDir, Checkpoint: ckpt, K: 10, Out: recsOut}, runners.Options{})
	if err != nil {
		return err
	}
	onnxOut := transforms.JoinPath(out, "hstu.onnx")
	if _, err := train.Export(ctx, train.ExportConfig{Checkpoint: ckpt, Out: onnxOut}); err != nil {
		return err
	}
	b, err := json.MarshalIndent(metrics, "", "  ")
	if err != nil {
		return err
	}
	mpath := transforms.JoinPath(out, "metrics.json")
	if err := transforms.WriteFileAtomic(ctx, mpath, append(b, '\n')); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\ntest metrics (leave-one-out, full ranking over %d items, history masked, %d users):\n", sum.Items, metrics["markov"].Users)
	fmt.Fprintf(stdout, "  %-11s %7s %8s %7s %8s %7s %7s\n", "model", "HR@10", "NDCG@10", "HR@50", "NDCG@50", "MRR", "AUC")
	for _, name := range []string{"popularity", "markov", "hstu"} {
		m := metrics[name].Map()
		fmt.Fprintf(stdout, "  %-11s %7.4f %8.4f %7.4f %8.4f %7.4f %7.4f\n", name, m["HR@10"], m["NDCG@10"], m["HR@50"], m["NDCG@50"], m["MRR"], m["AUC"])
	}
	fmt.Fprintf(stdout, "\noutputs:\n")
	fmt.Fprintf(stdout, "  preprocessed data     %s\n", pcfg.OutDir)
	fmt.Fprintf(stdout, "  model                 %s\n", ckpt)
	fmt.Fprintf(stdout, "  evaluation (pipeline) %s (metrics.json, per-user metrics.parquet)\n", evalOut)
	fmt.Fprintf(stdout, "  recommendations       %s (top 10 for %d users, pipeline)\n", recsOut, recs.Users)
	fmt.Fprintf(stdout, "  ONNX model            %s (+ item embeddings %s)\n", onnxOut, train.ItemsPath(onnxOut))
	fmt.Fprintf(stdout, "  all metrics           %s\n", mpath)
	fmt.Fprintf(stdout, "demo done in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}
