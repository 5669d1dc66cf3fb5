package train

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"

	"github.com/parquet-go/parquet-go"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/ranking"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/transforms"
)

// RankingData is a preprocess output folder of the ranking task (task:
// ranking) loaded into memory.
type RankingData struct {
	Dir     string
	Summary preprocess.Summary
	Rows    []transforms.RankingRow
	Vocabs  features.Vocabs
}

// Task reads the task of a preprocess output folder: "retrieval" (the
// sequences table) or "ranking" (labelled impressions).
func Task(ctx context.Context, dir string) (string, error) {
	sum, err := preprocess.ReadSummary(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("train: %s is not a finished preprocess output (run genrec preprocess first): %w", dir, err)
	}
	if sum.Task == "" {
		return preprocess.TaskRetrieval, nil
	}
	return sum.Task, nil
}

// LoadRankingData reads the ranking table, vocabularies and summary of a
// preprocess folder written with task: ranking.
func LoadRankingData(ctx context.Context, dir string) (*RankingData, error) {
	sum, err := preprocess.ReadSummary(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("train: %s is not a finished preprocess output (run genrec preprocess first): %w", dir, err)
	}
	if sum.Task != preprocess.TaskRanking {
		return nil, fmt.Errorf("train: %s holds the %q task, not ranking: preprocess with task: ranking", dir, sum.Task)
	}
	rows, err := transforms.LoadTable[transforms.RankingRow](ctx, transforms.JoinPath(dir, transforms.TableRanking))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	// A fixed order whatever the pipeline's bundle order (see LoadData).
	slices.SortStableFunc(rows, func(a, b transforms.RankingRow) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Timestamp, b.Timestamp), cmp.Compare(a.Item, b.Item),
			cmp.Compare(a.Label, b.Label), cmp.Compare(len(a.History), len(b.History)))
	})
	vs, err := transforms.LoadVocabs(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return &RankingData{Dir: dir, Summary: sum, Rows: rows, Vocabs: vs}, nil
}

// Examples returns the rows of split ("" = all) as model examples, with
// the indices of the rows they came from.
func (d *RankingData) Examples(split string) ([]ranking.Example, []int) {
	var ex []ranking.Example
	var idx []int
	for i, r := range d.Rows {
		if split != "" && r.Split != split {
			continue
		}
		ex = append(ex, ranking.Example{User: r.User, History: r.History, HistoryTimes: r.HistoryTimes, HistoryLabels: r.HistoryLabels,
			Item: r.Item, Timestamp: r.Timestamp, Label: r.Label})
		idx = append(idx, i)
	}
	return ex, idx
}

// RankingReport is one ranking model's result.
type RankingReport struct {
	Model      string              `json:"model"`
	BestEpoch  int                 `json:"best_epoch"`
	Epochs     int                 `json:"epochs"`
	Valid      eval.LabelledReport `json:"valid"`
	Test       eval.LabelledReport `json:"test"`
	Checkpoint string              `json:"checkpoint,omitempty"`
	Resumed    bool                `json:"resumed,omitempty"` // continued from model_path/<model>/last.ckpt
}

// RankingResult is what RunRanking reports: the model and, unless the
// config says baseline: none, the mean-pooled baseline trained on the same
// rows with the same head and options.
type RankingResult struct {
	Model    RankingReport  `json:"model"`
	Baseline *RankingReport `json:"baseline,omitempty"`
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x72616e6b)) }

// RankingConfig returns the ranking model configuration cfg asks for on
// data: histories of the data's max_seq_len plus the candidate.
func RankingConfig(ctx context.Context, cfg Config, d *RankingData, encoder string) (ranking.Config, error) {
	maxLen := cfg.MaxSeqLen
	if maxLen == 0 {
		maxLen = d.Summary.MaxSeqLen
	}
	hc := hstu.Config{Items: d.Summary.Items + 1, MaxSeqLen: maxLen + 1, Transformer: cfg.Transformer, Hierarchical: cfg.Hierarchical,
		NoPositionBias: cfg.NoPositionBias, NoTimeBias: cfg.NoTimeBias}
	if sf := cfg.ItemSideFeatures; sf != nil {
		names, cats, err := models.ItemCategories(ctx, *sf, d.Vocabs["item_id"])
		if err != nil {
			return ranking.Config{}, err
		}
		hc.Categories, hc.ItemCategories = len(names), cats
	}
	if sf := cfg.UserSideFeatures; sf != nil {
		names, lists, err := models.UserFeatures(ctx, *sf, d.Vocabs["user_id"])
		if err != nil {
			return ranking.Config{}, err
		}
		hc.UserFeatures, hc.UserFeatureLists = len(names), lists
	}
	return ranking.Config{Encoder: encoder, HSTU: hc, MLP: cfg.MLP, Actions: !cfg.NoActions}, nil
}

// rankingOptions is the train section's options for the ranking
// trainer; model_path gets sub folder sub.
func rankingOptions(cfg Config, sub string) ranking.Options {
	o := cfg.Options
	if cfg.ModelPath != "" {
		o.ModelPath = transforms.JoinPath(cfg.ModelPath, sub)
	}
	return o
}

// RunRanking trains the ranking model of cfg (HSTU encoder) on a ranking
// folder, early-stopped on validation AUC, then the mean-pooled baseline
// unless cfg.Baseline is "none", and reports both on the test split.
// Checkpoints go to model_path/model and model_path/baseline, the metrics
// to model_path/metrics.json.
func RunRanking(ctx context.Context, cfg Config, progress io.Writer, onEpoch func(model string, l ranking.EpochLog)) (RankingResult, error) {
	if cfg.Name != "" && cfg.Name != "hstu" {
		return RankingResult{}, fmt.Errorf("train: model %q has no ranking head; the ranking task trains hstu (and the mean baseline)", cfg.Name)
	}
	if cfg.Baseline != "" && cfg.Baseline != "mean" && cfg.Baseline != "none" {
		return RankingResult{}, fmt.Errorf("train: baseline must be mean or none, got %q", cfg.Baseline)
	}
	d, err := LoadRankingData(ctx, cfg.Data)
	if err != nil {
		return RankingResult{}, err
	}
	train, _ := d.Examples(transforms.SplitTrain)
	valid, _ := d.Examples(transforms.SplitValid)
	test, _ := d.Examples(transforms.SplitTest)
	if len(train) == 0 || len(valid) == 0 || len(test) == 0 {
		return RankingResult{}, fmt.Errorf("train: %s has %d train, %d valid and %d test rows; every split needs some", cfg.Data, len(train), len(valid), len(test))
	}
	fit := func(encoder, sub string) (RankingReport, error) {
		mc, err := RankingConfig(ctx, cfg, d, encoder)
		if err != nil {
			return RankingReport{}, err
		}
		m, err := ranking.New(mc, newRNG(cfg.Seed))
		if err != nil {
			return RankingReport{}, err
		}
		t, err := ranking.NewTrainer(m, rankingOptions(cfg, sub))
		if err != nil {
			return RankingReport{}, err
		}
		t.Progress = progress
		if onEpoch != nil {
			t.OnEpoch = func(l ranking.EpochLog) { onEpoch(m.Name(), l) }
		}
		t.ResumeChanged = cfg.ResumeChanged
		resumed, err := resumeLast(ctx, cfg, t.Options.ModelPath, t.Resume)
		if err != nil {
			return RankingReport{}, err
		}
		res, err := t.Fit(ctx, train, valid)
		if err != nil {
			return RankingReport{}, err
		}
		rep := RankingReport{Model: m.Name(), BestEpoch: res.BestEpoch, Epochs: res.Epochs, Valid: res.Best, Resumed: resumed}
		if rep.Test, err = t.Evaluate(test); err != nil {
			return rep, err
		}
		if t.Options.ModelPath != "" {
			rep.Checkpoint = transforms.JoinPath(t.Options.ModelPath, "best.ckpt")
		}
		return rep, nil
	}
	var out RankingResult
	if out.Model, err = fit(ranking.EncoderHSTU, "model"); err != nil {
		return out, err
	}
	if cfg.Baseline != "none" {
		b, err := fit(ranking.EncoderMean, "baseline")
		if err != nil {
			return out, err
		}
		out.Baseline = &b
	}
	if cfg.ModelPath != "" {
		b, _ := json.MarshalIndent(out, "", "  ")
		if err := transforms.WriteFileAtomic(ctx, transforms.JoinPath(cfg.ModelPath, MetricsFile), append(b, '\n')); err != nil {
			return out, fmt.Errorf("train: %w", err)
		}
	}
	return out, nil
}

// EvalConfig says what EvaluateRanking scores. (A sequential model's
// checkpoint is evaluated by the Beam pipeline, pipelines/evaluate.)
type EvalConfig struct {
	Data       string // a ranking preprocess output folder
	Checkpoint string // a best.ckpt or last.ckpt
	Split      string // train, valid, test (default) or all
}

// EvaluateRanking scores a split of a ranking folder with a checkpoint and
// returns AUC, GAUC and log loss.
func EvaluateRanking(ctx context.Context, cfg EvalConfig) (eval.LabelledReport, error) {
	t, d, err := loadRanking(ctx, cfg.Checkpoint, cfg.Data)
	if err != nil {
		return eval.LabelledReport{}, err
	}
	split := cfg.Split
	if split == "" {
		split = transforms.SplitTest
	}
	ex, _ := d.Examples(split)
	if len(ex) == 0 {
		return eval.LabelledReport{}, fmt.Errorf("train: %s has no %s rows", cfg.Data, split)
	}
	return t.Evaluate(ex)
}

func loadRanking(ctx context.Context, checkpoint, dir string) (*ranking.Trainer, *RankingData, error) {
	m, _, err := ranking.LoadCheckpoint(ctx, checkpoint)
	if err != nil {
		return nil, nil, err
	}
	return rankingOn(ctx, m, checkpoint, dir)
}

// rankingOn loads the ranking folder dir for the model of checkpoint and
// checks that the two have the same catalogue.
func rankingOn(ctx context.Context, m *ranking.Model, checkpoint, dir string) (*ranking.Trainer, *RankingData, error) {
	d, err := LoadRankingData(ctx, dir)
	if err != nil {
		return nil, nil, err
	}
	if items := m.Config().HSTU.Items; items != d.Summary.Items+1 {
		return nil, nil, fmt.Errorf("train: %s was trained on %d items but %s has %d: use it on the data it was trained on", checkpoint, items-1, dir, d.Summary.Items)
	}
	t, err := ranking.NewTrainer(m, ranking.Options{EvalBatchSize: 1024})
	return t, d, err
}

// PredictionRow is one row of PredictRanking's Parquet output, in
// LoadRankingData's order (by user, then time).
type PredictionRow struct {
	User        string  `parquet:"user"`
	Item        string  `parquet:"item"`
	Timestamp   int64   `parquet:"timestamp"`
	Label       float32 `parquet:"label"`
	Probability float32 `parquet:"probability"`
	Split       string  `parquet:"split,dict"`
}

// PredictConfig says what PredictRanking writes.
type PredictConfig struct {
	Data       string
	Checkpoint string
	Split      string // train, valid, test or all (default test)
	Out        string // Parquet file, local or gs://
}

// PredictRanking writes the click probability of every row of a split,
// aligned with LoadRankingData's rows (their user, item, time and label
// beside it), atomically. It returns the number of rows written.
func PredictRanking(ctx context.Context, cfg PredictConfig) (int, error) {
	if cfg.Out == "" {
		return 0, fmt.Errorf("train: no output file: set --out")
	}
	t, d, err := loadRanking(ctx, cfg.Checkpoint, cfg.Data)
	if err != nil {
		return 0, err
	}
	split := cfg.Split
	switch split {
	case "":
		split = transforms.SplitTest
	case "all":
		split = ""
	}
	ex, idx := d.Examples(split)
	p, err := t.Predict(ex)
	if err != nil {
		return 0, err
	}
	items := d.Vocabs["item_id"]
	rows := make([]PredictionRow, len(ex))
	for i, k := range idx {
		r := d.Rows[k]
		rows[i] = PredictionRow{User: r.UserKey, Timestamp: r.Timestamp, Label: r.Label, Probability: p[i], Split: r.Split}
		if items != nil {
			rows[i].Item, _ = items.Token(r.Item)
		}
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		return 0, fmt.Errorf("train: encode predictions: %w", err)
	}
	if err := transforms.WriteFileAtomic(ctx, cfg.Out, buf.Bytes()); err != nil {
		return 0, fmt.Errorf("train: %w", err)
	}
	return len(rows), nil
}
