package runners_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/genrec/genrec/runners"
)

func TestMain(m *testing.M) {
	runners.SetLogLevel("warn")
	code := ptest.MainRet(m)
	if prismBin.dir != "" {
		os.RemoveAll(prismBin.dir)
	}
	os.Exit(code)
}

// prismBin is the standalone prism job server, built once per test run.
var prismBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// buildPrism builds github.com/apache/beam/sdks/v2/go/cmd/prism from the
// module cache (the version in go.mod) into a temporary folder.
func buildPrism(t *testing.T) string {
	t.Helper()
	prismBin.once.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			prismBin.err = fmt.Errorf("no go command to build prism with: %w", err)
			return
		}
		prismBin.dir, prismBin.err = os.MkdirTemp("", "genrec-prism-")
		if prismBin.err != nil {
			return
		}
		prismBin.path = filepath.Join(prismBin.dir, "prism")
		start := time.Now()
		out, err := exec.Command(goTool, "build", "-o", prismBin.path, "github.com/apache/beam/sdks/v2/go/cmd/prism").CombinedOutput()
		if err != nil {
			prismBin.err = fmt.Errorf("go build prism: %v\n%s", err, out)
			return
		}
		t.Logf("built prism in %s", time.Since(start).Round(time.Millisecond))
	})
	if prismBin.err != nil {
		t.Fatal(prismBin.err)
	}
	return prismBin.path
}

// bootBin is the Go SDK's boot loader (the entry point of the
// apache/beam_go_sdk image), built once per test run, behind a wrapper for
// prism's quoting.
var bootBin struct {
	once sync.Once
	path string
	err  error
}

// buildBoot builds github.com/apache/beam/sdks/v2/go/container, the boot
// loader a PROCESS environment runs, next to prism. prism starts it with
// --id='ID', quotes included, which the boot loader keeps and the job
// then hangs: the returned wrapper script strips them. It also keeps the
// boot loader's files out of /tmp/staged and the test's folder.
func buildBoot(t *testing.T) string {
	t.Helper()
	buildPrism(t) // makes the folder
	bootBin.once.Do(func() {
		boot := filepath.Join(prismBin.dir, "boot")
		out, err := exec.Command("go", "build", "-o", boot, "github.com/apache/beam/sdks/v2/go/container").CombinedOutput()
		if err != nil {
			bootBin.err = fmt.Errorf("go build boot: %v\n%s", err, out)
			return
		}
		wrapper := fmt.Sprintf(`#!/bin/sh
# prism passes --id='ID' with the quotes; the boot loader wants --id=ID.
# The boot loader keeps the worker binary and pipeline_options.json in its
# semi-persistent folder and working folder: the job server's, a test's
# temporary folder.
set -- --semi_persist_dir="$PWD" "$@"
for a do
  shift
  case $a in --id=\'*\') a=--id=$(printf %%s "$a" | sed "s/^--id='//; s/'\$//") ;; esac
  set -- "$@" "$a"
done
exec '%s' "$@"
`, boot)
		bootBin.path = filepath.Join(prismBin.dir, "boot-unquote")
		bootBin.err = os.WriteFile(bootBin.path, []byte(wrapper), 0o755)
	})
	if bootBin.err != nil {
		t.Fatal(bootBin.err)
	}
	return bootBin.path
}

// servingRE is prism's log line (--log_kind=text) with the port it got.
var servingRE = regexp.MustCompile(`msg="Serving JobManagement" endpoint=\S*:(\d+)`)

// jobServer is a standalone prism job server started by a test.
type jobServer struct {
	// Endpoint is 127.0.0.1:PORT.
	Endpoint string

	mu   sync.Mutex
	logs bytes.Buffer
}

// Logged reports whether one line of the server's log holds all of
// parts. Lines may trail the client's return a little: it waits up to five
// seconds for one.
func (j *jobServer) Logged(parts ...string) bool {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		j.mu.Lock()
		logs := j.logs.String()
		j.mu.Unlock()
		for _, line := range strings.Split(logs, "\n") {
			if containsAll(line, parts) {
				return true
			}
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// Ran reports whether the job named name ran on the server, whatever its
// outcome.
func (j *jobServer) Ran(name string) bool { return j.Logged(`msg="pipeline done!"`, "["+name+"]") }

// Failed reports whether the server says the job named name failed.
func (j *jobServer) Failed(name string) bool {
	return j.Logged(`msg="job failed"`, "job.name="+name+" ")
}

// startJobServer starts a standalone prism job server, the stand-in for a
// Flink or Spark job server.
// It is killed when the test ends, and shuts itself down after ten idle
// minutes should the test binary die first.
//
// prism has no flag for the address it binds: its job port listens on
// all interfaces. --job_port=0 lets the kernel pick a free port (no race
// between choosing a port and binding it), which prism logs; the web UI
// is off. Jobs are submitted to the loopback address only.
func startJobServer(t *testing.T) *jobServer {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped under -short: builds and starts a standalone prism job server")
	}
	bin := buildPrism(t)
	cmd := exec.Command(bin, "--job_port=0", "--serve_http=false", "--log_kind=text", "--log_level=info",
		"--idle_shutdown_timeout=10m")
	cmd.Dir = t.TempDir() // PROCESS workers write there
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	js := &jobServer{}
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			js.mu.Lock()
			js.logs.Write(sc.Bytes())
			js.logs.WriteByte('\n')
			js.mu.Unlock()
			if m := servingRE.FindSubmatch(sc.Bytes()); m != nil {
				select {
				case port <- string(m[1]):
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			js.mu.Lock()
			t.Logf("prism job server log:\n%s", js.logs.String())
			js.mu.Unlock()
		}
	})
	select {
	case p := <-port:
		js.Endpoint = net.JoinHostPort("127.0.0.1", p)
	case <-time.After(30 * time.Second):
		t.Fatal("prism did not report its job port within 30s")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", js.Endpoint, time.Second)
		if err == nil {
			c.Close()
			return js
		}
		if time.Now().After(deadline) {
			t.Fatalf("prism job server at %s does not accept connections: %v", js.Endpoint, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
