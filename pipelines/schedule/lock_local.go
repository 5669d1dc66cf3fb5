package schedule

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// localLock is a lock file on a local (or NFS) filesystem, created with
// O_CREATE|O_EXCL. Its version is its content, which holds a random
// token.
type localLock struct{ path string }

func (l localLock) create(_ context.Context, data []byte) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return false, err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(l.path)
		return false, err
	}
	return true, nil
}

func (l localLock) read(context.Context) ([]byte, string, time.Time, error) {
	b, err := os.ReadFile(l.path)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	var mod time.Time
	if st, err := os.Stat(l.path); err == nil {
		mod = st.ModTime()
	}
	return b, string(b), mod, nil
}

// remove moves the lock aside (rename is atomic), then checks that what it
// moved is the version it meant to remove; if another run had replaced it
// meanwhile, it puts that lock back (a hard link, which fails rather than
// overwrite a third run's lock).
func (l localLock) remove(_ context.Context, version string) (bool, error) {
	aside := l.path + ".removing-" + newToken()
	if err := os.Rename(l.path, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	defer os.Remove(aside)
	b, err := os.ReadFile(aside)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(b, []byte(version)) {
		if err := os.Link(aside, l.path); err != nil && !errors.Is(err, fs.ErrExist) {
			return false, err
		}
		return false, nil
	}
	return true, nil
}

func (localLock) close() error { return nil }
