package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
)

// DefaultRoot is the partitions' root when neither Config.Root nor the
// config's preprocess out is set.
const DefaultRoot = "out/runs"

// DatePlaceholder in a preprocess input is replaced by the run's date.
const DatePlaceholder = "{date}"

// Config says which partition Run makes and how.
type Config struct {
	Job        pipelines.Job // the config file: preprocess: and train: sections
	ConfigPath string        // recorded in _SUCCESS
	Date       time.Time     // the partition's date (its year, month and day)
	// Root holds the partitions; "" is Job.Preprocess.OutDir, else
	// DefaultRoot. Local or gs://.
	Root string
	// PartitionKey names the partition folders, KEY=YYYY-MM-DD; "" is dt.
	PartitionKey string
	// Force redoes a partition that has _SUCCESS.
	Force bool
	// LockTimeout is the age past which another run's lock is stale; 0 is
	// DefaultLockTimeout, negative never.
	LockTimeout time.Duration
	// K is the items per user in recs/ (default 10).
	K int
	// Version is recorded in _SUCCESS ("" is the binary's module version).
	Version string
	Runner  runners.Options
	// Log receives one line per step and decision (nil: none); Progress
	// the training progress bars (nil: none).
	Log, Progress io.Writer
	// OnEpoch, when set, is called after every training epoch.
	OnEpoch func(trainer.EpochLog)
}

// Result is what Run did.
type Result struct {
	Partition   string
	AlreadyDone bool     // _SUCCESS was there: nothing ran
	Success     *Success // the _SUCCESS marker written (or found)
	// Redone says why the partition's old outputs were removed first
	// ("" for a new partition).
	Redone string
	// BrokeLock is the stale lock that Run broke, if any.
	BrokeLock *LockInfo
	Steps     []StepRecord
	// WarmStart is the checkpoint training started from; "" for a cold
	// start, whose reason is ColdStart.
	WarmStart, ColdStart string
	Metrics              map[string]float64
}

var keyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// resolve checks c and fills its defaults. Its errors are *ConfigError.
func (c Config) resolve() (Config, error) {
	bad := func(format string, a ...any) (Config, error) {
		return c, &ConfigError{fmt.Errorf("schedule: "+format, a...)}
	}
	if c.Date.IsZero() {
		return bad("no date: give --date YYYY-MM-DD")
	}
	c.Date = time.Date(c.Date.Year(), c.Date.Month(), c.Date.Day(), 0, 0, 0, 0, time.UTC)
	if c.PartitionKey == "" {
		c.PartitionKey = "dt"
	}
	if !keyRE.MatchString(c.PartitionKey) {
		return bad("partition key %q must be a name of letters, digits and _ (such as dt or ds)", c.PartitionKey)
	}
	if c.Root == "" {
		c.Root = c.Job.Preprocess.OutDir
	}
	if c.Root == "" {
		c.Root = DefaultRoot
	}
	if strings.Contains(c.Root, "://") && !strings.HasPrefix(c.Root, "gs://") {
		return bad("root %s: partitions are locked with an atomic create, which only local folders and gs:// have", c.Root)
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = DefaultLockTimeout
	}
	if c.K == 0 {
		c.K = 10
	}
	if c.K < 0 {
		return bad("k must be positive, got %d", c.K)
	}
	if c.Version == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			c.Version = bi.Main.Version
		}
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	p := c.preprocessConfig()
	if len(p.Inputs) == 0 {
		return bad("the config has no preprocess: inputs (use %s in them for the run's date, e.g. logs/%s/*.csv)", DatePlaceholder, DatePlaceholder)
	}
	if p.Task == preprocess.TaskRanking {
		return bad("genrec run chains the retrieval task only; task: %s is not supported yet", p.Task)
	}
	if err := p.WithDefaults().Validate(); err != nil {
		return bad("%v", err)
	}
	t := c.Job.Train
	if err := t.CheckShape(); err != nil {
		return bad("%v", err)
	}
	if err := t.Options.WithDefaults().Validate(); err != nil {
		return bad("%v", err)
	}
	return c, nil
}

// Partition is the folder of c's partition.
func (c Config) Partition() string {
	key := c.PartitionKey
	if key == "" {
		key = "dt"
	}
	return PartitionPath(c.Root, key, c.Date)
}

// Run makes the partition of cfg.Date under cfg.Root: it takes the
// partition's lock, returns at once when the partition has _SUCCESS (and
// not cfg.Force), else removes whatever an earlier run left and runs
// preprocess, train (warm-started from the previous finished partition
// when it can), evaluate, recommend and export, then writes _SUCCESS. A
// failed step writes _FAILED and returns a *StepError; a held lock is a
// *LockedError; a bad cfg a *ConfigError. The lock is released on every
// return.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	cfg, err = cfg.resolve()
	if err != nil {
		return res, err
	}
	part := cfg.Partition()
	res.Partition = part
	host, _ := os.Hostname()
	info := LockInfo{PID: os.Getpid(), Host: host, Started: time.Now().UTC(), Date: cfg.Date.Format(time.DateOnly), Token: newToken()}
	l, broke, err := acquireLock(ctx, transforms.JoinPath(part, LockFile), info, cfg.LockTimeout, cfg.Log)
	res.BrokeLock = broke
	if err != nil {
		return res, err
	}
	defer func() {
		if rerr := l.release(); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	s, serr := ReadSuccess(ctx, part)
	switch {
	case serr == nil && !cfg.Force:
		fmt.Fprintf(cfg.Log, "%s is already done (%s at %s); nothing to do (--force redoes it)\n", part, SuccessFile, s.Finished.Format(time.RFC3339))
		res.AlreadyDone, res.Success, res.Metrics = true, s, s.Metrics
		return res, nil
	case cfg.Force:
		res.Redone = "forced"
	case !notExist(serr):
		// Unreadable is not absent: a transient storage error must not
		// make a finished partition look unfinished and get redone.
		return res, fmt.Errorf("schedule: cannot tell whether %s is done: %w (--force redoes it)", part, serr)
	default:
		if f := readFailure(ctx, part); f != nil {
			res.Redone = fmt.Sprintf("the previous run failed at step %s", f.Step)
		}
	}
	n, err := clean(ctx, part)
	if err != nil {
		return res, err
	}
	if n > 0 && res.Redone == "" {
		res.Redone = "a previous run stopped without _SUCCESS or _FAILED"
	}
	if res.Redone != "" {
		fmt.Fprintf(cfg.Log, "redoing %s from scratch (%s): removed %d entries\n", part, res.Redone, n)
	}
	return runChain(ctx, cfg, res)
}
