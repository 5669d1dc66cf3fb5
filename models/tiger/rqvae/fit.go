package rqvae

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/trainer"
)

// FitOptions configure Fit. Zero fields take the defaults: 200 epochs,
// batch 1024, AdamW lr 1e-3 (betas 0.9, 0.999), seed 1.
type FitOptions struct {
	Epochs    int       `json:"epochs" yaml:"epochs"`
	BatchSize int       `json:"batch_size" yaml:"batch_size"`
	LR        float64   `json:"lr" yaml:"lr"`
	Seed      uint64    `json:"seed" yaml:"seed"`
	Log       io.Writer `json:"-" yaml:"-"` // one line every 10% of the epochs; nil: none
}

func (o FitOptions) withDefaults() FitOptions {
	if o.Epochs == 0 {
		o.Epochs = 200
	}
	if o.BatchSize == 0 {
		o.BatchSize = 1024
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	return o
}

// FitReport is what Fit measured at its end, over all rows.
type FitReport struct {
	Epochs    int
	Losses    Losses  // of every row, after training
	Unique    float64 // fraction of rows whose L-code tuple no other row has
	Restarted int     // dead codes restarted in all
	UsedCodes []int   // codes in use per level
}

// objective is the RQ-VAE as a trainer.Objective over the rows of x.
type objective struct {
	m   *Model[float32]
	x   []float32
	buf []float32
}

func (o *objective) Params() []*kernels.Param[float32] { return o.m.Params() }

func (o *objective) Loss(idx []int, _ *rand.Rand) (float64, int, error) {
	D := o.m.Config.InputDim
	o.buf = o.buf[:0]
	for _, i := range idx {
		o.buf = append(o.buf, o.x[i*D:(i+1)*D]...)
	}
	ls := o.m.Forward(o.buf, len(idx))
	o.m.Backward()
	return ls.Total(), len(idx), nil
}

// Fit trains m on the n rows of x (n x InputDim) with genrec's training
// loop (trainer.Loop, AdamW): codebooks by k-means on the first batch's
// residuals, then Epochs epochs of shuffled mini-batches, restarting dead
// codes after every epoch. The same seed gives the same model. A
// cancelled ctx ends it with ctx's error.
func Fit(ctx context.Context, m *Model[float32], x []float32, n int, opt FitOptions) (FitReport, error) {
	opt = opt.withDefaults()
	if n < 1 || len(x) != n*m.Config.InputDim {
		return FitReport{}, fmt.Errorf("rqvae: Fit: %d values for %d rows of %d", len(x), n, m.Config.InputDim)
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0xc0de))
	bs := min(opt.BatchSize, n)
	first := rng.Perm(n)[:max(bs, min(n, m.Config.Codes))]
	init := make([]float32, 0, len(first)*m.Config.InputDim)
	for _, i := range first {
		init = append(init, x[i*m.Config.InputDim:(i+1)*m.Config.InputDim]...)
	}
	m.InitCodebooks(init, len(first), rng)
	examples := make([]int, n)
	for i := range examples {
		examples[i] = i
	}
	obj := &objective{m: m, x: x}
	var rep FitReport
	loop := &trainer.Loop{Examples: examples, BatchSize: bs, Seed: opt.Seed, Epochs: opt.Epochs,
		Schedule:  kernels.LRSchedule{Base: opt.LR},
		Optimizer: &trainer.Optimizer{AdamW: kernels.AdamW{LR: opt.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}},
		Objective: obj}
	m.resetUsage()
	loop.EpochEnd = append(loop.EpochEnd, func(e *trainer.EpochLog) error {
		rep.Restarted += m.RestartDead(rng)
		if opt.Log != nil && (e.Epoch%max(1, opt.Epochs/10) == 0 || e.Epoch == opt.Epochs) {
			fmt.Fprintf(opt.Log, "rqvae: epoch %d/%d loss %.5f\n", e.Epoch, opt.Epochs, e.Loss)
		}
		return nil
	})
	if _, err := loop.Run(ctx, 0); err != nil {
		return rep, err
	}
	rep.Epochs = loop.Pos.Epoch
	rep.Losses = m.Forward(x, n)
	m.resetUsage()
	codes := m.Codes(x, n)
	count := map[string]int{}
	used := make([]map[int32]bool, m.Config.Levels)
	for l := range used {
		used[l] = map[int32]bool{}
	}
	for _, t := range codes {
		count[string(tupleKey(t))]++
		for l, c := range t {
			used[l][c] = true
		}
	}
	unique := 0
	for _, t := range codes {
		if count[string(tupleKey(t))] == 1 {
			unique++
		}
	}
	rep.Unique = float64(unique) / float64(n)
	for l := range used {
		rep.UsedCodes = append(rep.UsedCodes, len(used[l]))
	}
	return rep, nil
}
