package transforms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/parquet-go/parquet-go"
)

func init() {
	register.DoFn3x1[context.Context, SequenceRow, func(TempFile), error](&writeSequencesFn{})
	register.Emitter1[TempFile]()
}

// TempFile is one finished Parquet part written under a temporary name,
// waiting for FinalizeParquet to give it its final one.
type TempFile struct {
	Table string
	Path  string
	Rows  int64
}

// WriteSequences writes rows to Parquet files in tempDir, one per bundle,
// under temporary names. It takes PCollection<SequenceRow> and returns
// PCollection<TempFile>; nothing is visible under a final name until
// FinalizeParquet runs.
func WriteSequences(s beam.Scope, tempDir string, rows beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.WriteSequences")
	return beam.ParDo(s, &writeSequencesFn{TempDir: tempDir, Table: TableSequences}, rows)
}

// Table names of the preprocess output.
const (
	TableSequences = "sequences"
	TableVocab     = "vocab"
	TableItems     = "items"
	TableRanking   = "ranking"
)

type writeSequencesFn struct {
	TempDir string
	Table   string
	w       PartWriter[SequenceRow]
}

func (f *writeSequencesFn) ProcessElement(ctx context.Context, r SequenceRow, emit func(TempFile)) error {
	return f.w.Write(ctx, f.TempDir, f.Table, r)
}

func (f *writeSequencesFn) FinishBundle(ctx context.Context, emit func(TempFile)) error {
	return f.w.Finish(ctx, emit)
}

// PartWriter writes the rows of one table from one bundle to a Parquet
// file under a temporary name "<table>-<random>.parquet" in a temp folder,
// opened on the first row and closed by Finish, which emits it as a
// TempFile for FinalizeParquet. Sink DoFns keep one as unexported state:
// Write in ProcessElement, Finish in FinishBundle.
type PartWriter[T any] struct {
	fs   filesystem.Interface
	out  io.WriteCloser
	pw   *parquet.GenericWriter[T]
	path string
	rows int64
	buf  []T
}

const partBatch = 1024

// Write appends rows to the bundle's file of table under dir, opening it
// on the first call.
func (p *PartWriter[T]) Write(ctx context.Context, dir, table string, rows ...T) error {
	if p.pw == nil {
		p.path = JoinPath(dir, table+"-"+randomSuffix()+".parquet")
		fs, err := filesystem.New(ctx, p.path)
		if err != nil {
			return err
		}
		out, err := fs.OpenWrite(ctx, p.path)
		if err != nil {
			fs.Close()
			return fmt.Errorf("parquet sink: opening %s: %w", p.path, err)
		}
		p.fs, p.out = fs, out
		p.pw = parquet.NewGenericWriter[T](out, parquet.Compression(&parquet.Snappy))
		p.rows = 0
	}
	p.buf = append(p.buf, rows...)
	if len(p.buf) >= partBatch {
		return p.flush()
	}
	return nil
}

func (p *PartWriter[T]) flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	if _, err := p.pw.Write(p.buf); err != nil {
		return fmt.Errorf("parquet sink: writing %s: %w", p.path, err)
	}
	p.rows += int64(len(p.buf))
	p.buf = p.buf[:0]
	return nil
}

// Finish closes the bundle's file, checking every close (GCS commits an
// upload on Close), and emits it. A bundle with no rows emits nothing.
func (p *PartWriter[T]) Finish(ctx context.Context, emit func(TempFile)) error {
	if p.pw == nil {
		return nil
	}
	defer func() { p.pw, p.out = nil, nil; p.fs.Close() }()
	table := tableOf(p.path)
	if err := p.flush(); err != nil {
		p.out.Close()
		return err
	}
	if err := p.pw.Close(); err != nil {
		p.out.Close()
		return fmt.Errorf("parquet sink: closing %s: %w", p.path, err)
	}
	if err := p.out.Close(); err != nil {
		return fmt.Errorf("parquet sink: committing %s: %w", p.path, err)
	}
	emit(TempFile{Table: table, Path: p.path, Rows: p.rows})
	return nil
}

// tableOf recovers the table from a temp name "<table>-<random>.parquet".
func tableOf(path string) string {
	b := BaseName(path)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '-' {
			return b[:i]
		}
	}
	return b
}

func randomSuffix() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("transforms: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}
