package transforms

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/parquet-go/parquet-go"
)

func init() {
	register.DoFn3x1[context.Context, string, func(SequenceRow), error](&readSequencesFn{})
}

// ReadSequences reads the sequences table under dir (its part-*.parquet
// files, listed when the pipeline is built, so a missing table is an error
// then). It returns PCollection<SequenceRow>.
func ReadSequences(s beam.Scope, dir string) beam.PCollection {
	s = s.Scope("transforms.ReadSequences")
	files, err := ExpandInputs(context.Background(), []string{JoinPath(dir, "part-*.parquet")})
	if err != nil {
		panic(fmt.Sprintf("transforms: sequences table %s: %v", dir, err))
	}
	return beam.ParDo(s, &readSequencesFn{}, beam.CreateList(s, files))
}

type readSequencesFn struct{}

func (f *readSequencesFn) ProcessElement(ctx context.Context, path string, emit func(SequenceRow)) error {
	rows, err := ReadParquetFile[SequenceRow](ctx, path)
	if err != nil {
		return err
	}
	for _, r := range rows {
		emit(r)
	}
	return nil
}

// ReadParquetFile reads every row of one Parquet file, local or remote.
func ReadParquetFile[T any](ctx context.Context, path string) ([]T, error) {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer r.Close()
	var ra io.ReaderAt
	var size int64
	if s, ok := r.(io.ReaderAt); ok {
		if sz, err := fs.Size(ctx, path); err == nil {
			ra, size = s, sz
		}
	}
	if ra == nil {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
		ra, size = bytes.NewReader(b), int64(len(b))
	}
	rows, err := parquet.Read[T](ra, size)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return rows, nil
}

// LoadTable reads every part file of a table folder in part order.
func LoadTable[T any](ctx context.Context, dir string) ([]T, error) {
	files, err := ExpandInputs(ctx, []string{JoinPath(dir, "part-*.parquet")})
	if err != nil {
		return nil, err
	}
	var out []T
	for _, f := range files {
		rows, err := ReadParquetFile[T](ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}
