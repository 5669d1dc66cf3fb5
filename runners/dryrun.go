package runners

import (
	"context"
	"encoding/json"
	"errors"
	"sync"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/metrics"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
)

// DryRunJob is what a Dataflow dry run returns in place of a result: the
// job it would have submitted. It is a beam.PipelineResult with no metrics.
type DryRunJob struct {
	// Job is the Dataflow job request (v1b3 Job) as indented JSON: name,
	// project, environment (experiments, worker pools, staging and temp
	// locations) and the staged files.
	Job string
	// Pipeline is the portable pipeline proto the job runs, as text.
	Pipeline string
}

// Metrics returns no metrics: nothing ran.
func (*DryRunJob) Metrics() metrics.Results { return metrics.Results{} }

// JobID is empty: nothing was submitted.
func (*DryRunJob) JobID() string { return "" }

// dryRunMarker is the line the Dataflow runner logs before the pipeline
// and the job; it returns neither.
const dryRunMarker = "Dry-run: not submitting job!"

// dryRunLogger keeps the SDK's info lines during a dry run, where the
// Dataflow runner logs the job instead of returning it, and passes every
// line on to the SDK's usual logger.
type dryRunLogger struct {
	next beamlog.Logger
	mu   sync.Mutex
	info []string
}

func captureDryRun() *dryRunLogger {
	l := &dryRunLogger{next: &beamlog.Structural{}}
	beamlog.SetLogger(l)
	return l
}

// stop gives the SDK back its default logger.
func (l *dryRunLogger) stop() { beamlog.SetLogger(l.next) }

func (l *dryRunLogger) Log(ctx context.Context, sev beamlog.Severity, calldepth int, msg string) {
	if sev == beamlog.SevInfo {
		l.mu.Lock()
		l.info = append(l.info, msg)
		l.mu.Unlock()
	}
	l.next.Log(ctx, sev, calldepth+1, msg)
}

// job finds the pipeline and the job among the lines logged after the
// dry-run marker.
func (l *dryRunLogger) job() (*DryRunJob, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, m := range l.info {
		if m != dryRunMarker || i+1 >= len(l.info) {
			continue
		}
		for _, j := range l.info[i+2:] {
			if len(j) > 0 && j[0] == '{' && json.Valid([]byte(j)) {
				return &DryRunJob{Job: j, Pipeline: l.info[i+1]}, nil
			}
		}
	}
	return nil, errors.New("runners: the Dataflow dry run logged no job (has the Beam SDK changed how it reports one?)")
}
