//go:build openblas

package kernels

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOpenBLASSingleThreaded checks that the kernels' init leaves OpenBLAS
// on one thread when the environment does not set a count, and keeps the
// user's count when it does. Each case runs this test binary afresh, since
// the setting is made once at start-up.
func TestOpenBLASSingleThreaded(t *testing.T) {
	if os.Getenv("GENREC_OPENBLAS_CHILD") != "" {
		t.Logf("openblas threads: %d", openblasThreads())
		if want := os.Getenv("GENREC_OPENBLAS_WANT"); want != "" && want != strconv.Itoa(openblasThreads()) {
			t.Fatalf("OpenBLAS threads = %d, want %s", openblasThreads(), want)
		}
		return
	}
	for _, tc := range []struct{ env, want string }{
		{"", "1"},
		{"OPENBLAS_NUM_THREADS=2", "2"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestOpenBLASSingleThreaded$", "-test.v")
		cmd.Env = append(filterEnv(os.Environ()), "GENREC_OPENBLAS_CHILD=1", "GENREC_OPENBLAS_WANT="+tc.want)
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("env %q: %v\n%s", tc.env, err, out)
		}
	}
}

func filterEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(openblasThreadEnv, name) {
			out = append(out, kv)
		}
	}
	return out
}
