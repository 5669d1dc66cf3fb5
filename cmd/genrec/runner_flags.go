package main

import (
	"context"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/spf13/pflag"

	"github.com/genrec/genrec/runners"
)

// addRunnerFlags gives a command that runs a Beam pipeline the runner
// flags every such command shares: --runner, --endpoint,
// --environment_type, ..., --dry_run (runners.RegisterFlags).
func addRunnerFlags(fs *pflag.FlagSet) *runners.Options {
	return runners.RegisterFlags(fs)
}

// runnerOptions validates the runner flags and the files the command
// names (paths maps a flag to them: runners.Options.ValidatePaths); a
// mistake is a usage error.
func runnerOptions(opt *runners.Options, paths map[string][]string) (runners.Options, error) {
	if err := opt.Validate(); err != nil {
		return *opt, usageError{err}
	}
	if err := opt.ValidatePaths(paths); err != nil {
		return *opt, usageError{err}
	}
	return *opt, nil
}

// printDryRun builds a pipeline with build, has the Dataflow runner
// translate it without submitting it, and prints the job request (JSON)
// to stdout.
func printDryRun(ctx context.Context, stdout, stderr io.Writer, ropt runners.Options, build func(beam.Scope) error) error {
	p, s := beam.NewPipelineWithRoot()
	if err := build(s); err != nil {
		return err
	}
	res, err := runners.Run(ctx, p, ropt)
	if err != nil {
		return err
	}
	job, ok := res.(*runners.DryRunJob)
	if !ok {
		return fmt.Errorf("dry run: the runner returned %T, not the job it would submit", res)
	}
	fmt.Fprintln(stdout, job.Job)
	fmt.Fprintln(stderr, "dry run: the Dataflow job above was built, not submitted")
	return nil
}
