package eval

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.Combiner3[labelledAccum, Scored, LabelledReport](&labelledFn{})
}

// LabelledMetrics computes AUC, GAUC and LogLoss over labelled impressions:
// it takes PCollection<Scored> and returns a PCollection<LabelledReport>
// with a single element, the report that Labelled would give on the whole
// input.
//
// AUC and GAUC are exact, which needs every score: the accumulator keeps
// all impressions, 24 bytes each (plus their encoded copies when bundles
// are merged), and the worker that extracts the output holds them all and
// sorts two copies, O(n log n). 1e8 impressions need several GB on that one
// worker; sample first, or group by user upstream, for more. A NaN score, a
// label other than 0 or 1, a score outside [0, 1], or input in which AUC or
// GAUC is undefined (one class only; no user with both labels) fails the
// pipeline with an error. An empty input yields an empty output.
func LabelledMetrics(s beam.Scope, scored beam.PCollection) beam.PCollection {
	s = s.Scope("eval.LabelledMetrics")
	return beam.Combine(s, &labelledFn{}, scored)
}

// labelledAccum is the accumulator of labelledFn: the impressions seen.
type labelledAccum struct {
	Scores []Scored
}

// labelledFn is the combineFn of LabelledMetrics.
type labelledFn struct{}

func (f *labelledFn) CreateAccumulator() labelledAccum {
	return labelledAccum{}
}

func (f *labelledFn) AddInput(a labelledAccum, x Scored) labelledAccum {
	a.Scores = append(a.Scores, x)
	return a
}

func (f *labelledFn) MergeAccumulators(a, b labelledAccum) labelledAccum {
	a.Scores = append(a.Scores, b.Scores...)
	return a
}

func (f *labelledFn) ExtractOutput(a labelledAccum) (LabelledReport, error) {
	return Labelled(a.Scores)
}
