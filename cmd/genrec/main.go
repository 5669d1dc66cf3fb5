// Command genrec runs genrec's pipelines: preprocess interaction data into
// Parquet sequences, train, evaluate and serve a model, and a demo on
// embedded synthetic data.
//
//	genrec demo
//	genrec preprocess --input ../shared/data/ml-100k/u.data --out out/ml-100k
//
// One file per subcommand, each returning its *cobra.Command (root.go adds
// them): preprocess.go, train.go, evaluate.go, recommend.go, predict.go,
// export.go, embeditems.go, demo.go, tiger.go, semanticids.go, run.go,
// version.go; runner_flags.go holds the Beam runner flags they share.
//
// Exit status, the same rule for every command: 0 done; 1 the job failed;
// 2 bad usage, bad config or missing input; 3 locked (genrec run); 130
// interrupted (SIGINT or SIGTERM), with one "interrupted; ..." line saying
// what was kept.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/genrec/genrec/transforms"
)

func main() {
	// A runner that starts this binary as a Beam worker passes --worker;
	// Beam's own flags and init hook take over then.
	if slices.ContainsFunc(os.Args[1:], func(a string) bool { return a == "--worker" || a == "--worker=true" || a == "-worker" }) {
		flag.Parse()
		beam.Init()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

// run executes the CLI and maps errors to exit codes.
func run(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var xe exitError
	if ctx.Err() != nil && !errors.As(err, &xe) {
		// Interrupted: whatever error the job died of (a Beam "rpc error:
		// code = Canceled", a context error) is the interruption's echo.
		msg := err.Error()
		if i := strings.Index(msg, "(interrupted; "); i >= 0 { // train says what it kept
			fmt.Fprintln(os.Stderr, "genrec: "+strings.TrimSuffix(msg[i+1:], ")"))
		} else {
			fmt.Fprintln(os.Stderr, "genrec: interrupted; nothing new was published (outputs are written under temporary names and renamed when done)")
		}
		return exitInterrupted
	}
	fmt.Fprintln(os.Stderr, "genrec:", err) // genrec run's 3 (locked) and 130 (interrupted)
	if errors.As(err, &xe) {
		return xe.code
	}
	var ue usageError
	// cobra reports an unknown subcommand as a plain error.
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") {
		fmt.Fprintln(os.Stderr, "Run 'genrec --help' for usage.")
		return 2
	}
	if errors.Is(err, transforms.ErrInvalid) { // bad config or input, found once read
		return 2
	}
	return 1
}

// usageError marks a mistake in how genrec was called (exit status 2).
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// missingIsUsage makes a missing input file a usage error (exit 2), as
// preprocess does.
func missingIsUsage(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return usageError{err}
	}
	return err
}
