package transforms

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/features"
)

func init() {
	register.DoFn5x0[string, func(*History) bool, func(*features.Vocabs) bool, func(SequenceRow), func(SplitStats)](&buildSequencesFn{})
	register.Emitter1[SequenceRow]()
	register.Emitter1[SplitStats]()
	register.Iter1[History]()
	register.Iter1[features.Vocabs]()
	register.Combiner1[SplitStats](&mergeSplitStatsFn{})
}

// SequenceOptions configure BuildSequences.
type SequenceOptions struct {
	Split     SplitOptions
	UserVocab string // name of the user id vocabulary in Vocabs
	ItemVocab string // name of the item id vocabulary
}

// SplitStats counts the outcome of BuildSequences.
type SplitStats struct {
	Users              int64 // users with at least one row
	Events             int64 // events kept in sequences
	UsersShort         int64 // fewer than 3 events: train only
	UsersNoPair        int64 // a single event: no row
	UsersDropped       int64 // user id out of vocabulary (below min_count)
	OOVEvents          int64 // events whose item is out of vocabulary, dropped
	MaxLen             int64 // longest history
	Train, Valid, Test int64
}

// Merge adds o into s.
func (s *SplitStats) Merge(o SplitStats) {
	s.Users += o.Users
	s.Events += o.Events
	s.UsersShort += o.UsersShort
	s.UsersNoPair += o.UsersNoPair
	s.UsersDropped += o.UsersDropped
	s.OOVEvents += o.OOVEvents
	s.MaxLen = max(s.MaxLen, o.MaxLen)
	s.Train += o.Train
	s.Valid += o.Valid
	s.Test += o.Test
}

type mergeSplitStatsFn struct{}

func (mergeSplitStatsFn) MergeAccumulators(a, b SplitStats) SplitStats {
	a.Merge(b)
	return a
}

// BuildSequences groups each user's partial histories once, sorts the
// events by time (ties keep file order), encodes users and items with the
// vocabularies (events of out-of-vocabulary items are dropped), and splits
// them with SplitUser. It takes PCollection<KV<string, History>> and the
// single-element PCollection<features.Vocabs>, and returns
// PCollection<SequenceRow> and a single-element PCollection<SplitStats>.
func BuildSequences(s beam.Scope, histories, vocabs beam.PCollection, opt SequenceOptions) (rows, stats beam.PCollection) {
	s = s.Scope("transforms.BuildSequences")
	if err := opt.Split.Validate(); err != nil {
		panic("transforms: " + err.Error())
	}
	grouped := beam.GroupByKey(s, histories)
	rows, perBundle := beam.ParDo2(s, &buildSequencesFn{Opt: opt}, grouped, beam.SideInput{Input: vocabs})
	return rows, beam.Combine(s, &mergeSplitStatsFn{}, perBundle)
}

type buildSequencesFn struct {
	Opt   SequenceOptions
	users *features.Vocab
	items *features.Vocab
	st    SplitStats
}

func (f *buildSequencesFn) ProcessElement(user string, parts func(*History) bool, vocabs func(*features.Vocabs) bool, emit func(SequenceRow), emitStats func(SplitStats)) {
	if f.items == nil {
		var vs features.Vocabs
		vocabs(&vs)
		f.users, f.items = vs[f.Opt.UserVocab], vs[f.Opt.ItemVocab]
		if f.users == nil || f.items == nil {
			panic("transforms: BuildSequences: vocabularies " + f.Opt.UserVocab + " and " + f.Opt.ItemVocab + " are required")
		}
	}
	var h History
	var p History
	for parts(&p) {
		h.Merge(&p)
	}
	h.User = user
	st := EncodeAndSplit(&h, f.users, f.items, f.Opt.Split, emit)
	f.st.Merge(st)
}

func (f *buildSequencesFn) FinishBundle(_ func(*features.Vocabs) bool, emit func(SequenceRow), emitStats func(SplitStats)) {
	emitStats(f.st)
	f.st = SplitStats{}
}

// EncodeAndSplit sorts h, encodes it and emits its rows; it is the whole
// per-user step of BuildSequences, shared with in-memory callers.
func EncodeAndSplit(h *History, users, items *features.Vocab, opt SplitOptions, emit func(SequenceRow)) SplitStats {
	var st SplitStats
	uid := users.ID(h.User)
	if uid == 0 {
		st.UsersDropped++
		return st
	}
	h.Sort()
	ids := make([]int64, 0, h.Len())
	times := make([]int64, 0, h.Len())
	for i, it := range h.Items {
		id := items.ID(it)
		if id == 0 {
			st.OOVEvents++
			continue
		}
		ids = append(ids, id)
		times = append(times, h.Times[i])
	}
	us := SplitUser(uid, h.User, ids, times, opt, func(r SequenceRow) {
		switch r.Split {
		case SplitTrain:
			st.Train++
		case SplitValid:
			st.Valid++
		case SplitTest:
			st.Test++
		}
		emit(r)
	})
	st.Events = us.Events
	st.MaxLen = us.Events
	switch {
	case us.NoPair:
		st.UsersNoPair++
	case us.Short:
		st.UsersShort++
	}
	if !us.NoPair {
		st.Users++
	}
	return st
}
