package transforms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs" // memfs:// paths, for tests
)

// JoinPath joins elements onto a local path or a URL-like path such as
// gs://bucket/dir without breaking the scheme (path.Join would turn
// "gs://" into "gs:/").
func JoinPath(base string, elem ...string) string {
	if i := strings.Index(base, "://"); i >= 0 {
		out := strings.TrimRight(base, "/")
		for _, e := range elem {
			if e = strings.Trim(e, "/"); e != "" { // as filepath.Join drops empty elements
				out += "/" + e
			}
		}
		return out
	}
	return filepath.Join(append([]string{base}, elem...)...)
}

// BaseName is the last element of a local or URL-like path.
func BaseName(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		return p[i+1:]
	}
	return p
}

// ExpandInputs resolves each pattern (a path or a glob, local or gs://)
// through Beam's filesystem registry. A pattern that matches nothing is an
// error naming it. Files of one pattern come in sorted order, patterns in
// the given order; a file matched twice is kept once.
func ExpandInputs(ctx context.Context, patterns []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range patterns {
		fs, err := filesystem.New(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		files, err := fs.List(ctx, p)
		fs.Close()
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("input %s: %w", p, os.ErrNotExist)
		}
		slices.Sort(files)
		for _, f := range files {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	return out, nil
}

// Exists reports whether the file name exists, asking only for its size
// (no content is read). A missing file, local or gs://, is (false, nil);
// any other failure (permissions, network) is returned, so that a caller
// does not mistake an unreadable file for an absent one.
func Exists(ctx context.Context, name string) (bool, error) {
	fsys, err := filesystem.New(ctx, name)
	if err != nil {
		return false, err
	}
	defer fsys.Close()
	if _, err := fsys.Size(ctx, name); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, storage.ErrObjectNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("%s: %w", name, err)
	}
	return true, nil
}

// ReadFile reads a whole file through the filesystem registry.
func ReadFile(ctx context.Context, name string) ([]byte, error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// WriteFileAtomic writes data to name so that name either keeps its old
// content or has all of data: it writes name's sibling temp file and
// renames it. The error of the final Close (where GCS commits an upload)
// is checked; on any failure the temp file is removed.
func WriteFileAtomic(ctx context.Context, name string, data []byte) error {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return err
	}
	defer fs.Close()
	tmp := name + ".tmp-" + randomSuffix()
	w, err := fs.OpenWrite(ctx, tmp)
	if err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		w.Close()
		removeQuietly(ctx, fs, tmp)
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := w.Close(); err != nil {
		removeQuietly(ctx, fs, tmp)
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := moveFile(ctx, fs, tmp, name); err != nil {
		removeQuietly(ctx, fs, tmp)
		return err
	}
	// Temp files of killed earlier writes of name; failing to remove them
	// does not undo this write.
	_, _ = RemoveStaleSiblings(ctx, name, StaleAfter, time.Now())
	return nil
}

// moveFile renames oldpath to newpath: a rename where the filesystem has
// one (creating a local parent folder when missing), else copy + remove.
func moveFile(ctx context.Context, fs filesystem.Interface, oldpath, newpath string) error {
	if r, ok := fs.(filesystem.Renamer); ok {
		err := r.Rename(ctx, oldpath, newpath)
		if err != nil && !strings.Contains(newpath, "://") {
			if mkErr := os.MkdirAll(filepath.Dir(newpath), 0o755); mkErr == nil {
				err = r.Rename(ctx, oldpath, newpath)
			}
		}
		if err != nil {
			return fmt.Errorf("renaming %s to %s: %w", oldpath, newpath, err)
		}
		return nil
	}
	c, ok := fs.(filesystem.Copier)
	rm, ok2 := fs.(filesystem.Remover)
	if !ok || !ok2 {
		return fmt.Errorf("renaming %s to %s: filesystem supports neither rename nor copy+remove", oldpath, newpath)
	}
	if err := c.Copy(ctx, oldpath, newpath); err != nil {
		return fmt.Errorf("copying %s to %s: %w", oldpath, newpath, err)
	}
	if err := rm.Remove(ctx, oldpath); err != nil {
		return fmt.Errorf("removing %s after copying it: %w", oldpath, err)
	}
	return nil
}

// removeQuietly removes name where the filesystem can, ignoring errors:
// for clean-up on a path that already failed.
func removeQuietly(ctx context.Context, fs filesystem.Interface, name string) {
	if rm, ok := fs.(filesystem.Remover); ok {
		_ = rm.Remove(ctx, name)
	}
}

// RemoveGlob removes every file matching glob; it returns how many went.
func RemoveGlob(ctx context.Context, glob string) (int, error) {
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return 0, err
	}
	defer fs.Close()
	files, err := fs.List(ctx, glob)
	if err != nil {
		return 0, err
	}
	rm, ok := fs.(filesystem.Remover)
	if !ok {
		return 0, fmt.Errorf("removing %s: filesystem cannot remove files", glob)
	}
	n := 0
	for _, f := range files {
		if err := rm.Remove(ctx, f); err != nil {
			return n, fmt.Errorf("removing %s: %w", f, err)
		}
		n++
	}
	return n, nil
}
