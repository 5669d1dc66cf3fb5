// Package baseline holds the two non-neural next-item recommenders every
// sequential model is checked against: item popularity and a first-order
// Markov chain over consecutive items. They train in one pass over the
// training windows of the sequences table and score the full catalogue.
package baseline

import (
	"fmt"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// Scorer scores every item id 0..numItems for a user's history (oldest
// first). Score writes into scores, whose length is the vocabulary size.
type Scorer interface {
	Name() string
	Score(history []int64, scores []float32)
}

// labels calls fn for each (previous, next) training pair of a train row:
// Items[i] → Items[i+1], and the last item → Target.
func labels(r transforms.SequenceRow, fn func(prev, next int64)) {
	for i := 1; i < len(r.Items); i++ {
		fn(r.Items[i-1], r.Items[i])
	}
	if len(r.Items) > 0 {
		fn(r.Items[len(r.Items)-1], r.Target)
	}
}

// Popularity scores an item by how often it is a training target.
type Popularity struct {
	counts []float32
}

// FitPopularity counts training targets; size is the item vocabulary size
// (ids 0..size-1).
func FitPopularity(rows []transforms.SequenceRow, size int) *Popularity {
	p := &Popularity{counts: make([]float32, size)}
	for _, r := range rows {
		if r.Split == transforms.SplitTrain {
			labels(r, func(_, next int64) { p.counts[next]++ })
		}
	}
	return p
}

// Name implements Scorer.
func (p *Popularity) Name() string { return "popularity" }

// Score implements Scorer: the same scores for everyone.
func (p *Popularity) Score(_ []int64, scores []float32) { copy(scores, p.counts) }

// Markov scores an item by how often it followed the user's last item in
// training, with popularity (scaled below one transition) breaking ties.
//
//	score(j | last = i) = count(i → j) + count(j) / (1 + max_k count(k))
type Markov struct {
	next map[int64]map[int64]float32
	pop  *Popularity
	norm float32
}

// FitMarkov counts consecutive pairs of the training windows.
func FitMarkov(rows []transforms.SequenceRow, size int) *Markov {
	m := &Markov{next: map[int64]map[int64]float32{}, pop: FitPopularity(rows, size)}
	for _, r := range rows {
		if r.Split != transforms.SplitTrain {
			continue
		}
		labels(r, func(prev, next int64) {
			t := m.next[prev]
			if t == nil {
				t = map[int64]float32{}
				m.next[prev] = t
			}
			t[next]++
		})
	}
	var mx float32
	for _, c := range m.pop.counts {
		mx = max(mx, c)
	}
	m.norm = 1 / (1 + mx)
	return m
}

// Name implements Scorer.
func (m *Markov) Name() string { return "markov" }

// Score implements Scorer.
func (m *Markov) Score(history []int64, scores []float32) {
	for j, c := range m.pop.counts {
		scores[j] = c * m.norm
	}
	if len(history) == 0 {
		return
	}
	for j, c := range m.next[history[len(history)-1]] {
		scores[j] += c
	}
}

// Evaluate ranks each user's target of split (valid or test) against the
// full catalogue, items of the user's earlier history masked, and
// summarises the ranks at ks. rows must hold every row of the users
// (train rows give the history before the valid/test windows).
func Evaluate(s Scorer, rows []transforms.SequenceRow, split string, size int, ks []int) (eval.Report, error) {
	hist := sequential.Histories(rows, split) // user → items before split's target
	scores := make([]float32, size)
	var ranks []eval.UserRank
	for _, r := range rows {
		if r.Split != split {
			continue
		}
		s.Score(r.Items, scores)
		rank, n, err := sequential.RankMasked(scores, int(r.Target), hist[r.User])
		if err != nil {
			return eval.Report{}, fmt.Errorf("baseline %s: user %s: %w", s.Name(), r.UserKey, err)
		}
		ranks = append(ranks, eval.UserRank{User: r.User, Rank: rank, NumCandidates: n})
	}
	return eval.Ranking(ranks, ks)
}
