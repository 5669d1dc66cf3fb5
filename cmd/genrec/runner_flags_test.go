package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Runner flags that cannot work are usage errors (exit 2) that name the
// flag to fix, caught before anything runs.
func TestRunnerFlagsUsageErrors(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "u.data")
	os.WriteFile(data, []byte("1\t2\t3\t881250949\n2\t3\t4\t881250950\n"), 0o644)
	worker := filepath.Join(dir, "genrec-linux-amd64")
	os.WriteFile(worker, []byte("binary"), 0o755)
	pre := []string{"preprocess", "--input", data, "--out", filepath.Join(dir, "out")}
	dataflow := []string{"--runner", "dataflow", "--project", "p", "--region", "us-central1", "--staging_location", "gs://b/staging"}
	for _, tc := range []struct {
		name string
		args []string
		flag string // the error must name it
	}{
		{"unknown runner", []string{"--runner", "direct"}, "--runner"},
		{"universal without endpoint", []string{"--runner", "universal"}, "--endpoint"},
		{"flink endpoint without port", []string{"--runner", "flink", "--endpoint", "localhost"}, "--endpoint"},
		{"dry run off Dataflow", []string{"--dry_run"}, "--dry_run"},
		{"dataflow without project", []string{"--runner", "dataflow", "--region", "r", "--staging_location", "gs://b/s"}, "--project"},
		{"dataflow without worker binary", dataflow, "--worker_binary"},
		{"dataflow on local files", append(dataflow, "--worker_binary", worker), "--input"},
		{"docker without worker binary", []string{"--runner", "flink", "--endpoint", "localhost:8099", "--environment_type", "DOCKER"}, "--worker_binary"},
		{"process workers with a relative path", []string{"--runner", "universal", "--endpoint", "localhost:8099",
			"--environment_type", "PROCESS", "--environment_config", `{"command": "/opt/apache/beam/boot"}`, "--worker_binary", worker,
			"--out", "out/relative"}, "--out"},
		{"process without worker binary", []string{"--runner", "universal", "--endpoint", "localhost:8099",
			"--environment_type", "PROCESS", "--environment_config", `{"command": "/opt/apache/beam/boot"}`}, "--worker_binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, pre...), tc.args...)
			root := newRootCmd()
			root.SetArgs(args)
			root.SetOut(io.Discard)
			root.SetErr(io.Discard)
			err := root.ExecuteContext(context.Background())
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("genrec %s: got %v, want a usage error naming %s", strings.Join(args, " "), err, tc.flag)
			}
		})
	}
	if got := run(context.Background(), append(pre, "--runner", "universal")); got != 2 {
		t.Errorf("exit %d, want 2", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Errorf("a usage error wrote output: %v", err)
	}
}

// preprocess --dry_run prints the Dataflow job it would submit, without
// credentials, and writes nothing.
func TestPreprocessDataflowDryRun(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "none.json"))
	dir := t.TempDir()
	data := filepath.Join(dir, "u.data")
	os.WriteFile(data, []byte("1\t2\t3\t881250949\n2\t3\t4\t881250950\n1\t3\t5\t881250951\n"), 0o644)
	out := filepath.Join(dir, "out")
	root := newRootCmd()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs([]string{"preprocess", "--input", data, "--out", out,
		"--runner", "dataflow", "--project", "genrec-dry-run", "--region", "us-central1",
		"--staging_location", "gs://genrec-dry-run-bucket/staging", "--job_name", "genrec-preprocess", "--dry_run"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("dry run: %v\n%s", err, stderr.String())
	}
	var job struct {
		Name      string `json:"name"`
		ProjectID string `json:"projectId"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &job); err != nil {
		t.Fatalf("stdout is not the job as JSON: %v\n%s", err, stdout.String())
	}
	if job.Name != "genrec-preprocess" || job.ProjectID != "genrec-dry-run" {
		t.Errorf("job %q in project %q, want genrec-preprocess in genrec-dry-run", job.Name, job.ProjectID)
	}
	if !strings.Contains(stderr.String(), "not submitted") {
		t.Errorf("stderr does not say the job was not submitted: %q", stderr.String())
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a dry run wrote %s: %v", out, err)
	}
}
