package onnx

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFindRuntime: the npm copy is found from a directory below the
// repository and from the repository's bin/ (where bin/genrec lives) when
// the working directory is elsewhere; a system copy comes after it; with
// neither, ErrNoRuntime.
func TestFindRuntime(t *testing.T) {
	root := t.TempDir()
	repo, elsewhere := filepath.Join(root, "repo"), filepath.Join(root, "elsewhere")
	lib := filepath.Join(repo, npmLib)
	sys := filepath.Join(root, "usr", "lib", "libonnxruntime.so")
	for _, p := range []string{lib, sys} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{filepath.Join(repo, "bin"), filepath.Join(repo, "out", "x"), elsewhere} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(root, "none.so")
	for _, tc := range []struct {
		name   string
		starts []string
		system []string
		want   string
	}{
		{"below the repository", []string{filepath.Join(repo, "out", "x")}, nil, lib},
		{"from the executable's bin/", []string{elsewhere, filepath.Join(repo, "bin")}, []string{sys}, lib},
		{"system copy", []string{elsewhere}, []string{missing, sys}, sys},
	} {
		got, err := findRuntime(tc.starts, tc.system)
		if err != nil || got != tc.want {
			t.Errorf("%s: findRuntime = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if got, err := findRuntime([]string{elsewhere}, []string{missing}); !errors.Is(err, ErrNoRuntime) {
		t.Errorf("nothing installed: findRuntime = %q, %v; want ErrNoRuntime", got, err)
	}
}
