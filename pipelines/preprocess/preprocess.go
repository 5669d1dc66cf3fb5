// Package preprocess is genrec's first pipeline: it reads interaction
// files, builds vocabularies, groups each user's history once, sorts it by
// time, and writes Parquet tables with a summary.json beside them. The
// retrieval task (the default) applies the leave-one-out split and window
// splitting and writes the sequences table; the ranking task writes one
// labelled row per impression with the history before it
// (transforms.BuildRankingRows) as the ranking table.
//
//	out/
//	  sequences/part-00000-of-00002.parquet ...  (transforms.SequenceRow; task retrieval)
//	  ranking/part-00000-of-00002.parquet ...    (transforms.RankingRow; task ranking)
//	  vocab/part-00000-of-00001.parquet          (transforms.VocabRow)
//	  summary.json                               (Summary; written last)
//
// Output files appear under their final names only when the whole job
// succeeded; summary.json is written after them, so its presence marks a
// complete output.
package preprocess

import (
	"context"
	"errors"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

// Config is what the preprocess pipeline needs. Zero fields take the
// defaults of DefaultConfig when passed through WithDefaults.
type Config struct {
	Inputs []string                `yaml:"inputs"` // files or globs, local or gs://
	Format string                  `yaml:"format"` // see transforms.ParseFormat; "" = detect from the first file name
	Parse  transforms.ParseOptions `yaml:"-"`
	// Column names of a table input (format table); "" keeps the
	// defaults user, item, timestamp, rating, label. TimeFormat is one of
	// transforms.TimeFormats ("" = auto: unix s or ms, RFC 3339, date).
	UserCol    string `yaml:"user_col"`
	ItemCol    string `yaml:"item_col"`
	TimeCol    string `yaml:"time_col"`
	RatingCol  string `yaml:"rating_col"`
	LabelCol   string `yaml:"label_col"`
	TimeFormat string `yaml:"time_format"`
	// MinRating keeps events rated at least this (sources with ratings).
	// Task ranking refuses it: the low-rated events are its negatives.
	MinRating float64 `yaml:"min_rating"`
	MaxSeqLen int     `yaml:"max_seq_len"`
	Stride    int     `yaml:"stride"` // 0 = max_seq_len
	// FailFast stops at the first malformed line; otherwise malformed
	// lines are skipped, counted and reported, and the job fails only when
	// their share exceeds MaxBadFraction.
	FailFast       bool            `yaml:"fail_fast"`
	MaxBadFraction float64         `yaml:"max_bad_fraction"`
	OutDir         string          `yaml:"out"`
	Schema         features.Schema `yaml:"-"`
	// RunID names this run's temporary folder; "" picks a random one.
	RunID string `yaml:"-"`
	// Task is TaskRetrieval ("" too) or TaskRanking.
	Task string `yaml:"task"`
	// Ranking configures the rows of TaskRanking; MaxSeqLen bounds their
	// histories.
	Ranking RankingConfig `yaml:"ranking"`
}

// The values of Config.Task.
const (
	// TaskRetrieval writes leave-one-out next-item sequences (the
	// sequences table).
	TaskRetrieval = transforms.TaskRetrieval
	// TaskRanking writes labelled impressions with their histories (the
	// ranking table) for a click-through model.
	TaskRanking = transforms.TaskRanking
)

// RankingConfig is the ranking: section of a config, in the seed API's
// terms; see transforms.RankingOptions for what each field does. Zero
// fields take the defaults: label_threshold 4, negatives 0, split time,
// split_ratio [0.7, 0.1], seed 0.
//
//	ranking: {label_threshold: 4, negatives: 0, split: time, split_ratio: [0.7, 0.1], seed: 1}
type RankingConfig struct {
	LabelThreshold float64    `yaml:"label_threshold"`
	Negatives      int        `yaml:"negatives"`
	Split          string     `yaml:"split"` // time or random
	SplitRatio     [2]float64 `yaml:"split_ratio"`
	Seed           uint64     `yaml:"seed"`
}

// rankingOptions is the ranking task's transforms.RankingOptions, defaults
// filled in.
func (c Config) rankingOptions(userVocab, itemVocab string) transforms.RankingOptions {
	r := c.Ranking
	return transforms.RankingOptions{
		MaxSeqLen: c.MaxSeqLen, LabelThreshold: r.LabelThreshold, Negatives: r.Negatives,
		SplitBy: r.Split, SplitRatio: r.SplitRatio, Seed: r.Seed,
		UserVocab: userVocab, ItemVocab: itemVocab,
	}.WithDefaults()
}

// DefaultConfig holds the defaults: the retrieval task, sequences of 50
// items, windows that do not overlap, skip-and-count with a 1% cap, the
// default feature schema.
func DefaultConfig() Config {
	return Config{MaxSeqLen: 50, MaxBadFraction: 0.01, OutDir: "out/preprocess", Schema: features.DefaultSchema(), Task: TaskRetrieval}
}

// WithDefaults fills zero fields from DefaultConfig.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.MaxSeqLen == 0 {
		c.MaxSeqLen = d.MaxSeqLen
	}
	if c.MaxBadFraction == 0 {
		c.MaxBadFraction = d.MaxBadFraction
	}
	if c.OutDir == "" {
		c.OutDir = d.OutDir
	}
	if c.Task == "" {
		c.Task = d.Task
	}
	if len(c.Schema.UserFeatures)+len(c.Schema.ItemFeatures) == 0 {
		c.Schema = d.Schema
	}
	return c
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if len(c.Inputs) == 0 {
		return errors.New("preprocess: no input files (set --input or inputs: in the config)")
	}
	if c.Format != "" {
		if _, err := transforms.ParseFormat(c.Format); err != nil {
			return fmt.Errorf("preprocess: %w", err)
		}
	}
	if c.OutDir == "" {
		return errors.New("preprocess: no output folder (set --out)")
	}
	if err := transforms.ValidTimeFormat(c.TimeFormat); err != nil {
		return fmt.Errorf("preprocess: --time-format / time_format: %w", err)
	}
	if c.MaxBadFraction < 0 || c.MaxBadFraction > 1 {
		return fmt.Errorf("preprocess: max_bad_fraction must be in [0, 1], got %g", c.MaxBadFraction)
	}
	if err := (transforms.SplitOptions{MaxSeqLen: c.MaxSeqLen, Stride: c.Stride}).Validate(); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	if err := c.validateTask(); err != nil {
		return err
	}
	if err := c.Schema.Validate(); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	if f, ok := c.Schema.SparseBySource(features.SourceCategory); ok {
		return fmt.Errorf("preprocess: sparse feature %q: source category needs item metadata, which preprocess does not join yet; remove it from the schema", f.Name)
	}
	if _, ok := c.Schema.SparseBySource(features.SourceUser); !ok {
		return errors.New("preprocess: the schema needs a sparse feature with source user (e.g. user_id)")
	}
	return nil
}

// validateTask checks the task and its options. The ranking task refuses
// min_rating: it would drop the low-rated events that are the task's
// negatives (label_threshold decides what is positive instead).
func (c Config) validateTask() error {
	switch c.Task {
	case "", TaskRetrieval:
		if c.Ranking != (RankingConfig{}) {
			return fmt.Errorf("preprocess: a ranking: section needs task: %s (task is %s)", TaskRanking, TaskRetrieval)
		}
		return nil
	case TaskRanking:
		if c.MinRating != 0 {
			return fmt.Errorf("preprocess: task %s: min_rating %g would drop the low-rated events, which are the negatives; remove it and set ranking.label_threshold instead", TaskRanking, c.MinRating)
		}
		if err := c.rankingOptions("", "").Validate(); err != nil {
			return fmt.Errorf("preprocess: %w", err)
		}
		return nil
	}
	return fmt.Errorf("preprocess: unknown task %q (supported: %s, %s)", c.Task, TaskRetrieval, TaskRanking)
}

// TempDir is where the run writes before it publishes.
func (c Config) TempDir() string { return transforms.JoinPath(c.OutDir, "_temporary", c.RunID) }

// vocabSpecs lists the vocabularies the schema asks for.
func (c Config) vocabSpecs() (specs []transforms.VocabSpec, user, item string) {
	for _, f := range c.Schema.Sparse() {
		src, _ := f.ResolvedSource() // checked by Validate
		if src == features.SourceUser && user == "" {
			user = f.Name
		}
		if src == features.SourceItem && item == "" {
			item = f.Name
		}
		specs = append(specs, transforms.VocabSpec{Name: f.Name, Source: src, MinCount: f.MinCount})
	}
	return specs, user, item
}

// resolve expands the inputs and settles the format and run id.
func (c Config) resolve(ctx context.Context) (Config, []string, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return c, nil, err
	}
	files, err := transforms.ExpandInputs(ctx, c.Inputs)
	if err != nil {
		return c, nil, fmt.Errorf("preprocess: %w", err)
	}
	if c.Format == "" {
		f, err := transforms.DetectFormat(files[0])
		if err != nil {
			return c, nil, fmt.Errorf("preprocess: %w", err)
		}
		c.Format = string(f)
	}
	if c.RunID == "" {
		c.RunID = newRunID()
	}
	c.Parse.MinRating = c.MinRating
	for _, kv := range []struct {
		dst *string
		v   string
	}{
		{&c.Parse.UserCol, c.UserCol}, {&c.Parse.ItemCol, c.ItemCol}, {&c.Parse.TimeCol, c.TimeCol},
		{&c.Parse.RatingCol, c.RatingCol}, {&c.Parse.LabelCol, c.LabelCol}, {&c.Parse.TimeFormat, c.TimeFormat},
	} {
		if kv.v != "" {
			*kv.dst = kv.v
		}
	}
	if c.Format == string(transforms.FormatTable) {
		// A missing column fails every line alike: say so before the job
		// starts (and as bad usage), not from inside a worker.
		if err := transforms.CheckTableHeader(ctx, files[0], c.Parse); err != nil {
			return c, nil, fmt.Errorf("preprocess: %w", err)
		}
	}
	return c, files, nil
}

// Pipeline builds the preprocess pipeline into s. Inputs must resolve to
// files now (the file list is fixed when the pipeline is built).
func Pipeline(s beam.Scope, cfg Config) error {
	cfg, files, err := cfg.resolve(context.Background())
	if err != nil {
		return err
	}
	build(s, cfg, files)
	return nil
}

func build(s beam.Scope, cfg Config, files []string) {
	s = s.Scope("preprocess")
	inputs := make([]transforms.InputFile, len(files))
	for i, f := range files {
		inputs[i] = transforms.InputFile{Index: i, Path: f}
	}
	specs, userVocab, itemVocab := cfg.vocabSpecs()
	hist, counts, readStats := transforms.ReadEvents(s, beam.CreateList(s, inputs), transforms.ReadOptions{
		Format: cfg.Format, Parse: cfg.Parse, FailFast: cfg.FailFast,
	})
	vocabs := transforms.BuildVocabs(s, counts, specs)
	tmp := cfg.TempDir()
	gate := beam.ParDo(s, &gateFn{MaxBadFraction: cfg.MaxBadFraction}, readStats)
	head := summaryHead(cfg, files)
	if cfg.Task == TaskRanking {
		rows, rankStats := transforms.BuildRankingRows(s, hist, vocabs, cfg.rankingOptions(userVocab, itemVocab))
		temps := beam.Flatten(s, transforms.WriteRanking(s, tmp, rows), transforms.WriteVocab(s, tmp, vocabs))
		committed := transforms.FinalizeParquet(s, cfg.OutDir, temps, gate)
		beam.ParDo0(s, &writeRankingSummaryFn{Head: head}, committed,
			beam.SideInput{Input: readStats}, beam.SideInput{Input: rankStats}, beam.SideInput{Input: vocabs})
		return
	}
	rows, splitStats := transforms.BuildSequences(s, hist, vocabs, transforms.SequenceOptions{
		Split:     transforms.SplitOptions{MaxSeqLen: cfg.MaxSeqLen, Stride: cfg.Stride},
		UserVocab: userVocab, ItemVocab: itemVocab,
	})
	temps := beam.Flatten(s, transforms.WriteSequences(s, tmp, rows), transforms.WriteVocab(s, tmp, vocabs))
	committed := transforms.FinalizeParquet(s, cfg.OutDir, temps, gate)
	beam.ParDo0(s, &writeSummaryFn{Head: head}, committed,
		beam.SideInput{Input: readStats}, beam.SideInput{Input: splitStats}, beam.SideInput{Input: vocabs})
}

// Run builds and runs the pipeline and returns its summary. Whatever the
// outcome, the run's temporary files are removed; on failure nothing under
// the output folder got a new final name.
func Run(ctx context.Context, cfg Config, ropt runners.Options) (Summary, error) {
	cfg, files, err := cfg.resolve(ctx)
	if err != nil {
		return Summary{}, err
	}
	p, s := beam.NewPipelineWithRoot()
	build(s, cfg, files)
	guard, stale, err := transforms.GuardTemp(ctx, cfg.OutDir, cfg.TempDir())
	if err != nil {
		return Summary{}, fmt.Errorf("preprocess: %w", err)
	}
	_, runErr := runners.Run(ctx, p, ropt)
	guard.Stop()
	cleanErr := transforms.CleanTemp(context.Background(), cfg.TempDir())
	if runErr != nil {
		return Summary{}, fmt.Errorf("preprocess failed: %w", runErr)
	}
	if cleanErr != nil {
		return Summary{}, fmt.Errorf("preprocess: removing temporary files: %w", cleanErr)
	}
	sum, err := ReadSummary(ctx, cfg.OutDir)
	sum.StaleTemps = stale
	return sum, err
}
