package transforms

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestExists: present and missing files, local and memfs://, are told
// apart without reading them; a path under a file (not a directory) is an
// error, not "missing", so --resume cannot mistake it for no checkpoint.
func TestExists(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	present := filepath.Join(dir, "last.ckpt")
	if err := os.WriteFile(present, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(ctx, "memfs://exists/last.ckpt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{present, true},
		{filepath.Join(dir, "none.ckpt"), false},
		{"memfs://exists/last.ckpt", true},
		{"memfs://exists/none.ckpt", false},
	} {
		got, err := Exists(ctx, tc.name)
		if err != nil || got != tc.want {
			t.Errorf("Exists(%s) = %v, %v; want %v, nil", tc.name, got, err, tc.want)
		}
	}
	if got, err := Exists(ctx, filepath.Join(present, "sub")); err == nil {
		t.Errorf("Exists(a path below a file) = %v, nil; want an error", got)
	}
}

// Invalid marks an error for the CLI's exit 2 without changing its text.
func TestInvalid(t *testing.T) {
	base := fmt.Errorf("config x.yaml: %w", fs.ErrNotExist)
	err := Invalid(base)
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrNotExist) || err.Error() != base.Error() {
		t.Errorf("Invalid(%v) = %v", base, err)
	}
	if errors.Is(base, ErrInvalid) || Invalid(nil) != nil {
		t.Error("unmarked errors and nil must stay as they are")
	}
	if !errors.Is(fmt.Errorf("train: %w", err), ErrInvalid) {
		t.Error("the mark must survive wrapping")
	}
}
