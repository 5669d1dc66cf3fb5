package train

import (
	"bytes"
	"context"
	"fmt"

	"github.com/parquet-go/parquet-go"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// LoadModel rebuilds the model of a checkpoint with its weights.
func LoadModel(ctx context.Context, path string) (sequential.Model, ModelConfig, *export.Checkpoint, error) {
	ck, err := export.LoadCheckpoint(ctx, path)
	if err != nil {
		return nil, ModelConfig{}, nil, err
	}
	m, mc, err := ModelFromCheckpoint(ck, path)
	return m, mc, ck, err
}

// ModelFromCheckpoint rebuilds the model of a loaded checkpoint (read from
// path, which errors name).
func ModelFromCheckpoint(ck *export.Checkpoint, path string) (sequential.Model, ModelConfig, error) {
	mc, err := ParseModelConfig(ck.ModelConfig)
	if err != nil {
		return nil, mc, fmt.Errorf("%s: %w", path, err)
	}
	m, err := BuildModel(mc, 0)
	if err != nil {
		return nil, mc, fmt.Errorf("%s: %w", path, err)
	}
	if err := trainer.LoadWeights(m.Params(), ck); err != nil {
		return nil, mc, fmt.Errorf("%s: %w", path, err)
	}
	return m, mc, nil
}

// loadTrained loads a checkpoint's model and the data folder it is used
// on, and checks that the two have the same catalogue.
func loadTrained(ctx context.Context, checkpoint, dataDir string) (sequential.Model, *Data, error) {
	m, mc, _, err := LoadModel(ctx, checkpoint)
	if err != nil {
		return nil, nil, err
	}
	data, err := LoadData(ctx, dataDir)
	if err != nil {
		return nil, nil, err
	}
	if data.Items() != mc.Items {
		return nil, nil, fmt.Errorf("train: %s was trained on %d items but %s has %d: use it on the data it was trained on", checkpoint, mc.Items-1, dataDir, data.Items()-1)
	}
	return m, data, nil
}

// EvalConfig says what Evaluate scores.
type EvalConfig struct {
	Data       string // preprocess output folder
	Checkpoint string // a best.ckpt or last.ckpt
	Split      string // valid or test (default test)
	Ks         []int  // default 10, 50, 200
	BatchSize  int
}

// Evaluate ranks the split's rows of cfg.Data with the checkpoint's model
// (full catalogue, history masked) and returns the report.
func Evaluate(ctx context.Context, cfg EvalConfig) (eval.Report, error) {
	if cfg.Split == "" {
		cfg.Split = transforms.SplitTest
	}
	if cfg.Split != transforms.SplitTest && cfg.Split != transforms.SplitValid {
		return eval.Report{}, fmt.Errorf("train: split must be valid or test, got %q", cfg.Split)
	}
	if len(cfg.Ks) == 0 {
		cfg.Ks = []int{10, 50, 200}
	}
	m, data, err := loadTrained(ctx, cfg.Checkpoint, cfg.Data)
	if err != nil {
		return eval.Report{}, err
	}
	return sequential.Evaluate(m, data.Rows, cfg.Split, cfg.Ks, cfg.BatchSize)
}

// RecommendConfig says what Recommend writes.
type RecommendConfig struct {
	Data       string
	Checkpoint string
	K          int    // items per user (default 10)
	Out        string // Parquet file to write, local or gs://
	BatchSize  int
}

// RecommendationRow is one row of Recommend's Parquet output: a user's
// top-K items by original token, best first, with their scores.
type RecommendationRow struct {
	User   string    `parquet:"user"`
	Items  []string  `parquet:"items,list"`
	Scores []float32 `parquet:"scores,list"`
}

// Recommend predicts each user's next K items after their whole known
// history (known items masked) and writes them to cfg.Out atomically. It
// returns the number of users written.
func Recommend(ctx context.Context, cfg RecommendConfig) (int, error) {
	if cfg.K == 0 {
		cfg.K = 10
	}
	if cfg.K < 0 {
		return 0, fmt.Errorf("train: k must be positive, got %d", cfg.K)
	}
	if cfg.Out == "" {
		return 0, fmt.Errorf("train: no output file: set --out")
	}
	m, data, err := loadTrained(ctx, cfg.Checkpoint, cfg.Data)
	if err != nil {
		return 0, err
	}
	t, err := trainer.NewGenRecTrainer(m, trainer.Options{EvalBatchSize: cfg.BatchSize})
	if err != nil {
		return 0, err
	}
	recs, err := t.Predict(data.Rows, cfg.K)
	if err != nil {
		return 0, err
	}
	vocab := data.ItemVocab()
	rows := make([]RecommendationRow, len(recs))
	for i, r := range recs {
		rows[i] = RecommendationRow{User: r.UserKey, Items: make([]string, len(r.Items)), Scores: r.Scores}
		for j, id := range r.Items {
			tok, ok := vocab.Token(id)
			if !ok {
				return 0, fmt.Errorf("train: item id %d has no token in %s's vocabulary", id, cfg.Data)
			}
			rows[i].Items[j] = tok
		}
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		return 0, fmt.Errorf("train: encode recommendations: %w", err)
	}
	if err := transforms.WriteFileAtomic(ctx, cfg.Out, buf.Bytes()); err != nil {
		return 0, fmt.Errorf("train: %w", err)
	}
	return len(rows), nil
}
