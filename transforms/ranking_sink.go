package transforms

import (
	"context"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x1[context.Context, RankingRow, func(TempFile), error](&writeRankingFn{})
}

// WriteRanking writes rows to Parquet files in tempDir, one per bundle,
// under temporary names, as WriteSequences does for the sequences table.
// It takes PCollection<RankingRow> and returns PCollection<TempFile>;
// FinalizeParquet publishes them as the TableRanking table.
func WriteRanking(s beam.Scope, tempDir string, rows beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.WriteRanking")
	return beam.ParDo(s, &writeRankingFn{TempDir: tempDir}, rows)
}

type writeRankingFn struct {
	TempDir string
	w       PartWriter[RankingRow]
}

func (f *writeRankingFn) ProcessElement(ctx context.Context, r RankingRow, emit func(TempFile)) error {
	return f.w.Write(ctx, f.TempDir, TableRanking, r)
}

func (f *writeRankingFn) FinishBundle(ctx context.Context, emit func(TempFile)) error {
	return f.w.Finish(ctx, emit)
}
