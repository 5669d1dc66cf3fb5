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
	"github.com/genrec/genrec/models/baseline"
	"github.com/genrec/genrec/pipelines/preprocess"
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
		Short: "Run the main job on embedded synthetic data: generate, preprocess, evaluate baselines",
		Long: `demo needs no download. It writes a synthetic interaction log (users with
category tastes and a planted "item i is often followed by item succ(i)"
pattern) to <out>/input, preprocesses it into Parquet sequences with the
Beam pipeline on the prism runner, and evaluates the popularity and
first-order Markov baselines with the leave-one-out, full-ranking protocol.
The Markov baseline finding the planted pattern is what a sequential model
must at least match. Outputs:

  <out>/input/interactions.csv, items.csv   the generated data
  <out>/preprocess/...                      sequences, vocab, summary.json
  <out>/metrics.json                        HR/NDCG@10/50/200, MRR, AUC per baseline`,
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
	for _, name := range []string{"popularity", "markov"} {
		m := metrics[name].Map()
		fmt.Fprintf(stdout, "  %-11s %7.4f %8.4f %7.4f %8.4f %7.4f %7.4f\n", name, m["HR@10"], m["NDCG@10"], m["HR@50"], m["NDCG@50"], m["MRR"], m["AUC"])
	}
	fmt.Fprintf(stdout, "metrics written to %s; demo done in %s\n", mpath, time.Since(start).Round(time.Millisecond))
	return nil
}
