package trainer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// GenRecTrainer trains a sequential model (the seed API's GenRecTrainer):
// Fit with early stopping, Evaluate, Predict, ExportONNX. It is a Session
// whose objective is the retrieval loss (SequenceObjective) and whose
// validation ranks the valid split; hooks and the progress writer attach
// to it. Not safe for concurrent use.
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
	// ResumeChanged lets Resume continue a checkpoint trained with other
	// options (ChangedOptions); false: Resume refuses with a *ChangedError.
	ResumeChanged bool

	session *Session
}

// NewGenRecTrainer checks opts and returns a trainer for m.
func NewGenRecTrainer(m sequential.Model, opts Options) (*GenRecTrainer, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if _, err := NewEngine(opts.Engine, m, opts.Loss); err != nil {
		return nil, err
	}
	s, err := NewSession(m.Name(), nil, opts)
	if err != nil {
		return nil, err
	}
	return &GenRecTrainer{Model: m, Options: opts, session: s}, nil
}

// FitResult is what Fit reports.
type FitResult struct {
	Epochs    int         // epochs completed in total (a resumed run counts earlier ones)
	BestEpoch int         // epoch of the best validation metric (0: never validated)
	Best      eval.Report // validation report of the best epoch
	Stopped   bool        // early stopping ended the run
	Log       []EpochLog  // this call's epochs
}

// Fit trains on the training rows of train and validates on the rows of
// valid (the valid split of the same sequences table; their users'
// training rows are taken from train for history masking) after every
// EvalEvery epochs, keeping the best model by EarlyStopMetric and
// stopping after EarlyStopPatience epochs without improvement. With
// ValidUsers set, validation ranks a seeded sample of that many valid
// rows. With a ModelPath it writes best.ckpt, last.ckpt (each epoch, and
// every CheckpointEvery steps), train_log.jsonl and train_log.png there.
// When ctx is cancelled it saves last.ckpt at the current step and
// returns ctx's error; Resume continues from there. On return the model
// holds the best weights when a validation ran, else the last.
func (t *GenRecTrainer) Fit(ctx context.Context, train, valid []transforms.SequenceRow) (FitResult, error) {
	o := t.Options
	trainIdx := sequential.SplitRows(train, transforms.SplitTrain)
	if len(trainIdx) == 0 {
		return FitResult{}, fmt.Errorf("trainer: no training rows")
	}
	all := append(append([]transforms.SequenceRow{}, train...), valid...)
	var validIdx []int
	for i := len(train); i < len(all); i++ {
		if all[i].Split == transforms.SplitValid {
			validIdx = append(validIdx, i)
		}
	}
	validIdx = SampleRows(validIdx, o.ValidUsers, o.Seed)
	obj, err := SequenceObjective(t.Model, train, o)
	if err != nil {
		return FitResult{}, err
	}
	s := t.session
	s.Options, s.Objective, s.ModelConfig, s.Vocab = o, obj, t.ModelConfig, t.Vocab
	s.Progress, s.OnStep, s.OnEpoch = t.Progress, t.OnStep, t.OnEpoch
	var last, best eval.Report
	s.Validate, s.OnBest = nil, func(int) { best = last }
	if len(validIdx) > 0 {
		hist := sequential.Histories(all, transforms.SplitValid)
		s.Validate = func() (map[string]float64, error) {
			ranks, err := sequential.Rank(t.Model, all, validIdx, hist, o.EvalBatchSize)
			if err != nil {
				return nil, err
			}
			if last, err = eval.Ranking(ranks, o.Ks); err != nil {
				return nil, err
			}
			return last.Map(), nil
		}
	}
	f, err := s.Fit(ctx, trainIdx)
	res := FitResult{Epochs: f.Epochs, BestEpoch: f.BestEpoch, Best: best, Stopped: f.Stopped, Log: f.Log}
	if err != nil {
		return res, err
	}
	if res.BestEpoch > 0 && len(res.Best.Ks) == 0 && len(validIdx) > 0 {
		// the best epoch came before a resume: the model holds its weights
		if res.Best, err = t.Evaluate(all, transforms.SplitValid); err != nil {
			return res, err
		}
	}
	return res, nil
}

// SampleRows returns a seeded sample of n of idx, in idx's order (all of
// idx when n <= 0 or n >= len(idx)): the validation users of early
// stopping on a large data set.
func SampleRows(idx []int, n int, seed uint64) []int {
	if n <= 0 || n >= len(idx) {
		return idx
	}
	rng := rand.New(rand.NewPCG(seed, 0x76616c6964))
	pick := rng.Perm(len(idx))[:n]
	slices.Sort(pick)
	out := make([]int, n)
	for i, j := range pick {
		out[i] = idx[j]
	}
	return out
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

// snapshot copies the parameters' values.
func snapshot(params []*kernels.Param[float32]) []export.Tensor {
	out := make([]export.Tensor, len(params))
	for i, p := range params {
		out[i] = export.Tensor{Name: p.Name, Shape: p.Shape, Value: append([]float32(nil), p.Value...)}
	}
	return out
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
