package trainer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/genrec/genrec/models/kernels"
)

// Position is where a training loop stands. A loop started from a saved
// Position draws the batches, dropout masks and negatives that the
// uninterrupted loop would have drawn.
type Position struct {
	Epoch     int    `json:"epoch"`         // epochs completed
	EpochStep int    `json:"epoch_step"`    // batches done in epoch Epoch+1
	Step      int    `json:"step"`          // batches done in all: the learning-rate schedule's position
	RNG       []byte `json:"rng,omitempty"` // epoch Epoch+1's random state after EpochStep batches
}

// StepInfo is what the loop tells its step hooks after every step.
type StepInfo struct {
	Epoch     int     // the epoch under way (1-based)
	EpochStep int     // batches done in it
	Steps     int     // batches per epoch
	Loss      float64 // this batch's mean loss
	MeanLoss  float64 // the epoch's running mean loss, weighted by loss terms
	Rate      float64 // training examples per second in this epoch so far
}

// ErrStop, returned by an epoch hook, ends the loop after that epoch
// without an error (early stopping).
var ErrStop = errors.New("trainer: stop")

// Loop is genrec's one training loop: mini-batches of a seeded permutation
// of the training examples per epoch (epoch e draws from PCG(Seed, e)), one
// Optimizer step each at the schedule's learning rate, and hooks after every
// step and every epoch. GenRecTrainer.Fit, the ranking trainer and a
// data-parallel shard's local steps are this loop with different objectives
// and hooks. Not safe for concurrent use.
type Loop struct {
	Examples  []int // the training examples, in table order
	BatchSize int
	Seed      uint64
	Epochs    int // the loop ends when Pos.Epoch reaches Epochs
	Schedule  kernels.LRSchedule
	Optimizer *Optimizer
	Objective Objective
	Pos       Position // where the loop stands; Run advances it

	// EpochStart hooks run before an epoch's first step (or its first step
	// after a resume) with the epoch and its number of batches.
	EpochStart []func(epoch, steps int)
	// StepEnd hooks run after every step; an error ends the loop.
	StepEnd []func(StepInfo) error
	// EpochEnd hooks run after every epoch, in order, on the epoch's log
	// entry (they may fill it in: validation). A hook's ErrStop ends the
	// loop once every hook has run.
	EpochEnd []func(*EpochLog) error

	src *rand.PCG
}

// Tally is what one Run trained on.
type Tally struct {
	Steps    int
	Examples int     // training examples seen
	LossSum  float64 // Σ batch loss · loss terms
	Terms    int     // loss terms
}

// StepsPerEpoch is the number of batches in an epoch.
func (l *Loop) StepsPerEpoch() int { return (len(l.Examples) + l.BatchSize - 1) / l.BatchSize }

// Position returns where the loop stands with the random state of the
// epoch under way, for a checkpoint.
func (l *Loop) Position() Position {
	p := l.Pos
	if p.EpochStep > 0 && l.src != nil {
		p.RNG = marshalRNG(l.src)
	}
	return p
}

// Run trains until Pos.Epoch reaches Epochs, an epoch hook returns ErrStop,
// or maxSteps steps are done (maxSteps <= 0: no limit). When ctx is
// cancelled it returns ctx's error with Pos at the step it stopped before.
func (l *Loop) Run(ctx context.Context, maxSteps int) (Tally, error) {
	var t Tally
	if len(l.Examples) == 0 || l.BatchSize < 1 {
		return t, fmt.Errorf("trainer: the loop has no training examples")
	}
	steps := l.StepsPerEpoch()
	for l.Pos.Epoch < l.Epochs && (maxSteps <= 0 || t.Steps < maxSteps) {
		epoch := l.Pos.Epoch + 1
		src := rand.NewPCG(l.Seed, uint64(epoch))
		rng := rand.New(src)
		order := make([]int, len(l.Examples))
		for i, j := range rng.Perm(len(l.Examples)) {
			order[i] = l.Examples[j]
		}
		if l.Pos.EpochStep > 0 && l.Pos.RNG != nil {
			if err := src.UnmarshalBinary(l.Pos.RNG); err != nil {
				return t, fmt.Errorf("trainer: the checkpoint's random state: %w", err)
			}
		}
		l.src, l.Pos.RNG = src, nil
		for _, h := range l.EpochStart {
			h(epoch, steps)
		}
		start := time.Now()
		var lossSum float64
		var terms, examples int
		for s := l.Pos.EpochStep; s < steps; s++ {
			if maxSteps > 0 && t.Steps == maxSteps {
				l.Pos = l.Position()
				return t, nil
			}
			if err := ctx.Err(); err != nil {
				l.Pos = l.Position()
				return t, err
			}
			idx := order[s*l.BatchSize : min((s+1)*l.BatchSize, len(order))]
			loss, n, err := l.Optimizer.Step(l.Objective, idx, rng, l.Schedule.At(l.Pos.Step))
			if err != nil {
				return t, fmt.Errorf("trainer: epoch %d, step %d: %w", epoch, s+1, err)
			}
			l.Pos.Step++
			l.Pos.EpochStep = s + 1
			t.Steps++
			t.LossSum += loss * float64(n)
			t.Terms += n
			t.Examples += len(idx)
			lossSum += loss * float64(n)
			terms += n
			examples += len(idx)
			info := StepInfo{Epoch: epoch, EpochStep: s + 1, Steps: steps, Loss: loss,
				MeanLoss: lossSum / float64(max(terms, 1)), Rate: float64(examples) / time.Since(start).Seconds()}
			for _, h := range l.StepEnd {
				if err := h(info); err != nil {
					return t, err
				}
			}
		}
		l.Pos = Position{Epoch: epoch, Step: l.Pos.Step}
		l.src = nil
		entry := EpochLog{Epoch: epoch, Loss: lossSum / float64(max(terms, 1)), LR: l.Schedule.At(l.Pos.Step), Seconds: time.Since(start).Seconds()}
		entry.ExamplesPerSecond = float64(examples) / entry.Seconds
		stop := false
		for _, h := range l.EpochEnd {
			if err := h(&entry); errors.Is(err, ErrStop) {
				stop = true
			} else if err != nil {
				return t, err
			}
		}
		if stop {
			return t, nil
		}
	}
	return t, nil
}

func marshalRNG(src *rand.PCG) []byte {
	b, err := src.MarshalBinary()
	if err != nil {
		panic("trainer: " + err.Error())
	}
	return b
}
