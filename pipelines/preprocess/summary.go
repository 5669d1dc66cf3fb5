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
	register.DoFn5x1[context.Context, transforms.Committed, transforms.ReadStats, transforms.RankingStats, features.Vocabs, error](&writeRankingSummaryFn{})
}

// SummaryFile is the name of the summary beside the tables.
const SummaryFile = "summary.json"

// Summary is what one preprocess run did; it is written to summary.json
// after every table is published.
type Summary struct {
	Task      string   `json:"task"` // TaskRetrieval or TaskRanking
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
	Events      int64 `json:"events"` // events kept in sequences (ranking: in rows and histories)
	OOVEvents   int64 `json:"oov_events"`
	UsersShort  int64 `json:"users_train_only"` // fewer than 3 events
	UsersNoPair int64 `json:"users_single_event"`
	UsersDrop   int64 `json:"users_dropped"`
	MaxHistory  int64 `json:"max_history"`

	Rows   map[string]int64    `json:"rows"`   // by split
	Vocabs map[string]int      `json:"vocabs"` // sizes by feature, without id 0
	Tables map[string][]string `json:"tables"` // part files by table

	// Ranking is the ranking task's options and counts (task ranking only).
	Ranking *RankingSummary `json:"ranking,omitempty"`
}

// RankingSummary is what the ranking task did: its options after defaults
// and transforms.RankingStats' counts. Rows by split are in Summary.Rows.
type RankingSummary struct {
	LabelThreshold float64    `json:"label_threshold"`
	Negatives      int        `json:"negatives"`
	Split          string     `json:"split"`
	SplitRatio     [2]float64 `json:"split_ratio"`
	Seed           uint64     `json:"seed"`

	Rows             int64            `json:"rows"`
	Positives        int64            `json:"positives"`
	PositivesBySplit map[string]int64 `json:"positives_by_split"`
	RowsNoHistory    int64            `json:"rows_empty_history"` // kept
	RatedEvents      int64            `json:"rated_events"`       // labelled by label_threshold
	LabelledEvents   int64            `json:"labelled_events"`    // labelled by a label column
	ImplicitEvents   int64            `json:"implicit_events"`    // positives with sampled negatives
	SampledNegatives int64            `json:"sampled_negatives"`
	NegativesShort   int64            `json:"negatives_short"` // could not be sampled: user saw almost every item
	// DroppedEvents counts events dropped for an unknown user or item.
	DroppedEvents int64 `json:"dropped_events"`
	// ValidCut and TestCut are the time split's first valid and first test
	// timestamps (split time only).
	ValidCut *int64 `json:"valid_cut,omitempty"`
	TestCut  *int64 `json:"test_cut,omitempty"`
}

type summaryHeadT struct {
	Task      string
	Ranking   transforms.RankingOptions
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
	return summaryHeadT{Task: cfg.Task, Ranking: cfg.rankingOptions(user, item), Inputs: files, Format: cfg.Format, OutDir: cfg.OutDir, MaxSeqLen: cfg.MaxSeqLen, Stride: stride,
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
	sum := f.Head.summary(c, rs, vs)
	sum.Events, sum.OOVEvents, sum.UsersShort, sum.UsersNoPair = ss.Events, ss.OOVEvents, ss.UsersShort, ss.UsersNoPair
	sum.UsersDrop, sum.MaxHistory = ss.UsersDropped, ss.MaxLen
	sum.Rows = map[string]int64{transforms.SplitTrain: ss.Train, transforms.SplitValid: ss.Valid, transforms.SplitTest: ss.Test}
	return writeSummary(ctx, sum)
}

type writeRankingSummaryFn struct {
	Head summaryHeadT
}

func (f *writeRankingSummaryFn) ProcessElement(ctx context.Context, c transforms.Committed, rs transforms.ReadStats, st transforms.RankingStats, vs features.Vocabs) error {
	sum := f.Head.summary(c, rs, vs)
	sum.Events, sum.OOVEvents, sum.UsersDrop, sum.MaxHistory = st.Events, st.OOVEvents, st.UsersDropped, st.MaxLen
	sum.Rows = map[string]int64{transforms.SplitTrain: st.Train, transforms.SplitValid: st.Valid, transforms.SplitTest: st.Test}
	o := f.Head.Ranking
	r := &RankingSummary{
		LabelThreshold: o.LabelThreshold, Negatives: o.Negatives, Split: o.SplitBy, SplitRatio: o.SplitRatio, Seed: o.Seed,
		Rows: st.Rows, Positives: st.Positives,
		PositivesBySplit: map[string]int64{
			transforms.SplitTrain: st.TrainPositives, transforms.SplitValid: st.ValidPositives, transforms.SplitTest: st.TestPositives},
		RowsNoHistory: st.EmptyHistory,
		RatedEvents:   st.Rated, LabelledEvents: st.Labelled, ImplicitEvents: st.Implicit,
		SampledNegatives: st.SampledNegatives, NegativesShort: st.NegativesShort,
		DroppedEvents: st.DroppedUserEvents + st.OOVEvents,
	}
	if st.HasCuts {
		r.ValidCut, r.TestCut = &st.ValidCut, &st.TestCut
	}
	sum.Ranking = r
	return writeSummary(ctx, sum)
}

// summary fills the fields every task shares.
func (h summaryHeadT) summary(c transforms.Committed, rs transforms.ReadStats, vs features.Vocabs) Summary {
	sum := Summary{
		Task: h.Task, Inputs: h.Inputs, Format: h.Format, OutDir: h.OutDir,
		MaxSeqLen: h.MaxSeqLen, Stride: h.Stride,
		LinesRead: rs.Lines, EventsRead: rs.Events, BadLines: rs.Bad,
		Vocabs: map[string]int{},
		Tables: map[string][]string{},
	}
	for _, b := range rs.Samples {
		sum.BadSamples = append(sum.BadSamples, b.String())
	}
	for name, v := range vs {
		sum.Vocabs[name] = v.Len()
	}
	if v := vs[h.UserVocab]; v != nil {
		sum.Users = v.Len()
	}
	if v := vs[h.ItemVocab]; v != nil {
		sum.Items = v.Len()
	}
	for _, t := range c.Tables {
		sum.Tables[t.Table] = t.Files
	}
	return sum
}

// writeSummary writes sum as the summary.json of its output folder.
func writeSummary(ctx context.Context, sum Summary) error {
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return err
	}
	return transforms.WriteFileAtomic(ctx, transforms.JoinPath(sum.OutDir, SummaryFile), append(b, '\n'))
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
