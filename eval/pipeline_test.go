package eval_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/genrec/genrec/eval"
)

func TestMain(m *testing.M) {
	ptest.Main(m)
}

func init() {
	register.DoFn1x1[eval.Report, error](&checkReportFn{})
	register.DoFn1x1[eval.LabelledReport, error](&checkLabelledFn{})
}

// checkReportFn fails the pipeline unless its input is within Tol of Want.
type checkReportFn struct {
	Want eval.Report
	Tol  float64
}

func (f *checkReportFn) ProcessElement(got eval.Report) error {
	w := f.Want
	bad := got.Users != w.Users || !reflect.DeepEqual(got.Ks, w.Ks) ||
		!floatsNear(got.HR, w.HR, f.Tol) || !floatsNear(got.NDCG, w.NDCG, f.Tol) ||
		math.Abs(got.MRR-w.MRR) > f.Tol || math.Abs(got.AUC-w.AUC) > f.Tol
	if bad {
		return fmt.Errorf("RankingMetrics: got %+v, want %+v", got, w)
	}
	return nil
}

// checkLabelledFn fails the pipeline unless its input is within Tol of Want.
type checkLabelledFn struct {
	Want eval.LabelledReport
	Tol  float64
}

func (f *checkLabelledFn) ProcessElement(got eval.LabelledReport) error {
	w := f.Want
	if got.N != w.N || got.GAUCUsers != w.GAUCUsers || math.Abs(got.AUC-w.AUC) > f.Tol ||
		math.Abs(got.GAUC-w.GAUC) > f.Tol || math.Abs(got.LogLoss-w.LogLoss) > f.Tol {
		return fmt.Errorf("LabelledMetrics: got %+v, want %+v", got, w)
	}
	return nil
}

func floatsNear(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

// The combiner must give the numbers of Ranking, which the single-metric
// functions check, up to summation order (tolerance tol).
func TestRankingMetricsPipeline(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	tests := []struct {
		users int
		ks    []int
	}{
		{users: 1, ks: []int{10}},
		{users: 500, ks: []int{10, 50, 200}},
		{users: 5000, ks: []int{1, 10, 50, 200}},
		{users: 50, ks: nil},
	}
	for _, tc := range tests {
		ranks := randomRanks(rnd, tc.users)
		want, err := eval.Ranking(ranks, tc.ks)
		if err != nil {
			t.Fatal(err)
		}
		p, s := beam.NewPipelineWithRoot()
		// Two sources give two partial accumulators to merge.
		half := len(ranks) / 2
		in := beam.Flatten(s, beam.CreateList(s, ranks[:half]), beam.CreateList(s, ranks[half:]))
		out := eval.RankingMetrics(s, in, tc.ks)
		passert.Count(s, out, "reports", 1)
		beam.ParDo0(s, &checkReportFn{Want: want, Tol: tol}, out)
		if err := ptest.Run(p); err != nil {
			t.Errorf("%d users, ks %v: %v", tc.users, tc.ks, err)
		}
	}
}

func TestRankingMetricsPipelineFailsOnBadRank(t *testing.T) {
	ranks := []eval.UserRank{{User: 1, Rank: 0, NumCandidates: 5}, {User: 42, Rank: 5, NumCandidates: 5}}
	p, s := beam.NewPipelineWithRoot()
	eval.RankingMetrics(s, beam.CreateList(s, ranks), []int{10})
	if err := ptest.Run(p); err == nil {
		t.Error("RankingMetrics with rank 5 of 5: got no error, want one")
	}
}

func TestMetricsPipelinesOnEmptyInput(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	passert.Empty(s, eval.RankingMetrics(s, beam.CreateList(s, []eval.UserRank{}), []int{10}))
	passert.Empty(s, eval.LabelledMetrics(s, beam.CreateList(s, []eval.Scored{})))
	if err := ptest.Run(p); err != nil {
		t.Error(err)
	}
}

// The combiner must give the numbers of Labelled, which the tests above
// check against gonum and a pair count.
func TestLabelledMetricsPipeline(t *testing.T) {
	rnd := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{50, 20000} {
		scored := randomScored(rnd, n, 30)
		want, err := eval.Labelled(scored)
		if err != nil {
			t.Fatal(err)
		}
		p, s := beam.NewPipelineWithRoot()
		half := len(scored) / 2
		in := beam.Flatten(s, beam.CreateList(s, scored[:half]), beam.CreateList(s, scored[half:]))
		out := eval.LabelledMetrics(s, in)
		passert.Count(s, out, "reports", 1)
		beam.ParDo0(s, &checkLabelledFn{Want: want, Tol: tol}, out)
		if err := ptest.Run(p); err != nil {
			t.Errorf("%d impressions: %v", n, err)
		}
	}
}

func TestLabelledMetricsPipelineFailsOnOneClass(t *testing.T) {
	scored := []eval.Scored{{User: 1, Score: 0.3, Label: 1}, {User: 2, Score: 0.6, Label: 1}}
	p, s := beam.NewPipelineWithRoot()
	eval.LabelledMetrics(s, beam.CreateList(s, scored))
	if err := ptest.Run(p); err == nil {
		t.Error("LabelledMetrics with positives only: got no error, want one")
	}
}
