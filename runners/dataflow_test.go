package runners_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core"

	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/runners"
)

// dryRunOptions names a project and bucket that need not exist: a dry run
// contacts nothing.
func dryRunOptions(job string) runners.Options {
	return runners.Options{
		Runner: "dataflow", DryRun: true, JobName: job,
		Project: "genrec-dry-run", Region: "europe-west4",
		StagingLocation: "gs://genrec-dry-run-bucket/staging", TempLocation: "gs://genrec-dry-run-bucket/tmp",
	}
}

// noCredentials makes sure the test uses no Google credentials even on a
// machine that has some: the SDK's soft-delete check of the staging
// bucket then fails at once and only warns.
func noCredentials(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "none.json"))
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
}

// dataflowJob is the part of the v1b3 Job request the tests look at.
type dataflowJob struct {
	Name        string `json:"name"`
	ProjectID   string `json:"projectId"`
	Type        string `json:"type"`
	Environment struct {
		TempStoragePrefix  string `json:"tempStoragePrefix"`
		SdkPipelineOptions struct {
			Options struct {
				Region      string `json:"region"`
				PipelineURL string `json:"pipelineUrl"`
			} `json:"options"`
		} `json:"sdkPipelineOptions"`
		WorkerPools []struct {
			Packages []struct {
				Location string `json:"location"`
			} `json:"packages"`
			WorkerHarnessContainerImage string `json:"workerHarnessContainerImage"`
		} `json:"workerPools"`
	} `json:"environment"`
}

// dryRun runs p as a Dataflow dry run and decodes the job it returns.
func dryRun(t *testing.T, p *beam.Pipeline, opt runners.Options) (*runners.DryRunJob, dataflowJob) {
	t.Helper()
	res, err := runners.Run(context.Background(), p, opt)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	got, ok := res.(*runners.DryRunJob)
	if !ok {
		t.Fatalf("dry run returned %T, want *runners.DryRunJob", res)
	}
	var job dataflowJob
	if err := json.Unmarshal([]byte(got.Job), &job); err != nil {
		t.Fatalf("the job is not JSON: %v\n%s", err, got.Job)
	}
	return got, job
}

// A Dataflow dry run builds the job from the options, without credentials
// or network, and hands it back.
func TestDataflowDryRun(t *testing.T) {
	noCredentials(t)
	const n = 50
	p := sumsByResidue(n, "gs://genrec-dry-run-bucket/out/sums.txt", wantSums(n))
	got, job := dryRun(t, p, dryRunOptions("genrec-dry-run-test"))
	env := job.Environment
	if job.Name != "genrec-dry-run-test" || job.ProjectID != "genrec-dry-run" || env.SdkPipelineOptions.Options.Region != "europe-west4" || job.Type != "JOB_TYPE_BATCH" {
		t.Errorf("job name/project/region/type = %q/%q/%q/%q, want genrec-dry-run-test/genrec-dry-run/europe-west4/JOB_TYPE_BATCH",
			job.Name, job.ProjectID, env.SdkPipelineOptions.Options.Region, job.Type)
	}
	if env.TempStoragePrefix != "gs://genrec-dry-run-bucket/tmp" {
		t.Errorf("temp storage %q, want the --temp_location gs://genrec-dry-run-bucket/tmp", env.TempStoragePrefix)
	}
	if u := env.SdkPipelineOptions.Options.PipelineURL; !strings.HasPrefix(u, "gs://genrec-dry-run-bucket/staging/") {
		t.Errorf("pipeline staged at %q, want under the --staging_location", u)
	}
	if len(env.WorkerPools) != 1 || len(env.WorkerPools[0].Packages) != 1 ||
		!strings.HasPrefix(env.WorkerPools[0].Packages[0].Location, "gs://genrec-dry-run-bucket/staging/") ||
		!strings.HasSuffix(env.WorkerPools[0].WorkerHarnessContainerImage, "beam_go_sdk:"+core.SdkVersion) {
		t.Errorf("want one worker pool running beam_go_sdk:%s with the worker binary under --staging_location:\n%s", core.SdkVersion, got.Job)
	}
	if !strings.Contains(got.Pipeline, "modKeyFn") {
		t.Errorf("the pipeline proto does not hold the test's DoFn modKeyFn:\n%.2000s", got.Pipeline)
	}
}

// The real preprocess pipeline translates for Dataflow too.
func TestDataflowDryRunPreprocess(t *testing.T) {
	noCredentials(t)
	p, s := beam.NewPipelineWithRoot()
	cfg := preprocess.Config{Inputs: []string{writeInteractions(t, 20, 1)}, OutDir: "gs://genrec-dry-run-bucket/out"}
	if err := preprocess.Pipeline(s, cfg); err != nil {
		t.Fatal(err)
	}
	opt := dryRunOptions("")
	opt.TempLocation = "" // the SDK's default: <staging_location>/tmp
	got, job := dryRun(t, p, opt)
	if job.ProjectID != "genrec-dry-run" || !strings.HasPrefix(job.Name, "go-job-") {
		t.Errorf("project %q, name %q: want genrec-dry-run and a generated go-job-... name", job.ProjectID, job.Name)
	}
	if job.Environment.TempStoragePrefix != "gs://genrec-dry-run-bucket/staging/tmp" {
		t.Errorf("temp storage %q, want <staging_location>/tmp", job.Environment.TempStoragePrefix)
	}
	if !strings.Contains(got.Pipeline, "preprocess") {
		t.Errorf("the pipeline proto has no preprocess transform:\n%.2000s", got.Pipeline)
	}
}
