package runners_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/genrec/genrec/runners"
)

func dataflowOpts() runners.Options {
	return runners.Options{Runner: "dataflow", Project: "p", Region: "us-central1", StagingLocation: "gs://b/staging"}
}

// Every mistake is caught before anything runs, by a message that names
// the flag to fix; every valid combination passes.
func TestValidate(t *testing.T) {
	worker := filepath.Join(t.TempDir(), "genrec-linux-amd64")
	if err := os.WriteFile(worker, []byte("binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	df := func(edit func(*runners.Options)) runners.Options {
		o := dataflowOpts()
		edit(&o)
		return o
	}
	for _, tc := range []struct {
		name string
		opt  runners.Options
		want []string // substrings of the error, each a flag; none: valid
	}{
		{"zero value is prism", runners.Options{}, nil},
		{"prism", runners.Options{Runner: "prism"}, nil},
		{"runner name is case-insensitive", runners.Options{Runner: "Prism"}, nil},
		{"prism on a standalone job server", runners.Options{Runner: "prism", Endpoint: "localhost:8073"}, nil},
		{"universal", runners.Options{Runner: "universal", Endpoint: "localhost:8099"}, nil},
		{"flink docker", runners.Options{Runner: "flink", Endpoint: "localhost:8099", EnvironmentType: "docker", WorkerBinary: worker}, nil},
		{"spark process", runners.Options{Runner: "spark", Endpoint: "localhost:8099", EnvironmentType: "PROCESS", EnvironmentConfig: `{"command":"/opt/apache/beam/boot"}`}, nil},
		{"external", runners.Options{Runner: "universal", Endpoint: "localhost:8099", EnvironmentType: "EXTERNAL", EnvironmentConfig: "localhost:50000"}, nil},
		{"dataflow", dataflowOpts(), nil},
		{"dataflow full", df(func(o *runners.Options) {
			o.TempLocation, o.JobName, o.EnvironmentType, o.WorkerBinary = "gs://b/tmp", "genrec-ml-100k", "DOCKER", worker
		}), nil},
		{"dataflow dry run", df(func(o *runners.Options) { o.DryRun = true }), nil},
		{"dry run does not read the worker binary", df(func(o *runners.Options) { o.DryRun, o.WorkerBinary = true, "/nonexistent" }), nil},

		{"unknown runner", runners.Options{Runner: "direct"}, []string{"--runner", "prism, universal, flink, spark, dataflow"}},
		{"universal without endpoint", runners.Options{Runner: "universal"}, []string{"--endpoint", "2.77.0"}},
		{"flink without endpoint", runners.Options{Runner: "flink"}, []string{"--endpoint"}},
		{"spark without endpoint", runners.Options{Runner: "spark"}, []string{"--endpoint"}},
		{"endpoint without port", runners.Options{Runner: "universal", Endpoint: "localhost"}, []string{"--endpoint"}},
		{"unknown environment", runners.Options{Runner: "universal", Endpoint: "localhost:8099", EnvironmentType: "kubernetes"}, []string{"--environment_type"}},
		{"process without command", runners.Options{Runner: "universal", Endpoint: "localhost:8099", EnvironmentType: "PROCESS"}, []string{"--environment_config"}},
		{"external without pool", runners.Options{Runner: "universal", Endpoint: "localhost:8099", EnvironmentType: "EXTERNAL"}, []string{"--environment_config"}},
		{"loopback ignores a config", runners.Options{EnvironmentConfig: "apache/beam_go_sdk:2.77.0"}, []string{"--environment_config"}},
		{"loopback ignores a worker binary", runners.Options{WorkerBinary: worker}, []string{"--worker_binary"}},
		{"missing worker binary", runners.Options{Runner: "flink", Endpoint: "localhost:8099", EnvironmentType: "DOCKER", WorkerBinary: "/nonexistent/genrec"}, []string{"--worker_binary"}},
		{"worker binary is a folder", runners.Options{Runner: "flink", Endpoint: "localhost:8099", EnvironmentType: "DOCKER", WorkerBinary: t.TempDir()}, []string{"--worker_binary"}},
		{"dataflow flags on prism", runners.Options{Project: "p", Region: "r", StagingLocation: "gs://b/s", TempLocation: "gs://b/t"},
			[]string{"--project", "--region", "--staging_location", "--temp_location"}},
		{"dry run on prism", runners.Options{DryRun: true}, []string{"--dry_run"}},
		{"dataflow without anything", runners.Options{Runner: "dataflow"}, []string{"--project", "--region", "--staging_location"}},
		{"dataflow dry run without anything", runners.Options{Runner: "dataflow", DryRun: true}, []string{"--project", "--region", "--staging_location"}},
		{"dataflow local staging", df(func(o *runners.Options) { o.StagingLocation = "/tmp/staging" }), []string{"--staging_location", "gs://"}},
		{"dataflow local temp", df(func(o *runners.Options) { o.TempLocation = "/tmp/t" }), []string{"--temp_location", "gs://"}},
		{"dataflow job name", df(func(o *runners.Options) { o.JobName = "Genrec_Job" }), []string{"--job_name"}},
		{"dataflow loopback", df(func(o *runners.Options) { o.EnvironmentType = "LOOPBACK" }), []string{"--environment_type"}},
		{"dataflow endpoint", df(func(o *runners.Options) { o.Endpoint = "localhost:8099" }), []string{"--endpoint"}},
		{"dataflow missing worker binary", df(func(o *runners.Options) { o.WorkerBinary = "/nonexistent/genrec" }), []string{"--worker_binary"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opt.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", tc.opt, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error naming %v", tc.opt, tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%+v) = %q, want it to mention %q", tc.opt, err, w)
				}
			}
			// Each line of a joined error names a flag.
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "--") {
					t.Errorf("error line %q does not start with the flag it is about", line)
				}
			}
		})
	}
}

// The flags fill the Options field of the same name, with prism as the
// default runner.
func TestRegisterFlags(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	opt := runners.RegisterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if want := (runners.Options{Runner: "prism"}); *opt != want {
		t.Errorf("defaults: got %+v, want %+v", *opt, want)
	}
	fs = pflag.NewFlagSet("test", pflag.ContinueOnError)
	opt = runners.RegisterFlags(fs)
	err := fs.Parse([]string{
		"--runner=dataflow", "--endpoint=e:1", "--environment_type=DOCKER", "--environment_config=img",
		"--job_name=j", "--project=p", "--region=r", "--staging_location=gs://b/s", "--temp_location=gs://b/t",
		"--worker_binary=w", "--dry_run",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := runners.Options{Runner: "dataflow", Endpoint: "e:1", EnvironmentType: "DOCKER", EnvironmentConfig: "img",
		JobName: "j", Project: "p", Region: "r", StagingLocation: "gs://b/s", TempLocation: "gs://b/t",
		WorkerBinary: "w", DryRun: true}
	if !reflect.DeepEqual(*opt, want) {
		t.Errorf("got %+v, want %+v", *opt, want)
	}
	fs.VisitAll(func(f *pflag.Flag) {
		if len(f.Usage) < 20 {
			t.Errorf("--%s: help %q teaches nothing", f.Name, f.Usage)
		}
	})
}

// ValidatePaths refuses, naming the flag, what workers outside this
// process could not read, and the missing worker binary they would need.
func TestValidatePaths(t *testing.T) {
	worker := "/opt/genrec-linux-amd64"
	df := dataflowOpts()
	dfWorker := df
	dfWorker.WorkerBinary = worker
	dryRun := df
	dryRun.DryRun = true
	flink := runners.Options{Runner: "flink", Endpoint: "localhost:8099"}
	docker := flink
	docker.EnvironmentType, docker.WorkerBinary = "docker", worker
	for _, tc := range []struct {
		name  string
		opt   runners.Options
		paths map[string][]string
		want  string // "" = valid; else a substring of the error
	}{
		{"prism, relative paths", runners.Options{}, map[string][]string{"--data": {"out/beauty"}}, ""},
		{"flink loopback, relative paths", flink, map[string][]string{"--data": {"out/beauty"}}, ""},
		{"dataflow without worker binary", df, nil, "--worker_binary"},
		{"dataflow, local file", dfWorker, map[string][]string{"--data": {"gs://b/data"}, "--out": {"out/eval"}}, "--out out/eval: Dataflow workers"},
		{"dataflow, gs:// and unset", dfWorker, map[string][]string{"--data": {"gs://b/data"}, "--out": {""}}, ""},
		{"dataflow dry run reads nothing", dryRun, map[string][]string{"--data": {"out/beauty"}}, ""},
		{"docker without worker binary", runners.Options{Runner: "flink", Endpoint: "localhost:8099", EnvironmentType: "DOCKER"}, nil, "--worker_binary"},
		{"docker, relative path", docker, map[string][]string{"--checkpoint": {"/abs/best.ckpt"}, "--data": {"out/beauty"}}, "--data out/beauty: workers outside this process (--environment_type=DOCKER)"},
		{"docker, absolute path", docker, map[string][]string{"--data": {"/abs/beauty"}}, ""},
	} {
		err := tc.opt.ValidatePaths(tc.paths)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want no error", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}
