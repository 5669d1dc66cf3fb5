//go:build unix

package graph_test

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/genrec/genrec/models/graph"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// BenchmarkGraphOverhead times one training step (forward, sampled-softmax
// loss and backward, gradients accumulated into the model) of HSTU with
// d=64, 2 layers, 1 head, L=50 with every sequence full, 128 negatives and
// 12102 items, both as the gorgonia graph of BuildHSTU (built once; each
// step is RunAll and Reset) and as the direct kernel path, alternating the
// two in every iteration. It reports each path's wall-clock ms/step and the
// graph's overhead in percent of the direct step, over a ladder of batch
// sizes, and the same for process CPU time (getrusage, hence unix only),
// which other load on a shared machine disturbs far less than wall time.
func BenchmarkGraphOverhead(b *testing.B) {
	const items, l, k = 12102, 50, 128
	for _, nb := range []int{32, 128} {
		b.Run(fmt.Sprintf("B=%d", nb), func(b *testing.B) {
			m := newModel(b, items, l, 2, 1, 64, hstu.HierarchicalParams{}, false, 1)
			lens := make([]int, nb)
			for i := range lens {
				lens[i] = l
			}
			batch := newBatch(items, l, lens, 3)
			neg := make([]int32, batch.Positions()*k)
			kernels.UniformNegatives(rand.New(rand.NewPCG(5, 6)), items, neg)
			cfg := sequential.LossConfig{Negatives: k}
			temperature := cfg.WithDefaults().Temperature
			g, err := graph.BuildHSTU(m, batch, neg, cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			var s direct
			graphStep := func() {
				if _, _, err := g.Step(); err != nil {
					b.Fatal(err)
				}
			}
			directStep := func() { s.step(m, batch, neg, k, temperature) }
			graphStep() // first runs allocate the buffers
			directStep()

			var wall, cpu [2]time.Duration // graph, direct
			b.ResetTimer()
			for range b.N {
				for i, step := range []func(){graphStep, directStep} {
					zeroGrads(m)
					t0, c0 := time.Now(), cpuTime()
					step()
					cpu[i] += cpuTime() - c0
					wall[i] += time.Since(t0)
				}
			}
			b.StopTimer()
			report := func(t [2]time.Duration, unit string) {
				g, d := t[0].Seconds()*1e3/float64(b.N), t[1].Seconds()*1e3/float64(b.N)
				b.ReportMetric(g, "graph-"+unit+"/step")
				b.ReportMetric(d, "direct-"+unit+"/step")
				b.ReportMetric(100*(g-d)/d, unit+"-overhead-%")
			}
			report(wall, "ms")
			report(cpu, "cpu-ms")
		})
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkGraphBuild measures what training through the graph would add
// per step: the graph's ops hold the batch's jagged row layout, lengths,
// timestamps and negatives, so each new batch needs a new graph (BuildHSTU,
// with gorgonia.Grad's symbolic differentiation and a new TapeMachine).
func BenchmarkGraphBuild(b *testing.B) {
	const items, l, k, nb = 12102, 50, 128, 128
	m := newModel(b, items, l, 2, 1, 64, hstu.HierarchicalParams{}, false, 1)
	lens := make([]int, nb)
	for i := range lens {
		lens[i] = l
	}
	batch := newBatch(items, l, lens, 3)
	neg := make([]int32, batch.Positions()*k)
	kernels.UniformNegatives(rand.New(rand.NewPCG(5, 6)), items, neg)
	cfg := sequential.LossConfig{Negatives: k}
	b.ResetTimer()
	for range b.N {
		g, err := graph.BuildHSTU(m, batch, neg, cfg)
		if err != nil {
			b.Fatal(err)
		}
		g.Close()
	}
}
