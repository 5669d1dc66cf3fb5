package recommend

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/transforms"
)

// Config says what the recommendation pipeline predicts and where it
// writes. Zero fields take the defaults WithDefaults documents.
type Config struct {
	Data       string `yaml:"data"`       // preprocess output folder (local or gs://)
	Checkpoint string `yaml:"checkpoint"` // a best.ckpt or last.ckpt (local or gs://)
	K          int    `yaml:"k"`          // items per user; default 10
	// Users, when set, is a file of user keys, one per line (local or
	// gs://): only these users get recommendations, and a listed user
	// without history in Data (a new user) gets the k most popular items of
	// the training rows, scored by their share of the training
	// interactions, with source "popular".
	Users string `yaml:"users"`
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
	items, ck, err := models.CheckData(ctx, c.Data, c.Checkpoint)
	if err != nil {
		return resolved{}, fmt.Errorf("recommend: %w", err)
	}
	if c.ModelVersion == "" {
		c.ModelVersion = fmt.Sprintf("%s@epoch%d", c.Checkpoint, ck.Epoch)
	}
	if c.Users != "" {
		if err := checkUsers(ctx, c.Users, c.Data); err != nil {
			return resolved{}, err
		}
	}
	if c.RunID == "" {
		c.RunID = transforms.NewRunID()
	}
	return resolved{Config: c, items: items}, nil
}

// checkUsers reads the users file before anything runs: a file that lists
// no user, or none of data's users (a header line, a binary file, another
// data set), is an error (transforms.ErrInvalid), since every user would
// get the popularity fallback.
func checkUsers(ctx context.Context, path, data string) error {
	b, err := transforms.ReadFile(ctx, path)
	if err != nil {
		return fmt.Errorf("recommend: users file: %w", err)
	}
	vs, err := transforms.LoadVocabs(ctx, data)
	if err != nil {
		return fmt.Errorf("recommend: %w", err)
	}
	users := vs["user_id"]
	seen := map[string]bool{}
	listed, known := 0, 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if u := strings.TrimSpace(line); u != "" && !seen[u] {
			seen[u] = true
			listed++
			if users != nil && users.ID(u) > 0 {
				known++
			}
		}
	}
	switch {
	case listed == 0:
		return transforms.Invalid(fmt.Errorf("recommend: users file %s lists no user", path))
	case known == 0:
		return transforms.Invalid(fmt.Errorf("recommend: none of the %d users in %s is a user of %s (a header line, a binary file, another data set?): every one would get the popularity fallback", listed, path, data))
	}
	return nil
}
