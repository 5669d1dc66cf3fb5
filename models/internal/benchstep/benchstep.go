// Package benchstep is the training-step benchmark the model packages
// share.
package benchstep

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// Run times one training step of m on batch (gradients zeroed,
// sequential.Head.Step with negatives uniform negatives, an AdamW update)
// after one warm-up step, and reports the batch's sequences per second as
// "seq/s".
func Run(b *testing.B, m sequential.Model, batch *sequential.Batch, negatives int, rng *rand.Rand) {
	b.Helper()
	RunLoss(b, m, batch, sequential.LossConfig{Negatives: negatives}, rng)
}

// RunLoss is Run with the head's whole loss configuration (shared
// negatives, temperature). It also reports the item rows the last step
// touched as "rows/step".
func RunLoss(b *testing.B, m sequential.Model, batch *sequential.Batch, loss sequential.LossConfig, rng *rand.Rand) {
	b.Helper()
	head := sequential.Head{Loss: loss}
	adam := kernels.NewAdamW(1e-3)
	step := func() {
		for _, p := range m.Params() {
			p.ZeroGrad()
		}
		if _, _, err := head.Step(m, batch, rng); err != nil {
			b.Fatal(err)
		}
		kernels.AdamWStep(adam, m.Params())
	}
	step() // warm buffers
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		step()
	}
	b.ReportMetric(float64(batch.B*b.N)/time.Since(start).Seconds(), "seq/s")
	b.ReportMetric(float64(len(m.ItemTable().TouchedRows())), "rows/step")
}
