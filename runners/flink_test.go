package runners_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/genrec/genrec/runners"
)

// flinkEndpoint is the Beam Flink job server the Flink tests submit to,
// from GENREC_FLINK_ENDPOINT (host:port); the tests skip without it.
// `make test-flink` (.ci/flink/run) installs and starts one on 127.0.0.1
// and sets it.
func flinkEndpoint(t *testing.T) string {
	t.Helper()
	ep := os.Getenv("GENREC_FLINK_ENDPOINT")
	if ep == "" {
		t.Skip("GENREC_FLINK_ENDPOINT is not set: no Flink job server to submit to (make test-flink starts one)")
	}
	return ep
}

// flink submits to the Flink job server with LOOPBACK workers (the SDK
// harness runs in this process; Flink's operators call it over gRPC).
func flink(endpoint, job string) runners.Options {
	return runners.Options{Runner: "flink", Endpoint: endpoint, EnvironmentType: "LOOPBACK", JobName: job}
}

// The shuffle pipeline on Flink computes what prism computes, and a
// failing passert fails the Flink job with a *JobError.
func TestFlinkMatchesPrism(t *testing.T) {
	ep := flinkEndpoint(t)
	const n = 1000
	want := wantSums(n)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opt  runners.Options
	}{
		{"prism", runners.Options{}},
		{"flink", flink(ep, "sums-by-residue")},
	} {
		out := filepath.Join(dir, tc.name+".txt")
		start := time.Now()
		if _, err := runners.Run(context.Background(), sumsByResidue(n, out, want), tc.opt); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		t.Logf("%s run: %s", tc.name, time.Since(start).Round(time.Millisecond))
		if got := readLines(t, out); !slices.Equal(got, want) {
			t.Errorf("%s wrote %v, want %v", tc.name, got, want)
		}
	}
	wrong := slices.Clone(want)
	wrong[0] += "0"
	_, err := runners.Run(context.Background(), sumsByResidue(n, filepath.Join(dir, "wrong.txt"), wrong), flink(ep, "wrong-sums"))
	var je *runners.JobError
	if !errors.As(err, &je) || je.Runner != "flink" {
		t.Fatalf("a failing passert on flink: got %v, want a *runners.JobError from flink", err)
	}
}
