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

// SummaryFile, Summary and RankingSummary are transforms' (a data set's
// description is read by every job, not only by the one that writes it).
const SummaryFile = transforms.SummaryFile

type (
	Summary        = transforms.Summary
	RankingSummary = transforms.RankingSummary
)

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

// ReadSummary reads outDir/summary.json (transforms.ReadSummary).
func ReadSummary(ctx context.Context, outDir string) (Summary, error) {
	return transforms.ReadSummary(ctx, outDir)
}

func newRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
