package eval

import (
	"fmt"
	"math"
)

// HitRate returns HR@k, the fraction of users whose target ranks in the
// top k:
//
//	HR@k = (1/|U|) Σ_u 1[rank_u < k]
//
// With one held-out target per user it equals Recall@k. HitRate returns an
// error for empty ranks or an invalid UserRank, and panics if k < 1.
// Reference: Krichene and Rendle, "On Sampled Metrics for Item
// Recommendation", KDD 2020 (full-ranking protocol).
func HitRate(ranks []UserRank, k int) (float64, error) {
	checkK(k)
	return meanOver(ranks, func(r UserRank) float64 { return hit(r.Rank, k) })
}

// Recall returns Recall@k for one held-out target per user, which is HR@k:
//
//	Recall@k = (1/|U|) Σ_u |{target_u} ∩ top_k(u)| / |{target_u}| = HR@k
//
// Errors and panics are those of HitRate. PrecisionRecallAtK handles users
// with several relevant items.
func Recall(ranks []UserRank, k int) (float64, error) {
	return HitRate(ranks, k)
}

// Precision returns Precision@k for one held-out target per user:
//
//	P@k = (1/|U|) Σ_u 1[rank_u < k] / k
//
// The denominator is k even when a user has fewer than k candidates, as in
// RecBole. Errors and panics are those of HitRate.
func Precision(ranks []UserRank, k int) (float64, error) {
	hr, err := HitRate(ranks, k)
	return hr / float64(k), err
}

// NDCG returns NDCG@k with a single relevant item per user, whose ideal DCG
// is 1:
//
//	NDCG@k = (1/|U|) Σ_u 1[rank_u < k] / log2(rank_u + 2)
//
// so rank 0 scores 1 and rank 2 scores 1/log2(4) = 0.5. NDCG returns an
// error for empty ranks or an invalid UserRank, and panics if k < 1.
// Reference: Järvelin and Kekäläinen, "Cumulated gain-based evaluation of
// IR techniques", ACM TOIS 20(4), 2002.
func NDCG(ranks []UserRank, k int) (float64, error) {
	checkK(k)
	return meanOver(ranks, func(r UserRank) float64 { return gain(r.Rank, k) })
}

// MRR returns the mean reciprocal rank of the target, without cutoff:
//
//	MRR = (1/|U|) Σ_u 1 / (rank_u + 1)
//
// It returns an error for empty ranks or an invalid UserRank. Reference:
// Voorhees, "The TREC-8 Question Answering Track Report", TREC 1999.
func MRR(ranks []UserRank) (float64, error) {
	return meanOver(ranks, func(r UserRank) float64 { return 1 / float64(r.Rank+1) })
}

// FullRankAUC returns the per-user AUC of next-item retrieval averaged over
// users: the fraction of a user's other candidates (non-history items)
// ranked below the target,
//
//	AUC = (1/|U|) Σ_u (n_u - 1 - rank_u) / (n_u - 1)
//
// where n_u is NumCandidates. With pessimistic ties a tied candidate counts
// as ranked above. FullRankAUC returns an error for empty ranks, an invalid
// UserRank, or a user with n_u < 2, for whom the fraction is undefined.
// Reference: Rendle et al., "BPR: Bayesian Personalized Ranking from
// Implicit Feedback", UAI 2009 (arXiv:1205.2618), Section 6.2.
func FullRankAUC(ranks []UserRank) (float64, error) {
	for _, r := range ranks {
		if r.NumCandidates < 2 {
			return 0, fmt.Errorf("eval: user %d: AUC needs 2 or more candidates, have %d", r.User, r.NumCandidates)
		}
	}
	return meanOver(ranks, userAUC)
}

// PrecisionRecallAtK returns precision and recall at k of one user's ranked
// list (best first) against a set of relevant items; only items mapped to
// true are relevant:
//
//	hits = |ranked[:k] ∩ relevant|
//	P@k  = hits / k
//	R@k  = hits / |relevant|
//
// The denominator of P@k is k even when len(ranked) < k. It returns an
// error when no item is relevant or when ranked repeats an item within the
// top k, and panics if k < 1.
func PrecisionRecallAtK(ranked []int64, relevant map[int64]bool, k int) (p, r float64, err error) {
	checkK(k)
	var nrel int
	for _, ok := range relevant {
		if ok {
			nrel++
		}
	}
	if nrel == 0 {
		return 0, 0, fmt.Errorf("eval: no relevant items")
	}
	top := ranked[:min(k, len(ranked))]
	seen := make(map[int64]bool, len(top))
	var hits int
	for i, item := range top {
		if seen[item] {
			return 0, 0, fmt.Errorf("eval: item %d repeated at position %d of the ranked list", item, i)
		}
		seen[item] = true
		if relevant[item] {
			hits++
		}
	}
	return float64(hits) / float64(k), float64(hits) / float64(nrel), nil
}

// hit is 1[rank < k].
func hit(rank int64, k int) float64 {
	if rank < int64(k) {
		return 1
	}
	return 0
}

// gain is 1[rank < k] / log2(rank + 2).
func gain(rank int64, k int) float64 {
	if rank < int64(k) {
		return 1 / math.Log2(float64(rank)+2)
	}
	return 0
}

// userAUC is (n - 1 - rank) / (n - 1) for n ≥ 2.
func userAUC(r UserRank) float64 {
	return float64(r.NumCandidates-1-r.Rank) / float64(r.NumCandidates-1)
}
