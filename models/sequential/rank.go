package sequential

import (
	"container/heap"
	"fmt"
	"math"
	"slices"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/transforms"
)

// History maps a user to the sorted, distinct items of their history that
// ranking masks out.
type History map[int64][]int32

// Histories collects, for the rows of split (valid or test), each user's
// items before that split's target, from every row of rows: training
// windows' items and targets, for the test split the validation target,
// and the split row's own items. This is DESIGN.md's "items already in the
// user's history masked out".
func Histories(rows []transforms.SequenceRow, split string) History {
	h := History{}
	add := func(u, it int64) { h[u] = append(h[u], int32(it)) }
	for _, r := range rows {
		switch {
		case r.Split == transforms.SplitTrain:
			for _, it := range r.Items {
				add(r.User, it)
			}
			add(r.User, r.Target)
		case r.Split == transforms.SplitValid && split == transforms.SplitTest:
			add(r.User, r.Target)
		}
		if r.Split == split {
			for _, it := range r.Items {
				add(r.User, it)
			}
		}
	}
	for u, items := range h {
		slices.Sort(items)
		h[u] = slices.Compact(items)
	}
	return h
}

// SplitRows returns the indices of the rows of split.
func SplitRows(rows []transforms.SequenceRow, split string) []int {
	var idx []int
	for i, r := range rows {
		if r.Split == split {
			idx = append(idx, i)
		}
	}
	return idx
}

// LastEmbeddings returns the user embedding at each row's last position
// (b.B x Dim), in evaluation mode.
func LastEmbeddings(m Model, b *Batch) []float32 {
	d := m.Dim()
	all := m.Forward(b, nil)
	out := make([]float32, b.B*d)
	for i := range b.B {
		p := i*b.L + b.Lens[i] - 1
		copy(out[i*d:(i+1)*d], all[p*d:(p+1)*d])
	}
	return out
}

// Scorer ranks and recommends with a model and its L2-normalised item
// table, normalised once (callers that score many batches with one model,
// such as a pipeline's DoFn, keep one). Not safe for concurrent use.
type Scorer struct {
	M      Model
	Items  []float32 // ItemEmbeddings(M)
	scores []float32
}

// NewScorer normalises m's item table.
func NewScorer(m Model) *Scorer { return &Scorer{M: m, Items: ItemEmbeddings(m)} }

// batches calls fn with each batch of rows idx (batch rows at a time)
// and their full-catalogue scores (B x catalogue), users embedded at their
// last position and items L2-normalised.
func (s *Scorer) batches(rows []transforms.SequenceRow, idx []int, batch int, fn func(b *Batch, scores []float32) error) error {
	if batch <= 0 {
		batch = 256
	}
	m := s.M
	n, d := m.ItemTable().Rows(), m.Dim()
	for lo := 0; lo < len(idx); lo += batch {
		b, err := NewBatch(rows, idx[lo:min(lo+batch, len(idx))], m.MaxLen(), false)
		if err != nil {
			return err
		}
		users := LastEmbeddings(m, b)
		s.scores = Grow(s.scores, b.B*n)
		kernels.Gemm(false, true, b.B, n, d, 1, users, d, s.Items, d, 0, s.scores, n)
		if err := fn(b, s.scores); err != nil {
			return err
		}
	}
	return nil
}

// Rank returns where each row of idx ranks its Target among all items
// (id 0 and the user's history masked, ties pessimistic as eval.RankOf).
func Rank(m Model, rows []transforms.SequenceRow, idx []int, hist History, batch int) ([]eval.UserRank, error) {
	return NewScorer(m).Rank(rows, idx, hist, batch)
}

// Rank is the package's Rank with s's model and item table.
func (s *Scorer) Rank(rows []transforms.SequenceRow, idx []int, hist History, batch int) ([]eval.UserRank, error) {
	n := s.M.ItemTable().Rows()
	ranks := make([]eval.UserRank, 0, len(idx))
	err := s.batches(rows, idx, batch, func(b *Batch, scores []float32) error {
		out := make([]eval.UserRank, b.B)
		errs := make([]error, b.B)
		kernels.Parallel(b.B, func(i int) {
			r := &rows[b.Rows[i]]
			if r.Target <= 0 || int(r.Target) >= n {
				errs[i] = fmt.Errorf("sequential: user %q: target item %d is not in the catalogue of %d", r.UserKey, r.Target, n)
				return
			}
			rank, cands, err := RankMasked(scores[i*n:(i+1)*n], int(r.Target), hist[r.User])
			out[i], errs[i] = eval.UserRank{User: r.User, Rank: rank, NumCandidates: cands}, err
		})
		for i, err := range errs {
			if err != nil {
				return fmt.Errorf("row %d: %w", b.Rows[i], err)
			}
		}
		ranks = append(ranks, out...)
		return nil
	})
	return ranks, err
}

// RankMasked is eval.RankOf with id 0 and the sorted items h excluded
// (the target stays a candidate), in one pass over the scores and one over
// h instead of a lookup per item:
//
//	rank = #{j ≥ 1, j ≠ t, j ∉ h : s_j ≥ s_t}
//	n    = 1 + #{j ≥ 1, j ≠ t, j ∉ h}
func RankMasked(scores []float32, t int, h []int32) (rank, n int64, err error) {
	st := scores[t]
	if st != st {
		return 0, 0, fmt.Errorf("eval: target item %d has a NaN score", t)
	}
	for j := 1; j < len(scores); j++ {
		s := scores[j]
		if s != s {
			if _, masked := slices.BinarySearch(h, int32(j)); !masked && j != t {
				return 0, 0, fmt.Errorf("eval: candidate item %d has a NaN score", j)
			}
			continue
		}
		if s >= st {
			rank++
		}
	}
	rank-- // the target itself
	n = int64(len(scores) - 1)
	for k, it := range h {
		if it <= 0 || int(it) == t || (k > 0 && h[k-1] == it) {
			continue
		}
		n--
		if s := scores[it]; s >= st {
			rank--
		}
	}
	return rank, n, nil
}

// Evaluate ranks the rows of split (valid or test) with DESIGN.md's
// protocol and summarises them at ks (HR, NDCG), with MRR and AUC.
func Evaluate(m Model, rows []transforms.SequenceRow, split string, ks []int, batch int) (eval.Report, error) {
	idx := SplitRows(rows, split)
	if len(idx) == 0 {
		return eval.Report{}, fmt.Errorf("sequential: no %s rows to evaluate", split)
	}
	ranks, err := Rank(m, rows, idx, Histories(rows, split), batch)
	if err != nil {
		return eval.Report{}, err
	}
	return eval.Ranking(ranks, ks)
}

// Recommendation is one user's top-K items, best first.
type Recommendation struct {
	User    int64     `parquet:"user" json:"user"`
	UserKey string    `parquet:"user_key" json:"user_key"`
	Items   []int64   `parquet:"items,list" json:"items"`
	Scores  []float32 `parquet:"scores,list" json:"scores"`
}

// Predict returns the top k items for each row of idx, predicted from the
// row's whole sequence (Items and Target: the next item after the last
// known one), with id 0 and the user's history masked when hist is non-nil.
func Predict(m Model, rows []transforms.SequenceRow, idx []int, hist History, k, batch int) ([]Recommendation, error) {
	return NewScorer(m).Predict(rows, idx, hist, k, batch)
}

// Predict is the package's Predict with s's model and item table.
func (s *Scorer) Predict(rows []transforms.SequenceRow, idx []int, hist History, k, batch int) ([]Recommendation, error) {
	if k <= 0 {
		return nil, fmt.Errorf("sequential: top-k must be positive, got %d", k)
	}
	// Shift each row so that its target becomes the last known item.
	shifted := make([]transforms.SequenceRow, len(idx))
	pos := make([]int, len(idx))
	for i, ri := range idx {
		r := rows[ri]
		r.Items = append(append([]int64{}, r.Items...), r.Target)
		r.Timestamps = append(append([]int64{}, r.Timestamps...), r.TargetTimestamp)
		r.TargetTimestamp = r.Timestamps[len(r.Timestamps)-1]
		shifted[i], pos[i] = r, i
	}
	n := s.M.ItemTable().Rows()
	out := make([]Recommendation, len(idx))
	err := s.batches(shifted, pos, batch, func(b *Batch, scores []float32) error {
		kernels.Parallel(b.B, func(i int) {
			r := &shifted[b.Rows[i]]
			var h []int32
			if hist != nil {
				h = hist[r.User]
			}
			out[b.Rows[i]] = topK(r, scores[i*n:(i+1)*n], h, k)
		})
		return nil
	})
	return out, err
}

// topK selects the k best-scored items not in h (sorted) and not id 0,
// nor any item of r's own sequence. It overwrites the masked items'
// scores with -Inf (scores is the caller's scratch row).
func topK(r *transforms.SequenceRow, scores []float32, h []int32, k int) Recommendation {
	masked := float32(math.Inf(-1))
	scores[0] = masked
	for _, it := range r.Items {
		if it > 0 && int(it) < len(scores) {
			scores[it] = masked
		}
	}
	for _, it := range h {
		if it > 0 && int(it) < len(scores) {
			scores[it] = masked
		}
	}
	q := make(scoreHeap, 0, k)
	for j, s := range scores {
		if s == masked || s != s {
			continue
		}
		if len(q) < k {
			heap.Push(&q, scored{j, s})
		} else if s > q[0].s {
			q[0] = scored{j, s}
			heap.Fix(&q, 0)
		}
	}
	rec := Recommendation{User: r.User, UserKey: r.UserKey, Items: make([]int64, q.Len()), Scores: make([]float32, q.Len())}
	for i := q.Len() - 1; i >= 0; i-- {
		x := heap.Pop(&q).(scored)
		rec.Items[i], rec.Scores[i] = int64(x.id), x.s
	}
	return rec
}

type scored struct {
	id int
	s  float32
}

// scoreHeap is a min-heap by score, ties broken towards the larger id so
// that the smaller id wins a tie in the result.
type scoreHeap []scored

func (h scoreHeap) Len() int { return len(h) }
func (h scoreHeap) Less(i, j int) bool {
	if h[i].s != h[j].s {
		return h[i].s < h[j].s
	}
	return h[i].id > h[j].id
}
func (h scoreHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *scoreHeap) Push(x any)   { *h = append(*h, x.(scored)) }
func (h *scoreHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
