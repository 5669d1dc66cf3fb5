package transforms

import (
	"context"
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
