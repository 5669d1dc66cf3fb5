package runners_test

import (
	"errors"
	"testing"

	"github.com/genrec/genrec/runners"
)

func TestJobErrorKeepsTheDoFnMessage(t *testing.T) {
	full := errors.New("job failed:\nbundle inst001 stage-001 failed: while executing Process for Plan[stage-001]:\n1: DataSource ...\n\tcaused by:\nDoFn[UID:16, PID:e3, Name: x.readEventsFn] failed:\nmalformed input (fail-fast): u.data:2: bad\nmore detail")
	err := &runners.JobError{Runner: "prism", Err: full}
	if got, want := err.Error(), "malformed input (fail-fast): u.data:2: bad"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, full) {
		t.Error("the runner's full error must stay reachable with errors.Is")
	}
	plain := &runners.JobError{Runner: "prism", Err: errors.New("connection refused")}
	if got := plain.Error(); got != "connection refused" {
		t.Errorf("an error without a DoFn part: got %q", got)
	}
}
