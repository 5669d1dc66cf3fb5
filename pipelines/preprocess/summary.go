package preprocess

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/transforms"
)

func init() {
	register.DoFn2x0[transforms.ReadStats, func(transforms.Gate)](&gateFn{})
	register.Emitter1[transforms.Gate]()
	register.DoFn5x1[context.Context, transforms.Committed, transforms.ReadStats, transforms.SplitStats, features.Vocabs, error](&writeSummaryFn{})
}

// SummaryFile is the name of the summary beside the tables.
const SummaryFile = "summary.json"

// Summary is what one preprocess run did; it is written to summary.json
// after every table is published.
type Summary struct {
	Inputs    []string `json:"inputs"`
	Format    string   `json:"format"`
	OutDir    string   `json:"out"`
	MaxSeqLen int      `json:"max_seq_len"`
	Stride    int      `json:"stride"`

	LinesRead  int64    `json:"lines_read"`
	EventsRead int64    `json:"events_read"`
	BadLines   int64    `json:"bad_lines"`
	BadSamples []string `json:"bad_samples,omitempty"` // "file:line: reason: text", first ones

	Users       int   `json:"users"`  // user vocabulary size (without id 0)
	Items       int   `json:"items"`  // item vocabulary size (without id 0)
	Events      int64 `json:"events"` // events kept in sequences
	OOVEvents   int64 `json:"oov_events"`
	UsersShort  int64 `json:"users_train_only"` // fewer than 3 events
	UsersNoPair int64 `json:"users_single_event"`
	UsersDrop   int64 `json:"users_dropped"`
	MaxHistory  int64 `json:"max_history"`

	Rows   map[string]int64    `json:"rows"`   // by split
	Vocabs map[string]int      `json:"vocabs"` // sizes by feature, without id 0
	Tables map[string][]string `json:"tables"` // part files by table
}

type summaryHeadT struct {
	Inputs    []string
	Format    string
	OutDir    string
	MaxSeqLen int
	Stride    int
	UserVocab string
	ItemVocab string
}

func summaryHead(cfg Config, files []string) summaryHeadT {
	stride := cfg.Stride
	if stride == 0 {
		stride = cfg.MaxSeqLen
	}
	_, user, item := cfg.vocabSpecs()
	return summaryHeadT{Inputs: files, Format: cfg.Format, OutDir: cfg.OutDir, MaxSeqLen: cfg.MaxSeqLen, Stride: stride,
		UserVocab: user, ItemVocab: item}
}

// gateFn fails the job when too many lines were malformed or nothing was read.
type gateFn struct {
	MaxBadFraction float64
}

func (f *gateFn) ProcessElement(st transforms.ReadStats, emit func(transforms.Gate)) {
	emit(transforms.Gate{Err: GateError(st, f.MaxBadFraction)})
}

// GateError says why a read must fail the job, or "" when it may go on.
func GateError(st transforms.ReadStats, maxBad float64) string {
	switch {
	case st.Events == 0 && st.Bad == 0:
		return fmt.Sprintf("no events in %d input file(s)", st.Files)
	case st.Lines > 0 && float64(st.Bad) > maxBad*float64(st.Lines):
		first := ""
		if len(st.Samples) > 0 {
			first = "; first: " + st.Samples[0].String()
		}
		return fmt.Sprintf("too many malformed lines: %d of %d (%.2f%%) over the cap of %.2f%% (--max-bad-fraction)%s",
			st.Bad, st.Lines, 100*float64(st.Bad)/float64(st.Lines), 100*maxBad, first)
	}
	return ""
}

type writeSummaryFn struct {
	Head summaryHeadT
}

func (f *writeSummaryFn) ProcessElement(ctx context.Context, c transforms.Committed, rs transforms.ReadStats, ss transforms.SplitStats, vs features.Vocabs) error {
	sum := Summary{
		Inputs: f.Head.Inputs, Format: f.Head.Format, OutDir: f.Head.OutDir,
		MaxSeqLen: f.Head.MaxSeqLen, Stride: f.Head.Stride,
		LinesRead: rs.Lines, EventsRead: rs.Events, BadLines: rs.Bad,
		Events: ss.Events, OOVEvents: ss.OOVEvents, UsersShort: ss.UsersShort, UsersNoPair: ss.UsersNoPair,
		UsersDrop: ss.UsersDropped, MaxHistory: ss.MaxLen,
		Rows:   map[string]int64{transforms.SplitTrain: ss.Train, transforms.SplitValid: ss.Valid, transforms.SplitTest: ss.Test},
		Vocabs: map[string]int{},
		Tables: map[string][]string{},
	}
	for _, b := range rs.Samples {
		sum.BadSamples = append(sum.BadSamples, b.String())
	}
	for name, v := range vs {
		sum.Vocabs[name] = v.Len()
	}
	if v := vs[f.Head.UserVocab]; v != nil {
		sum.Users = v.Len()
	}
	if v := vs[f.Head.ItemVocab]; v != nil {
		sum.Items = v.Len()
	}
	for _, t := range c.Tables {
		sum.Tables[t.Table] = t.Files
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	return transforms.WriteFileAtomic(ctx, transforms.JoinPath(f.Head.OutDir, SummaryFile), append(b, '\n'))
}

// ReadSummary reads outDir/summary.json.
func ReadSummary(ctx context.Context, outDir string) (Summary, error) {
	path := transforms.JoinPath(outDir, SummaryFile)
	b, err := transforms.ReadFile(ctx, path)
	if err != nil {
		return Summary{}, fmt.Errorf("reading %s: %w", path, err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return Summary{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return s, nil
}

func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
