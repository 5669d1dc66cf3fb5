package eval_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"

	"github.com/genrec/genrec/eval"
)

// pairs builds impressions of user 0 from positive and negative scores.
func pairs(pos, neg []float64) []eval.Scored {
	var s []eval.Scored
	for _, p := range pos {
		s = append(s, eval.Scored{Score: p, Label: 1})
	}
	for _, n := range neg {
		s = append(s, eval.Scored{Score: n, Label: 0})
	}
	return s
}

// Expected AUCs are hand-counted over all positive-negative pairs, a tie
// counting one half.
func TestAUC(t *testing.T) {
	tests := []struct {
		name     string
		pos, neg []float64
		want     float64
	}{
		{"separated", []float64{0.9}, []float64{0.1}, 1},
		{"inverted", []float64{0.1}, []float64{0.9}, 0},
		{"tied", []float64{0.5}, []float64{0.5}, 0.5},
		{"3 of 4 pairs", []float64{0.8, 0.4}, []float64{0.6, 0.2}, 0.75},
		{"3.5 of 4 pairs", []float64{0.5, 0.7}, []float64{0.5, 0.1}, 0.875},
		{"all tied", []float64{0.3, 0.3, 0.3}, []float64{0.3, 0.3}, 0.5},
	}
	for _, tc := range tests {
		got, err := eval.AUC(pairs(tc.pos, tc.neg))
		if err != nil {
			t.Errorf("%s: unexpected error %v", tc.name, err)
			continue
		}
		if !near(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// AUC must match the area under gonum's ROC curve, integrated with the
// trapezoid rule (which counts ties as one half), on random data with many
// ties.
func TestAUCAgreesWithGonumROC(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{2, 10, 1000, 20000} {
		s := randomScored(rnd, n, 50)
		if !hasBoth(s) {
			continue
		}
		got, err := eval.AUC(s)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float64, len(s))
		classes := make([]bool, len(s))
		for i, x := range s {
			y[i], classes[i] = x.Score, x.Label == 1
		}
		stat.SortWeightedLabeled(y, classes, nil)
		tpr, fpr, _ := stat.ROC(nil, y, classes, nil)
		want := integrate.Trapezoidal(fpr, tpr)
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("n=%d: got AUC %v, want %v from stat.ROC", n, got, want)
		}
	}
}

// Hand-computed: user 1 has AUC 1 over 2 impressions, user 2 has AUC 0.5
// over 3 (one of two pairs won), user 3 has positives only and is skipped:
// GAUC = (2·1 + 3·0.5) / 5 = 0.7.
func TestGAUC(t *testing.T) {
	s := []eval.Scored{
		{User: 2, Score: 0.3, Label: 1}, {User: 1, Score: 0.8, Label: 1}, {User: 2, Score: 0.6, Label: 0},
		{User: 3, Score: 0.5, Label: 1}, {User: 1, Score: 0.2, Label: 0}, {User: 2, Score: 0.1, Label: 0},
	}
	got, users, err := eval.GAUC(s)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got, 0.7) || users != 2 {
		t.Errorf("GAUC: got %v over %d users, want 0.7 over 2", got, users)
	}
}

// GAUC must match a direct loop: group by user, count pairs.
func TestGAUCAgreesWithPairCount(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	s := randomScored(rnd, 5000, 20)
	for i := range s {
		s[i].User = rnd.Int64N(300)
	}
	got, users, err := eval.GAUC(s)
	if err != nil {
		t.Fatal(err)
	}
	byUser := map[int64][]eval.Scored{}
	for _, x := range s {
		byUser[x.User] = append(byUser[x.User], x)
	}
	var sum, weight float64
	var wantUsers int64
	for _, imps := range byUser {
		var wins, npairs float64
		for _, a := range imps {
			for _, b := range imps {
				if a.Label != 1 || b.Label != 0 {
					continue
				}
				npairs++
				switch {
				case a.Score > b.Score:
					wins++
				case a.Score == b.Score:
					wins += 0.5
				}
			}
		}
		if npairs > 0 {
			sum += float64(len(imps)) * wins / npairs
			weight += float64(len(imps))
			wantUsers++
		}
	}
	if want := sum / weight; !near(got, want) || users != wantUsers {
		t.Errorf("GAUC: got %v over %d users, want %v over %d", got, users, want, wantUsers)
	}
}

// Expected values are the formula evaluated by hand; clipping makes a
// confident right answer cost ≈ 1e-7 and a confident wrong one -ln(1e-7).
func TestLogLoss(t *testing.T) {
	tests := []struct {
		name string
		s    []eval.Scored
		want float64
	}{
		{"half", []eval.Scored{{Score: 0.5, Label: 1}}, math.Ln2},
		{"two", []eval.Scored{{Score: 0.8, Label: 1}, {Score: 0.4, Label: 0}}, -(math.Log(0.8) + math.Log(0.6)) / 2},
		{"confident right", []eval.Scored{{Score: 1, Label: 1}}, -math.Log(1 - 1e-7)},
		{"confident wrong", []eval.Scored{{Score: 1, Label: 0}}, -math.Log(1e-7)},
		{"zero wrong", []eval.Scored{{Score: 0, Label: 1}}, -math.Log(1e-7)},
	}
	for _, tc := range tests {
		got, err := eval.LogLoss(tc.s)
		if err != nil {
			t.Errorf("%s: unexpected error %v", tc.name, err)
			continue
		}
		if !near(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestLabelledErrors(t *testing.T) {
	nan := math.NaN()
	bad := map[string][]eval.Scored{
		"empty":     nil,
		"NaN score": {{Score: nan, Label: 1}, {Score: 0.1, Label: 0}},
		"bad label": {{Score: 0.2, Label: 0.5}, {Score: 0.1, Label: 0}},
	}
	oneClass := []eval.Scored{{User: 1, Score: 0.2, Label: 1}, {User: 2, Score: 0.1, Label: 1}}
	oneClassPerUser := []eval.Scored{{User: 1, Score: 0.2, Label: 1}, {User: 2, Score: 0.1, Label: 0}}
	notProb := []eval.Scored{{Score: 1.5, Label: 1}, {Score: 0.1, Label: 0}}
	for name, s := range bad {
		if got, err := eval.AUC(s); err == nil {
			t.Errorf("AUC on %s: got %v, want an error", name, got)
		}
		if got, _, err := eval.GAUC(s); err == nil {
			t.Errorf("GAUC on %s: got %v, want an error", name, got)
		}
		if got, err := eval.LogLoss(s); err == nil {
			t.Errorf("LogLoss on %s: got %v, want an error", name, got)
		}
	}
	if got, err := eval.AUC(oneClass); err == nil {
		t.Errorf("AUC on one class: got %v, want an error", got)
	}
	if got, _, err := eval.GAUC(oneClassPerUser); err == nil {
		t.Errorf("GAUC with one class per user: got %v, want an error", got)
	}
	if got, err := eval.LogLoss(notProb); err == nil {
		t.Errorf("LogLoss with score 1.5: got %v, want an error", got)
	}
	if _, err := eval.Labelled(oneClassPerUser); err == nil {
		t.Error("Labelled with one class per user: got no error, want one")
	}
}

// randomScored returns n impressions of 100 users with scores on a grid of
// levels+1 values in [0, 1], so that ties are common, and labels that lean
// towards the score.
func randomScored(rnd *rand.Rand, n, levels int) []eval.Scored {
	s := make([]eval.Scored, n)
	for i := range s {
		score := float64(rnd.IntN(levels+1)) / float64(levels)
		var label float64
		if rnd.Float64() < 0.2+0.6*score {
			label = 1
		}
		s[i] = eval.Scored{User: rnd.Int64N(100), Score: score, Label: label}
	}
	return s
}

func hasBoth(s []eval.Scored) bool {
	var pos, neg bool
	for _, x := range s {
		pos = pos || x.Label == 1
		neg = neg || x.Label == 0
	}
	return pos && neg
}
