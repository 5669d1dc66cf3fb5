package evaluate

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/transforms"
)

func init() {
	register.DoFn3x1[context.Context, UserMetrics, func(transforms.TempFile), error](&writeUserMetricsFn{})
	register.Emitter1[transforms.TempFile]()
	register.DoFn3x1[[]byte, func(*eval.Report) bool, func(transforms.Gate), error](&reportGateFn{})
	register.Iter1[eval.Report]()
	register.Emitter1[transforms.Gate]()
	register.DoFn3x1[context.Context, transforms.Committed, eval.Report, error](&writeReportFn{})
}

// WriteResults publishes the per-user rows and the report under out: it
// takes PCollection<UserMetrics> and the PCollection<eval.Report> of
// eval.RankingMetrics (one element, or none when no user was ranked),
// writes the rows per bundle under tempDir, and once the report exists
// renames them to out/metrics.parquet/part-*.parquet and writes
// out/metrics.json atomically. With no report the job fails with the
// error noRows and nothing gets a final name.
func WriteResults(s beam.Scope, out, tempDir, noRows string, users, report beam.PCollection) {
	s = s.Scope("evaluate.WriteResults")
	temps := beam.ParDo(s, &writeUserMetricsFn{TempDir: tempDir}, users)
	gate := beam.ParDo(s, &reportGateFn{NoRows: noRows}, beam.Impulse(s), beam.SideInput{Input: report})
	committed := transforms.FinalizeParquet(s, out, temps, gate)
	beam.ParDo0(s, &writeReportFn{Path: transforms.JoinPath(out, MetricsFile)}, committed, beam.SideInput{Input: report})
}

// writeUserMetricsFn writes each bundle's rows to one temporary file.
type writeUserMetricsFn struct {
	TempDir string
	w       transforms.PartWriter[UserMetrics]
}

func (f *writeUserMetricsFn) ProcessElement(ctx context.Context, m UserMetrics, emit func(transforms.TempFile)) error {
	return f.w.Write(ctx, f.TempDir, MetricsTable, m)
}

func (f *writeUserMetricsFn) FinishBundle(ctx context.Context, emit func(transforms.TempFile)) error {
	return f.w.Finish(ctx, emit)
}

// reportGateFn opens the gate of FinalizeParquet when the report exists
// and fails the job with NoRows when it does not (no user was ranked: a
// global combine of nothing gives nothing).
type reportGateFn struct {
	NoRows string
}

func (f *reportGateFn) ProcessElement(_ []byte, reports func(*eval.Report) bool, emit func(transforms.Gate)) error {
	var r eval.Report
	if !reports(&r) {
		return fmt.Errorf("%s", f.NoRows)
	}
	emit(transforms.Gate{})
	return nil
}

// writeReportFn writes the report once the rows are published.
type writeReportFn struct {
	Path string
}

func (f *writeReportFn) ProcessElement(ctx context.Context, _ transforms.Committed, rep eval.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	if err := transforms.WriteFileAtomic(ctx, f.Path, append(b, '\n')); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	return nil
}
