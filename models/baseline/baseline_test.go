package baseline_test

import (
	"math"
	"testing"

	"github.com/genrec/genrec/models/baseline"
	"github.com/genrec/genrec/transforms"
)

// Hand-made data: item 1 is always followed by 2, and 3 is the most popular
// target. Expected ranks are worked out in the comments.
func rows() []transforms.SequenceRow {
	train := func(u int64, items []int64, target int64) transforms.SequenceRow {
		return transforms.SequenceRow{User: u, Split: transforms.SplitTrain, Items: items, Target: target}
	}
	return []transforms.SequenceRow{
		train(1, []int64{1}, 2),    // 1→2
		train(2, []int64{1}, 2),    // 1→2
		train(3, []int64{4, 3}, 3), // 4→3, 3→3
		train(4, []int64{5}, 3),    // 5→3
		// user 5's test: history [4, 1], target 2. Markov: after 1 comes 2 (count 2) → rank 0.
		// Popularity counts: 2→2, 3→3; candidates (not 0, not history 1,4): 2,3,5 → 3 scores above 2 → rank 1.
		{User: 5, Split: transforms.SplitTest, Items: []int64{4, 1}, Target: 2},
	}
}

func TestBaselinesRankTheTarget(t *testing.T) {
	const size = 6 // ids 0..5
	for _, tc := range []struct {
		s        baseline.Scorer
		wantMRR  float64 // 1/(rank+1)
		wantHR1  float64
		wantUser int64
	}{
		{baseline.FitMarkov(rows(), size), 1, 1, 1},
		{baseline.FitPopularity(rows(), size), 0.5, 0, 1},
	} {
		rep, err := baseline.Evaluate(tc.s, rows(), transforms.SplitTest, size, []int{1})
		if err != nil {
			t.Fatal(err)
		}
		m := rep.Map()
		if math.Abs(m["MRR"]-tc.wantMRR) > 1e-12 || m["HR@1"] != tc.wantHR1 || rep.Users != tc.wantUser {
			t.Errorf("%s: MRR %g, HR@1 %g, users %d; want %g, %g, %d", tc.s.Name(), m["MRR"], m["HR@1"], rep.Users, tc.wantMRR, tc.wantHR1, tc.wantUser)
		}
	}
}

func TestEvaluateWithoutRowsIsAnError(t *testing.T) {
	if _, err := baseline.Evaluate(baseline.FitPopularity(nil, 3), nil, transforms.SplitTest, 3, []int{1}); err == nil {
		t.Error("no test rows: want an error")
	}
}
