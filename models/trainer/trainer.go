package trainer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/models/graph"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// GenRecTrainer trains a sequential model (the seed API's GenRecTrainer):
// Fit with early stopping, Evaluate, Predict. Hooks and the progress
// writer attach to it; it is not safe for concurrent use.
type GenRecTrainer struct {
	Model   sequential.Model
	Options Options // with defaults applied by NewGenRecTrainer

	// ModelConfig (JSON) and Vocab (features.Vocabs JSON) are stored in
	// every checkpoint so that it can be used on its own.
	ModelConfig []byte
	Vocab       []byte

	// Progress receives a progress bar per epoch (nil: none).
	Progress io.Writer
	// OnEpoch is called after each epoch with its log entry.
	OnEpoch func(EpochLog)
	// OnStep is called after each optimizer step with the total step count
	// and the batch's loss.
	OnStep func(step int, loss float64)

	head  sequential.Head
	adam  *kernels.AdamW
	state progress
}

// progress is the resumable position of a run.
type progress struct {
	epoch, step, epochStep int
	rng                    []byte
	best                   float64
	bestEpoch, badEpochs   int
}

// NewGenRecTrainer checks opts and returns a trainer for m.
func NewGenRecTrainer(m sequential.Model, opts Options) (*GenRecTrainer, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Engine == EngineGorgonia {
		if _, err := graphModel(m); err != nil {
			return nil, err
		}
	}
	if opts.Threads > 0 {
		kernels.SetWorkers(opts.Threads)
	}
	p := opts.Optimizer
	t := &GenRecTrainer{
		Model:   m,
		Options: opts,
		head:    sequential.Head{Loss: opts.Loss},
		adam:    &kernels.AdamW{LR: p.LR, Beta1: p.Beta1, Beta2: p.Beta2, Eps: p.Eps, WeightDecay: p.WeightDecay},
		state:   progress{best: math.Inf(-1)},
	}
	return t, nil
}

// FitResult is what Fit reports.
type FitResult struct {
	Epochs    int         // epochs completed in total (a resumed run counts earlier ones)
	BestEpoch int         // epoch of the best validation metric (0: never validated)
	Best      eval.Report // validation report of the best epoch
	Stopped   bool        // early stopping ended the run
	Log       []EpochLog  // this call's epochs
}

// ErrNonFinite is wrapped by Fit's error when a loss or gradient is NaN or
// infinite.
var ErrNonFinite = errors.New("non-finite loss or gradient")

// Fit trains on the training rows of train and validates on the rows of
// valid (the valid split of the same sequences table; their users'
// training rows are taken from train for history masking) after every
// EvalEvery epochs, keeping the best model by EarlyStopMetric and
// stopping after EarlyStopPatience epochs without improvement. With a
// ModelPath it writes best.ckpt, last.ckpt (each epoch, and every
// CheckpointEvery steps), train_log.jsonl and train_log.png there. When ctx
// is cancelled it saves last.ckpt at the current step and returns ctx's
// error; Resume continues from there. On return the model holds the best
// weights when a validation ran, else the last.
func (t *GenRecTrainer) Fit(ctx context.Context, train, valid []transforms.SequenceRow) (FitResult, error) {
	o := t.Options
	trainIdx := sequential.SplitRows(train, transforms.SplitTrain)
	if len(trainIdx) == 0 {
		return FitResult{}, fmt.Errorf("trainer: no training rows")
	}
	all := append(append([]transforms.SequenceRow{}, train...), valid...)
	var validIdx []int
	var hist sequential.History
	for i := len(train); i < len(all); i++ {
		if all[i].Split == transforms.SplitValid {
			validIdx = append(validIdx, i)
		}
	}
	if len(validIdx) > 0 {
		hist = sequential.Histories(all, transforms.SplitValid)
	}
	steps := (len(trainIdx) + o.BatchSize - 1) / o.BatchSize
	sched := kernels.LRSchedule{Base: o.Optimizer.LR, Min: o.Optimizer.MinLR, Warmup: o.Optimizer.WarmupSteps, Total: steps * o.Epochs, Cosine: o.Optimizer.Cosine}
	logw, err := t.openLog(ctx)
	if err != nil {
		return FitResult{}, err
	}
	res := FitResult{}
	var best []export.Tensor
	if t.state.bestEpoch > 0 {
		if ck, err := t.loadBest(ctx); err == nil {
			best = ck.Params
		}
	}
	params := t.Model.Params()
	for t.state.epoch < o.Epochs {
		epoch := t.state.epoch + 1
		src := rand.NewPCG(o.Seed, uint64(epoch))
		rng := rand.New(src)
		order := make([]int, len(trainIdx))
		for i, j := range rng.Perm(len(trainIdx)) {
			order[i] = trainIdx[j]
		}
		if t.state.epochStep > 0 && t.state.rng != nil {
			if err := src.UnmarshalBinary(t.state.rng); err != nil {
				return res, fmt.Errorf("trainer: checkpoint's random state: %w", err)
			}
		}
		bar := newBar(t.Progress, steps, epoch, o.Epochs)
		start := time.Now()
		var lossSum float64
		var lossN, examples int
		for s := t.state.epochStep; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				t.state.epochStep, t.state.rng = s, saveRNG(src)
				if serr := t.saveLast(ctx); serr != nil {
					return res, errors.Join(err, serr)
				}
				return res, err
			}
			idx := order[s*o.BatchSize : min((s+1)*o.BatchSize, len(order))]
			loss, n, err := t.step(train, idx, rng, sched.At(t.state.step))
			if err != nil {
				return res, fmt.Errorf("trainer: epoch %d, step %d: %w; %s", epoch, s+1, err, t.lastGood())
			}
			t.state.step++
			if t.OnStep != nil {
				t.OnStep(t.state.step, loss)
			}
			lossSum += loss * float64(n)
			lossN += n
			examples += len(idx)
			bar.update(s+1, lossSum/float64(max(lossN, 1)), float64(examples)/time.Since(start).Seconds())
			if o.CheckpointEvery > 0 && t.state.step%o.CheckpointEvery == 0 && s+1 < steps {
				t.state.epochStep, t.state.rng = s+1, saveRNG(src)
				if err := t.saveLast(ctx); err != nil {
					return res, err
				}
			}
		}
		bar.finish()
		t.state.epoch, t.state.epochStep, t.state.rng = epoch, 0, nil
		entry := EpochLog{Epoch: epoch, Loss: lossSum / float64(max(lossN, 1)), LR: sched.At(t.state.step), Seconds: time.Since(start).Seconds()}
		entry.ExamplesPerSecond = float64(examples) / entry.Seconds
		improved := false
		if len(validIdx) > 0 && (epoch%o.EvalEvery == 0 || epoch == o.Epochs) {
			ranks, err := sequential.Rank(t.Model, all, validIdx, hist, o.EvalBatchSize)
			if err != nil {
				return res, fmt.Errorf("trainer: epoch %d validation: %w", epoch, err)
			}
			rep, err := eval.Ranking(ranks, o.Ks)
			if err != nil {
				return res, fmt.Errorf("trainer: epoch %d validation: %w", epoch, err)
			}
			entry.Valid = rep.Map()
			if v := entry.Valid[o.EarlyStopMetric]; v > t.state.best {
				t.state.best, t.state.bestEpoch, t.state.badEpochs = v, epoch, 0
				res.Best, improved = rep, true
				best = snapshot(params)
			} else {
				t.state.badEpochs++
			}
		}
		entry.Best = improved
		res.Log = append(res.Log, entry)
		if err := logw.write(ctx, entry); err != nil {
			return res, err
		}
		if improved {
			if err := t.save(ctx, "best.ckpt"); err != nil {
				return res, err
			}
		}
		if err := t.saveLast(ctx); err != nil {
			return res, err
		}
		if t.OnEpoch != nil {
			t.OnEpoch(entry)
		}
		if o.EarlyStopPatience > 0 && t.state.badEpochs >= o.EarlyStopPatience {
			res.Stopped = true
			break
		}
	}
	res.Epochs, res.BestEpoch = t.state.epoch, t.state.bestEpoch
	if best != nil {
		if err := loadTensors(params, best, false); err != nil {
			return res, err
		}
		if len(res.Best.Ks) == 0 && len(validIdx) > 0 {
			if res.Best, err = t.Evaluate(all, transforms.SplitValid); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// step trains on one batch and returns its mean loss and labelled count.
func (t *GenRecTrainer) step(rows []transforms.SequenceRow, idx []int, rng *rand.Rand, lr float64) (float64, int, error) {
	if a := t.Options.StochasticLength; a > 0 {
		sub := make([]transforms.SequenceRow, len(idx))
		pos := make([]int, len(idx))
		for i, r := range idx {
			sub[i], pos[i] = sequential.StochasticLength(rows[r], t.Model.MaxLen(), a, rng), i
		}
		rows, idx = sub, pos
	}
	b, err := sequential.NewBatch(rows, idx, t.Model.MaxLen(), true)
	if err != nil {
		return 0, 0, err
	}
	params := t.Model.Params()
	for _, p := range params {
		p.ZeroGrad()
	}
	var loss float64
	var n int
	if t.Options.Engine == EngineGorgonia {
		m, merr := graphModel(t.Model)
		if merr != nil {
			return 0, 0, merr
		}
		loss, n, err = graph.Step(m, b, rng, t.Options.Loss)
		if err != nil && !(math.IsNaN(loss) || math.IsInf(loss, 0)) {
			return loss, n, err // the graph failed, not the numbers
		}
	} else {
		loss, n, err = t.head.Step(t.Model, b, rng)
	}
	if err != nil {
		return loss, n, fmt.Errorf("%w: %w", ErrNonFinite, err)
	}
	if n == 0 {
		return 0, 0, nil
	}
	if !kernels.GradFinite(params) {
		return loss, n, fmt.Errorf("%w: a gradient is NaN or infinite (loss %.4g)", ErrNonFinite, loss)
	}
	kernels.ClipGradNorm(params, t.Options.Optimizer.ClipNorm)
	t.adam.LR = lr
	kernels.AdamWStep(t.adam, params)
	return loss, n, nil
}

// graphModel returns m as the model the gorgonia engine trains: it builds
// HSTU only.
func graphModel(m sequential.Model) (*hstu.Model[float32], error) {
	h, ok := m.(*hstu.Model[float32])
	if !ok {
		name := "none"
		if m != nil {
			name = m.Name()
		}
		return nil, fmt.Errorf("trainer: engine gorgonia trains hstu models only, got model %s; use engine kernels", name)
	}
	return h, nil
}

// Evaluate ranks the rows of split (valid or test) of rows, the whole
// sequences table, with DESIGN.md's protocol.
func (t *GenRecTrainer) Evaluate(rows []transforms.SequenceRow, split string) (eval.Report, error) {
	return sequential.Evaluate(t.Model, rows, split, t.Options.Ks, t.Options.EvalBatchSize)
}

// Predict returns the top k items after each user's most recent row of
// rows (the test rows when there are any, else each user's latest row),
// with the user's known items masked.
func (t *GenRecTrainer) Predict(rows []transforms.SequenceRow, k int) ([]sequential.Recommendation, error) {
	idx := sequential.SplitRows(rows, transforms.SplitTest)
	if len(idx) == 0 {
		idx = latestRows(rows)
	}
	hist := sequential.Histories(rows, transforms.SplitTest)
	for _, i := range idx { // the target becomes history too
		r := rows[i]
		hist[r.User] = insertSorted(hist[r.User], int32(r.Target))
	}
	return sequential.Predict(t.Model, rows, idx, hist, k, t.Options.EvalBatchSize)
}

func (t *GenRecTrainer) lastGood() string {
	if t.Options.ModelPath == "" || t.state.epoch == 0 {
		return "no checkpoint was written"
	}
	return fmt.Sprintf("the last good checkpoint is %s (epoch %d)", transforms.JoinPath(t.Options.ModelPath, "last.ckpt"), t.state.epoch)
}

// snapshot copies the parameters' values.
func snapshot(params []*kernels.Param[float32]) []export.Tensor {
	out := make([]export.Tensor, len(params))
	for i, p := range params {
		out[i] = export.Tensor{Name: p.Name, Shape: p.Shape, Value: append([]float32(nil), p.Value...)}
	}
	return out
}

func saveRNG(src *rand.PCG) []byte {
	b, err := src.MarshalBinary()
	if err != nil {
		panic("trainer: " + err.Error())
	}
	return b
}

func marshalJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("trainer: " + err.Error())
	}
	return b
}

// ExportONNX writes the trained model to path (local or gs://) as an ONNX
// file, atomically: the seed API's export_onnx. See export/onnx for the
// graph's inputs and outputs; a model without an ONNX graph is refused.
func (t *GenRecTrainer) ExportONNX(ctx context.Context, path string, opt onnx.Options) error {
	m, err := onnx.Export(t.Model, opt)
	if err != nil {
		return err
	}
	_, err = onnx.Write(ctx, path, m)
	return err
}
