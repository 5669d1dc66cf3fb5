package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/genrec/genrec/transforms"
)

// The files of a partition.
const (
	SuccessFile = "_SUCCESS"
	FailedFile  = "_FAILED"
	DataDir     = "data"
	ModelDir    = "model"
	MetricsFile = "metrics.json"
	EvalDir     = "eval" // the evaluate pipeline's metrics.json and per-user metrics.parquet
	RecsDir     = "recs" // the recommend pipeline's part files
	ModelFile   = "model.onnx"
)

// Success is the content of _SUCCESS (JSON).
type Success struct {
	Date      string             `json:"date"`
	Partition string             `json:"partition"`
	Config    string             `json:"config,omitempty"`
	Version   string             `json:"version,omitempty"`
	Started   time.Time          `json:"started"`
	Finished  time.Time          `json:"finished"`
	Steps     []StepRecord       `json:"steps"`
	Metrics   map[string]float64 `json:"metrics"` // test split of model/best.ckpt
	WarmStart string             `json:"warm_start,omitempty"`
	ColdStart string             `json:"cold_start,omitempty"`
}

// Failure is the content of _FAILED (JSON).
type Failure struct {
	Date      string       `json:"date"`
	Partition string       `json:"partition"`
	Step      string       `json:"step"`
	Error     string       `json:"error"`
	Time      time.Time    `json:"time"`
	Done      []StepRecord `json:"done"` // the steps that had succeeded
}

// StepRecord is one step that succeeded.
type StepRecord struct {
	Name    string    `json:"name"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
}

// Steps are the chain's steps in order.
var Steps = []string{"preprocess", "train", "evaluate", "recommend", "export"}

// PartitionPath is the folder of date's partition under root.
func PartitionPath(root, key string, date time.Time) string {
	return transforms.JoinPath(root, key+"="+date.Format(time.DateOnly))
}

// ReadSuccess reads a partition's _SUCCESS marker.
func ReadSuccess(ctx context.Context, partition string) (*Success, error) {
	p := transforms.JoinPath(partition, SuccessFile)
	b, err := transforms.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	var s Success
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("schedule: %s: %w", p, err)
	}
	return &s, nil
}

// notExist says whether err means a missing file, locally or on GCS.
func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, storage.ErrObjectNotExist)
}

// readFailure reads a partition's _FAILED marker, nil when there is none.
func readFailure(ctx context.Context, partition string) *Failure {
	b, err := transforms.ReadFile(ctx, transforms.JoinPath(partition, FailedFile))
	if err != nil {
		return nil
	}
	var f Failure
	if json.Unmarshal(b, &f) != nil {
		return &Failure{Step: "unknown (unreadable " + FailedFile + ")"}
	}
	return &f
}

func writeJSON(ctx context.Context, path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return transforms.WriteFileAtomic(ctx, path, append(b, '\n'))
}

// clean removes everything in partition but the lock and returns how
// many entries went.
func clean(ctx context.Context, partition string) (int, error) {
	if !strings.Contains(partition, "://") {
		ents, err := os.ReadDir(partition)
		if err != nil {
			return 0, fmt.Errorf("schedule: cleaning %s: %w", partition, err)
		}
		n := 0
		for _, e := range ents {
			if e.Name() == LockFile {
				continue
			}
			if err := os.RemoveAll(transforms.JoinPath(partition, e.Name())); err != nil {
				return n, fmt.Errorf("schedule: cleaning %s: %w", partition, err)
			}
			n++
		}
		return n, nil
	}
	fsys, err := filesystem.New(ctx, partition)
	if err != nil {
		return 0, err
	}
	defer fsys.Close()
	files, err := fsys.List(ctx, transforms.JoinPath(partition, "**"))
	if err != nil {
		return 0, fmt.Errorf("schedule: cleaning %s: %w", partition, err)
	}
	rm, ok := fsys.(filesystem.Remover)
	if !ok {
		return 0, fmt.Errorf("schedule: cleaning %s: the filesystem cannot remove files", partition)
	}
	n := 0
	for _, f := range files {
		if transforms.BaseName(f) == LockFile && strings.TrimSuffix(f, "/"+LockFile) == strings.TrimRight(partition, "/") {
			continue
		}
		if err := rm.Remove(ctx, f); err != nil {
			return n, fmt.Errorf("schedule: cleaning %s: removing %s: %w", partition, f, err)
		}
		n++
	}
	return n, nil
}

// previousPartition returns the folder and date of the latest partition
// under root before date that has _SUCCESS; "" when there is none.
func previousPartition(ctx context.Context, root, key string, date time.Time) (string, time.Time, error) {
	glob := transforms.JoinPath(root, key+"=*", SuccessFile)
	fsys, err := filesystem.New(ctx, glob)
	if err != nil {
		return "", time.Time{}, err
	}
	defer fsys.Close()
	files, err := fsys.List(ctx, glob)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("schedule: listing %s: %w", glob, err)
	}
	type part struct {
		dir  string
		date time.Time
	}
	var parts []part
	for _, f := range files {
		dir := strings.TrimSuffix(strings.TrimSuffix(f, SuccessFile), "/")
		dir = strings.TrimSuffix(dir, string(os.PathSeparator))
		val, ok := strings.CutPrefix(transforms.BaseName(dir), key+"=")
		if !ok {
			continue
		}
		d, err := time.Parse(time.DateOnly, val)
		if err != nil || !d.Before(date) {
			continue
		}
		parts = append(parts, part{dir, d})
	}
	if len(parts) == 0 {
		return "", time.Time{}, nil
	}
	p := slices.MaxFunc(parts, func(a, b part) int { return a.date.Compare(b.date) })
	return p.dir, p.date, nil
}
