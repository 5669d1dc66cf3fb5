package eval

import (
	"fmt"
	"math"
)

// UserRank is where one user's held-out target landed in a full-catalogue
// ranking. Rank is 0-based, with ties broken pessimistically (see RankOf);
// NumCandidates counts the ranked items: the target plus every item not in
// the user's history. A valid UserRank has 0 ≤ Rank < NumCandidates.
type UserRank struct {
	User          int64
	Rank          int64
	NumCandidates int64
}

// validate reports an error naming the user when r is not a possible rank.
func (r UserRank) validate() error {
	if r.NumCandidates < 1 || r.Rank < 0 || r.Rank >= r.NumCandidates {
		return fmt.Errorf("eval: user %d: rank %d not in [0, %d)", r.User, r.Rank, r.NumCandidates)
	}
	return nil
}

// RankOf returns the 0-based rank of item target among the candidates of a
// full-catalogue score vector, and the number n of candidates. scores[i] is
// the model's score for item i, higher is better. The candidates are the
// target and every other item i for which exclude(i) is false; exclude
// masks the user's history and may be nil to mask nothing. The target is a
// candidate even when exclude(target) is true.
//
// Ties are broken pessimistically, the target ranking after every tied
// candidate:
//
//	rank = #{i ≠ target, !exclude(i) : scores[i] ≥ scores[target]}
//	n    = 1 + #{i ≠ target : !exclude(i)}
//
// so that a model scoring every item the same gets rank n-1, not 0.
//
// RankOf returns an error if the target's score or any candidate's score is
// NaN; masked items may hold any value, NaN included. It panics if target
// is not an index of scores. scores is not modified.
func RankOf(scores []float32, target int, exclude func(i int) bool) (rank, n int64, err error) {
	if target < 0 || target >= len(scores) {
		panic("eval: target out of range")
	}
	st := scores[target]
	if math.IsNaN(float64(st)) {
		return 0, 0, fmt.Errorf("eval: target item %d has a NaN score", target)
	}
	n = 1
	for i, s := range scores {
		if i == target || (exclude != nil && exclude(i)) {
			continue
		}
		if s != s {
			return 0, 0, fmt.Errorf("eval: candidate item %d has a NaN score", i)
		}
		n++
		if s >= st {
			rank++
		}
	}
	return rank, n, nil
}

// checkK panics if a cutoff is not positive.
func checkK(k int) {
	if k < 1 {
		panic("eval: k must be positive")
	}
}

// checkKs panics if a cutoff list holds a k < 1 or a repeated k.
func checkKs(ks []int) {
	seen := make(map[int]bool, len(ks))
	for _, k := range ks {
		checkK(k)
		if seen[k] {
			panic("eval: duplicate k")
		}
		seen[k] = true
	}
}

// meanOver returns the mean of f over ranks after checking each one,
// or an error for empty input or an invalid UserRank.
func meanOver(ranks []UserRank, f func(UserRank) float64) (float64, error) {
	if len(ranks) == 0 {
		return 0, fmt.Errorf("eval: no users")
	}
	var sum float64
	for _, r := range ranks {
		if err := r.validate(); err != nil {
			return 0, err
		}
		sum += f(r)
	}
	return sum / float64(len(ranks)), nil
}
