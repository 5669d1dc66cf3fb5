package evaluate

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
	items, err := checkCatalogue(ctx, c.Data, c.Checkpoint)
	if err != nil {
		return resolved{}, fmt.Errorf("evaluate: %w", err)
	}
	if c.RunID == "" {
		c.RunID = newRunID()
	}
	return resolved{Config: c, items: items}, nil
}

// checkCatalogue checks that data is a finished retrieval preprocess
// output with a sequences table and that checkpoint loads and was trained
// on a catalogue of the same size; it returns that size (with padding id
// 0). Its errors name the folder or file at fault.
func checkCatalogue(ctx context.Context, data, checkpoint string) (int, error) {
	sum, err := preprocess.ReadSummary(ctx, data)
	if err != nil {
		return 0, fmt.Errorf("%s is not a finished preprocess output (run genrec preprocess first): %w", data, err)
	}
	if sum.Task == preprocess.TaskRanking {
		return 0, fmt.Errorf("%s is a ranking data set (task: ranking); it has no sequences to rank", data)
	}
	table := transforms.JoinPath(data, transforms.TableSequences)
	if _, err := transforms.ExpandInputs(ctx, []string{transforms.JoinPath(table, "part-*.parquet")}); err != nil {
		return 0, fmt.Errorf("sequences table of %s: %w", data, err)
	}
	ck, err := export.LoadCheckpoint(ctx, checkpoint)
	if err != nil {
		return 0, err
	}
	mc, err := train.ParseModelConfig(ck.ModelConfig)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", checkpoint, err)
	}
	if mc.Items != sum.Items+1 {
		return 0, fmt.Errorf("%s was trained on a catalogue of %d items but %s has %d: use it on the data it was trained on",
			checkpoint, mc.Items-1, data, sum.Items)
	}
	return mc.Items, nil
}

// newRunID returns a fresh run id: the UTC time and 4 random bytes.
func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
