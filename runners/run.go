package runners

import (
	"context"
	"fmt"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs" // memfs:// paths, for tests
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
)

// Options choose the runner.
type Options struct {
	// Runner is the Beam runner name; "" means prism.
	Runner string
}

var initOnce sync.Once

// Run executes p on the chosen runner and waits for it. It returns the
// runner's result (metrics) and an error that says which runner failed.
func Run(ctx context.Context, p *beam.Pipeline, opt Options) (beam.PipelineResult, error) {
	initOnce.Do(func() {
		if !beam.Initialized() {
			beam.Init()
		}
	})
	runner := opt.Runner
	if runner == "" {
		runner = "prism"
	}
	switch runner {
	case "prism":
	default:
		return nil, fmt.Errorf("runners: runner %q is not supported yet (supported: prism)", runner)
	}
	res, err := beam.Run(ctx, runner, p)
	if err != nil {
		return res, fmt.Errorf("%s runner: %w", runner, err)
	}
	return res, nil
}
