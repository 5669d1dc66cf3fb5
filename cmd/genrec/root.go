package main

import (
	"github.com/spf13/cobra"

	"github.com/genrec/genrec/runners"
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
			runners.SetLogLevel("off") // we print the job's own error; --verbose shows the runner's logs
		}
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newPreprocessCmd(), newTrainCmd(), newEvaluateCmd(), newRecommendCmd(), newPredictCmd(), newExportCmd(), newEmbedItemsCmd(), newDemoCmd(), newTigerCmd(), newSemanticIDsCmd(), newRunCmd(), newVersionCmd())
	return root
}
