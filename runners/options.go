package runners

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core"
	"github.com/spf13/pflag"
)

// Runner names. Universal, Flink and Spark all submit the portable
// pipeline to a job server at Options.Endpoint; Flink and Spark differ
// from universal only in the name the job is reported under.
const (
	Prism     = "prism"
	Universal = "universal"
	Flink     = "flink"
	Spark     = "spark"
	Dataflow  = "dataflow"
)

// Supported lists the runner names Run accepts, the default first.
func Supported() []string { return []string{Prism, Universal, Flink, Spark, Dataflow} }

// Environment types: where the runner starts the SDK workers that execute
// the pipeline's DoFns.
const (
	// Loopback runs the workers inside the submitting process, which
	// listens on localhost: the job server must run on this machine. The
	// default for every runner but Dataflow.
	Loopback = "LOOPBACK"
	// Docker runs each worker in a container, by default
	// apache/beam_go_sdk:<SDK version>. Dataflow's only environment.
	Docker = "DOCKER"
	// Process runs the Go boot loader named by Options.EnvironmentConfig
	// on the runner's machines.
	Process = "PROCESS"
	// External uses a worker pool already listening at
	// Options.EnvironmentConfig.
	External = "EXTERNAL"
)

// Options choose the runner and say what it needs. The zero value runs
// on an in-process prism. Fields a runner does not use must stay empty
// (Validate says which flag is out of place).
type Options struct {
	// Runner is one of Supported(); "" means prism.
	Runner string

	// Endpoint is the job server as host:port, for universal, Flink and
	// Spark (required there). With prism it names a standalone prism to
	// submit to instead of starting one in this process. The job server's
	// Beam version must equal the SDK's (core.SdkVersion).
	Endpoint string
	// EnvironmentType is LOOPBACK, DOCKER, PROCESS or EXTERNAL; "" means
	// LOOPBACK, except on Dataflow, which only runs DOCKER.
	EnvironmentType string
	// EnvironmentConfig is the container image for DOCKER (default
	// apache/beam_go_sdk:<SDK version>), the JSON {"command": "..."} of the
	// boot loader for PROCESS, or the worker pool's host:port for EXTERNAL.
	EnvironmentConfig string
	// JobName is the name the runner shows; "" lets the SDK make one up.
	JobName string

	// Project is the Google Cloud project Dataflow runs in.
	Project string
	// Region is the Dataflow region, e.g. us-central1.
	Region string
	// StagingLocation is the gs:// folder Dataflow stages the worker
	// binary and the job graph in.
	StagingLocation string
	// TempLocation is the gs:// folder for Dataflow's temporary files;
	// "" means StagingLocation/tmp.
	TempLocation string
	// WorkerBinary is this program built for the workers (linux/amd64)
	// when they are not this process (DOCKER, PROCESS, EXTERNAL, Dataflow).
	// "" makes the SDK compile the main package from the source this
	// program was built from, with cgo off: that needs the source and a Go
	// toolchain, and fails for a program that needs cgo (genrec does).
	WorkerBinary string
	// DryRun builds the Dataflow job and returns it as a *DryRunJob
	// instead of submitting it; it needs no credentials.
	DryRun bool
}

// withDefaults fills the runner and environment type and upper-cases the
// environment type.
func (o Options) withDefaults() Options {
	o.Runner = strings.ToLower(strings.TrimSpace(o.Runner))
	if o.Runner == "" {
		o.Runner = Prism
	}
	o.EnvironmentType = strings.ToUpper(strings.TrimSpace(o.EnvironmentType))
	if o.EnvironmentType == "" && o.Runner != Dataflow {
		o.EnvironmentType = Loopback
	}
	return o
}

// portable reports whether the runner submits to a job server.
func portable(runner string) bool {
	return runner == Universal || runner == Flink || runner == Spark
}

// dataflowJobName is what Dataflow accepts as a job name.
var dataflowJobName = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// Validate checks that the runner is known and has what it needs, before
// anything is built or submitted. Each error names the flag to fix.
func (o Options) Validate() error {
	o = o.withDefaults()
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !isSupported(o.Runner) {
		bad("--runner %q: unknown runner (supported: %s)", o.Runner, strings.Join(Supported(), ", "))
		return errors.Join(errs...)
	}
	switch o.EnvironmentType {
	case Loopback, Docker, Process, External, "":
	default:
		bad("--environment_type %q: want LOOPBACK, DOCKER, PROCESS or EXTERNAL", o.EnvironmentType)
	}
	if o.Endpoint != "" {
		if o.Runner == Dataflow {
			bad("--endpoint is the job server of universal, flink and spark; --runner=dataflow does not use it")
		} else if _, _, err := net.SplitHostPort(o.Endpoint); err != nil {
			bad("--endpoint %q: want the job server as host:port, e.g. localhost:8099", o.Endpoint)
		}
	} else if portable(o.Runner) {
		bad("--endpoint is required with --runner=%s: the job server as host:port, e.g. localhost:8099 (its Beam version must be %s)", o.Runner, core.SdkVersion)
	}
	switch o.EnvironmentType {
	case Loopback:
		if o.EnvironmentConfig != "" {
			bad("--environment_config is not used with --environment_type=LOOPBACK (the workers run in this process)")
		}
		if o.WorkerBinary != "" {
			bad("--worker_binary is not used with --environment_type=LOOPBACK (the workers run in this process)")
		}
	case Process:
		if o.EnvironmentConfig == "" {
			bad(`--environment_config is required with --environment_type=PROCESS: {"command": "/path/to/boot"}`)
		}
	case External:
		if o.EnvironmentConfig == "" {
			bad("--environment_config is required with --environment_type=EXTERNAL: the worker pool's host:port")
		}
	}
	if o.Runner == Dataflow {
		o.validateDataflow(bad)
	} else {
		for _, f := range []struct{ name, value string }{
			{"--project", o.Project}, {"--region", o.Region},
			{"--staging_location", o.StagingLocation}, {"--temp_location", o.TempLocation},
		} {
			if f.value != "" {
				bad("%s is for --runner=dataflow, not %s", f.name, o.Runner)
			}
		}
		if o.DryRun {
			bad("--dry_run is for --runner=dataflow, not %s", o.Runner)
		}
	}
	if o.WorkerBinary != "" && !o.DryRun {
		if st, err := os.Stat(o.WorkerBinary); err != nil {
			bad("--worker_binary: %v", err)
		} else if st.IsDir() {
			bad("--worker_binary %s: is a folder, want the program built for the workers", o.WorkerBinary)
		}
	}
	return errors.Join(errs...)
}

// validateDataflow checks what Dataflow needs. A dry run needs the same:
// the SDK refuses to translate the job without project, region and
// staging location.
func (o Options) validateDataflow(bad func(string, ...any)) {
	if o.EnvironmentType != "" && o.EnvironmentType != Docker {
		bad("--environment_type=%s: Dataflow runs its workers in containers only (DOCKER, the default)", o.EnvironmentType)
	}
	if o.Project == "" {
		bad("--project is required with --runner=dataflow: the Google Cloud project ID")
	}
	if o.Region == "" {
		bad("--region is required with --runner=dataflow: e.g. us-central1")
	}
	if o.StagingLocation == "" {
		bad("--staging_location is required with --runner=dataflow: a gs:// folder, e.g. gs://my-bucket/staging")
	} else if !strings.HasPrefix(o.StagingLocation, "gs://") {
		bad("--staging_location %q: Dataflow stages on Cloud Storage, want gs://bucket/folder", o.StagingLocation)
	}
	if o.TempLocation != "" && !strings.HasPrefix(o.TempLocation, "gs://") {
		bad("--temp_location %q: Dataflow's temporary files go to Cloud Storage, want gs://bucket/folder", o.TempLocation)
	}
	if o.JobName != "" && !dataflowJobName.MatchString(o.JobName) {
		bad("--job_name %q: Dataflow wants lower-case letters, digits and '-', starting with a letter", o.JobName)
	}
}

func isSupported(runner string) bool {
	for _, r := range Supported() {
		if r == runner {
			return true
		}
	}
	return false
}

// RegisterFlags adds the runner flags to fs, under the names the Beam SDK
// uses, and returns the Options they fill. Call Validate after parsing.
func RegisterFlags(fs *pflag.FlagSet) *Options {
	o := &Options{}
	v := core.SdkVersion
	fs.StringVar(&o.Runner, "runner", Prism, "Beam runner: "+
		"prism (in this process, no setup), "+
		"universal (any portable job server: a standalone prism, Flink or Spark; needs --endpoint), "+
		"flink or spark (universal under the runner's name), "+
		"dataflow (Google Cloud; needs --project, --region, --staging_location)")
	fs.StringVar(&o.Endpoint, "endpoint", "", "job server of universal/Flink/Spark as host:port, e.g. localhost:8099; "+
		"the job server version must equal the SDK version "+v)
	fs.StringVar(&o.EnvironmentType, "environment_type", "", "where the workers run: "+
		"LOOPBACK (in this process, the default; the job server must run on this machine), "+
		"DOCKER (container apache/beam_go_sdk:"+v+"; the only one on Dataflow), "+
		"PROCESS (a boot loader on the runner's machines), "+
		"EXTERNAL (a worker pool you started)")
	fs.StringVar(&o.EnvironmentConfig, "environment_config", "", "DOCKER: the image (default apache/beam_go_sdk:"+v+"); "+
		`PROCESS: {"command": "/path/to/boot"}; EXTERNAL: the worker pool's host:port`)
	fs.StringVar(&o.JobName, "job_name", "", "name the runner shows the job under (Dataflow: lower-case letters, digits, '-'); default: generated")
	fs.StringVar(&o.Project, "project", "", "Dataflow: Google Cloud project ID")
	fs.StringVar(&o.Region, "region", "", "Dataflow: region the job runs in, e.g. us-central1")
	fs.StringVar(&o.StagingLocation, "staging_location", "", "Dataflow: gs:// folder for the worker binary and the job graph")
	fs.StringVar(&o.TempLocation, "temp_location", "", "Dataflow: gs:// folder for temporary files (default <staging_location>/tmp)")
	fs.StringVar(&o.WorkerBinary, "worker_binary", "", "this program built for linux/amd64 workers, needed when they are not this process "+
		"(DOCKER, PROCESS, EXTERNAL, Dataflow): GOOS=linux GOARCH=amd64 go build -o bin/genrec-linux-amd64 ./cmd/genrec")
	fs.BoolVar(&o.DryRun, "dry_run", false, "Dataflow: build the job and print it instead of submitting it (needs no credentials)")
	return o
}

// ValidatePaths checks the files a job names against where its workers
// run; paths maps a flag (or config key) to the paths it gave. Dataflow's
// workers cannot read this machine's files, so they must be on gs:// (a
// dry run reads nothing and skips the check); workers started outside
// this process (DOCKER, PROCESS, EXTERNAL) resolve a relative path in the
// job server's working folder, so they need absolute paths or gs://. Both
// kinds of workers also need --worker_binary: the SDK would otherwise
// cross-compile the running program itself, with cgo off, which genrec
// cannot be built without (export/onnx). Each error names the flag to fix.
// Call it after Validate.
func (o Options) ValidatePaths(paths map[string][]string) error {
	o = o.withDefaults()
	dataflow := o.Runner == Dataflow && !o.DryRun
	remote := o.EnvironmentType == Docker || o.EnvironmentType == Process || o.EnvironmentType == External
	if o.WorkerBinary == "" && (dataflow || remote) {
		return fmt.Errorf("--worker_binary is required when the workers are not this process (--runner=%s --environment_type=%s): "+
			"build genrec for them with: GOOS=linux GOARCH=amd64 go build -o bin/genrec-linux-amd64 ./cmd/genrec",
			o.Runner, cmp.Or(o.EnvironmentType, Docker))
	}
	for _, flag := range slices.Sorted(maps.Keys(paths)) {
		for _, p := range paths[flag] {
			switch {
			case p == "": // not given: the command says if it needs one
			case strings.HasPrefix(p, "gs://"):
			case dataflow:
				return fmt.Errorf("%s %s: Dataflow workers read and write Cloud Storage, not this machine: want gs://bucket/...", flag, p)
			case remote && !filepath.IsAbs(p):
				return fmt.Errorf("%s %s: workers outside this process (--environment_type=%s) do not share its working folder: give an absolute path, or gs://",
					flag, p, o.EnvironmentType)
			}
		}
	}
	return nil
}
