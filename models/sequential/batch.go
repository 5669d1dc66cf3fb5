package sequential

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/genrec/genrec/transforms"
)

// Batch is B left-aligned sequences padded to length L, the input of every
// sequential model. Row b holds Lens[b] valid positions; position i of row
// b is element b*L+i of each per-position slice.
type Batch struct {
	B, L  int
	Items []int32 // B*L item ids, 0 at padding
	Lens  []int   // B valid lengths, each in [1, L]
	Times []int64 // B*L timestamps of Items
	// QueryTimes[b*L+i] is the time of the item position i predicts: the
	// next item's timestamp, and the target's at the last position.
	QueryTimes []int64
	// Labels[b*L+i] is the item position i should predict (0: no loss).
	Labels []int32
	Users  []int64 // B user ids (encoded)
	// Actions, when not nil, holds an action id per position (B*L) that
	// models with an action embedding add to the position's input: HSTU's
	// interleaved actions (e.g. clicked, not clicked, to predict).
	Actions []int32
	Rows    []int // B indices of the rows the batch came from
}

// Positions returns B*L.
func (b *Batch) Positions() int { return b.B * b.L }

// Targets counts the positions with a label.
func (b *Batch) Targets() int {
	n := 0
	for _, l := range b.Labels {
		if l > 0 {
			n++
		}
	}
	return n
}

// NewBatch packs rows into a Batch of length l (each row's last l items
// are kept). For training rows every position is labelled with the next
// item (the last with Target); for evaluation rows (labelAll false) only
// the last position is, with Target. It returns an error naming the row
// for an empty history or a history and timestamps of different lengths.
func NewBatch(rows []transforms.SequenceRow, idx []int, l int, labelAll bool) (*Batch, error) {
	if l <= 0 {
		panic("sequential: non-positive batch length")
	}
	b := &Batch{
		B: len(idx), L: l,
		Items: make([]int32, len(idx)*l), Lens: make([]int, len(idx)),
		Times: make([]int64, len(idx)*l), QueryTimes: make([]int64, len(idx)*l),
		Labels: make([]int32, len(idx)*l), Users: make([]int64, len(idx)), Rows: idx,
	}
	for bi, ri := range idx {
		r := &rows[ri]
		if len(r.Items) == 0 {
			return nil, fmt.Errorf("sequential: row %d (user %q, split %s): empty history", ri, r.UserKey, r.Split)
		}
		if len(r.Timestamps) != len(r.Items) {
			return nil, fmt.Errorf("sequential: row %d (user %q): %d items but %d timestamps", ri, r.UserKey, len(r.Items), len(r.Timestamps))
		}
		items, times := r.Items, r.Timestamps
		if len(items) > l {
			items, times = items[len(items)-l:], times[len(times)-l:]
		}
		n := len(items)
		b.Lens[bi], b.Users[bi] = n, r.User
		off := bi * l
		for i := range n {
			if items[i] < 0 || items[i] > math.MaxInt32 {
				return nil, fmt.Errorf("sequential: row %d (user %q): item id %d out of range", ri, r.UserKey, items[i])
			}
			b.Items[off+i] = int32(items[i])
			b.Times[off+i] = times[i]
			if i+1 < n {
				b.QueryTimes[off+i] = times[i+1]
				if labelAll {
					b.Labels[off+i] = int32(items[i+1])
				}
			} else {
				b.QueryTimes[off+i] = r.TargetTimestamp
				b.Labels[off+i] = int32(r.Target)
			}
		}
	}
	return b, nil
}

// StochasticLength subsamples long training sequences as HSTU does
// (arXiv 2402.17152, section 3.3): with alpha in (1, 2] and padded length N,
// a sequence of n > N^(alpha/2) items (its target included) is, with
// probability 1 - N^alpha / n^2, replaced by a random order-preserving
// subsequence of N^(alpha/2) items. alpha <= 0 returns row unchanged.
func StochasticLength(row transforms.SequenceRow, n int, alpha float64, rng *rand.Rand) transforms.SequenceRow {
	if alpha <= 0 {
		return row
	}
	full := len(row.Items) + 1
	keep := int(math.Pow(float64(n), alpha/2))
	if keep < 2 || full <= keep {
		return row
	}
	if rng.Float64() >= 1-math.Pow(float64(n), alpha)/float64(full*full) {
		return row
	}
	pick := rng.Perm(full)[:keep]
	sort.Ints(pick)
	items := append(append([]int64{}, row.Items...), row.Target)
	times := append(append([]int64{}, row.Timestamps...), row.TargetTimestamp)
	out := row
	out.Items, out.Timestamps = make([]int64, keep-1), make([]int64, keep-1)
	for i, p := range pick[:keep-1] {
		out.Items[i], out.Timestamps[i] = items[p], times[p]
	}
	out.Target, out.TargetTimestamp = items[pick[keep-1]], times[pick[keep-1]]
	return out
}
