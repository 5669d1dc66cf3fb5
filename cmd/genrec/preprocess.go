package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/genrec/genrec/pipelines"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

type preprocessFlags struct {
	config         string
	inputs         []string
	format         string
	out            string
	maxSeqLen      int
	stride         int
	minRating      float64
	failFast       bool
	maxBadFraction float64
	cols           [5]string // user, item, time, rating, label column names
	timeFormat     string
	runner         *runners.Options
}

// colFlags are the column-name flags of a table input, in preprocessFlags.cols order.
var colFlags = []struct{ flag, def string }{
	{"user-col", "user"}, {"item-col", "item"}, {"time-col", "timestamp"}, {"rating-col", "rating"}, {"label-col", "label"},
}

func (f *preprocessFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.config, "config", "", "YAML config file (flags override it, it overrides defaults)")
	fs.StringSliceVar(&f.inputs, "input", nil, "input file or glob, local or gs:// (repeat or comma-separate for several)")
	fs.StringVar(&f.format, "format", "", "input format: "+strings.Join(formatNames(), ", ")+" (default: from the file name)")
	fs.StringVar(&f.out, "out", "", "output folder, local or gs:// (default out/preprocess)")
	fs.IntVar(&f.maxSeqLen, "max-seq-len", 0, "items per sequence window (default 50)")
	fs.IntVar(&f.stride, "stride", 0, "distance between training windows (default: max-seq-len, no overlap)")
	fs.Float64Var(&f.minRating, "min-rating", 0, "keep only events rated at least this (rated sources)")
	fs.BoolVar(&f.failFast, "fail-fast", false, "stop at the first malformed line instead of skipping and counting")
	fs.Float64Var(&f.maxBadFraction, "max-bad-fraction", 0, "fail when more than this share of lines is malformed (default 0.01)")
	for i, c := range colFlags {
		fs.StringVar(&f.cols[i], c.flag, "", fmt.Sprintf("format table: name of the %s column (default %q)", strings.TrimSuffix(c.flag, "-col"), c.def))
	}
	fs.StringVar(&f.timeFormat, "time-format", "", "format table: how the time column is written: "+strings.Join(transforms.TimeFormats, ", ")+
		" (default auto: integers are unix seconds, or milliseconds from 1e11 on; else RFC 3339 / ISO-8601 like 2026-11-03T10:00:00Z; else a date 2026-11-03, as UTC)")
	f.runner = addRunnerFlags(fs)
}

// config merges defaults < config file < flags that were set.
func (f *preprocessFlags) resolve(ctx context.Context, fs *pflag.FlagSet) (preprocess.Config, error) {
	cfg := preprocess.Config{}
	if f.config != "" {
		job, err := pipelines.LoadJob(ctx, f.config)
		if err != nil {
			return cfg, err
		}
		cfg = job.Preprocess
	}
	set := func(name string) bool { return fs.Changed(name) }
	if set("input") {
		cfg.Inputs = f.inputs
	}
	if set("format") {
		cfg.Format = f.format
	}
	if set("out") {
		cfg.OutDir = f.out
	}
	if set("max-seq-len") {
		cfg.MaxSeqLen = f.maxSeqLen
	}
	if set("stride") {
		cfg.Stride = f.stride
	}
	if set("min-rating") {
		cfg.MinRating = f.minRating
	}
	if set("fail-fast") {
		cfg.FailFast = f.failFast
	}
	if set("max-bad-fraction") {
		cfg.MaxBadFraction = f.maxBadFraction
	}
	for i, dst := range []*string{&cfg.UserCol, &cfg.ItemCol, &cfg.TimeCol, &cfg.RatingCol, &cfg.LabelCol} {
		if set(colFlags[i].flag) {
			*dst = f.cols[i]
		}
	}
	if set("time-format") {
		cfg.TimeFormat = f.timeFormat
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

func newPreprocessCmd() *cobra.Command {
	var f preprocessFlags
	cmd := &cobra.Command{
		Use:   "preprocess",
		Short: "Encode interactions into leave-one-out, windowed Parquet sequences",
		Long: `preprocess reads interaction files, builds the user and item vocabularies,
groups each user's history, sorts it by time (ties keep file order), splits
it leave-one-out (test = last item, valid = second to last, train = the rest;
users with fewer than 3 events go to train only) and cuts training histories
into windows of --max-seq-len items. It writes, under --out:

  sequences/part-*.parquet  user, split, items, timestamps, target
  vocab/part-*.parquet      feature, id, token, count (id 0 = padding/unknown)
  summary.json              counts, bad lines, files (written last)

With task: ranking in the config (the CTR task), it writes instead of
sequences one labelled row per impression:

  ranking/part-*.parquet    user, item, timestamp, history (items strictly
                            before it), history_times, label, split

label = rating >= ranking.label_threshold (default 4), a label column, or
for implicit data ranking.negatives sampled unseen items per event; the
split is by global time quantiles (default 70/10/20) or split: random.

Malformed lines are skipped, counted and reported with file:line; the job
fails if they exceed --max-bad-fraction, or at the first one with --fail-fast.
Files get their final names only when the whole job succeeds.

It runs on prism in this process unless --runner says otherwise: a job
server (universal, flink, spark) or Dataflow; docs/RUNNING.md has the
commands.`,
		Example: `  # MovieLens-100K, sequences of up to 200 items
  genrec preprocess --input ml-100k/u.data --max-seq-len 200 --out out/ml-100k

  # Amazon Beauty in the S3-Rec one-line-per-user format
  genrec preprocess --input Beauty.txt --format seq-lines --out out/beauty

  # A generic table (header: user,item,timestamp[,rating,...]) from several files
  genrec preprocess --input 'logs/2026-11-*.csv' --format table --out out/logs

  # Labelled click rows for the ranking task (see the config's ranking: section)
  genrec preprocess --config configs/ml-100k-ranking.yaml

  # Everything from a config file, one flag overridden
  genrec preprocess --config configs/ml-100k.yaml --max-seq-len 50

  # On a Flink, Spark or standalone prism job server (docs/RUNNING.md)
  genrec preprocess --input ml-100k/u.data --out out/ml-100k --runner universal --endpoint localhost:8099

  # Print the Dataflow job it would submit (no credentials needed for local inputs)
  genrec preprocess --input ml-100k/u.data --out out/ml-100k --runner dataflow \
    --project my-project --region us-central1 --staging_location gs://my-bucket/staging --dry_run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.resolve(cmd.Context(), cmd.Flags())
			if err != nil {
				return err
			}
			ropt, err := runnerOptions(f.runner, map[string][]string{"--input": cfg.Inputs, "--out": {cfg.OutDir}})
			if err != nil {
				return err
			}
			if ropt.DryRun {
				return printDryRun(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), ropt,
					func(s beam.Scope) error { return preprocess.Pipeline(s, cfg) })
			}
			_, err = runPreprocess(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), cfg, ropt)
			return err
		},
	}
	f.register(cmd.Flags())
	return cmd
}

// runPreprocess runs the pipeline with a progress bar over the input bytes
// and prints the summary.
func runPreprocess(ctx context.Context, stdout, stderr io.Writer, cfg preprocess.Config, ropt runners.Options) (preprocess.Summary, error) {
	files, err := transforms.ExpandInputs(ctx, cfg.Inputs)
	if err != nil {
		return preprocess.Summary{}, usageError{err}
	}
	bar := progressbar.NewOptions64(totalSize(ctx, files),
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetDescription("preprocess: reading"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetVisibility(isTerminal(stderr)),
	)
	transforms.SetProgress(func(n int64) { bar.Add64(n) })
	defer transforms.SetProgress(nil)
	start := time.Now()
	sum, err := preprocess.Run(ctx, cfg, ropt)
	bar.Finish()
	if err != nil {
		return sum, err
	}
	printSummary(stdout, sum, time.Since(start))
	return sum, nil
}

func printSummary(w io.Writer, s preprocess.Summary, took time.Duration) {
	fmt.Fprintf(w, "preprocess done in %s (%s, %d file(s))\n", took.Round(time.Millisecond), s.Format, len(s.Inputs))
	fmt.Fprintf(w, "  lines read      %d\n", s.LinesRead)
	fmt.Fprintf(w, "  events          %d read, %d in sequences\n", s.EventsRead, s.Events)
	fmt.Fprintf(w, "  bad lines       %d\n", s.BadLines)
	for _, b := range s.BadSamples {
		fmt.Fprintf(w, "    %s\n", b)
	}
	fmt.Fprintf(w, "  users           %d (%d train only: < 3 events)\n", s.Users, s.UsersShort)
	fmt.Fprintf(w, "  items           %d\n", s.Items)
	tables := []string{transforms.TableSequences, transforms.TableVocab}
	if r := s.Ranking; s.Task == preprocess.TaskRanking && r != nil {
		fmt.Fprintf(w, "  ranking rows    train %d, valid %d, test %d (split %s %v; histories of up to %d items)\n",
			s.Rows["train"], s.Rows["valid"], s.Rows["test"], r.Split, r.SplitRatio, s.MaxSeqLen)
		fmt.Fprintf(w, "  positives       %d of %d (train %d, valid %d, test %d); %d rows with an empty history\n",
			r.Positives, r.Rows, r.PositivesBySplit["train"], r.PositivesBySplit["valid"], r.PositivesBySplit["test"], r.RowsNoHistory)
		tables = []string{transforms.TableRanking, transforms.TableVocab}
	} else {
		fmt.Fprintf(w, "  rows            train %d, valid %d, test %d (max_seq_len %d, stride %d)\n",
			s.Rows["train"], s.Rows["valid"], s.Rows["test"], s.MaxSeqLen, s.Stride)
	}
	for _, t := range tables {
		fmt.Fprintf(w, "  %-15s %d file(s) in %s\n", t, len(s.Tables[t]), transforms.JoinPath(s.OutDir, t))
	}
	fmt.Fprintf(w, "  summary         %s\n", transforms.JoinPath(s.OutDir, preprocess.SummaryFile))
	if len(s.StaleTemps) > 0 {
		fmt.Fprintf(w, "  removed         %d stale temporary folder(s) of killed earlier runs: %s\n",
			len(s.StaleTemps), strings.Join(s.StaleTemps, ", "))
	}
}

func totalSize(ctx context.Context, files []string) int64 {
	var n int64
	for _, f := range files {
		fs, err := filesystem.New(ctx, f)
		if err != nil {
			continue
		}
		if sz, err := fs.Size(ctx, f); err == nil {
			n += sz
		}
		fs.Close()
	}
	return n
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func formatNames() []string {
	var names []string
	for _, f := range transforms.Formats() {
		names = append(names, string(f))
	}
	return names
}
