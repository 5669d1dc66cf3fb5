package transforms_test

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/transforms"
)

// Expected rows in this file come from refRankingRows, the slow, obvious
// reading of RankingRow's and EncodeRanking's doc comments, or are worked
// out by hand; ids, times and labels are integers, so comparisons are
// exact. Sampling tests state their tolerance.

// rEvent is one raw event of a test history.
type rEvent struct {
	item   string
	time   int64
	order  int64
	rating float64
	rated  bool
	label  int8
}

func rankingHistory(user string, evs []rEvent) transforms.History {
	h := transforms.History{User: user}
	for _, e := range evs {
		h.Items = append(h.Items, e.item)
		h.Times = append(h.Times, e.time)
		h.Order = append(h.Order, e.order)
		h.Pos = append(h.Pos, 0)
		h.Ratings = append(h.Ratings, e.rating)
		h.Rated = append(h.Rated, e.rated)
		h.Labels = append(h.Labels, e.label)
	}
	return h
}

// refRankingRows lists, for every in-vocabulary event e of a known user,
// the row (e's item, e's time, label by rating) whose history is every
// in-vocabulary event f with f.time < e.time, ordered by (time, order),
// cut to its last l. Split is left empty.
func refRankingRows(uid int64, user string, evs []rEvent, items *features.Vocab, l int, threshold float64) []transforms.RankingRow {
	var kept []rEvent
	for _, e := range evs {
		if items.ID(e.item) != 0 {
			kept = append(kept, e)
		}
	}
	var rows []transforms.RankingRow
	for _, e := range kept {
		var before []rEvent
		for _, f := range kept {
			if f.time < e.time {
				before = append(before, f)
			}
		}
		slices.SortFunc(before, func(a, b rEvent) int { return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.order, b.order)) })
		if len(before) > l {
			before = before[len(before)-l:]
		}
		r := transforms.RankingRow{User: uid, UserKey: user, Item: items.ID(e.item), Timestamp: e.time, History: []int64{}, HistoryTimes: []int64{}, HistoryLabels: []float32{}}
		for _, f := range before {
			r.History = append(r.History, items.ID(f.item))
			r.HistoryTimes = append(r.HistoryTimes, f.time)
			label := float32(0)
			if f.rating >= threshold {
				label = 1
			}
			r.HistoryLabels = append(r.HistoryLabels, label)
		}
		if e.rating >= threshold {
			r.Label = 1
		}
		rows = append(rows, r)
	}
	return rows
}

func sortRankingRows(rows []transforms.RankingRow) {
	slices.SortStableFunc(rows, func(a, b transforms.RankingRow) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Timestamp, b.Timestamp), cmp.Compare(a.Item, b.Item),
			cmp.Compare(a.Label, b.Label), cmp.Compare(len(a.History), len(b.History)))
	})
}

func equalRankingRow(a, b transforms.RankingRow) bool {
	return a.User == b.User && a.UserKey == b.UserKey && a.Item == b.Item && a.Timestamp == b.Timestamp &&
		slices.Equal(a.History, b.History) && slices.Equal(a.HistoryTimes, b.HistoryTimes) && a.Label == b.Label && a.Split == b.Split
}

func rankingRowsOf(t *testing.T, h transforms.History, users, items *features.Vocab, opt transforms.RankingOptions, cuts transforms.TimeCuts) ([]transforms.RankingRow, transforms.RankingStats) {
	t.Helper()
	u, st := transforms.EncodeRanking(&h, users, items, opt)
	var rows []transforms.RankingRow
	st.Merge(transforms.RankingRows(&u, opt, cuts, func(r transforms.RankingRow) { rows = append(rows, r) }))
	return rows, st
}

// allTrain puts every row in train.
var allTrain = transforms.TimeCuts{ValidCut: math.MaxInt64, TestCut: math.MaxInt64}

// No future leakage: a row's history is exactly the last MaxSeqLen
// in-vocabulary events strictly before it, whatever the input order, with
// many timestamp ties and out-of-vocabulary items mixed in.
func TestRankingHistoryIsStrictlyBefore(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	users := features.BuildVocab("user_id", map[string]int64{"u": 1}, 0)
	counts := map[string]int64{}
	for i := range 12 {
		counts["i"+strconv.Itoa(i)] = int64(20 - i)
	}
	items := features.BuildVocab("item_id", counts, 0)
	for trial := range 200 {
		n := rng.IntN(40)
		evs := make([]rEvent, n)
		for i := range evs {
			evs[i] = rEvent{
				item:   "i" + strconv.Itoa(rng.IntN(15)), // i12..i14 are out of vocabulary
				time:   rng.Int64N(8),                    // ties on most seconds
				order:  transforms.OrderKey(rng.IntN(2), int64(i+1)),
				rating: float64(1 + rng.IntN(5)),
				rated:  true,
				label:  -1,
			}
		}
		rng.Shuffle(n, func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		l := []int{1, 3, 50}[trial%3]
		opt := transforms.RankingOptions{MaxSeqLen: l}
		got, st := rankingRowsOf(t, rankingHistory("u", evs), users, items, opt, allTrain)
		for _, r := range got {
			for k, ht := range r.HistoryTimes {
				if ht >= r.Timestamp {
					t.Fatalf("trial %d: row at %d has a history event at %d: leakage", trial, r.Timestamp, ht)
				}
				if k > 0 && ht < r.HistoryTimes[k-1] {
					t.Fatalf("trial %d: history times %v not oldest first", trial, r.HistoryTimes)
				}
			}
			if len(r.History) > l || r.Split != transforms.SplitTrain {
				t.Fatalf("trial %d: row %+v: history longer than %d or not train", trial, r, l)
			}
		}
		want := refRankingRows(1, "u", evs, items, l, transforms.DefaultLabelThreshold)
		for i := range want {
			want[i].Split = transforms.SplitTrain
		}
		sortRankingRows(got)
		sortRankingRows(want)
		if len(got) != len(want) {
			t.Fatalf("trial %d: %d rows, want %d", trial, len(got), len(want))
		}
		for i := range got {
			if !equalRankingRow(got[i], want[i]) || !slices.Equal(got[i].HistoryLabels, want[i].HistoryLabels) {
				t.Fatalf("trial %d (max_seq_len %d): row %d\ngot  %+v\nwant %+v", trial, l, i, got[i], want[i])
			}
		}
		if st.Rows != int64(len(want)) || st.Events != int64(len(want)) || st.Events+st.OOVEvents != int64(n) {
			t.Errorf("trial %d: stats %+v; want %d rows and events, %d events in all", trial, st, len(want), n)
		}
	}
}

// Hand-worked: three events in second 10 see only the one at second 5,
// never each other.
func TestRankingSameSecondIsNotHistory(t *testing.T) {
	users := features.BuildVocab("user_id", map[string]int64{"u": 1}, 0)
	items := features.BuildVocab("item_id", map[string]int64{"a": 4, "b": 3, "c": 2, "d": 1}, 0) // a=1 .. d=4
	evs := []rEvent{
		{"c", 10, 3, 5, true, -1}, {"a", 5, 9, 1, true, -1}, {"b", 10, 1, 4, true, -1}, {"d", 10, 2, 3, true, -1},
	}
	got, st := rankingRowsOf(t, rankingHistory("u", evs), users, items, transforms.RankingOptions{MaxSeqLen: 5}, allTrain)
	tr := transforms.SplitTrain
	want := []transforms.RankingRow{ // (time, file order): a@5, b@10, d@10, c@10
		{User: 1, UserKey: "u", Item: 1, Timestamp: 5, Label: 0, Split: tr},
		{User: 1, UserKey: "u", Item: 2, Timestamp: 10, History: []int64{1}, HistoryTimes: []int64{5}, Label: 1, Split: tr},
		{User: 1, UserKey: "u", Item: 4, Timestamp: 10, History: []int64{1}, HistoryTimes: []int64{5}, Label: 0, Split: tr},
		{User: 1, UserKey: "u", Item: 3, Timestamp: 10, History: []int64{1}, HistoryTimes: []int64{5}, Label: 1, Split: tr},
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if !equalRankingRow(got[i], want[i]) {
			t.Errorf("row %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if st.EmptyHistory != 1 || st.Positives != 2 || st.Users != 1 {
		t.Errorf("stats %+v; want 1 empty history, 2 positives, 1 user", st)
	}
}

func TestRankingLabels(t *testing.T) {
	users := features.BuildVocab("user_id", map[string]int64{"u": 1}, 0)
	items := features.BuildVocab("item_id", map[string]int64{"a": 1}, 0)
	for _, tc := range []struct {
		name      string
		ev        rEvent
		threshold float64
		want      float32
	}{
		{"rating above the default threshold", rEvent{rating: 5, rated: true, label: -1}, 0, 1},
		{"rating at the default threshold", rEvent{rating: 4, rated: true, label: -1}, 0, 1},
		{"half star below", rEvent{rating: 3.5, rated: true, label: -1}, 0, 0},
		{"half star at threshold 3.5", rEvent{rating: 3.5, rated: true, label: -1}, 3.5, 1},
		{"rating 1", rEvent{rating: 1, rated: true, label: -1}, 0, 0},
		{"label column wins over rating: 0", rEvent{rating: 5, rated: true, label: 0}, 0, 0},
		{"label column wins over rating: 1", rEvent{rating: 1, rated: true, label: 1}, 0, 1},
		{"implicit event is a positive", rEvent{label: -1}, 0, 1},
	} {
		tc.ev.item, tc.ev.time = "a", 7
		got, _ := rankingRowsOf(t, rankingHistory("u", []rEvent{tc.ev}), users, items,
			transforms.RankingOptions{MaxSeqLen: 3, LabelThreshold: tc.threshold}, allTrain)
		if len(got) != 1 || got[0].Label != tc.want {
			t.Errorf("%s: rows %+v; want one with label %g", tc.name, got, tc.want)
		}
	}
	// A History built without feedback counts as implicit.
	h := transforms.History{User: "u", Items: []string{"a"}, Times: []int64{1}, Order: []int64{1}, Pos: []int32{0}}
	got, st := rankingRowsOf(t, h, users, items, transforms.RankingOptions{MaxSeqLen: 3}, allTrain)
	if len(got) != 1 || got[0].Label != 1 || st.Implicit != 1 {
		t.Errorf("history without feedback: rows %+v, stats %+v; want one positive, counted implicit", got, st)
	}
}

// implicitHistory gives user events on items it0..it(distinct-1), n of
// them, at times 0..n-1 (so most rows have a history).
func implicitHistory(user string, n, distinct int) transforms.History {
	var evs []rEvent
	for i := range n {
		evs = append(evs, rEvent{item: "it" + strconv.Itoa(i%distinct), time: int64(i), order: int64(i + 1), label: -1})
	}
	return rankingHistory(user, evs)
}

func itemVocab(n int) *features.Vocab {
	counts := map[string]int64{}
	for i := range n {
		counts["it"+strconv.Itoa(i)] = 1
	}
	return features.BuildVocab("item_id", counts, 0)
}

func TestRankingNegatives(t *testing.T) {
	users := features.BuildVocab("user_id", map[string]int64{"alice": 1, "bob": 1}, 0)
	for _, tc := range []struct {
		name                string
		vocab, events, seen int
		negatives, wantNegs int // wantNegs per positive
	}{
		{"sparse: rejection sampling", 100, 40, 10, 4, 4},
		{"dense: drawn from the unseen list", 30, 40, 20, 6, 6},
		{"fewer unseen items than asked", 30, 40, 27, 5, 3},
		{"every item seen", 10, 20, 10, 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			items := itemVocab(tc.vocab)
			opt := transforms.RankingOptions{MaxSeqLen: 8, Negatives: tc.negatives, Seed: 7}
			h := implicitHistory("alice", tc.events, tc.seen)
			seen := map[int64]bool{}
			for _, it := range h.Items {
				seen[items.ID(it)] = true
			}
			rows, st := rankingRowsOf(t, h, users, items, opt, allTrain)
			positives := 0
			var pos transforms.RankingRow
			var group map[int64]bool
			for _, r := range rows {
				if r.Label == 1 {
					if positives > 0 && len(group) != tc.wantNegs {
						t.Fatalf("positive at %d got %d negatives, want %d", pos.Timestamp, len(group), tc.wantNegs)
					}
					pos, group = r, map[int64]bool{}
					positives++
					continue
				}
				switch {
				case seen[r.Item]:
					t.Fatalf("negative %d at %d is one of the user's items", r.Item, r.Timestamp)
				case r.Item < 1 || r.Item > int64(tc.vocab):
					t.Fatalf("negative %d outside the vocabulary 1..%d", r.Item, tc.vocab)
				case group[r.Item]:
					t.Fatalf("negative %d drawn twice for the positive at %d", r.Item, r.Timestamp)
				case r.Timestamp != pos.Timestamp || !slices.Equal(r.History, pos.History) || !slices.Equal(r.HistoryTimes, pos.HistoryTimes):
					t.Fatalf("negative %+v does not share its positive's time and history %+v", r, pos)
				}
				group[r.Item] = true
			}
			if positives != tc.events || len(group) != tc.wantNegs {
				t.Fatalf("%d positives (want %d), last group %d negatives (want %d)", positives, tc.events, len(group), tc.wantNegs)
			}
			wantSt := int64(tc.events * tc.wantNegs)
			if st.SampledNegatives != wantSt || st.NegativesShort != int64(tc.events*(tc.negatives-tc.wantNegs)) || st.Rows != int64(tc.events)+wantSt {
				t.Errorf("stats %+v; want %d sampled, %d short", st, wantSt, tc.events*(tc.negatives-tc.wantNegs))
			}

			again, _ := rankingRowsOf(t, implicitHistory("alice", tc.events, tc.seen), users, items, opt, allTrain)
			if !slices.EqualFunc(rows, again, equalRankingRow) {
				t.Error("same seed: rows differ")
			}
			if tc.wantNegs == 0 || tc.vocab-tc.seen == tc.wantNegs {
				return // nothing to choose
			}
			opt.Seed = 8
			other, _ := rankingRowsOf(t, implicitHistory("alice", tc.events, tc.seen), users, items, opt, allTrain)
			if slices.EqualFunc(rows, other, equalRankingRow) {
				t.Error("another seed: same negatives")
			}
			bob, _ := rankingRowsOf(t, implicitHistory("bob", tc.events, tc.seen), users, items, transforms.RankingOptions{MaxSeqLen: 8, Negatives: tc.negatives, Seed: 7}, allTrain)
			if slices.EqualFunc(negItems(rows), negItems(bob), func(a, b int64) bool { return a == b }) {
				t.Error("another user with the same history: same negatives (the seed must depend on the user)")
			}
		})
	}
}

func negItems(rows []transforms.RankingRow) []int64 {
	var out []int64
	for _, r := range rows {
		if r.Label == 0 {
			out = append(out, r.Item)
		}
	}
	return out
}

// Negatives are uniform over the unseen items on both sampling paths:
// with 90 (resp. 40) unseen items and 10,000 draws each count is
// Binomial(10000, 1/90) (resp. 1/40): mean 111 (250), sd 10.5 (15.6); the
// test allows 5 sd.
func TestRankingNegativesUniform(t *testing.T) {
	users := features.BuildVocab("user_id", map[string]int64{"u": 1}, 0)
	for _, tc := range []struct{ vocab, seen int }{{100, 10}, {100, 60}} {
		items := itemVocab(tc.vocab)
		rows, _ := rankingRowsOf(t, implicitHistory("u", 2000, tc.seen), users, items,
			transforms.RankingOptions{MaxSeqLen: 1, Negatives: 5, Seed: 3}, allTrain)
		freq := map[int64]int{}
		for _, it := range negItems(rows) {
			freq[it]++
		}
		unseen := tc.vocab - tc.seen
		mean := 10000.0 / float64(unseen)
		sd := math.Sqrt(10000 * (1 / float64(unseen)) * (1 - 1/float64(unseen)))
		if len(freq) != unseen {
			t.Errorf("seen %d: %d distinct negatives, want all %d unseen items", tc.seen, len(freq), unseen)
		}
		for it, n := range freq {
			if math.Abs(float64(n)-mean) > 5*sd {
				t.Errorf("seen %d: item %d drawn %d times, want %.0f ± %.0f", tc.seen, it, n, mean, 5*sd)
			}
		}
	}
}

func TestRankingOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opt  transforms.RankingOptions
		want string // "" = valid
	}{
		{transforms.RankingOptions{MaxSeqLen: 50}, ""},
		{transforms.RankingOptions{MaxSeqLen: 50, SplitBy: "random", SplitRatio: [2]float64{0.8, 0.2}}, ""},
		{transforms.RankingOptions{}, "max_seq_len"},
		{transforms.RankingOptions{MaxSeqLen: 5, SplitBy: "user"}, `unknown split "user"`},
		{transforms.RankingOptions{MaxSeqLen: 5, SplitRatio: [2]float64{1.2, 0}}, "split_ratio[0] must be in [0, 1]"},
		{transforms.RankingOptions{MaxSeqLen: 5, SplitRatio: [2]float64{0.5, -0.1}}, "split_ratio[1] must be in [0, 1]"},
		{transforms.RankingOptions{MaxSeqLen: 5, SplitRatio: [2]float64{0.7, 0.4}}, "over 1"},
		{transforms.RankingOptions{MaxSeqLen: 5, Negatives: -1}, "negatives"},
		{transforms.RankingOptions{MaxSeqLen: 5, LabelThreshold: math.NaN()}, "label_threshold"},
	} {
		err := tc.opt.WithDefaults().Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v; want valid", tc.opt, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: error %v; want one containing %q", tc.opt, err, tc.want)
		}
	}
}

// Merging parts with and without feedback keeps the feedback slices
// parallel to Items; the parts without count as unrated and unlabelled.
func TestHistoryMergeFeedback(t *testing.T) {
	bare := func(item string, line int64) transforms.History {
		return transforms.History{User: "u", Items: []string{item}, Times: []int64{1}, Order: []int64{line}, Pos: []int32{0}}
	}
	var withFb transforms.History
	withFb.Add(0, transforms.Event{User: "u", Item: "b", Timestamp: 2, Rating: 3.5, HasRating: true, Label: 1, Line: 2})
	var h transforms.History
	for _, p := range []transforms.History{bare("a", 1), withFb, bare("c", 3)} {
		h.Merge(&p)
	}
	if !slices.Equal(h.Items, []string{"a", "b", "c"}) || !slices.Equal(h.Ratings, []float64{0, 3.5, 0}) ||
		!slices.Equal(h.Rated, []bool{false, true, false}) || !slices.Equal(h.Labels, []int8{-1, 1, -1}) {
		t.Errorf("merged %+v; want items a b c with feedback only on b", h)
	}
	var plain transforms.History
	for _, p := range []transforms.History{bare("a", 1), bare("b", 2)} {
		plain.Merge(&p)
	}
	if plain.HasFeedback() || len(plain.Rated) != 0 || len(plain.Labels) != 0 {
		t.Errorf("merging parts without feedback gives feedback %+v", plain)
	}
	h.Sort()
	if !slices.Equal(h.Items, []string{"a", "c", "b"}) || !slices.Equal(h.Ratings, []float64{0, 0, 3.5}) || !slices.Equal(h.Labels, []int8{-1, -1, 1}) {
		t.Errorf("after Sort %+v; want feedback to move with its event", h)
	}
}
