package schedule

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/genrec/genrec/transforms"
)

// previousPartition and clean on a local root and on a URL root (memfs://,
// through the same Beam filesystem calls as gs://).
func TestPartitionHelpers(t *testing.T) {
	ctx := context.Background()
	for _, root := range []string{filepath.Join(t.TempDir(), "runs"), "memfs://partition-test/runs"} {
		put := func(rel string) {
			if err := transforms.WriteFileAtomic(ctx, transforms.JoinPath(root, rel), []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		for _, rel := range []string{
			"dt=2026-11-26/_SUCCESS", "dt=2026-11-27/_SUCCESS", "dt=2026-11-28/_FAILED", "dt=2026-11-30/_SUCCESS",
			"ds=2026-11-29/_SUCCESS", "dt=2026-11-29/_LOCK", "dt=2026-11-29/_FAILED", "dt=2026-11-29/data/sequences/part-0.parquet",
			"dt=2026-11-29/model/best.ckpt", "dt=2026-11-290/_SUCCESS",
		} {
			put(rel)
		}
		day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
		for _, tc := range []struct{ key, date, want string }{
			{"dt", "2026-11-29", "dt=2026-11-27"}, // 28 failed, 30 is later
			{"dt", "2026-12-01", "dt=2026-11-30"},
			{"dt", "2026-11-26", ""},
			{"ds", "2026-11-30", "ds=2026-11-29"},
		} {
			got, _, err := previousPartition(ctx, root, tc.key, day(tc.date))
			want := ""
			if tc.want != "" {
				want = transforms.JoinPath(root, tc.want)
			}
			if err != nil || got != want {
				t.Errorf("%s: previous %s of %s = %q (%v), want %q", root, tc.key, tc.date, got, err, want)
			}
		}
		part := transforms.JoinPath(root, "dt=2026-11-29")
		if _, err := clean(ctx, part); err != nil {
			t.Fatal(err)
		}
		var left []string
		if filepath.IsAbs(root) {
			ents, _ := os.ReadDir(part)
			for _, e := range ents {
				left = append(left, e.Name())
			}
		} else {
			fsys, _ := filesystem.New(ctx, part)
			all, _ := fsys.List(ctx, part+"/**")
			for _, f := range all {
				left = append(left, f[len(part)+1:])
			}
		}
		if !slices.Equal(left, []string{LockFile}) {
			t.Errorf("%s: clean left %v, want the lock only", part, left)
		}
	}
}
