package recommend

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/transforms"
)

func init() {
	register.DoFn3x1[context.Context, Recommendation, func(transforms.TempFile), error](&writeRecommendationsFn{})
	register.Emitter1[transforms.TempFile]()
}

// Write writes recommendations as a Parquet dataset folder out: it takes
// PCollection<Recommendation>, writes one file per bundle under tempDir,
// and once every bundle succeeded renames them to out/part-*.parquet
// (removing part files an earlier run left there). It returns the
// single-element PCollection<transforms.Committed> (none when there were no
// rows).
func Write(s beam.Scope, out, tempDir string, recs beam.PCollection) beam.PCollection {
	s = s.Scope("recommend.Write")
	table := transforms.BaseName(out)
	temps := beam.ParDo(s, &writeRecommendationsFn{TempDir: tempDir, Table: table}, recs)
	return transforms.FinalizeParquet(s, transforms.BaseDir(out), temps, beam.Create(s, transforms.Gate{}))
}

// writeRecommendationsFn writes each bundle's rows to one temporary file.
type writeRecommendationsFn struct {
	TempDir string
	Table   string
	w       transforms.PartWriter[Recommendation]
}

func (f *writeRecommendationsFn) ProcessElement(ctx context.Context, r Recommendation, emit func(transforms.TempFile)) error {
	return f.w.Write(ctx, f.TempDir, f.Table, r)
}

func (f *writeRecommendationsFn) FinishBundle(ctx context.Context, emit func(transforms.TempFile)) error {
	return f.w.Finish(ctx, emit)
}
