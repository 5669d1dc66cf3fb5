package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/genrec/genrec/transforms/synthetic"
)

// A genrec killed with SIGKILL in the middle of a run must leave no file
// under a final name: only the run's temporary folder.
func TestKilledRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 1e6-event run to kill it")
	}
	dir := t.TempDir()
	input := filepath.Join(dir, "big.csv")
	f, err := os.Create(input)
	if err != nil {
		t.Fatal(err)
	}
	cfg := synthetic.DefaultConfig()
	cfg.Users, cfg.Items = 40000, 10000
	if _, err := synthetic.WriteInteractionsCSV(f, cfg); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "out")
	cmd := exec.Command(os.Args[0], "preprocess", "--input", input, "--out", out)
	cmd.Env = append(os.Environ(), "GENREC_TEST_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Kill once the writers have started (a temp file exists), or after 10 s.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m, _ := filepath.Glob(filepath.Join(out, "_temporary", "*", "*")); len(m) > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	select {
	case err := <-exited:
		t.Skipf("the run finished (%v) before it could be killed; nothing to check", err)
	default:
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	for _, pattern := range []string{"sequences/*", "vocab/*", "summary.json"} {
		if m, _ := filepath.Glob(filepath.Join(out, pattern)); len(m) > 0 {
			t.Errorf("killed run left final-named files: %v", m)
		}
	}
}
