package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/genrec/genrec/pipelines"
	"github.com/genrec/genrec/pipelines/schedule"
)

// Exit statuses of genrec run beyond 0, 1 and 2.
const (
	exitLocked      = 3   // another run holds the partition's lock: retry later
	exitInterrupted = 130 // Ctrl-C or SIGTERM
)

// exitError carries an exit status other than 1 and 2 to main.
type exitError struct {
	code int
	error
}

func (e exitError) Unwrap() error { return e.error }

type runFlags struct {
	config, date, root, partition string
	force                         bool
	lockTimeout                   time.Duration
	k                             int
}

func newRunCmd() *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the whole chain for one dated partition, idempotently (for cron, CronJobs, Airflow)",
		Long: `run makes the partition of one date: it preprocesses the config's inputs
({date} in them becomes --date), trains the config's model, evaluates it,
writes each user's recommendations and exports the model to ONNX, under

  <root>/dt=YYYY-MM-DD/
    data/           preprocess output        model/        checkpoints, train log
    metrics.json    test-split report        eval/         per-user metrics
    recs/           top --k items per user   model.onnx    and model.items.parquet
    _SUCCESS        written last (JSON)

--root defaults to the config's preprocess out:, else out/runs (local or gs://).

A partition with _SUCCESS is done: rerunning it does nothing unless --force,
which removes its outputs and redoes it. A partition left without _SUCCESS
(a failed step writes _FAILED with the step and error) is redone from
scratch. Training warm-starts from the weights of the latest earlier
partition with _SUCCESS when its model configuration and item catalogue are
the same, and says why not otherwise.

The partition's _LOCK (pid, host, start time) keeps two runs of one date
apart; a lock older than --lock-timeout, or whose process has died on this
host, is broken with a message. See docs/SCHEDULING.md.

Exit status:
  0    done, or already done
  1    a step failed (see _FAILED); rerunning redoes the partition
  2    usage or config error; nothing was written
  3    another run holds the partition's lock: retry later
  130  interrupted (Ctrl-C, SIGTERM); _FAILED says where`,
		Example: `  # Yesterday's partition, from cron
  genrec run --config configs/daily.yaml --date $(date -u -d yesterday +%F) --root out/daily

  # Redo a finished date
  genrec run --config configs/daily.yaml --date 2026-11-29 --force`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRun(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.config, "config", "", "YAML config file with preprocess: and train: sections (required)")
	fs.StringVar(&f.date, "date", "", "the partition's date, YYYY-MM-DD (required)")
	fs.StringVar(&f.root, "root", "", "folder of the partitions, local or gs:// (default: the config's preprocess out, else "+schedule.DefaultRoot+")")
	fs.BoolVar(&f.force, "force", false, "redo a partition that is already done")
	fs.StringVar(&f.partition, "partition", "dt", "partition key: folders are named KEY=YYYY-MM-DD")
	fs.DurationVar(&f.lockTimeout, "lock-timeout", schedule.DefaultLockTimeout, "age past which another run's lock is stale and broken (0: never by age)")
	fs.IntVar(&f.k, "k", 10, "recommended items per user in recs/")
	return cmd
}

func runRun(ctx context.Context, stdout, stderr io.Writer, f runFlags) error {
	if f.config == "" || f.date == "" {
		return usageError{errors.New("run needs --config and --date")}
	}
	date, err := time.Parse(time.DateOnly, f.date)
	if err != nil {
		return usageError{fmt.Errorf("--date %q: want YYYY-MM-DD", f.date)}
	}
	if f.k < 1 {
		return usageError{fmt.Errorf("--k must be positive, got %d", f.k)}
	}
	job, err := pipelines.LoadJob(ctx, f.config)
	if err != nil {
		return usageError{err}
	}
	timeout := f.lockTimeout
	if timeout == 0 {
		timeout = -1 // the library's "never"
	}
	var progress io.Writer
	if isTerminal(stderr) {
		progress = stderr
	}
	_, err = schedule.Run(ctx, schedule.Config{
		Job: job, ConfigPath: f.config, Date: date, Root: f.root, PartitionKey: f.partition,
		Force: f.force, LockTimeout: timeout, K: f.k, Version: version, Log: stdout, Progress: progress,
	})
	var ce *schedule.ConfigError
	switch {
	case err == nil:
		return nil // Log said what was done, or that it was done already
	case errors.As(err, &ce):
		return usageError{err}
	case errors.Is(err, schedule.ErrLocked):
		return exitError{exitLocked, err}
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		return exitError{exitInterrupted, err}
	}
	return err
}
