package embeditems

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/transforms"
)

func init() {
	register.DoFn4x1[context.Context, ItemText, func(EmbeddingRow), func(ItemText), error](&reuseFn{})
	register.DoFn3x1[context.Context, ItemText, func(EmbeddingRow), error](&encodeFn{})
	register.Emitter1[EmbeddingRow]()
}

// EmbeddingRow is one row of the output table.
type EmbeddingRow = itemtext.EmbeddingRow

// SplitReused takes PCollection<ItemText> and returns the rows that can be
// copied from the table already in out (same encoder ID and text hash:
// PCollection<EmbeddingRow>, with the item id of this run) and the items
// that must be encoded (PCollection<ItemText>). Each worker reads the old
// table once, keeping the rows of encoderID in memory.
func SplitReused(s beam.Scope, out, encoderID string, items beam.PCollection) (reused, todo beam.PCollection) {
	s = s.Scope("embeditems.SplitReused")
	return beam.ParDo2(s, &reuseFn{Table: transforms.JoinPath(out, EmbeddingsTable), EncoderID: encoderID}, items)
}

type reuseFn struct {
	Table, EncoderID string
	old              map[string]EmbeddingRow
	reused           beam.Counter
}

func (f *reuseFn) Setup(ctx context.Context) error {
	f.reused = beam.NewCounter("genrec.embeditems", "reused")
	rows, err := loadOld(ctx, f.Table)
	if err != nil {
		return err
	}
	f.old = map[string]EmbeddingRow{}
	for _, r := range rows {
		if r.Encoder == f.EncoderID {
			f.old[r.ItemKey] = r
		}
	}
	return nil
}

// loadOld reads the table of an earlier run; none is no rows.
func loadOld(ctx context.Context, dir string) ([]EmbeddingRow, error) {
	fs, err := filesystem.New(ctx, dir)
	if err != nil {
		return nil, err
	}
	files, err := fs.List(ctx, transforms.JoinPath(dir, "part-*.parquet"))
	fs.Close()
	if err != nil || len(files) == 0 {
		return nil, nil // no earlier run (a local List of a missing folder fails)
	}
	rows, err := transforms.LoadTable[EmbeddingRow](ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("embeditems: reading earlier embeddings: %w", err)
	}
	return rows, nil
}

func (f *reuseFn) ProcessElement(ctx context.Context, it ItemText, reused func(EmbeddingRow), todo func(ItemText)) error {
	if r, ok := f.old[it.Key]; ok && r.TextHash == it.Hash {
		r.Item, r.Text = it.Item, it.Text
		reused(r)
		f.reused.Inc(ctx, 1)
		return nil
	}
	todo(it)
	return nil
}

// Encode takes PCollection<ItemText> and returns PCollection<EmbeddingRow>:
// texts are encoded batchSize at a time by the encoder LoadEncoder builds
// from the arguments, once per worker.
func Encode(s beam.Scope, encoder string, dim int, pooling string, batchSize int, items beam.PCollection) beam.PCollection {
	s = s.Scope("embeditems.Encode")
	return beam.ParDo(s, &encodeFn{Encoder: encoder, Dim: dim, Pooling: pooling, BatchSize: batchSize}, items)
}

// encodeFn buffers a bundle's items and encodes them in batches of
// BatchSize, flushing full batches in ProcessElement and the rest in
// FinishBundle.
type encodeFn struct {
	Encoder   string
	Dim       int
	Pooling   string
	BatchSize int

	enc     itemtext.Encoder
	id      string
	buf     []ItemText
	encoded beam.Counter
	n       int64
	busy    time.Duration
}

func (f *encodeFn) Setup(ctx context.Context) error {
	enc, err := LoadEncoder(ctx, f.Encoder, f.Dim, f.Pooling)
	if err != nil {
		return err
	}
	f.enc, f.id = enc, enc.ID()
	f.encoded = beam.NewCounter("genrec.embeditems", "encoded")
	return nil
}

// StartBundle drops what a failed bundle may have left buffered.
func (f *encodeFn) StartBundle(_ context.Context, _ func(EmbeddingRow)) {
	f.buf, f.n, f.busy = f.buf[:0], 0, 0
}

func (f *encodeFn) ProcessElement(ctx context.Context, it ItemText, emit func(EmbeddingRow)) error {
	f.buf = append(f.buf, it)
	if len(f.buf) >= f.BatchSize {
		return f.flush(ctx, emit)
	}
	return nil
}

func (f *encodeFn) FinishBundle(ctx context.Context, emit func(EmbeddingRow)) error {
	if err := f.flush(ctx, emit); err != nil {
		return err
	}
	if f.n > 0 {
		log.Infof(ctx, "embeditems: encoded %d items in %v (%.0f items/s)", f.n, f.busy.Round(time.Millisecond), float64(f.n)/f.busy.Seconds())
	}
	return nil
}

func (f *encodeFn) flush(ctx context.Context, emit func(EmbeddingRow)) error {
	if len(f.buf) == 0 {
		return nil
	}
	texts := make([]string, len(f.buf))
	for i, it := range f.buf {
		texts[i] = it.Text
	}
	t0 := time.Now()
	vs, err := f.enc.Encode(texts)
	f.busy += time.Since(t0)
	if err != nil {
		return fmt.Errorf("embeditems: encoding items %s..%s: %w", f.buf[0].Key, f.buf[len(f.buf)-1].Key, err)
	}
	for i, it := range f.buf {
		emit(EmbeddingRow{ItemKey: it.Key, Item: it.Item, Vector: vs[i], Encoder: f.id, TextHash: it.Hash, Text: it.Text})
	}
	f.encoded.Inc(ctx, int64(len(f.buf)))
	f.n += int64(len(f.buf))
	f.buf = f.buf[:0]
	return nil
}
