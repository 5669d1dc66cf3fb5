package transforms

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync/atomic"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/features"
)

func init() {
	register.DoFn5x1[context.Context, InputFile, func(string, History), func(TokenCounts), func(ReadStats), error](&readEventsFn{})
	register.Emitter2[string, History]()
	register.Emitter1[TokenCounts]()
	register.Emitter1[ReadStats]()
	register.Combiner1[ReadStats](&mergeReadStatsFn{})
}

// InputFile is one input file and its position in the job's input list
// (the first key of file order).
type InputFile struct {
	Index int
	Path  string
}

// ReadOptions configure ReadEvents.
type ReadOptions struct {
	Format string // a Format name; see ParseFormat
	Parse  ParseOptions
	// FailFast stops the job at the first malformed line, with its file
	// and line in the error. Otherwise bad lines are skipped and counted.
	FailFast bool
	// FlushEvents bounds the events a reader buffers before emitting its
	// partial histories; 0 means 1<<20.
	FlushEvents int
}

// ReadStats counts what the readers saw; Samples keeps the first bad lines
// (by file and line) for the report.
type ReadStats struct {
	Files, Lines, Events, Bad int64
	Samples                   []BadLine
}

// MaxBadSamples is how many bad lines ReadStats keeps for the report.
const MaxBadSamples = 20

// Merge adds o into s, keeping the first MaxBadSamples samples in file and
// line order.
func (s *ReadStats) Merge(o ReadStats) {
	s.Files += o.Files
	s.Lines += o.Lines
	s.Events += o.Events
	s.Bad += o.Bad
	s.Samples = append(s.Samples, o.Samples...)
	slices.SortFunc(s.Samples, func(a, b BadLine) int {
		if a.File != b.File {
			if a.File < b.File {
				return -1
			}
			return 1
		}
		return int(a.Line - b.Line)
	})
	if len(s.Samples) > MaxBadSamples {
		s.Samples = s.Samples[:MaxBadSamples]
	}
}

// AddBad records a malformed line, or returns the fail-fast error naming
// its file and line.
func (s *ReadStats) AddBad(b BadLine, failFast bool) error {
	if failFast {
		return fmt.Errorf("malformed input (fail-fast): %s", b)
	}
	s.Bad++
	if len(s.Samples) < MaxBadSamples {
		s.Samples = append(s.Samples, b)
	}
	return nil
}

// UserBuffer groups events by user and counts users and items as a
// reader goes; the pipeline's readers flush it now and then, the in-memory
// path keeps one for the whole input.
type UserBuffer struct {
	Histories map[string]*History
	Counts    TokenCounts
	Events    int64
}

// NewUserBuffer returns an empty buffer.
func NewUserBuffer() *UserBuffer { return &UserBuffer{Histories: map[string]*History{}} }

// Add appends e, read from file number file, to its user's history.
func (b *UserBuffer) Add(file int, e Event) {
	h := b.Histories[e.User]
	if h == nil {
		h = &History{User: e.User}
		b.Histories[e.User] = h
	}
	h.Add(file, e)
	b.Counts.Add(features.SourceUser, e.User)
	b.Counts.Add(features.SourceItem, e.Item)
	b.Events++
}

// Users lists the buffered users in sorted order.
func (b *UserBuffer) Users() []string {
	users := make([]string, 0, len(b.Histories))
	for u := range b.Histories {
		users = append(users, u)
	}
	slices.Sort(users)
	return users
}

type mergeReadStatsFn struct{}

func (mergeReadStatsFn) MergeAccumulators(a, b ReadStats) ReadStats {
	a.Merge(b)
	return a
}

// ReadEvents parses every input file into partial user histories. It takes
// PCollection<InputFile> and returns
//
//	histories: PCollection<KV<string, History>>, keyed by the raw user id,
//	           one element per user per flush of a reader (group them once
//	           with GroupHistories);
//	counts:    PCollection<TokenCounts>, partial user and item counts;
//	stats:     a single-element PCollection<ReadStats> over all files.
//
// Readers group events by user while they read, so the shuffle moves one
// element per user and file rather than one per event.
func ReadEvents(s beam.Scope, files beam.PCollection, opt ReadOptions) (histories, counts, stats beam.PCollection) {
	s = s.Scope("transforms.ReadEvents")
	if _, err := ParseFormat(opt.Format); err != nil {
		panic("transforms: " + err.Error())
	}
	histories, counts, perFile := beam.ParDo3(s, &readEventsFn{Opt: opt}, files)
	stats = beam.Combine(s, &mergeReadStatsFn{}, perFile)
	return histories, counts, stats
}

var (
	linesRead  = beam.NewCounter("genrec", "lines_read")
	eventsRead = beam.NewCounter("genrec", "events_read")
	badLines   = beam.NewCounter("genrec", "bad_lines")
)

type readEventsFn struct {
	Opt ReadOptions
}

func (f *readEventsFn) ProcessElement(ctx context.Context, in InputFile, emit func(string, History), emitCounts func(TokenCounts), emitStats func(ReadStats)) error {
	format, err := ParseFormat(f.Opt.Format)
	if err != nil {
		return err
	}
	fs, err := filesystem.New(ctx, in.Path)
	if err != nil {
		return err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, in.Path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", in.Path, err)
	}
	defer r.Close()

	flushAt := f.Opt.FlushEvents
	if flushAt <= 0 {
		flushAt = 1 << 20
	}
	st := ReadStats{Files: 1}
	buf := NewUserBuffer()
	flush := func() {
		for _, u := range buf.Users() {
			emit(u, *buf.Histories[u])
		}
		emitCounts(buf.Counts)
		buf = NewUserBuffer()
	}
	good := func(e Event) error {
		buf.Add(in.Index, e)
		st.Events++
		if buf.Events >= int64(flushAt) {
			flush()
		}
		return nil
	}
	bad := func(b BadLine) error { return st.AddBad(b, f.Opt.FailFast) }
	lines, err := ParseEvents(&progressReader{r: r}, in.Path, format, f.Opt.Parse, good, bad)
	if err != nil {
		return err
	}
	st.Lines = lines
	flush()
	linesRead.Inc(ctx, st.Lines)
	eventsRead.Inc(ctx, st.Events)
	badLines.Inc(ctx, st.Bad)
	emitStats(st)
	return nil
}

// progress receives the bytes read by readers running in this process; the
// CLI sets it to drive a progress bar. Workers on a remote runner leave it
// nil.
var progress atomic.Pointer[func(n int64)]

// SetProgress makes readers in this process report bytes read to fn; nil
// turns reporting off.
func SetProgress(fn func(n int64)) {
	if fn == nil {
		progress.Store(nil)
		return
	}
	progress.Store(&fn)
}

type progressReader struct {
	r       io.Reader
	pending int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.pending += int64(n)
	if p.pending >= 1<<18 || err != nil {
		if fn := progress.Load(); fn != nil {
			(*fn)(p.pending)
		}
		p.pending = 0
	}
	return n, err
}
