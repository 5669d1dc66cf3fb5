package train

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// loadTrained loads a checkpoint's model and the data folder it is used
// on, and checks that the two have the same catalogue.
func loadTrained(ctx context.Context, checkpoint, dataDir string) (sequential.Model, *transforms.Dataset, error) {
	m, _, ck, err := models.Load(ctx, checkpoint)
	if err != nil {
		return nil, nil, err
	}
	data, err := transforms.LoadDataset(ctx, dataDir)
	if err != nil {
		return nil, nil, err
	}
	v, err := models.CheckpointCatalogue(ck, checkpoint, data.ItemVocab(), dataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	return m, data.WithItems(v), nil
}

// EvalConfig says what EvaluateRanking scores. (A sequential model's
// checkpoint is evaluated by the Beam pipeline, pipelines/evaluate.)
type EvalConfig struct {
	Data       string // a ranking preprocess output folder
	Checkpoint string // a best.ckpt or last.ckpt
	Split      string // train, valid, test (default) or all
}

// RecommendConfig says what Recommend writes.
type RecommendConfig struct {
	Data       string
	Checkpoint string
	K          int    // items per user (default 10)
	Out        string // Parquet file to write, local or gs://
	BatchSize  int
	// Users, when set, is a file of user keys, one per line (local or
	// gs://): only they are written, in file order, and a user with no
	// history in Data (a new user) gets the most popular items of the
	// training rows (source "popular").
	Users string
	// Notes, when set, receives the run's plain-text notes: how many of
	// Users were known and how many got the popularity fallback, and what
	// a K beyond the catalogue returns.
	Notes io.Writer
}

// RecommendationRow is one row of Recommend's Parquet output: a user's
// top-K items by original token, best first, with their scores.
type RecommendationRow struct {
	User   string    `parquet:"user"`
	Items  []string  `parquet:"items,list"`
	Scores []float32 `parquet:"scores,list"`
	// Source is "model", or "popular" for a user without history: the
	// items with the most training interactions, scored by their share.
	Source string `parquet:"source,dict"`
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
	if cfg.K > vocab.Len() && cfg.Notes != nil {
		fmt.Fprintf(cfg.Notes, "recommend: --k %d is more than the %d items of %s: each user gets every item not in their history, fewer than %d\n", cfg.K, vocab.Len(), cfg.Data, cfg.K)
	}
	row := func(user string, items []int64, scores []float32, source string) (RecommendationRow, error) {
		r := RecommendationRow{User: user, Items: make([]string, len(items)), Scores: scores, Source: source}
		for j, id := range items {
			tok, ok := vocab.Token(id)
			if !ok {
				return r, fmt.Errorf("train: item id %d has no token in %s's vocabulary", id, cfg.Data)
			}
			r.Items[j] = tok
		}
		return r, nil
	}
	byUser := make(map[string]RecommendationRow, len(recs))
	rows := make([]RecommendationRow, 0, len(recs))
	for _, rec := range recs {
		r, err := row(rec.UserKey, rec.Items, rec.Scores, "model")
		if err != nil {
			return 0, err
		}
		byUser[r.User] = r
		rows = append(rows, r)
	}
	if cfg.Users != "" {
		users, err := readUsers(ctx, cfg.Users)
		if err != nil {
			return 0, err
		}
		items, scores := Popular(data.Rows, cfg.K)
		rows = rows[:0]
		known := 0
		for _, u := range users {
			if _, ok := byUser[u]; ok {
				known++
			}
		}
		if known == 0 && len(users) > 0 {
			return 0, fmt.Errorf("train: none of the %d users in %s is a user of %s (a header line, a binary file, another data set?): every one would get the popularity fallback", len(users), cfg.Users, cfg.Data)
		}
		if cfg.Notes != nil {
			fmt.Fprintf(cfg.Notes, "recommend: %d users in %s: %d known, %d unknown given the %d most popular items\n", len(users), cfg.Users, known, len(users)-known, len(items))
		}
		for _, u := range users {
			r, ok := byUser[u]
			if !ok {
				if r, err = row(u, items, scores, "popular"); err != nil {
					return 0, err
				}
			}
			rows = append(rows, r)
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

// Popular returns the k items with the most training interactions in
// rows (history items and targets of the train split), most first, and
// each one's share of those interactions: the recommendation for a user
// without history.
func Popular(rows []transforms.SequenceRow, k int) ([]int64, []float32) {
	counts := map[int64]int{}
	total := 0
	for _, r := range rows {
		if r.Split != transforms.SplitTrain {
			continue
		}
		for _, it := range r.Items {
			counts[it]++
		}
		counts[r.Target]++
		total += len(r.Items) + 1
	}
	ids := make([]int64, 0, len(counts))
	for id := range counts {
		if id > 0 {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b int64) int { return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b)) })
	ids = ids[:min(k, len(ids))]
	scores := make([]float32, len(ids))
	for i, id := range ids {
		scores[i] = float32(counts[id]) / float32(total)
	}
	return ids, scores
}

// readUsers reads a file of user keys, one per line; blank lines are
// skipped and repeats kept once.
func readUsers(ctx context.Context, path string) ([]string, error) {
	b, err := transforms.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("train: users file: %w", err)
	}
	seen := map[string]bool{}
	var users []string
	for _, line := range strings.Split(string(b), "\n") {
		u := strings.TrimSpace(line)
		if u == "" || seen[u] {
			continue
		}
		seen[u] = true
		users = append(users, u)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("train: users file %s lists no user", path)
	}
	return users, nil
}
