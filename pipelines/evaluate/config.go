package evaluate

import (
	"context"
	"errors"
	"fmt"

	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/transforms"
)

// Config says what the evaluation pipeline scores and where it writes.
// Zero fields take the defaults WithDefaults documents.
type Config struct {
	Data       string `yaml:"data"`       // preprocess output folder (local or gs://)
	Checkpoint string `yaml:"checkpoint"` // a best.ckpt or last.ckpt (local or gs://)
	Split      string `yaml:"split"`      // test (default) or valid
	Ks         []int  `yaml:"ks"`         // cut-offs of HR@K and NDCG@K; default 10, 50, 200
	// Out is the folder of metrics.json and metrics.parquet; default
	// <checkpoint folder>/eval-<split>.
	Out string `yaml:"out"`
	// BatchSize is the number of users ranked per forward pass (default
	// 256, as the in-process evaluation); a batch holds BatchSize x
	// catalogue float32 scores.
	BatchSize int `yaml:"batch_size"`
	// RunID names this run's temporary folder under Out; "" picks one.
	RunID string `yaml:"-"`
}

// Output names under Config.Out.
const (
	MetricsFile  = "metrics.json"
	MetricsTable = "metrics.parquet"
)

// DefaultBatchSize is Config.BatchSize's default.
const DefaultBatchSize = 256

// WithDefaults fills the zero fields of c.
func (c Config) WithDefaults() Config {
	if c.Split == "" {
		c.Split = transforms.SplitTest
	}
	if len(c.Ks) == 0 {
		c.Ks = []int{10, 50, 200}
	}
	if c.Out == "" && c.Checkpoint != "" {
		c.Out = transforms.JoinPath(transforms.BaseDir(c.Checkpoint), "eval-"+c.Split)
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	return c
}

// Validate reports the first problem with c's fields (it reads no file).
func (c Config) Validate() error {
	if c.Data == "" {
		return errors.New("evaluate: no data folder (a preprocess --out folder): set --data")
	}
	if c.Checkpoint == "" {
		return errors.New("evaluate: no checkpoint: set --checkpoint")
	}
	if c.Split != transforms.SplitTest && c.Split != transforms.SplitValid {
		return fmt.Errorf("evaluate: split must be valid or test, got %q", c.Split)
	}
	seen := map[int]bool{}
	for _, k := range c.Ks {
		if k < 1 || seen[k] {
			return fmt.Errorf("evaluate: ks must be distinct and positive, got %v", c.Ks)
		}
		seen[k] = true
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("evaluate: batch size must be positive, got %d", c.BatchSize)
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
// folder is a finished retrieval preprocess output, that its sequences
// table exists and that the checkpoint loads and was trained on a
// catalogue of the same size. The checkpoint is read here once for that
// check; the workers read it again in Setup.
func (c Config) resolve(ctx context.Context) (resolved, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return resolved{}, err
	}
	items, _, err := models.CheckData(ctx, c.Data, c.Checkpoint)
	if err != nil {
		return resolved{}, fmt.Errorf("evaluate: %w", err)
	}
	if c.RunID == "" {
		c.RunID = transforms.NewRunID()
	}
	return resolved{Config: c, items: items}, nil
}
