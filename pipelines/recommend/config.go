package recommend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/transforms"
)

// Config says what the recommendation pipeline predicts and where it
// writes. Zero fields take the defaults WithDefaults documents.
type Config struct {
	Data       string `yaml:"data"`       // preprocess output folder (local or gs://)
	Checkpoint string `yaml:"checkpoint"` // a best.ckpt or last.ckpt (local or gs://)
	K          int    `yaml:"k"`          // items per user; default 10
	// Out is the Parquet dataset folder the part files go to; default
	// <checkpoint folder>/recommendations. Part files left there by an
	// earlier run are replaced.
	Out string `yaml:"out"`
	// ModelVersion is written in every row; default "<checkpoint>@epoch<N>"
	// with N the checkpoint's completed epochs.
	ModelVersion string `yaml:"model_version"`
	// BatchSize is the number of users scored per forward pass (default
	// 256); a batch holds BatchSize x catalogue float32 scores.
	BatchSize int `yaml:"batch_size"`
	// RunID names this run's temporary folder under Out; "" picks one.
	RunID string `yaml:"-"`
}

// DefaultBatchSize is Config.BatchSize's default.
const DefaultBatchSize = 256

// WithDefaults fills the zero fields of c, except ModelVersion, whose
// default needs the checkpoint (see resolve).
func (c Config) WithDefaults() Config {
	if c.K == 0 {
		c.K = 10
	}
	if c.Out == "" && c.Checkpoint != "" {
		c.Out = transforms.JoinPath(transforms.BaseDir(c.Checkpoint), "recommendations")
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	return c
}

// Validate reports the first problem with c's fields (it reads no file).
func (c Config) Validate() error {
	if c.Data == "" {
		return errors.New("recommend: no data folder (a preprocess --out folder): set --data")
	}
	if c.Checkpoint == "" {
		return errors.New("recommend: no checkpoint: set --checkpoint")
	}
	if c.K < 1 {
		return fmt.Errorf("recommend: k must be positive, got %d", c.K)
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("recommend: batch size must be positive, got %d", c.BatchSize)
	}
	if c.Out == "" || transforms.BaseName(c.Out) == "" || transforms.BaseDir(c.Out) == c.Out {
		return fmt.Errorf("recommend: output %q must be a folder inside another one", c.Out)
	}
	return nil
}

// TempDir is where the run writes before it publishes.
func (c Config) TempDir() string { return transforms.JoinPath(c.Out, "_temporary", c.RunID) }

// resolved is a Config checked against its files.
type resolved struct {
	Config
	items int // the catalogue size with padding id 0, of data and checkpoint
}

// resolve fills defaults and checks, before anything runs, that the data
// folder is a finished retrieval preprocess output with a sequences table
// and that the checkpoint loads and was trained on a catalogue of the
// same size. The checkpoint is read here for that check and for the
// default model version; the workers read it again in Setup.
func (c Config) resolve(ctx context.Context) (resolved, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return resolved{}, err
	}
	sum, err := preprocess.ReadSummary(ctx, c.Data)
	if err != nil {
		return resolved{}, fmt.Errorf("recommend: %s is not a finished preprocess output (run genrec preprocess first): %w", c.Data, err)
	}
	if sum.Task == preprocess.TaskRanking {
		return resolved{}, fmt.Errorf("recommend: %s is a ranking data set (task: ranking); use genrec predict", c.Data)
	}
	table := transforms.JoinPath(c.Data, transforms.TableSequences)
	if _, err := transforms.ExpandInputs(ctx, []string{transforms.JoinPath(table, "part-*.parquet")}); err != nil {
		return resolved{}, fmt.Errorf("recommend: sequences table of %s: %w", c.Data, err)
	}
	ck, err := export.LoadCheckpoint(ctx, c.Checkpoint)
	if err != nil {
		return resolved{}, fmt.Errorf("recommend: %w", err)
	}
	mc, err := train.ParseModelConfig(ck.ModelConfig)
	if err != nil {
		return resolved{}, fmt.Errorf("recommend: %s: %w", c.Checkpoint, err)
	}
	if mc.Items != sum.Items+1 {
		return resolved{}, fmt.Errorf("recommend: %s was trained on a catalogue of %d items but %s has %d: use it on the data it was trained on",
			c.Checkpoint, mc.Items-1, c.Data, sum.Items)
	}
	if c.ModelVersion == "" {
		c.ModelVersion = fmt.Sprintf("%s@epoch%d", c.Checkpoint, ck.Epoch)
	}
	if c.RunID == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		c.RunID = time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
	}
	return resolved{Config: c, items: mc.Items}, nil
}
