package hstu_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/internal/benchstep"
	"github.com/genrec/genrec/models/sequential"
)

// BenchmarkTrainStepScale is the step ladder of issue 14: one HSTU
// training step of the Beauty shape (B=128, L=50, d=64, 2 layers, 1 head,
// dropout 0.5, 128 sampled negatives, AdamW) on catalogues of 1e4, 1e5,
// 1e6 and 1e7 items, with negatives drawn per position (HSTU's sampler,
// the default) and shared by the whole batch (loss.negatives_shared). It
// reports seq/s, the item rows one step touches (rows/step), the Go
// runtime's memory from the OS (sys-MB) and the process's peak resident
// set so far (peakRSS-MB, VmHWM; the ladder runs smallest first, so each
// figure is that size's peak). The 1e7 rung needs about 8 GB (value and
// two AdamW moments of 1e7 x 64 float32); GENREC_SCALE_MAX=1000000 stops
// the ladder earlier, and -short stops it at 1e5. Run it with make
// bench-scale.
func BenchmarkTrainStepScale(b *testing.B) {
	maxItems := 10_000_000
	if v := os.Getenv("GENREC_SCALE_MAX"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			b.Fatalf("GENREC_SCALE_MAX=%q: want an item count >= 2", v)
		}
		maxItems = n
	}
	if testing.Short() {
		maxItems = min(maxItems, 100_000)
	}
	const n, d, negatives = 50, 64, 128
	for _, items := range []int{10_000, 100_000, 1_000_000, 10_000_000} {
		if items > maxItems {
			break
		}
		rng := rand.New(rand.NewPCG(1, 2))
		m, err := hstu.New[float32](hstu.Config{Items: items, MaxSeqLen: n,
			Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 1, HiddenSize: d, Dropout: 0.5}}, rng)
		if err != nil {
			b.Fatal(err)
		}
		rows := fullRows(rng, 128, n, items)
		idx := make([]int, len(rows))
		for i := range idx {
			idx[i] = i
		}
		batch, err := sequential.NewBatch(rows, idx, n, true)
		if err != nil {
			b.Fatal(err)
		}
		for _, shared := range []bool{false, true} {
			name := fmt.Sprintf("items=%d/negatives=per-position", items)
			if shared {
				name = fmt.Sprintf("items=%d/negatives=shared", items)
			}
			b.Run(name, func(b *testing.B) {
				benchstep.RunLoss(b, m, batch, sequential.LossConfig{Negatives: negatives, NegativesShared: shared}, rng)
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MB")
				if rss, ok := peakRSS(); ok {
					b.ReportMetric(float64(rss)/(1<<20), "peakRSS-MB")
				}
			})
		}
		m, rows, batch = nil, nil, nil
		runtime.GC()
		debug.FreeOSMemory()
	}
}

// peakRSS is the process's peak resident set (VmHWM of /proc/self/status)
// in bytes; false where that file does not exist.
func peakRSS() (int64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
