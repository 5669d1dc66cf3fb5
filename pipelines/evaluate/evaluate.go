package evaluate

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

// Pipeline builds the evaluation pipeline into s. The data folder and the
// checkpoint are checked now (see resolve): a missing file, a ranking data
// set or a checkpoint of another catalogue is an error before anything
// runs. A split without rows fails the job.
func Pipeline(s beam.Scope, cfg Config) error {
	r, err := cfg.resolve(context.Background())
	if err != nil {
		return err
	}
	build(s, r)
	return nil
}

func build(s beam.Scope, cfg resolved) {
	s = s.Scope("evaluate")
	rows := transforms.ReadSequences(s, transforms.JoinPath(cfg.Data, transforms.TableSequences))
	users := RankUsers(s, rows, cfg.Checkpoint, cfg.Split, cfg.items, cfg.BatchSize)
	report := eval.RankingMetrics(s, beam.ParDo(s, &userRankFn{}, users), cfg.Ks)
	noRows := fmt.Sprintf("evaluate: %s has no %s rows to evaluate", transforms.JoinPath(cfg.Data, transforms.TableSequences), cfg.Split)
	WriteResults(s, cfg.Out, cfg.TempDir(), noRows, users, report)
}

// Run builds and runs the pipeline on the runner ropt chooses and returns
// the report it wrote to Out/metrics.json. Whatever the outcome the run's
// temporary files are removed; on failure nothing under Out got a new
// final name.
func Run(ctx context.Context, cfg Config, ropt runners.Options) (eval.Report, error) {
	r, err := cfg.resolve(ctx)
	if err != nil {
		return eval.Report{}, err
	}
	p, s := beam.NewPipelineWithRoot()
	build(s, r)
	// A killed run's leftovers under Out/_temporary go first; this run's
	// heartbeat keeps a concurrent run from taking its folder.
	guard, _, err := transforms.GuardTemp(ctx, r.Out, r.TempDir())
	if err != nil {
		return eval.Report{}, fmt.Errorf("evaluate: %w", err)
	}
	_, runErr := runners.Run(ctx, p, ropt)
	guard.Stop()
	cleanErr := transforms.CleanTemp(context.Background(), r.TempDir())
	if runErr != nil {
		return eval.Report{}, fmt.Errorf("evaluate failed: %w", runErr)
	}
	if cleanErr != nil {
		return eval.Report{}, fmt.Errorf("evaluate: removing temporary files: %w", cleanErr)
	}
	return ReadReport(ctx, r.Out)
}

// ReadReport reads the metrics.json of an evaluation output folder.
func ReadReport(ctx context.Context, out string) (eval.Report, error) {
	path := transforms.JoinPath(out, MetricsFile)
	b, err := transforms.ReadFile(ctx, path)
	if err != nil {
		return eval.Report{}, fmt.Errorf("evaluate: reading %s: %w", path, err)
	}
	var rep eval.Report
	if err := rep.UnmarshalJSON(b); err != nil {
		return eval.Report{}, fmt.Errorf("evaluate: %s: %w", path, err)
	}
	return rep, nil
}
