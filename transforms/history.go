package transforms

import (
	"cmp"
	"slices"
)

// History is (part of) one user's raw events: parallel slices, in file
// order until Sort is called. Readers emit partial histories per file and
// the grouping step merges them.
type History struct {
	User  string
	Items []string
	Times []int64
	// Order is the file-order key of each event: file index << 40 | line.
	Order []int64
	Pos   []int32
}

// OrderKey packs a file index and a 1-based line number into History.Order.
func OrderKey(file int, line int64) int64 { return int64(file)<<40 | line }

// Len is the number of events.
func (h *History) Len() int { return len(h.Items) }

// Add appends one event read from file number file.
func (h *History) Add(file int, e Event) {
	h.Items = append(h.Items, e.Item)
	h.Times = append(h.Times, e.Timestamp)
	h.Order = append(h.Order, OrderKey(file, e.Line))
	h.Pos = append(h.Pos, e.Pos)
}

// Merge appends o's events to h.
func (h *History) Merge(o *History) {
	h.Items = append(h.Items, o.Items...)
	h.Times = append(h.Times, o.Times...)
	h.Order = append(h.Order, o.Order...)
	h.Pos = append(h.Pos, o.Pos...)
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
	items := make([]string, len(idx))
	times := make([]int64, len(idx))
	order := make([]int64, len(idx))
	pos := make([]int32, len(idx))
	for i, j := range idx {
		items[i], times[i], order[i], pos[i] = h.Items[j], h.Times[j], h.Order[j], h.Pos[j]
	}
	h.Items, h.Times, h.Order, h.Pos = items, times, order, pos
}
