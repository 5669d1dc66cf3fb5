package transforms

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/features"
)

func init() {
	register.DoFn6x0[string, func(*History) bool, func(*features.Vocabs) bool, func(RankingUser), func(TimeCounts), func(RankingStats)](&encodeRankingFn{})
	register.DoFn4x0[RankingUser, func(*TimeCuts) bool, func(RankingRow), func(RankingStats)](&rankingRowsFn{})
	register.DoFn2x0[TimeCounts, func(TimeCuts)](&timeCutsFn{})
	register.Emitter1[RankingUser]()
	register.Emitter1[TimeCounts]()
	register.Emitter1[TimeCuts]()
	register.Emitter1[RankingStats]()
	register.Emitter1[RankingRow]()
	register.Iter1[TimeCuts]()
	register.Combiner1[TimeCounts](&mergeTimeCountsFn{})
	register.Combiner1[RankingStats](&mergeRankingStatsFn{})
}

// BuildRankingRows turns user histories into the labelled rows of a
// ranking (click-through) task. It takes PCollection<KV<string, History>>
// (partial histories keyed by raw user id, as ReadEvents emits them) and
// the single-element PCollection<features.Vocabs>, and returns
// PCollection<RankingRow> and a single-element PCollection<RankingStats>.
//
// It groups each user's partial histories once and runs EncodeRanking on
// them (sort, encode, label, sample negatives); then RankingRows gives
// each impression its history and split. The time split needs the
// timestamps of all rows first: the first step also emits a histogram of
// its rows' timestamps per bundle, a global combine merges them and
// TimeSplitCuts turns the total into the two cuts, a side input of the
// second step. The histogram holds 16 bytes per distinct timestamp (at
// most 16 MB for a 1e6-row data set) in one worker; the random split skips
// it. Between the steps each user travels as its encoded events and
// impressions (about 20 bytes an event), not as rows with histories.
func BuildRankingRows(s beam.Scope, histories, vocabs beam.PCollection, opt RankingOptions) (rows, stats beam.PCollection) {
	s = s.Scope("transforms.BuildRankingRows")
	opt = opt.WithDefaults()
	if err := opt.Validate(); err != nil {
		panic("transforms: " + err.Error())
	}
	grouped := beam.GroupByKey(s, histories)
	users, times, encStats := beam.ParDo3(s, &encodeRankingFn{Opt: opt}, grouped, beam.SideInput{Input: vocabs})
	var cuts beam.PCollection
	if opt.SplitBy == SplitByTime {
		total := beam.Combine(s, &mergeTimeCountsFn{}, times)
		cuts = beam.ParDo(s, &timeCutsFn{Ratio: opt.SplitRatio}, total)
	} else {
		cuts = beam.Create(s, TimeCuts{})
	}
	rows, rowStats := beam.ParDo2(s, &rankingRowsFn{Opt: opt}, users, beam.SideInput{Input: cuts})
	stats = beam.Combine(s, &mergeRankingStatsFn{}, beam.Flatten(s, encStats, rowStats))
	return rows, stats
}

type encodeRankingFn struct {
	Opt   RankingOptions
	users *features.Vocab
	items *features.Vocab
	times map[int64]int64
	st    RankingStats
}

func (f *encodeRankingFn) ProcessElement(user string, parts func(*History) bool, vocabs func(*features.Vocabs) bool, emit func(RankingUser), emitTimes func(TimeCounts), emitStats func(RankingStats)) {
	if f.items == nil {
		var vs features.Vocabs
		vocabs(&vs)
		f.users, f.items = vs[f.Opt.UserVocab], vs[f.Opt.ItemVocab]
		if f.users == nil || f.items == nil {
			panic("transforms: BuildRankingRows: vocabularies " + f.Opt.UserVocab + " and " + f.Opt.ItemVocab + " are required")
		}
	}
	var h, p History
	for parts(&p) {
		h.Merge(&p)
	}
	h.User = user
	u, st := EncodeRanking(&h, f.users, f.items, f.Opt)
	f.st.Merge(st)
	if u.User == 0 || len(u.ImpItems) == 0 {
		return
	}
	if f.Opt.SplitBy == SplitByTime {
		if f.times == nil {
			f.times = map[int64]int64{}
		}
		for _, ev := range u.ImpEvents {
			f.times[u.Times[ev]]++
		}
	}
	emit(u)
}

func (f *encodeRankingFn) FinishBundle(_ func(*features.Vocabs) bool, _ func(RankingUser), emitTimes func(TimeCounts), emitStats func(RankingStats)) {
	if len(f.times) > 0 {
		emitTimes(TimeCountsOf(f.times))
		f.times = nil
	}
	emitStats(f.st)
	f.st = RankingStats{}
}

type timeCutsFn struct {
	Ratio [2]float64
}

func (f *timeCutsFn) ProcessElement(c TimeCounts, emit func(TimeCuts)) {
	emit(TimeSplitCuts(c, f.Ratio))
}

type rankingRowsFn struct {
	Opt  RankingOptions
	cuts *TimeCuts
	st   RankingStats
}

func (f *rankingRowsFn) ProcessElement(u RankingUser, cuts func(*TimeCuts) bool, emit func(RankingRow), emitStats func(RankingStats)) {
	if f.cuts == nil {
		var c TimeCuts
		if !cuts(&c) {
			panic("transforms: BuildRankingRows: no time split cuts")
		}
		f.cuts = &c
	}
	f.st.Merge(RankingRows(&u, f.Opt, *f.cuts, emit))
}

func (f *rankingRowsFn) FinishBundle(_ func(*TimeCuts) bool, _ func(RankingRow), emitStats func(RankingStats)) {
	if f.cuts != nil && f.Opt.SplitBy == SplitByTime {
		f.st.HasCuts, f.st.ValidCut, f.st.TestCut = true, f.cuts.ValidCut, f.cuts.TestCut
	}
	emitStats(f.st)
	f.st = RankingStats{}
}

type mergeTimeCountsFn struct{}

func (mergeTimeCountsFn) MergeAccumulators(a, b TimeCounts) TimeCounts { return MergeTimeCounts(a, b) }

type mergeRankingStatsFn struct{}

func (mergeRankingStatsFn) MergeAccumulators(a, b RankingStats) RankingStats {
	a.Merge(b)
	return a
}
