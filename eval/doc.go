// Package eval computes genrec's evaluation metrics, as plain Go functions
// and as Beam combiners over a PCollection.
//
// Next-item retrieval follows the protocol of DESIGN.md: leave-one-out, each
// user's held-out target is ranked against the full catalogue with the items
// already in the user's history masked out. RankOf turns one user's score
// vector into a UserRank; HitRate, NDCG, MRR, Precision, Recall and
// FullRankAUC average over users, and Ranking computes them all in one pass
// into a Report (JSON: {"Users":..,"HR@10":..,"NDCG@10":..,"MRR":..,"AUC":..}).
//
// Ties are broken pessimistically: the target ranks after every candidate
// that scores the same, so
//
//	rank = #{candidates j ≠ target : s_j ≥ s_target}
//
// A model that scores every item equally gets rank n-1, hence HR@K = 0,
// rather than the optimistic rank 0 and HR@K = 1. See McSherry and Najork,
// "Computing information retrieval performance measures efficiently in the
// presence of tied scores", ECIR 2008, for the alternatives.
//
// Labelled (CTR) data is a list of Scored impressions; AUC, GAUC and LogLoss
// measure it, and Labelled computes all three into a LabelledReport.
//
// The Beam composites RankingMetrics (PCollection<UserRank> to a single
// Report) and LabelledMetrics (PCollection<Scored> to a single
// LabelledReport) give the same numbers as the plain functions up to the
// order of floating-point summation.
//
// No function returns NaN: empty or degenerate input (no users, one class
// only) is an error, and so is a NaN score. Invalid arguments that can only
// come from code, such as a cutoff k < 1, panic with an "eval: " prefix.
package eval
