package embeditems

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

func init() {
	register.DoFn3x1[context.Context, EmbeddingRow, func(transforms.TempFile), error](&writeEmbeddingsFn{})
	register.Emitter1[transforms.TempFile]()
}

// Result is what a run did.
type Result struct {
	Encoder        string  // the encoder's ID
	Rows           int64   // rows written
	Encoded        int64   // items encoded by this run
	Reused         int64   // items copied from the earlier run
	Seconds        float64 // the run's wall time, pipeline start to finish
	ItemsPerSecond float64 // Rows / Seconds
	Files          []string
	StaleTemps     []string // temp folders of killed earlier runs removed (transforms.GuardTemp)
}

// Pipeline builds the pipeline into s. The config is checked and the
// encoder loaded (for its ID) now: a bad template, format or encoder
// folder is an error before anything runs.
func Pipeline(s beam.Scope, cfg Config) error {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	enc, err := LoadEncoder(context.Background(), cfg.Encoder, cfg.Dim, cfg.Pooling)
	if err != nil {
		return err
	}
	build(s, cfg, enc.ID())
	return nil
}

func build(s beam.Scope, cfg Config, encoderID string) {
	s = s.Scope("embeditems")
	items := beam.Reshuffle(s, ReadItems(s, cfg))
	reused, todo := SplitReused(s, cfg.Out, encoderID, items)
	encoded := Encode(s, cfg.Encoder, cfg.Dim, cfg.Pooling, cfg.BatchSize, todo)
	rows := beam.Flatten(s, reused, encoded)
	temps := beam.ParDo(s, &writeEmbeddingsFn{TempDir: cfg.TempDir()}, rows)
	transforms.FinalizeParquet(s, cfg.Out, temps, beam.Create(s, transforms.Gate{}))
}

// Run builds and runs the pipeline on the runner ropt chooses. Whatever
// the outcome the run's temporary files are removed; on failure nothing
// under Out got a new final name.
func Run(ctx context.Context, cfg Config, ropt runners.Options) (Result, error) {
	cfg = cfg.WithDefaults()
	for _, f := range []string{cfg.Items, cfg.Tags} {
		if f == "" {
			continue
		}
		if _, err := transforms.ExpandInputs(ctx, []string{f}); err != nil {
			return Result{}, fmt.Errorf("embeditems: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	enc, err := LoadEncoder(ctx, cfg.Encoder, cfg.Dim, cfg.Pooling)
	if err != nil {
		return Result{}, err
	}
	p, s := beam.NewPipelineWithRoot()
	build(s, cfg, enc.ID())
	guard, stale, err := transforms.GuardTemp(ctx, cfg.Out, cfg.TempDir())
	if err != nil {
		return Result{}, fmt.Errorf("embeditems: %w", err)
	}
	t0 := time.Now()
	res, runErr := runners.Run(ctx, p, ropt)
	guard.Stop()
	out := Result{Encoder: enc.ID(), Seconds: time.Since(t0).Seconds(), StaleTemps: stale}
	cleanErr := transforms.CleanTemp(context.Background(), cfg.TempDir())
	if runErr != nil {
		return Result{}, fmt.Errorf("embeditems failed: %w", runErr)
	}
	if cleanErr != nil {
		return Result{}, fmt.Errorf("embeditems: removing temporary files: %w", cleanErr)
	}
	if res != nil {
		for _, c := range res.Metrics().Query(func(sr metrics.SingleResult) bool {
			return sr.Namespace() == "genrec.embeditems"
		}).Counters() {
			switch c.Name() {
			case "encoded":
				out.Encoded += c.Result()
			case "reused":
				out.Reused += c.Result()
			}
		}
	}
	out.Rows = out.Encoded + out.Reused
	if out.Seconds > 0 {
		out.ItemsPerSecond = float64(out.Rows) / out.Seconds
	}
	files, err := transforms.ExpandInputs(ctx, []string{transforms.JoinPath(cfg.Out, EmbeddingsTable, "part-*.parquet")})
	if err != nil {
		return out, fmt.Errorf("embeditems: no embeddings were written (%v)", err)
	}
	out.Files = files
	return out, nil
}

// writeEmbeddingsFn writes each bundle's rows to one temporary file.
type writeEmbeddingsFn struct {
	TempDir string
	w       transforms.PartWriter[EmbeddingRow]
}

func (f *writeEmbeddingsFn) ProcessElement(ctx context.Context, r EmbeddingRow, emit func(transforms.TempFile)) error {
	return f.w.Write(ctx, f.TempDir, EmbeddingsTable, r)
}

func (f *writeEmbeddingsFn) FinishBundle(ctx context.Context, emit func(transforms.TempFile)) error {
	return f.w.Finish(ctx, emit)
}
