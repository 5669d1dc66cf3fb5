package transforms

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// HeartbeatFile is the file a live run keeps fresh in its temp folder
// (<out>/_temporary/<run>/_heartbeat) so that another run sharing the
// output folder can tell it from the leftovers of a killed one.
const HeartbeatFile = "_heartbeat"

// HeartbeatEvery is how often a live run rewrites its heartbeat, and
// StaleAfter how long a temp folder may go without any file in it being
// written before another run removes it. StaleAfter is fifteen beats, so
// a run that is merely slow (a long GC pause, a busy disk, a slow GCS
// write) is never taken for dead.
const (
	HeartbeatEvery = time.Minute
	StaleAfter     = 15 * time.Minute
)

// TempGuard is the handle of a run's temp folder: Stop ends its heartbeat.
type TempGuard struct {
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

// Stop ends the heartbeat and waits for its last write; it is safe to
// call more than once and on a nil guard.
func (g *TempGuard) Stop() {
	if g == nil {
		return
	}
	g.once.Do(func() { close(g.stop); g.done.Wait() })
}

// GuardTemp starts a run that writes under tempDir = <outDir>/_temporary/<run>:
// it first removes the temp folders under <outDir>/_temporary that earlier
// runs left and that are stale (RemoveStaleTemps with StaleAfter), then
// writes tempDir/_heartbeat and rewrites it every HeartbeatEvery until
// Stop. Call Stop before CleanTemp. The removed folders are returned so
// the caller can say what it cleaned. An error writing the first heartbeat
// is returned (the output folder is not writable); a failed later beat
// only ages the heartbeat, which StaleAfter's margin absorbs.
func GuardTemp(ctx context.Context, outDir, tempDir string) (*TempGuard, []string, error) {
	removed, err := RemoveStaleTemps(ctx, outDir, StaleAfter, time.Now())
	if err != nil {
		return nil, removed, err
	}
	g, err := startHeartbeat(ctx, tempDir, HeartbeatEvery)
	return g, removed, err
}

func startHeartbeat(ctx context.Context, tempDir string, every time.Duration) (*TempGuard, error) {
	name := JoinPath(tempDir, HeartbeatFile)
	beat := func() error {
		host, _ := os.Hostname()
		msg := fmt.Sprintf("pid %d on %s, alive at %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
		return writeFile(ctx, name, []byte(msg))
	}
	if err := beat(); err != nil {
		return nil, fmt.Errorf("writing heartbeat %s: %w", name, err)
	}
	g := &TempGuard{stop: make(chan struct{})}
	g.done.Add(1)
	go func() {
		defer g.done.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_ = beat()
			}
		}
	}()
	return g, nil
}

// writeFile writes data to name in place (a heartbeat needs no atomic
// rename: a torn one still has a fresh modification time).
func writeFile(ctx context.Context, name string, data []byte) error {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return err
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// RemoveStaleTemps removes the run folders under <outDir>/_temporary whose
// newest file (the heartbeat of a live run, else the last part it wrote)
// was modified more than olderThan before now. A folder whose files'
// times the filesystem cannot give is kept: nothing is removed on a guess.
// Local folders left empty go too. It returns the folders removed, sorted.
func RemoveStaleTemps(ctx context.Context, outDir string, olderThan time.Duration, now time.Time) ([]string, error) {
	root := JoinPath(outDir, "_temporary")
	fs, err := filesystem.New(ctx, root)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	files, err := fs.List(ctx, JoinPath(root, "*", "*"))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", root, err)
	}
	lm, canDate := fs.(filesystem.LastModifiedGetter)
	rm, canRemove := fs.(filesystem.Remover)
	if !canDate || !canRemove {
		return nil, nil
	}
	byRun := map[string][]string{}
	newest := map[string]time.Time{}
	undated := map[string]bool{}
	for _, f := range files {
		run := BaseDir(f)
		byRun[run] = append(byRun[run], f)
		t, err := lm.LastModified(ctx, f)
		if err != nil {
			undated[run] = true // vanished under us: a live run is cleaning up
			continue
		}
		if t.After(newest[run]) {
			newest[run] = t
		}
	}
	local := !strings.Contains(root, "://")
	if local { // a run killed before writing anything leaves an empty folder
		dirs, _ := fs.List(ctx, JoinPath(root, "*"))
		for _, d := range dirs {
			if st, err := os.Stat(d); err == nil && st.IsDir() {
				if _, ok := byRun[d]; !ok {
					byRun[d] = nil
					newest[d] = st.ModTime()
				}
			}
		}
	}
	var removed []string
	for run, fl := range byRun {
		if undated[run] || now.Sub(newest[run]) <= olderThan {
			continue
		}
		for _, f := range fl {
			if err := rm.Remove(ctx, f); err != nil && !os.IsNotExist(err) {
				return removed, fmt.Errorf("removing stale temporary file %s: %w", f, err)
			}
		}
		if local {
			os.Remove(run)
		}
		removed = append(removed, run)
	}
	slices.Sort(removed)
	return removed, nil
}

// RemoveStaleSiblings removes the temp files "<name>.tmp-*" that a killed
// WriteFileAtomic left beside name and that are older than olderThan (a
// concurrent writer's temp file is seconds old and is kept). It returns
// how many went; files it cannot date are kept.
func RemoveStaleSiblings(ctx context.Context, name string, olderThan time.Duration, now time.Time) (int, error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return 0, err
	}
	defer fs.Close()
	lm, ok := fs.(filesystem.LastModifiedGetter)
	rm, ok2 := fs.(filesystem.Remover)
	if !ok || !ok2 {
		return 0, nil
	}
	files, err := fs.List(ctx, name+".tmp-*")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range files {
		t, err := lm.LastModified(ctx, f)
		if err != nil || now.Sub(t) <= olderThan {
			continue
		}
		if err := rm.Remove(ctx, f); err != nil && !os.IsNotExist(err) {
			return n, fmt.Errorf("removing stale temporary file %s: %w", f, err)
		}
		n++
	}
	return n, nil
}
