package eval

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Scored is one labelled impression of CTR or ranking data: the model's
// Score, a predicted click probability in [0, 1], and the observed Label,
// 0 or 1.
type Scored struct {
	User  int64
	Score float64
	Label float64
}

// LabelledReport holds the metrics of labelled data: AUC, GAUC and LogLoss
// over N impressions, GAUCUsers of whose users had both labels.
type LabelledReport struct {
	AUC       float64 `json:"AUC"`
	GAUC      float64 `json:"GAUC"`
	LogLoss   float64 `json:"LogLoss"`
	N         int64   `json:"N"`
	GAUCUsers int64   `json:"GAUCUsers"`
}

// LogLossEps is the clipping bound of LogLoss: probabilities are clipped
// to [LogLossEps, 1-LogLossEps].
const LogLossEps = 1e-7

// AUC returns the area under the ROC curve of scores in its Mann-Whitney
// form, the probability that a random positive outscores a random
// negative, with ties counted as one half:
//
//	AUC = (1/(P·N)) Σ_{i: y_i=1} Σ_{j: y_j=0} (1[s_i > s_j] + ½·1[s_i = s_j])
//
// where P and N are the numbers of positives and negatives. It runs in
// O(n log n) by sorting a copy of scores; scores is not modified. AUC
// returns an error for empty input, a label other than 0 or 1, a NaN score,
// or input with only one class. Reference: Hanley and McNeil, "The meaning
// and use of the area under a ROC curve", Radiology 143(1), 1982.
func AUC(scores []Scored) (float64, error) {
	if len(scores) == 0 {
		return 0, fmt.Errorf("eval: no impressions")
	}
	if err := checkScored(scores); err != nil {
		return 0, err
	}
	s := slices.Clone(scores)
	slices.SortFunc(s, func(a, b Scored) int { return cmp.Compare(a.Score, b.Score) })
	auc, pos, neg := mannWhitney(s)
	if pos == 0 || neg == 0 {
		return 0, fmt.Errorf("eval: AUC needs both labels, have %d positives and %d negatives", pos, neg)
	}
	return auc, nil
}

// GAUC returns the impression-weighted mean of per-user AUCs, over the
// users U' that have both a positive and a negative impression:
//
//	GAUC = Σ_{u ∈ U'} n_u · AUC_u / Σ_{u ∈ U'} n_u
//
// where n_u is the number of impressions of user u and AUC_u is AUC over
// them. Users with one class only are skipped. GAUC returns the number of
// users kept, and an error for empty input, a label other than 0 or 1, a
// NaN score, or when no user has both labels. scores is not modified.
// Reference: Zhou et al., "Deep Interest Network for Click-Through Rate
// Prediction", KDD 2018 (arXiv:1706.06978), eq. (9).
func GAUC(scores []Scored) (gauc float64, users int64, err error) {
	if len(scores) == 0 {
		return 0, 0, fmt.Errorf("eval: no impressions")
	}
	if err := checkScored(scores); err != nil {
		return 0, 0, err
	}
	s := slices.Clone(scores)
	slices.SortFunc(s, func(a, b Scored) int {
		if c := cmp.Compare(a.User, b.User); c != 0 {
			return c
		}
		return cmp.Compare(a.Score, b.Score)
	})
	var sum, weight float64
	for lo := 0; lo < len(s); {
		hi := lo + 1
		for hi < len(s) && s[hi].User == s[lo].User {
			hi++
		}
		auc, pos, neg := mannWhitney(s[lo:hi])
		if pos > 0 && neg > 0 {
			n := float64(hi - lo)
			sum += n * auc
			weight += n
			users++
		}
		lo = hi
	}
	if users == 0 {
		return 0, 0, fmt.Errorf("eval: GAUC needs a user with both labels, none of %d impressions has one", len(s))
	}
	return sum / weight, users, nil
}

// LogLoss returns the mean binary cross-entropy of scores, with
// probabilities clipped to [ε, 1-ε], ε = LogLossEps = 1e-7:
//
//	p_i     = min(max(s_i, ε), 1-ε)
//	LogLoss = -(1/n) Σ_i (y_i·ln p_i + (1-y_i)·ln(1-p_i))
//
// It evaluates the equal form -(1/n) Σ_i ln min(max(q_i, ε), 1-ε) with
// q_i = s_i for a positive and 1-s_i for a negative, which keeps a wrong
// confident negative at exactly -ln ε.
// It returns an error for empty input, a label other than 0 or 1, or a
// score that is NaN or outside [0, 1] (a logit passed for a probability).
func LogLoss(scores []Scored) (float64, error) {
	if len(scores) == 0 {
		return 0, fmt.Errorf("eval: no impressions")
	}
	if err := checkScored(scores); err != nil {
		return 0, err
	}
	var sum float64
	for i, x := range scores {
		if x.Score < 0 || x.Score > 1 {
			return 0, fmt.Errorf("eval: impression %d (user %d): score %v is not a probability", i, x.User, x.Score)
		}
		q := x.Score // the probability given to the observed label
		if x.Label == 0 {
			q = 1 - x.Score
		}
		sum -= math.Log(min(max(q, LogLossEps), 1-LogLossEps))
	}
	return sum / float64(len(scores)), nil
}

// Labelled computes a LabelledReport over scores with AUC, GAUC and
// LogLoss, and returns the first of their errors.
func Labelled(scores []Scored) (LabelledReport, error) {
	auc, err := AUC(scores)
	if err != nil {
		return LabelledReport{}, err
	}
	gauc, users, err := GAUC(scores)
	if err != nil {
		return LabelledReport{}, err
	}
	ll, err := LogLoss(scores)
	if err != nil {
		return LabelledReport{}, err
	}
	return LabelledReport{AUC: auc, GAUC: gauc, LogLoss: ll, N: int64(len(scores)), GAUCUsers: users}, nil
}

// checkScored returns an error naming the first impression with a NaN score
// or a label other than 0 or 1.
func checkScored(scores []Scored) error {
	for i, x := range scores {
		if math.IsNaN(x.Score) {
			return fmt.Errorf("eval: impression %d (user %d): NaN score", i, x.User)
		}
		if x.Label != 0 && x.Label != 1 {
			return fmt.Errorf("eval: impression %d (user %d): label %v is not 0 or 1", i, x.User, x.Label)
		}
	}
	return nil
}

// mannWhitney returns the Mann-Whitney AUC of s, which must be sorted by
// ascending score, and its numbers of positives and negatives. The AUC is 0
// when either count is 0. Walking groups of tied scores upwards, each
// positive beats every negative below its group and half of those in it.
func mannWhitney(s []Scored) (auc float64, pos, neg int64) {
	var wins float64 // twice the Mann-Whitney U statistic, exact in float64 below 2^53
	for lo := 0; lo < len(s); {
		hi := lo
		var p, n int64
		for hi < len(s) && s[hi].Score == s[lo].Score {
			if s[hi].Label == 1 {
				p++
			} else {
				n++
			}
			hi++
		}
		wins += float64(p) * float64(2*neg+n)
		pos += p
		neg += n
		lo = hi
	}
	if pos == 0 || neg == 0 {
		return 0, pos, neg
	}
	return wins / (2 * float64(pos) * float64(neg)), pos, neg
}
