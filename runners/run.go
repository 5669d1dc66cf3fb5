package runners

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/options/jobopts"

	// The runners Run supports register themselves with beam.Run.
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/flink"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/spark"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/universal"
)

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
// runner's result (metrics; a *DryRunJob for a Dataflow dry run) and an
// error: Validate's, or a *JobError that says which runner failed.
//
// The SDK reads the runner settings from its own process-wide flags, so
// Run sets them from opt for the length of the run and puts them back
// afterwards; runs through Run are therefore serialised.
func Run(ctx context.Context, p *beam.Pipeline, opt Options) (beam.PipelineResult, error) {
	initOnce.Do(func() {
		if !beam.Initialized() {
			beam.Init()
		}
		applyLogLevel()
	})
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	opt = opt.withDefaults()
	if opt.Endpoint != "" {
		// The SDK waits two minutes for a job server that is not there.
		if err := reachable(ctx, opt.Endpoint); err != nil {
			return nil, &JobError{Runner: opt.Runner, Err: err}
		}
	}

	runMu.Lock()
	defer runMu.Unlock()
	flags := beamFlagValues(opt)
	inProcess := opt.Runner == Prism && opt.Endpoint == ""
	if inProcess {
		// prism starts a job server in this process when the endpoint is
		// empty and leaves its address in the flag: reuse the first one.
		flags["endpoint"] = prismEndpoint
	}
	restore := setBeamFlags(flags)
	defer restore()
	var dry *dryRunLogger
	if opt.DryRun {
		dry = captureDryRun()
		defer dry.stop()
	}

	res, err := beam.Run(ctx, opt.Runner, p)
	if inProcess && prismEndpoint == "" {
		prismEndpoint = *jobopts.Endpoint
	}
	if err != nil {
		return res, &JobError{Runner: opt.Runner, Err: err}
	}
	if dry != nil {
		return dry.job()
	}
	return res, nil
}

// reachable checks that something accepts connections at the endpoint.
func reachable(ctx context.Context, endpoint string) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", endpoint)
	if err != nil {
		return fmt.Errorf("no job server at --endpoint %s: %w", endpoint, err)
	}
	return c.Close()
}

var (
	// runMu serialises runs: they share the SDK's flags.
	runMu sync.Mutex
	// prismEndpoint is the in-process prism job server, once started.
	prismEndpoint string
)

// beamFlagValues maps the SDK flags Run sets (from options/jobopts,
// options/gcpopts and runners/dataflow) to their values for opt.
func beamFlagValues(opt Options) map[string]string {
	return map[string]string{
		"endpoint":           opt.Endpoint,
		"environment_type":   opt.EnvironmentType,
		"environment_config": opt.EnvironmentConfig,
		"job_name":           opt.JobName,
		"worker_binary":      opt.WorkerBinary,
		"project":            opt.Project,
		"region":             opt.Region,
		"staging_location":   opt.StagingLocation,
		"temp_location":      opt.TempLocation,
		"dry_run":            strconv.FormatBool(opt.DryRun),
	}
}

// setBeamFlags sets the SDK's flags by name, without marking them as
// given on the command line, and returns a function that puts back the
// values they had.
func setBeamFlags(values map[string]string) (restore func()) {
	old := make(map[string]string, len(values))
	for name, v := range values {
		f := flag.Lookup(name)
		if f == nil {
			panic("runners: the Beam SDK defines no --" + name + " flag")
		}
		old[name] = f.Value.String()
		if err := f.Value.Set(v); err != nil {
			panic(fmt.Sprintf("runners: setting Beam's --%s=%q: %v", name, v, err))
		}
	}
	return func() {
		for name, v := range old {
			flag.Lookup(name).Value.Set(v)
		}
	}
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
