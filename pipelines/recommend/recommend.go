package recommend

import (
	"context"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"

	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

// Pipeline builds the recommendation pipeline into s. The data folder and
// the checkpoint are checked now (see resolve): a missing file, a ranking
// data set or a checkpoint of another catalogue is an error before
// anything runs.
func Pipeline(s beam.Scope, cfg Config) error {
	r, err := cfg.resolve(context.Background())
	if err != nil {
		return err
	}
	build(s, r)
	return nil
}

func build(s beam.Scope, cfg resolved) {
	s = s.Scope("recommend")
	rows := transforms.ReadSequences(s, transforms.JoinPath(cfg.Data, transforms.TableSequences))
	if cfg.Users == "" {
		Write(s, cfg.Out, cfg.TempDir(), TopK(s, rows, cfg.Config, cfg.items))
		return
	}
	listed, unknown := SelectUsers(s, cfg.Users, rows)
	items, total := PopularItems(s, rows, cfg.K)
	Write(s, cfg.Out, cfg.TempDir(), beam.Flatten(s, TopK(s, listed, cfg.Config, cfg.items), Fallback(s, cfg.Config, unknown, items, total)))
}

// Result is what Run reports.
type Result struct {
	Users        int64    // users recommended for
	NewUsers     int64    // of them, listed users without history, given the popular items
	Files        []string // the part files under Out
	ModelVersion string   // as written in every row
	Items        int      // the catalogue: a user gets at most this many less their history
}

// Run builds and runs the pipeline on the runner ropt chooses. Whatever
// the outcome the run's temporary files are removed; on failure nothing
// under Out got a new final name.
func Run(ctx context.Context, cfg Config, ropt runners.Options) (Result, error) {
	r, err := cfg.resolve(ctx)
	if err != nil {
		return Result{}, err
	}
	p, s := beam.NewPipelineWithRoot()
	build(s, r)
	// A killed run's leftovers under Out/_temporary go first; this run's
	// heartbeat keeps a concurrent run from taking its folder.
	guard, _, err := transforms.GuardTemp(ctx, r.Out, r.TempDir())
	if err != nil {
		return Result{}, fmt.Errorf("recommend: %w", err)
	}
	res, runErr := runners.Run(ctx, p, ropt)
	guard.Stop()
	cleanErr := transforms.CleanTemp(context.Background(), r.TempDir())
	if runErr != nil {
		return Result{}, fmt.Errorf("recommend failed: %w", runErr)
	}
	if cleanErr != nil {
		return Result{}, fmt.Errorf("recommend: removing temporary files: %w", cleanErr)
	}
	out := Result{ModelVersion: r.ModelVersion, Items: r.items - 1}
	if res != nil {
		for _, c := range res.Metrics().Query(func(sr metrics.SingleResult) bool {
			return sr.Namespace() == "genrec.recommend"
		}).Counters() {
			switch c.Name() {
			case "users":
				out.Users += c.Result()
			case "new_users":
				out.Users += c.Result()
				out.NewUsers += c.Result()
			}
		}
	}
	files, err := transforms.ExpandInputs(ctx, []string{transforms.JoinPath(r.Out, "part-*.parquet")})
	if err != nil {
		return out, fmt.Errorf("recommend: no recommendations were written (%v)", err)
	}
	out.Files = files
	return out, nil
}
