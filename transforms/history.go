package transforms

import (
	"cmp"
	"slices"
)

// History is (part of) one user's raw events: parallel slices, in file
// order until Sort is called. Readers emit partial histories per file and
// the grouping step merges them.
//
// Ratings, Rated and Labels carry each event's feedback (Event.Rating,
// Event.HasRating, Event.Label) for the ranking task. They are either
// parallel to Items or all empty, as in a History built by hand from
// items and times only; such events count as unrated and unlabelled
// (rating 0, Rated false, label -1). The retrieval task ignores them.
type History struct {
	User  string
	Items []string
	Times []int64
	// Order is the file-order key of each event: file index << 40 | line.
	Order   []int64
	Pos     []int32
	Ratings []float64
	Rated   []bool
	Labels  []int8
}

// OrderKey packs a file index and a 1-based line number into History.Order.
func OrderKey(file int, line int64) int64 { return int64(file)<<40 | line }

// Len is the number of events.
func (h *History) Len() int { return len(h.Items) }

// HasFeedback reports whether h carries Ratings, Rated and Labels.
func (h *History) HasFeedback() bool { return len(h.Ratings) > 0 }

// Add appends one event read from file number file.
func (h *History) Add(file int, e Event) {
	h.padFeedback()
	h.Items = append(h.Items, e.Item)
	h.Times = append(h.Times, e.Timestamp)
	h.Order = append(h.Order, OrderKey(file, e.Line))
	h.Pos = append(h.Pos, e.Pos)
	h.Ratings = append(h.Ratings, e.Rating)
	h.Rated = append(h.Rated, e.HasRating)
	h.Labels = append(h.Labels, e.Label)
}

// Merge appends o's events to h.
func (h *History) Merge(o *History) {
	if h.HasFeedback() || o.HasFeedback() {
		h.padFeedback()
		if o.HasFeedback() {
			h.Ratings = append(h.Ratings, o.Ratings...)
			h.Rated = append(h.Rated, o.Rated...)
			h.Labels = append(h.Labels, o.Labels...)
		} else {
			h.padFeedbackTo(h.Len() + o.Len())
		}
	}
	h.Items = append(h.Items, o.Items...)
	h.Times = append(h.Times, o.Times...)
	h.Order = append(h.Order, o.Order...)
	h.Pos = append(h.Pos, o.Pos...)
}

// padFeedback fills missing feedback of h's events with "unrated,
// unlabelled" so that the feedback slices are parallel to Items.
func (h *History) padFeedback() { h.padFeedbackTo(h.Len()) }

func (h *History) padFeedbackTo(n int) {
	for len(h.Ratings) < n {
		h.Ratings = append(h.Ratings, 0)
		h.Rated = append(h.Rated, false)
		h.Labels = append(h.Labels, -1)
	}
}

// Sort orders the events by timestamp; ties keep file order (file, line,
// position on the line), so the result does not depend on how the events
// were grouped.
func (h *History) Sort() {
	idx := make([]int, h.Len())
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(h.Times[a], h.Times[b]); c != 0 {
			return c
		}
		if c := cmp.Compare(h.Order[a], h.Order[b]); c != 0 {
			return c
		}
		return cmp.Compare(h.Pos[a], h.Pos[b])
	})
	h.Items = permute(h.Items, idx)
	h.Times = permute(h.Times, idx)
	h.Order = permute(h.Order, idx)
	h.Pos = permute(h.Pos, idx)
	if h.HasFeedback() {
		h.Ratings = permute(h.Ratings, idx)
		h.Rated = permute(h.Rated, idx)
		h.Labels = permute(h.Labels, idx)
	}
}

// permute returns s reordered so that out[i] = s[idx[i]].
func permute[T any](s []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = s[j]
	}
	return out
}
