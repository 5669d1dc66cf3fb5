package schedule

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Of many runs taking one lock at once, exactly one gets it; after its
// release the next one does.
func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dt=2026-11-29", LockFile)
	const n = 16
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		held   []*lock
		locked int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			info := LockInfo{PID: os.Getpid(), Host: "h", Started: time.Now(), Token: newToken()}
			l, _, err := acquireLock(context.Background(), path, info, time.Hour, io.Discard)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				held = append(held, l)
			case errors.Is(err, ErrLocked):
				locked++
			default:
				t.Errorf("run %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if len(held) != 1 || locked != n-1 {
		t.Fatalf("%d runs got the lock, %d were refused; want 1 and %d", len(held), locked, n-1)
	}
	if err := held[0].release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("released lock still there: %v", err)
	}
	l, _, err := acquireLock(context.Background(), path, LockInfo{PID: os.Getpid(), Started: time.Now()}, time.Hour, io.Discard)
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	l.release()
}

// A run removes only the lock it read: one replaced meanwhile (another run
// broke the stale lock first and took it) stays, and releasing a lock
// someone else took is an error.
func TestLocalRemoveChecksVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFile)
	st := localLock{path: path}
	if ok, err := st.create(context.Background(), []byte("theirs")); !ok || err != nil {
		t.Fatalf("create: %v %v", ok, err)
	}
	if ok, err := st.create(context.Background(), []byte("mine")); ok || err != nil {
		t.Fatalf("second create: %v %v, want false", ok, err)
	}
	if ok, err := st.remove(context.Background(), "stale"); ok || err != nil {
		t.Fatalf("remove of another version: %v %v, want false", ok, err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "theirs" {
		t.Fatalf("lock after a refused remove: %q %v, want theirs", b, err)
	}
	l := &lock{path: path, store: st, version: "mine"}
	if err := l.release(); err == nil {
		t.Error("releasing a lock another run holds: no error")
	}
	if ok, err := st.remove(context.Background(), "theirs"); !ok || err != nil {
		t.Fatalf("remove of its own version: %v %v", ok, err)
	}
	if m, _ := filepath.Glob(path + "*"); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
}

func TestIsStale(t *testing.T) {
	host, _ := os.Hostname()
	now := time.Now()
	for _, tc := range []struct {
		name    string
		held    LockInfo
		timeout time.Duration
		want    bool
	}{
		{"fresh, live", LockInfo{PID: os.Getpid(), Host: host, Started: now}, time.Hour, false},
		{"old", LockInfo{PID: os.Getpid(), Host: host, Started: now.Add(-2 * time.Hour)}, time.Hour, true},
		{"old, no timeout", LockInfo{PID: os.Getpid(), Host: host, Started: now.Add(-2 * time.Hour)}, -1, false},
		{"other host's pid is not checked", LockInfo{PID: 1 << 30, Host: "elsewhere", Started: now}, time.Hour, false},
		{"no such pid here", LockInfo{PID: 1 << 30, Host: host, Started: now}, time.Hour, true},
	} {
		if got, why := isStale(tc.held, now, tc.timeout); got != tc.want {
			t.Errorf("%s: stale %v (%s), want %v", tc.name, got, why, tc.want)
		}
	}
}

// A killed process that its parent has not reaped yet is a zombie: dead
// for the lock.
func TestPIDAliveZombie(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if !pidAlive(os.Getpid()) {
		t.Fatal("this process is not alive")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	cmd.Process.Kill()
	// Not reaped until Wait: a zombie meanwhile.
	deadline := time.Now().Add(5 * time.Second)
	for pidAlive(cmd.Process.Pid) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if pidAlive(cmd.Process.Pid) {
		t.Error("a killed, unreaped process counts as alive")
	}
	cmd.Wait()
	if pidAlive(cmd.Process.Pid) {
		t.Error("a reaped process counts as alive")
	}
}
