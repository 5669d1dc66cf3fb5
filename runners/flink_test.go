package runners_test

import (
	"os"
	"testing"

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
	matchesPrism(t, flink(ep, "sums-by-residue"), flink(ep, "wrong-sums"))
}
