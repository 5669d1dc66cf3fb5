package eval

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.Combiner3[rankingAccum, UserRank, Report](&rankingFn{})
}

// RankingMetrics computes a Report over all users: it takes
// PCollection<UserRank>, one element per user, and returns a PCollection<Report>
// with a single element, the Report that Ranking(ranks, ks) would give, up
// to the order of floating-point summation.
//
// It is a global beam.Combine whose accumulator is a fixed set of sums
// (a user count, hits and NDCG per k, reciprocal-rank and AUC sums), so
// memory is O(len(ks)) whatever the number of users and the result is
// exact. An invalid UserRank, or one with fewer than 2 candidates, fails
// the pipeline with an error naming the user. An empty input yields an
// empty output, not a Report. It panics if a k is < 1 or repeated.
func RankingMetrics(s beam.Scope, ranks beam.PCollection, ks []int) beam.PCollection {
	s = s.Scope("eval.RankingMetrics")
	checkKs(ks)
	return beam.Combine(s, &rankingFn{Ks: append([]int(nil), ks...)}, ranks)
}

// rankingFn is the combineFn of RankingMetrics; Ks are the cutoffs.
type rankingFn struct {
	Ks []int
}

func (f *rankingFn) CreateAccumulator() rankingAccum {
	return newRankingAccum(len(f.Ks))
}

func (f *rankingFn) AddInput(a rankingAccum, r UserRank) (rankingAccum, error) {
	err := a.add(f.Ks, r)
	return a, err
}

func (f *rankingFn) MergeAccumulators(a, b rankingAccum) rankingAccum {
	a.merge(len(f.Ks), b)
	return a
}

func (f *rankingFn) ExtractOutput(a rankingAccum) (Report, error) {
	return a.report(f.Ks)
}
