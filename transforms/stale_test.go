package transforms_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/genrec/genrec/transforms"
)

// age sets the modification time of each path to d before now.
func age(t *testing.T, d time.Duration, paths ...string) {
	t.Helper()
	old := time.Now().Add(-d)
	for _, p := range paths {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func touch(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A killed run's folder (heartbeat and parts last written two hours ago)
// and an empty folder of a run killed at once go; the folder of a live
// run (fresh heartbeat), and one of a run that wrote a part a minute ago
// without a heartbeat (an older genrec), stay.
func TestGuardTempRemovesStaleKeepsLive(t *testing.T) {
	ctx := context.Background()
	out := t.TempDir()
	tmp := filepath.Join(out, "_temporary")
	dead := filepath.Join(tmp, "dead")
	age(t, 2*time.Hour,
		touch(t, filepath.Join(dead, transforms.HeartbeatFile)),
		touch(t, filepath.Join(dead, "train-ab12.parquet")), dead)
	empty := filepath.Join(tmp, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	age(t, 2*time.Hour, empty)
	recent := filepath.Join(tmp, "recent")
	age(t, time.Minute, touch(t, filepath.Join(recent, "train-cd34.parquet")))
	// A concurrent live run: old parts but a fresh heartbeat.
	other := filepath.Join(tmp, "other")
	g0, err := transforms.StartHeartbeat(ctx, other, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer g0.Stop()
	age(t, 2*time.Hour, touch(t, filepath.Join(other, "train-ef56.parquet")))

	mine := filepath.Join(tmp, "mine")
	g, removed, err := transforms.GuardTemp(ctx, out, mine)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Stop()
	if want := []string{dead, empty}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, d := range []string{dead, empty} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still there (err %v)", d, err)
		}
	}
	for _, f := range []string{
		filepath.Join(recent, "train-cd34.parquet"),
		filepath.Join(other, "train-ef56.parquet"),
		filepath.Join(mine, transforms.HeartbeatFile),
	} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s was removed: %v", f, err)
		}
	}
}

// The heartbeat is rewritten while the run lives and not after Stop.
func TestHeartbeatRefreshes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "_temporary", "run")
	g, err := transforms.StartHeartbeat(context.Background(), dir, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	hb := filepath.Join(dir, transforms.HeartbeatFile)
	age(t, time.Hour, hb)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := os.Stat(hb)
		if err == nil && time.Since(st.ModTime()) < time.Minute {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat %s not refreshed within 5 s", hb)
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.Stop()
	g.Stop() // a second Stop is harmless
	age(t, time.Hour, hb)
	time.Sleep(100 * time.Millisecond)
	if st, _ := os.Stat(hb); time.Since(st.ModTime()) < time.Minute {
		t.Errorf("heartbeat rewritten after Stop")
	}
}

// WriteFileAtomic removes the temp siblings a killed earlier write left,
// and keeps a fresh one (a concurrent writer's).
func TestWriteFileAtomicRemovesStaleSiblings(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "metrics.json")
	stale := touch(t, name+".tmp-0011aabb")
	age(t, 2*time.Hour, stale)
	fresh := touch(t, name+".tmp-ccdd2233")
	if err := transforms.WriteFileAtomic(context.Background(), name, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale %s kept (err %v)", stale, err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh %s removed: %v", fresh, err)
	}
	if b, err := os.ReadFile(name); err != nil || string(b) != "{}\n" {
		t.Errorf("%s = %q, %v", name, b, err)
	}
}

// A missing output folder has nothing stale.
func TestRemoveStaleTempsNoFolder(t *testing.T) {
	got, err := transforms.RemoveStaleTemps(context.Background(), filepath.Join(t.TempDir(), "none"), time.Minute, time.Now())
	if err != nil || len(got) != 0 {
		t.Errorf("got %v, %v; want nothing, nil", got, err)
	}
}
