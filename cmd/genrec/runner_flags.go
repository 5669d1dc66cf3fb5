package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

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

// runnerOptions validates the runner flags; a mistake is a usage error.
// paths maps a flag to the files it named: Dataflow's workers cannot read
// this machine's files, so they must be on gs:// (a dry run reads nothing
// and skips the check); workers in other processes (DOCKER, PROCESS,
// EXTERNAL) need absolute paths or gs://.
func runnerOptions(opt *runners.Options, paths map[string][]string) (runners.Options, error) {
	if err := opt.Validate(); err != nil {
		return *opt, usageError{err}
	}
	dataflow := strings.EqualFold(opt.Runner, runners.Dataflow)
	if opt.WorkerBinary == "" && (dataflow && !opt.DryRun || remoteWorkers(opt.EnvironmentType)) {
		// The SDK would cross-compile this program itself, with cgo off,
		// which genrec cannot build without (export/onnx).
		return *opt, usageError{fmt.Errorf("--worker_binary is required when the workers are not this process (--runner=%s --environment_type=%s): "+
			"build genrec for them with: GOOS=linux GOARCH=amd64 go build -o bin/genrec-linux-amd64 ./cmd/genrec",
			opt.Runner, cmp.Or(strings.ToUpper(opt.EnvironmentType), runners.Docker))}
	}
	for _, flag := range slices.Sorted(maps.Keys(paths)) {
		for _, p := range paths[flag] {
			switch {
			case p == "": // not given: the command says if it needs one
			case strings.HasPrefix(p, "gs://"):
			case dataflow && !opt.DryRun:
				return *opt, usageError{fmt.Errorf("%s %s: Dataflow workers read and write Cloud Storage, not this machine: want gs://bucket/...", flag, p)}
			case remoteWorkers(opt.EnvironmentType) && !filepath.IsAbs(p):
				// A worker started by the job server resolves it in the
				// job server's working folder, not in ours.
				return *opt, usageError{fmt.Errorf("%s %s: workers outside this process (--environment_type=%s) do not share its working folder: give an absolute path, or gs://",
					flag, p, strings.ToUpper(opt.EnvironmentType))}
			}
		}
	}
	return *opt, nil
}

// remoteWorkers reports whether an environment type starts the workers
// somewhere else than in this process.
func remoteWorkers(envType string) bool {
	switch strings.ToUpper(envType) {
	case runners.Docker, runners.Process, runners.External:
		return true
	}
	return false
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
