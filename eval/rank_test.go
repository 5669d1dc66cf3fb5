package eval_test

import (
	"math"
	"testing"

	"github.com/genrec/genrec/eval"
)

// Expected values are counted by hand from the score vectors.
func TestRankOf(t *testing.T) {
	nan := float32(math.NaN())
	inHistory := func(items ...int) func(int) bool {
		return func(i int) bool {
			for _, h := range items {
				if h == i {
					return true
				}
			}
			return false
		}
	}
	tests := []struct {
		name     string
		scores   []float32
		target   int
		exclude  func(int) bool
		rank, n  int64
		wantFail bool
	}{
		{name: "best", scores: []float32{0.1, 0.9, 0.3}, target: 1, rank: 0, n: 3},
		{name: "worst", scores: []float32{0.1, 0.9, 0.3}, target: 0, rank: 2, n: 3},
		{name: "middle", scores: []float32{0.1, 0.9, 0.3}, target: 2, rank: 1, n: 3},
		{name: "all tied is pessimistic", scores: []float32{1, 1, 1, 1, 1}, target: 2, rank: 4, n: 5},
		{name: "one tie above", scores: []float32{0.5, 0.2, 0.5, 0.9}, target: 0, rank: 2, n: 4},
		{name: "history masked", scores: []float32{0.8, 0.9, 0.3, 0.7}, target: 3, exclude: inHistory(0, 1), rank: 0, n: 2},
		{name: "target in history still ranked", scores: []float32{0.8, 0.9, 0.3}, target: 0, exclude: inHistory(0), rank: 1, n: 3},
		{name: "masked NaN ignored", scores: []float32{nan, 0.2, 0.4}, target: 1, exclude: inHistory(0), rank: 1, n: 2},
		{name: "masked -Inf", scores: []float32{float32(math.Inf(-1)), 0.2}, target: 1, rank: 0, n: 2},
		{name: "single item", scores: []float32{0.3}, target: 0, rank: 0, n: 1},
		{name: "NaN target", scores: []float32{0.1, nan}, target: 1, wantFail: true},
		{name: "NaN candidate", scores: []float32{0.1, nan, 0.3}, target: 0, wantFail: true},
	}
	for _, tc := range tests {
		rank, n, err := eval.RankOf(tc.scores, tc.target, tc.exclude)
		if tc.wantFail {
			if err == nil {
				t.Errorf("%s: RankOf: got rank %d, n %d, want an error", tc.name, rank, n)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: RankOf: unexpected error %v", tc.name, err)
			continue
		}
		if rank != tc.rank || n != tc.n {
			t.Errorf("%s: RankOf: got rank %d, n %d, want rank %d, n %d", tc.name, rank, n, tc.rank, tc.n)
		}
	}
}

func TestRankOfPanicsOnBadTarget(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("RankOf with target out of range: got no panic")
		}
	}()
	eval.RankOf([]float32{1, 2}, 2, nil)
}

// An untrained model scoring everything equally must get HR@K = 0.
func TestTiedScoresGiveZeroHitRate(t *testing.T) {
	scores := make([]float32, 1000)
	var ranks []eval.UserRank
	for u := range 20 {
		rank, n, err := eval.RankOf(scores, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		ranks = append(ranks, eval.UserRank{User: int64(u), Rank: rank, NumCandidates: n})
	}
	hr, err := eval.HitRate(ranks, 200)
	if err != nil {
		t.Fatal(err)
	}
	if hr != 0 {
		t.Errorf("HR@200 of all-equal scores: got %v, want 0", hr)
	}
}
