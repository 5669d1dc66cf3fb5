package schedule

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
)

// LockFile is the name of a partition's lock.
const LockFile = "_LOCK"

// DefaultLockTimeout is the age past which a lock is stale.
const DefaultLockTimeout = 6 * time.Hour

// LockInfo is the content of a _LOCK file (JSON): who holds it.
type LockInfo struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	Date    string    `json:"date"`
	// Token tells this lock from a later one of the same process.
	Token string `json:"token"`
}

// lockStore is one lock file on a filesystem with an atomic create.
type lockStore interface {
	// create writes data to the lock only if it does not exist; created
	// is false when it does.
	create(ctx context.Context, data []byte) (created bool, err error)
	// read returns the lock's bytes, a version that remove checks, and
	// when it was written; fs.ErrNotExist when there is none.
	read(ctx context.Context) (data []byte, version string, mod time.Time, err error)
	// remove deletes the lock only if it is still at version; removed is
	// false when it changed (another run took it meanwhile).
	remove(ctx context.Context, version string) (removed bool, err error)
	close() error
}

// newLockStore picks the store for path: local files, or gs:// objects
// with a does-not-exist precondition. Other schemes have no atomic
// create that this package knows.
func newLockStore(ctx context.Context, path string) (lockStore, error) {
	switch {
	case strings.HasPrefix(path, "gs://"):
		return newGCSLock(ctx, path)
	case strings.Contains(path, "://"):
		return nil, fmt.Errorf("schedule: cannot lock %s: only local paths and gs:// support an atomic create; use a local or gs:// --root", path)
	}
	return localLock{path: path}, nil
}

// lock is a held partition lock.
type lock struct {
	path    string
	store   lockStore
	version string
}

// acquireLock takes the lock at path for info, breaking a stale one (older
// than timeout, or naming a dead process on this host) with a line on
// logw. It returns a *LockedError when a live run holds it.
func acquireLock(ctx context.Context, path string, info LockInfo, timeout time.Duration, logw io.Writer) (*lock, *LockInfo, error) {
	st, err := newLockStore(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	data, _ := json.MarshalIndent(info, "", "  ")
	var broke *LockInfo
	var last LockInfo // the holder seen last
	// Three rounds: a lock released or broken between our create and our
	// read costs one more; more than that is a contended lock.
	for range 3 {
		created, err := st.create(ctx, data)
		if err != nil {
			st.close()
			return nil, broke, fmt.Errorf("schedule: taking %s: %w", path, err)
		}
		if created {
			_, ver, _, err := st.read(ctx)
			if err != nil {
				st.close()
				return nil, broke, fmt.Errorf("schedule: reading back %s: %w", path, err)
			}
			return &lock{path: path, store: st, version: ver}, broke, nil
		}
		b, ver, mod, err := st.read(ctx)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released meanwhile
		}
		if err != nil {
			st.close()
			return nil, broke, fmt.Errorf("schedule: reading %s: %w", path, err)
		}
		var held LockInfo
		if json.Unmarshal(b, &held) != nil || held.Started.IsZero() {
			held = LockInfo{Started: mod} // a lock cut short by a crash: judge it by its age
		}
		last = held
		stale, why := isStale(held, time.Now(), timeout)
		if !stale {
			st.close()
			return nil, broke, &LockedError{Path: path, Holder: held, Age: time.Since(held.Started)}
		}
		fmt.Fprintf(logw, "breaking the stale lock %s of pid %d on %s from %s: %s\n", path, held.PID, held.Host, held.Started.Format(time.RFC3339), why)
		if _, err := st.remove(ctx, ver); err != nil {
			st.close()
			return nil, broke, fmt.Errorf("schedule: breaking %s: %w", path, err)
		}
		broke = &held
	}
	st.close()
	return nil, broke, &LockedError{Path: path, Holder: last, Age: time.Since(last.Started)}
}

// isStale says whether a lock no longer protects a live run: it is older
// than timeout, or it names a process of this host that has exited. Other
// hosts' processes (another pod, another VM) cannot be checked: their
// locks go stale by age only.
func isStale(held LockInfo, now time.Time, timeout time.Duration) (bool, string) {
	if age := now.Sub(held.Started); timeout > 0 && age > timeout {
		return true, fmt.Sprintf("%s old, past the lock timeout of %s", age.Round(time.Second), timeout)
	}
	if host, err := os.Hostname(); err == nil && held.Host == host && held.PID > 0 && !pidAlive(held.PID) {
		return true, fmt.Sprintf("process %d no longer runs on this host", held.PID)
	}
	return false, ""
}

// release removes the lock if it is still ours. It runs on every exit of
// Run, also after Ctrl-C, so it does not use the run's context.
func (l *lock) release() error {
	defer l.store.close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ok, err := l.store.remove(ctx, l.version)
	if err != nil {
		return fmt.Errorf("schedule: releasing %s: %w", l.path, err)
	}
	if !ok {
		return fmt.Errorf("schedule: %s was taken over by another run while this one held it (was it broken as stale? raise --lock-timeout)", l.path)
	}
	return nil
}

func newToken() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
