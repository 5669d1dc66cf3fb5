package transforms

import (
	"math/rand/v2"
	"slices"

	"github.com/genrec/genrec/features"
)

// RankingUser is one user between the two steps of BuildRankingRows: the
// encoded events kept, sorted by (time, file order), from which histories
// are cut, and the impressions that become rows, in row order.
type RankingUser struct {
	User  int64
	Key   string
	Items []int64
	Times []int64
	// Labels is the label of each event's own item (1 for implicit
	// events): the action a later row's history shows.
	Labels []int8
	// Impression i shows item ImpItems[i] with label ImpLabels[i] (0 or 1)
	// at the time of event ImpEvents[i], an index into Items. An event is
	// an impression of its own item; a sampled negative is an impression
	// of another item at its positive's event.
	ImpItems  []int64
	ImpLabels []int8
	ImpEvents []int32
}

// EncodeRanking sorts h (time, then file order), encodes it with the
// vocabularies, dropping events of out-of-vocabulary items, and labels
// each kept event; it is the first per-user step of BuildRankingRows,
// shared with in-memory callers. An out-of-vocabulary user gives a
// RankingUser with User 0 and no events.
//
// An event's label is, by the first rule that applies:
//
//	labelled (Event.Label >= 0, a table's label column):  label = 1 if Label > 0, else 0
//	rated (Event.HasRating):                               label = 1 if rating >= LabelThreshold, else 0
//	implicit (neither):                                    label = 1, followed by Negatives sampled negatives (label 0)
//
// Negatives are drawn uniformly from the item ids 1..V (V = items.Len()),
// rejecting the user's items (every kept event, past or future) and ids
// already drawn for the same positive, by a PCG generator seeded with
// (Seed, FNV-1a(h.User)): the same seed gives the same negatives whatever
// the runner or the order of users. When fewer than Negatives items are
// left, all of them are taken and the shortfall is counted in
// NegativesShort.
func EncodeRanking(h *History, users, items *features.Vocab, opt RankingOptions) (RankingUser, RankingStats) {
	opt = opt.WithDefaults()
	var st RankingStats
	uid := users.ID(h.User)
	if uid == 0 {
		st.UsersDropped++
		st.DroppedUserEvents += int64(h.Len())
		return RankingUser{Key: h.User}, st
	}
	h.Sort()
	u := RankingUser{User: uid, Key: h.User}
	kept := make([]int, 0, h.Len()) // index in h of each kept event
	for i, it := range h.Items {
		id := items.ID(it)
		if id == 0 {
			st.OOVEvents++
			continue
		}
		u.Items = append(u.Items, id)
		u.Times = append(u.Times, h.Times[i])
		kept = append(kept, i)
	}
	st.Events = int64(len(u.Items))
	st.MaxLen = st.Events
	var neg *negativeSampler // built at the first implicit event
	var drawn []int64
	for ev, i := range kept {
		label, implicit := eventLabel(h, i, opt.LabelThreshold, &st)
		u.Labels = append(u.Labels, label)
		u.ImpItems = append(u.ImpItems, u.Items[ev])
		u.ImpLabels = append(u.ImpLabels, label)
		u.ImpEvents = append(u.ImpEvents, int32(ev))
		if !implicit || opt.Negatives == 0 {
			continue
		}
		if neg == nil {
			neg = newNegativeSampler(opt.Seed, h.User, int64(items.Len()), u.Items)
		}
		drawn = neg.sample(opt.Negatives, drawn[:0])
		st.SampledNegatives += int64(len(drawn))
		st.NegativesShort += int64(opt.Negatives - len(drawn))
		for _, id := range drawn {
			u.ImpItems = append(u.ImpItems, id)
			u.ImpLabels = append(u.ImpLabels, 0)
			u.ImpEvents = append(u.ImpEvents, int32(ev))
		}
	}
	return u, st
}

// eventLabel labels event i of h by EncodeRanking's rules and counts where
// the label came from.
func eventLabel(h *History, i int, threshold float64, st *RankingStats) (label int8, implicit bool) {
	switch {
	case h.HasFeedback() && h.Labels[i] >= 0:
		st.Labelled++
		if h.Labels[i] > 0 {
			return 1, false
		}
		return 0, false
	case h.HasFeedback() && h.Rated[i]:
		st.Rated++
		if h.Ratings[i] >= threshold {
			return 1, false
		}
		return 0, false
	}
	st.Implicit++
	return 1, true
}

// RankingRows turns u's impressions into rows; it is the second per-user
// step of BuildRankingRows. The row of an impression at time t holds
//
//	History = Items[max(0, e-MaxSeqLen) : e],  e = #{j : Times[j] < t}
//
// (Times is sorted, so these are the last MaxSeqLen events strictly before
// t), and its split is cuts.Split(t) for the time split or
// RandomSplit(Seed, Key, item of the impression's event, t, SplitRatio)
// for the random one, so that a sampled negative goes with its positive.
// A row with an empty history is kept and counted in EmptyHistory.
func RankingRows(u *RankingUser, opt RankingOptions, cuts TimeCuts, emit func(RankingRow)) RankingStats {
	opt = opt.WithDefaults()
	var st RankingStats
	for i, item := range u.ImpItems {
		ev := u.ImpEvents[i]
		t := u.Times[ev]
		end, _ := slices.BinarySearch(u.Times, t) // first event at or after t
		start := max(0, end-opt.MaxSeqLen)
		split := cuts.Split(t)
		if opt.SplitBy == SplitByRandom {
			split = RandomSplit(opt.Seed, u.Key, u.Items[ev], t, opt.SplitRatio)
		}
		r := RankingRow{
			User: u.User, UserKey: u.Key, Item: item, Timestamp: t,
			History:       slices64(u.Items[start:end]),
			HistoryTimes:  slices64(u.Times[start:end]),
			HistoryLabels: historyLabels(u.Labels, start, end),
			Label:         float32(u.ImpLabels[i]),
			Split:         split,
		}
		st.count(&r)
		emit(r)
	}
	if st.Rows > 0 {
		st.Users = 1
	}
	return st
}

// negativeSampler draws items a user has not interacted with.
type negativeSampler struct {
	rng  *rand.Rand
	n    int64 // item ids are 1..n
	seen map[int64]bool
	free []int64 // the ids not in seen, built on first need
}

func newNegativeSampler(seed uint64, user string, n int64, items []int64) *negativeSampler {
	seen := make(map[int64]bool, len(items))
	for _, it := range items {
		seen[it] = true
	}
	return &negativeSampler{rng: rand.New(rand.NewPCG(seed, hashString(user))), n: n, seen: seen}
}

// sample appends up to k distinct unseen ids to dst. While the user's
// items and the draw cover at most half the vocabulary it rejects seen
// ids (under two tries per id on average); otherwise it draws without
// replacement from the list of unseen ids by a partial Fisher-Yates
// shuffle. Both are uniform over the unseen ids.
func (s *negativeSampler) sample(k int, dst []int64) []int64 {
	k = int(min(int64(k), s.n-int64(len(s.seen))))
	if k <= 0 {
		return dst
	}
	start := len(dst)
	if 2*(int64(len(s.seen))+int64(k)) <= s.n {
		for len(dst)-start < k {
			id := 1 + s.rng.Int64N(s.n)
			if !s.seen[id] && !slices.Contains(dst[start:], id) {
				dst = append(dst, id)
			}
		}
		return dst
	}
	if s.free == nil {
		s.free = make([]int64, 0, s.n-int64(len(s.seen)))
		for id := int64(1); id <= s.n; id++ {
			if !s.seen[id] {
				s.free = append(s.free, id)
			}
		}
	}
	for i := range k {
		j := i + s.rng.IntN(len(s.free)-i)
		s.free[i], s.free[j] = s.free[j], s.free[i]
		dst = append(dst, s.free[i])
	}
	return dst
}

// historyLabels returns labels[start:end] as float32 (nil when the user
// carries no labels).
func historyLabels(labels []int8, start, end int) []float32 {
	if len(labels) < end {
		return nil
	}
	out := make([]float32, end-start)
	for i, l := range labels[start:end] {
		out[i] = float32(l)
	}
	return out
}
