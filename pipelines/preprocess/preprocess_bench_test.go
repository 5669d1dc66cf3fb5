package preprocess_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms/synthetic"
)

// BenchmarkPreprocess compares the Beam pipeline on prism with the plain
// in-memory implementation of the same transformation (the floor), both
// reading the same synthetic CSV and writing Parquet, at 1e5 and 1e6
// events. It reports events/s and the process's peak resident memory while
// the benchmark ran (peak-RSS-MB, sampled every 5 ms; the process's memory
// before it started is in base-RSS-MB).
func BenchmarkPreprocess(b *testing.B) {
	for _, events := range []int{1e5, 1e6} {
		input := benchInput(b, events)
		for _, impl := range []string{"pipeline", "inmemory"} {
			b.Run(fmt.Sprintf("%s/events=%.0e", impl, float64(events)), func(b *testing.B) {
				out := b.TempDir()
				cfg := preprocess.Config{Inputs: []string{input}, Format: "table", MaxSeqLen: 50, OutDir: out}
				debug.FreeOSMemory()
				base := rssMB()
				stop := samplePeakRSS()
				b.ResetTimer()
				for range b.N {
					var err error
					if impl == "pipeline" {
						_, err = preprocess.Run(context.Background(), cfg, runners.Options{})
					} else {
						_, err = preprocess.InMemory(context.Background(), cfg, true)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(stop(), "peak-RSS-MB")
				b.ReportMetric(base, "base-RSS-MB")
			})
		}
	}
}

// benchInput writes a synthetic data set of about n events, once per size.
func benchInput(b *testing.B, n int) string {
	b.Helper()
	cfg := synthetic.DefaultConfig()
	cfg.Users = n / 25
	cfg.Items = max(1000, n/100)
	path := filepath.Join(os.TempDir(), fmt.Sprintf("genrec-bench-%d.csv", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := synthetic.WriteInteractionsCSV(f, cfg); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// rssMB reads this process's resident set size from /proc (0 elsewhere).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// samplePeakRSS samples rssMB until the returned function is called, which
// returns the peak.
func samplePeakRSS() func() float64 {
	var mu sync.Mutex
	peak := rssMB()
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				r := rssMB()
				mu.Lock()
				peak = max(peak, r)
				mu.Unlock()
			}
		}
	}()
	return func() float64 {
		close(done)
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
