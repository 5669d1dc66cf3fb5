package main

import (
	"log/slog"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "genrec",
		Short: "Generative sequential recommenders (HSTU, HLLM) as Apache Beam batch pipelines",
		Long: `genrec turns interaction logs into the training data of generative sequential
recommenders and evaluates them, as Apache Beam batch pipelines that run
locally on Beam's prism runner with no setup.

Start with the demo, which runs on embedded synthetic data:

  genrec demo

then preprocess a real data set, e.g. MovieLens-100K:

  genrec preprocess --input ml-100k/u.data --out out/ml-100k`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var verbose bool
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "show the Beam runner's own log lines")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		if !verbose {
			slog.SetLogLoggerLevel(slog.LevelWarn) // prism logs every job state at INFO
		}
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newPreprocessCmd(), newDemoCmd(), newVersionCmd())
	return root
}
