package runners

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
)

// Options choose the runner.
type Options struct {
	// Runner is the Beam runner name; "" means prism.
	Runner string
}

var initOnce sync.Once

// SetLogLevel sets the level of the runner's and SDK's own log lines:
// "debug", "info" (Beam's default), "warn", "error" or "off". prism logs
// every job state change at info, and a failed job's whole execution plan
// at error; "off" is for callers that report the job's error themselves.
func SetLogLevel(level string) {
	logLevel = level
	if beam.Initialized() {
		applyLogLevel()
	}
}

var logLevel = "info"

func applyLogLevel() {
	if logLevel == "off" {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
		return
	}
	beamlog.LogLevel = logLevel
	beamlog.SetupLoggingWithDefault()
}

// Run executes p on the chosen runner and waits for it. It returns the
// runner's result (metrics) and an error that says which runner failed.
func Run(ctx context.Context, p *beam.Pipeline, opt Options) (beam.PipelineResult, error) {
	initOnce.Do(func() {
		if !beam.Initialized() {
			beam.Init()
		}
		applyLogLevel()
	})
	runner := opt.Runner
	if runner == "" {
		runner = "prism"
	}
	switch runner {
	case "prism":
	default:
		return nil, fmt.Errorf("runners: runner %q is not supported yet (supported: prism)", runner)
	}
	res, err := beam.Run(ctx, runner, p)
	if err != nil {
		return res, &JobError{Runner: runner, Err: err}
	}
	return res, nil
}

// JobError is a failed job. Its message is the error our own code raised
// in a DoFn (runners wrap it in the stage's whole execution plan); Err
// keeps the runner's full report.
type JobError struct {
	Runner string
	Err    error
}

func (e *JobError) Error() string {
	msg := e.Err.Error()
	const marker = "] failed:\n"
	if i := strings.LastIndex(msg, marker); i >= 0 {
		msg = msg[i+len(marker):]
		if j := strings.IndexByte(msg, '\n'); j >= 0 {
			msg = msg[:j]
		}
	}
	return strings.TrimSpace(msg)
}

func (e *JobError) Unwrap() error { return e.Err }
