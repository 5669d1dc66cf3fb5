package transforms

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.Combiner3[tempList, TempFile, tempList](&collectTempsFn{})
	register.DoFn4x1[context.Context, tempList, Gate, func(Committed), error](&finalizeFn{})
	register.Emitter1[Committed]()
}

// Gate is a job-wide go/no-go computed by the pipeline (for example from
// the share of malformed lines). A non-empty Err stops FinalizeParquet:
// the job fails with it and no file gets a final name.
type Gate struct {
	Err string
}

// Committed lists the tables FinalizeParquet published.
type Committed struct {
	Tables []CommittedTable
}

// CommittedTable is one published table: its part files and row count.
type CommittedTable struct {
	Table string
	Files []string
	Rows  int64
}

type tempList struct {
	Files []TempFile
}

type collectTempsFn struct{}

func (collectTempsFn) CreateAccumulator() tempList { return tempList{} }

func (collectTempsFn) AddInput(a tempList, t TempFile) tempList {
	a.Files = append(a.Files, t)
	return a
}

func (collectTempsFn) MergeAccumulators(a, b tempList) tempList {
	a.Files = append(a.Files, b.Files...)
	return a
}

func (collectTempsFn) ExtractOutput(a tempList) tempList {
	slices.SortFunc(a.Files, func(x, y TempFile) int { return strings.Compare(x.Path, y.Path) })
	return a
}

// FinalizeParquet publishes the temp files of every table at once, after
// all of them are written and only if the gate is open: the files of table
// T become outDir/T/part-SSSSS-of-NNNNN.parquet, and part files left there
// by an earlier run with another NNNNN are removed afterwards. It takes
// PCollection<TempFile> and the single-element PCollection<Gate>, and
// returns the single-element PCollection<Committed>. A job that fails
// before this step leaves only temporary names behind; when publishing
// itself fails (on GCS each file is a copy and a delete, so publishing is
// not atomic), the files already published are removed again.
func FinalizeParquet(s beam.Scope, outDir string, temps, gate beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.FinalizeParquet")
	all := beam.Combine(s, &collectTempsFn{}, temps)
	return beam.ParDo(s, &finalizeFn{OutDir: outDir}, all, beam.SideInput{Input: gate})
}

type finalizeFn struct {
	OutDir string
}

func (f *finalizeFn) ProcessElement(ctx context.Context, temps tempList, gate Gate, emit func(Committed)) error {
	if gate.Err != "" {
		return fmt.Errorf("%s", gate.Err)
	}
	byTable := map[string][]TempFile{}
	var tables []string
	for _, t := range temps.Files {
		if _, ok := byTable[t.Table]; !ok {
			tables = append(tables, t.Table)
		}
		byTable[t.Table] = append(byTable[t.Table], t)
	}
	slices.Sort(tables)
	var out Committed
	for _, table := range tables {
		ct, err := publishTable(ctx, JoinPath(f.OutDir, table), table, byTable[table])
		out.Tables = append(out.Tables, ct)
		if err != nil {
			unpublish(ctx, f.OutDir, out.Tables)
			return err
		}
	}
	for _, ct := range out.Tables {
		if err := removeStale(ctx, JoinPath(f.OutDir, ct.Table), ct.Files); err != nil {
			return err
		}
	}
	emit(out)
	return nil
}

// PartName is the final name of part i of n.
func PartName(i, n int) string { return fmt.Sprintf("part-%05d-of-%05d.parquet", i, n) }

// publishTable moves the temp files of table to their final names under
// dir. The returned table lists the files published; on error it also
// lists the one that failed, which may exist (a GCS "rename" is a copy and
// a delete, and the delete may be what failed).
func publishTable(ctx context.Context, dir, table string, temps []TempFile) (CommittedTable, error) {
	ct := CommittedTable{Table: table}
	fs, err := filesystem.New(ctx, dir)
	if err != nil {
		return ct, err
	}
	defer fs.Close()
	for i, t := range temps {
		final := JoinPath(dir, PartName(i, len(temps)))
		err := moveFile(ctx, fs, t.Path, final)
		ct.Files = append(ct.Files, final)
		if err != nil {
			return ct, fmt.Errorf("parquet sink: publishing %s: %w", table, err)
		}
		ct.Rows += t.Rows
	}
	return ct, nil
}

// unpublish removes, as well as it can, the files a failed FinalizeParquet
// already gave a final name, so that a job that fails while publishing
// (on GCS a "rename" is a copy per object, so publishing is not atomic)
// leaves no final-named part behind. Errors are ignored: the job is
// failing with the error that caused this.
func unpublish(ctx context.Context, outDir string, tables []CommittedTable) {
	fs, err := filesystem.New(ctx, outDir)
	if err != nil {
		return
	}
	defer fs.Close()
	for _, ct := range tables {
		for _, f := range ct.Files {
			removeQuietly(ctx, fs, f)
		}
	}
}

// removeStale removes the part files under dir that are not in keep: those
// an earlier run with another part count left.
func removeStale(ctx context.Context, dir string, keep []string) error {
	fs, err := filesystem.New(ctx, dir)
	if err != nil {
		return err
	}
	defer fs.Close()
	old, err := fs.List(ctx, JoinPath(dir, "part-*.parquet"))
	if err != nil {
		return err
	}
	for _, o := range old {
		if !slices.Contains(keep, o) {
			if rm, ok := fs.(filesystem.Remover); ok {
				if err := rm.Remove(ctx, o); err != nil {
					return fmt.Errorf("parquet sink: removing stale %s: %w", o, err)
				}
			}
		}
	}
	return nil
}

// CleanTemp removes what a job left in its temp folder (all of it after a
// failure; nothing is left after a success). Local empty folders go too.
func CleanTemp(ctx context.Context, tempDir string) error {
	_, err := RemoveGlob(ctx, JoinPath(tempDir, "*"))
	if !strings.Contains(tempDir, "://") {
		os.Remove(tempDir)
		os.Remove(BaseDir(tempDir))
	}
	return err
}

// BaseDir is the folder of a local or URL-like path.
func BaseDir(p string) string {
	p = strings.TrimRight(p, "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		if strings.HasSuffix(p[:i], ":/") { // gs://bucket
			return p
		}
		if i == 0 { // /name
			return "/"
		}
		return p[:i]
	}
	return "."
}
