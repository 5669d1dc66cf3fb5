package transforms

import "fmt"

// The values of SequenceRow.Split.
const (
	SplitTrain = "train"
	SplitValid = "valid"
	SplitTest  = "test"
)

// SequenceRow is one row of the sequences table: a window of a user's
// encoded history (Items, oldest first, at most MaxSeqLen long) and the item
// that follows it (Target). A training row trains every position: the
// labels of Items are Items[1:] followed by Target. A valid/test row holds
// the most recent MaxSeqLen items before the held-out Target.
type SequenceRow struct {
	User            int64   `parquet:"user"`
	UserKey         string  `parquet:"user_key"`
	Split           string  `parquet:"split,dict"`
	Window          int32   `parquet:"window"` // 0 = the most recent window of the split
	Items           []int64 `parquet:"items,list"`
	Timestamps      []int64 `parquet:"timestamps,list"`
	Target          int64   `parquet:"target"`
	TargetTimestamp int64   `parquet:"target_timestamp"`
}

// SplitOptions configure the leave-one-out split and window splitting.
type SplitOptions struct {
	MaxSeqLen int // items per window; must be positive
	Stride    int // distance between training windows' ends; 0 means MaxSeqLen
}

// Validate reports bad options.
func (o SplitOptions) Validate() error {
	if o.MaxSeqLen <= 0 {
		return fmt.Errorf("split: max_seq_len must be positive, got %d", o.MaxSeqLen)
	}
	if o.Stride < 0 {
		return fmt.Errorf("split: stride must not be negative, got %d", o.Stride)
	}
	return nil
}

// UserStats counts what SplitUser did with one user.
type UserStats struct {
	Events       int64
	Short        bool // fewer than 3 events: train only
	NoPair       bool // fewer than 2 events: no row at all
	TrainWindows int64
	Eval         bool // got a valid and a test row
}

// SplitUser applies leave-one-out and window splitting to one user's
// chronologically sorted, encoded history and calls emit for each row.
//
// With n events s[0..n-1] and n >= 3: test = (s[:n-1] → s[n-1]), valid =
// (s[:n-2] → s[n-2]), each cut to its last MaxSeqLen items, and training
// uses t = s[:n-2]. With n < 3 the user goes to train only with t = s.
// Training windows over t end at e = len(t), len(t)-Stride, ... and each
// holds Items = t[max(0, e-1-MaxSeqLen) : e-1], Target = t[e-1]; the last
// window emitted is the one that reaches t[0] (or the one whose e-Stride
// would leave fewer than 2 items). With Stride = MaxSeqLen every target
// t[1..] is predicted exactly once.
func SplitUser(user int64, key string, items, times []int64, opt SplitOptions, emit func(SequenceRow)) UserStats {
	if len(items) != len(times) {
		panic("split: items and times differ in length")
	}
	l, stride := opt.MaxSeqLen, opt.Stride
	if l <= 0 {
		panic("split: non-positive max_seq_len")
	}
	if stride <= 0 {
		stride = l
	}
	n := len(items)
	st := UserStats{Events: int64(n), Short: n < 3, NoPair: n < 2}
	row := func(split string, w int32, end int) SequenceRow {
		start := max(0, end-1-l)
		return SequenceRow{
			User: user, UserKey: key, Split: split, Window: w,
			Items:      slices64(items[start : end-1]),
			Timestamps: slices64(times[start : end-1]),
			Target:     items[end-1], TargetTimestamp: times[end-1],
		}
	}
	train := n
	if n >= 3 {
		train = n - 2
		emit(row(SplitValid, 0, n-1))
		emit(row(SplitTest, 0, n))
		st.Eval = true
	}
	var w int32
	for e := train; e >= 2; e -= stride {
		emit(row(SplitTrain, w, e))
		w++
		st.TrainWindows++
		if e-1-l <= 0 {
			break
		}
	}
	return st
}

func slices64(s []int64) []int64 { return append(make([]int64, 0, len(s)), s...) }
