package evaluate

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

func init() {
	register.DoFn4x1[context.Context, int64, func(*transforms.SequenceRow) bool, func(UserMetrics), error](&rankUsersFn{})
	register.Iter1[transforms.SequenceRow]()
	register.Emitter1[UserMetrics]()
	register.DoFn2x0[UserMetrics, func(eval.UserRank)](&userRankFn{})
	register.Emitter1[eval.UserRank]()
}

// UserMetrics is one row of metrics.parquet: where a user's held-out
// target of the split landed. Rank is eval.UserRank's 0-based,
// pessimistic rank among NumCandidates items (the target and every item
// not in the user's history), so that for any cut-off K
//
//	HR@K   = 1[rank < K]
//	NDCG@K = 1[rank < K] · Gain,  Gain = 1 / log2(rank + 2)
//
// and the report's HR@K, NDCG@K, MRR and AUC are the means over users of
// those, ReciprocalRank = 1 / (rank + 1) and AUC = (n - 1 - rank) / (n - 1).
type UserMetrics struct {
	User           int64   `parquet:"user"`     // encoded user id
	UserKey        string  `parquet:"user_key"` // the user's original token
	Target         int64   `parquet:"target"`   // the held-out item's encoded id
	Rank           int64   `parquet:"rank"`
	NumCandidates  int64   `parquet:"num_candidates"`
	ReciprocalRank float64 `parquet:"reciprocal_rank"`
	Gain           float64 `parquet:"gain"`
	AUC            float64 `parquet:"auc"`
}

// userMetrics fills the derived columns of a rank.
func userMetrics(r *transforms.SequenceRow, rank, n int64) UserMetrics {
	m := UserMetrics{User: r.User, UserKey: r.UserKey, Target: r.Target, Rank: rank, NumCandidates: n,
		ReciprocalRank: 1 / float64(rank+1), Gain: 1 / math.Log2(float64(rank+2))}
	if n >= 2 {
		m.AUC = float64(n-1-rank) / float64(n-1)
	}
	return m
}

// RankUsers ranks every user's row of split with the model of checkpoint.
// It takes PCollection<transforms.SequenceRow> (every row of every user:
// the training windows make up the history mask) and returns
// PCollection<UserMetrics>, one element per row of split. items is the
// catalogue size (with padding id 0) the checkpoint must have; batch users
// share a forward pass.
func RankUsers(s beam.Scope, rows beam.PCollection, checkpoint, split string, items, batch int) beam.PCollection {
	s = s.Scope("evaluate.RankUsers")
	grouped := transforms.GroupByUser(s, rows, split == transforms.SplitValid)
	return beam.ParDo(s, &rankUsersFn{Checkpoint: checkpoint, Split: split, Items: items, BatchSize: batch}, grouped)
}

// rankUsersFn ranks grouped users BatchSize at a time. The model is built
// from Checkpoint once per DoFn instance in Setup; users whose rows of
// Split are buffered are ranked when the buffer is full (in
// ProcessElement) and at the end of the bundle (in FinishBundle, whose
// elements go to the global window like every element of this batch
// pipeline).
type rankUsersFn struct {
	Checkpoint string
	Split      string
	Items      int // the catalogue size the checkpoint must have
	BatchSize  int

	scorer *sequential.Scorer // the model and its normalised item table
	rows   []transforms.SequenceRow
	hist   sequential.History // the buffered users' masks
}

func (f *rankUsersFn) Setup(ctx context.Context) error {
	m, mc, _, err := models.Load(ctx, f.Checkpoint)
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if mc.Items != f.Items {
		return fmt.Errorf("evaluate: %s now holds a model of %d items, not the %d the pipeline was built for", f.Checkpoint, mc.Items-1, f.Items-1)
	}
	f.scorer = sequential.NewScorer(m)
	return nil
}

// StartBundle drops what a failed bundle may have left buffered.
func (f *rankUsersFn) StartBundle(_ context.Context, _ func(UserMetrics)) {
	f.rows, f.hist = f.rows[:0], sequential.History{}
}

func (f *rankUsersFn) ProcessElement(ctx context.Context, user int64, iter func(*transforms.SequenceRow) bool, emit func(UserMetrics)) error {
	var rows []transforms.SequenceRow
	var r transforms.SequenceRow
	for iter(&r) {
		rows = append(rows, r)
		r = transforms.SequenceRow{}
	}
	// The user's rows only: sequential.Histories restricted to one user.
	f.hist[user] = sequential.Histories(rows, f.Split)[user]
	for _, r := range rows {
		if r.Split == f.Split {
			f.rows = append(f.rows, r)
		}
	}
	if len(f.rows) >= max(f.BatchSize, 1) {
		return f.flush(emit)
	}
	return nil
}

func (f *rankUsersFn) FinishBundle(ctx context.Context, emit func(UserMetrics)) error {
	return f.flush(emit)
}

// flush ranks the buffered rows with sequential.Rank's code (the user
// embedding at the last position against every L2-normalised item, id 0
// and the user's history masked, ties pessimistic) and emits their metrics.
func (f *rankUsersFn) flush(emit func(UserMetrics)) error {
	if len(f.rows) == 0 {
		return nil
	}
	defer func() { f.rows, f.hist = f.rows[:0], sequential.History{} }()
	idx := make([]int, len(f.rows))
	for i := range idx {
		idx[i] = i
	}
	ranks, err := f.scorer.Rank(f.rows, idx, f.hist, len(idx))
	if err != nil {
		return fmt.Errorf("evaluate: %s rows: %w", f.Split, err)
	}
	for i, r := range ranks {
		emit(userMetrics(&f.rows[i], r.Rank, r.NumCandidates))
	}
	return nil
}

// userRankFn keeps the eval.UserRank of a UserMetrics.
type userRankFn struct{}

func (userRankFn) ProcessElement(m UserMetrics, emit func(eval.UserRank)) {
	emit(eval.UserRank{User: m.User, Rank: m.Rank, NumCandidates: m.NumCandidates})
}
