package schedule

import (
	"errors"
	"fmt"
	"time"
)

// ErrLocked is matched (errors.Is) by a *LockedError.
var ErrLocked = errors.New("partition is locked by another run")

// ConfigError is a bad Config or config file: nothing was run or written.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// LockedError says that another run holds the partition's lock: retry
// later.
type LockedError struct {
	Path   string   // the _LOCK file
	Holder LockInfo // what the lock says; zero fields when unreadable
	Age    time.Duration
}

func (e *LockedError) Error() string {
	h := e.Holder
	return fmt.Sprintf("schedule: %s is held by pid %d on %s since %s (%s ago); another run is working on this partition: retry later (a lock older than --lock-timeout, or whose process is gone, is broken automatically)",
		e.Path, h.PID, h.Host, h.Started.Format(time.RFC3339), e.Age.Round(time.Second))
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// StepError is a step of the chain that failed; Run wrote _FAILED.
// Errors.Is(err, context.Canceled) tells an interrupted run.
type StepError struct {
	Step string // preprocess, train, evaluate, recommend, export or success
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("schedule: step %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }
