package transforms_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/transforms"
)

// Expected rows in this file come from the doc comment of SplitUser,
// either worked out by hand or computed by refSplitUser below; ids and
// timestamps are integers, so every comparison is exact.

// refSplitUser is the slow, obvious reading of SplitUser's doc comment.
func refSplitUser(user int64, key string, s, ts []int64, opt transforms.SplitOptions) []transforms.SequenceRow {
	l, stride := opt.MaxSeqLen, opt.Stride
	if stride == 0 {
		stride = l
	}
	lastL := func(x []int64) []int64 { // the last l elements of x, copied
		if len(x) > l {
			x = x[len(x)-l:]
		}
		return append([]int64{}, x...)
	}
	var rows []transforms.SequenceRow
	n := len(s)
	t := n // length of the training prefix of s
	if n >= 3 {
		rows = append(rows,
			transforms.SequenceRow{User: user, UserKey: key, Split: transforms.SplitValid,
				Items: lastL(s[:n-2]), Timestamps: lastL(ts[:n-2]), Target: s[n-2], TargetTimestamp: ts[n-2]},
			transforms.SequenceRow{User: user, UserKey: key, Split: transforms.SplitTest,
				Items: lastL(s[:n-1]), Timestamps: lastL(ts[:n-1]), Target: s[n-1], TargetTimestamp: ts[n-1]})
		t = n - 2
	}
	w := int32(0)
	for e := t; e >= 2; e -= stride {
		start := max(0, e-1-l)
		rows = append(rows, transforms.SequenceRow{User: user, UserKey: key, Split: transforms.SplitTrain, Window: w,
			Items: append([]int64{}, s[start:e-1]...), Timestamps: append([]int64{}, ts[start:e-1]...),
			Target: s[e-1], TargetTimestamp: ts[e-1]})
		w++
		if start == 0 {
			break
		}
	}
	return rows
}

func collect(user int64, key string, s, ts []int64, opt transforms.SplitOptions) ([]transforms.SequenceRow, transforms.UserStats) {
	var rows []transforms.SequenceRow
	st := transforms.SplitUser(user, key, s, ts, opt, func(r transforms.SequenceRow) { rows = append(rows, r) })
	return rows, st
}

// sortRows orders rows by split and window: the order of emission is not
// part of SplitUser's contract.
func sortRows(rows []transforms.SequenceRow) {
	slices.SortStableFunc(rows, func(a, b transforms.SequenceRow) int {
		return cmp.Or(cmp.Compare(a.Split, b.Split), cmp.Compare(a.Window, b.Window))
	})
}

func rowString(r transforms.SequenceRow) string {
	return fmt.Sprintf("{%d %q %s w%d %v@%v -> %d@%d}", r.User, r.UserKey, r.Split, r.Window, r.Items, r.Timestamps, r.Target, r.TargetTimestamp)
}

func rowsString(rows []transforms.SequenceRow) string {
	var b strings.Builder
	for _, r := range rows {
		b.WriteString("\n\t" + rowString(r))
	}
	return b.String()
}

func equalRows(a, b []transforms.SequenceRow) bool {
	return slices.EqualFunc(a, b, func(x, y transforms.SequenceRow) bool {
		return x.User == y.User && x.UserKey == y.UserKey && x.Split == y.Split && x.Window == y.Window &&
			slices.Equal(x.Items, y.Items) && slices.Equal(x.Timestamps, y.Timestamps) &&
			x.Target == y.Target && x.TargetTimestamp == y.TargetTimestamp
	})
}

// history returns n distinct item ids (100+i: the id says the position)
// and their timestamps (10*i).
func history(n int) (items, times []int64) {
	for i := range n {
		items = append(items, int64(100+i))
		times = append(times, int64(10*i))
	}
	return items, times
}

func row(split string, w int32, items []int64, target int64) transforms.SequenceRow {
	r := transforms.SequenceRow{User: 7, UserKey: "u7", Split: split, Window: w, Items: items, Target: target, TargetTimestamp: 10 * (target - 100)}
	for _, it := range items {
		r.Timestamps = append(r.Timestamps, 10*(it-100))
	}
	return r
}

func TestSplitUserByHand(t *testing.T) {
	train, valid, test := transforms.SplitTrain, transforms.SplitValid, transforms.SplitTest
	for _, tc := range []struct {
		n      int
		opt    transforms.SplitOptions
		want   []transforms.SequenceRow
		wantSt transforms.UserStats
	}{
		{0, transforms.SplitOptions{MaxSeqLen: 3}, nil, transforms.UserStats{Short: true, NoPair: true}},
		{1, transforms.SplitOptions{MaxSeqLen: 3}, nil, transforms.UserStats{Events: 1, Short: true, NoPair: true}},
		{2, transforms.SplitOptions{MaxSeqLen: 3}, []transforms.SequenceRow{
			row(train, 0, []int64{100}, 101),
		}, transforms.UserStats{Events: 2, Short: true, TrainWindows: 1}},
		{3, transforms.SplitOptions{MaxSeqLen: 3}, []transforms.SequenceRow{
			row(test, 0, []int64{100, 101}, 102),
			row(valid, 0, []int64{100}, 101),
		}, transforms.UserStats{Events: 3, Eval: true}},
		// t = s[:5]; windows end at e = 5 (t[2:4] → t[4]) and e = 3 (t[0:2] → t[2]).
		{7, transforms.SplitOptions{MaxSeqLen: 2}, []transforms.SequenceRow{
			row(test, 0, []int64{104, 105}, 106),
			row(train, 0, []int64{102, 103}, 104),
			row(train, 1, []int64{100, 101}, 102),
			row(valid, 0, []int64{103, 104}, 105),
		}, transforms.UserStats{Events: 7, TrainWindows: 2, Eval: true}},
		// Stride 1: e = 5 (t[1:4]), e = 4 (t[0:3]) reaches t[0] and stops.
		{7, transforms.SplitOptions{MaxSeqLen: 3, Stride: 1}, []transforms.SequenceRow{
			row(test, 0, []int64{103, 104, 105}, 106),
			row(train, 0, []int64{101, 102, 103}, 104),
			row(train, 1, []int64{100, 101, 102}, 103),
			row(valid, 0, []int64{102, 103, 104}, 105),
		}, transforms.UserStats{Events: 7, TrainWindows: 2, Eval: true}},
		// Stride past MaxSeqLen skips targets: e = 8 (t[6:7]), e = 4 (t[2:3]); e = 0 is too short.
		{10, transforms.SplitOptions{MaxSeqLen: 1, Stride: 4}, []transforms.SequenceRow{
			row(test, 0, []int64{108}, 109),
			row(train, 0, []int64{106}, 107),
			row(train, 1, []int64{102}, 103),
			row(valid, 0, []int64{107}, 108),
		}, transforms.UserStats{Events: 10, TrainWindows: 2, Eval: true}},
	} {
		s, ts := history(tc.n)
		got, st := collect(7, "u7", s, ts, tc.opt)
		sortRows(got)
		if !equalRows(got, tc.want) {
			t.Errorf("n=%d %+v: rows%s\nwant%s", tc.n, tc.opt, rowsString(got), rowsString(tc.want))
		}
		if st != tc.wantSt {
			t.Errorf("n=%d %+v: stats %+v; want %+v", tc.n, tc.opt, st, tc.wantSt)
		}
	}
}

func TestSplitUserReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 3000 {
		n := rng.IntN(41)
		opt := transforms.SplitOptions{MaxSeqLen: 1 + rng.IntN(10), Stride: rng.IntN(13)}
		s := make([]int64, n)
		ts := make([]int64, n)
		for i := range s {
			s[i] = 1 + rng.Int64N(5) // repeats allowed
			ts[i] = int64(i / 2)     // ties allowed
		}
		got, _ := collect(int64(trial), "k", s, ts, opt)
		want := refSplitUser(int64(trial), "k", s, ts, opt)
		sortRows(got)
		sortRows(want)
		if !equalRows(got, want) {
			t.Fatalf("n=%d %+v s=%v: rows%s\nwant%s", n, opt, s, rowsString(got), rowsString(want))
		}
	}
}

func TestSplitUserProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		n := rng.IntN(41)
		l := 1 + rng.IntN(10)
		opt := transforms.SplitOptions{MaxSeqLen: l, Stride: rng.IntN(13)}
		if rng.IntN(3) == 0 { // often the no-overlap case, spelled both ways
			opt.Stride = []int{0, l}[rng.IntN(2)]
		}
		s, ts := history(n)
		rows, st := collect(1, "u", s, ts, opt)
		name := fmt.Sprintf("n=%d %+v", n, opt)

		var train, valid, test int64
		labels := map[int64]int{} // item → times it is a training label
		for _, r := range rows {
			if len(r.Items) == 0 || len(r.Items) > l {
				t.Fatalf("%s: row %s has %d items; want 1..%d", name, rowString(r), len(r.Items), l)
			}
			if len(r.Timestamps) != len(r.Items) {
				t.Fatalf("%s: row %s: %d timestamps for %d items", name, rowString(r), len(r.Timestamps), len(r.Items))
			}
			// Items are consecutive events ending just before Target, with their own timestamps.
			for j, it := range r.Items {
				if want := r.Target - int64(len(r.Items)-j); it != want || r.Timestamps[j] != 10*(it-100) {
					t.Fatalf("%s: row %s: item %d = %d@%d; want %d@%d", name, rowString(r), j, it, r.Timestamps[j], want, 10*(want-100))
				}
			}
			if r.TargetTimestamp != 10*(r.Target-100) {
				t.Fatalf("%s: row %s: target timestamp %d; want %d", name, rowString(r), r.TargetTimestamp, 10*(r.Target-100))
			}
			switch r.Split {
			case transforms.SplitTrain:
				train++
				for _, it := range slices.Concat(r.Items[1:], []int64{r.Target}) {
					labels[it]++
				}
			case transforms.SplitValid:
				valid++
			case transforms.SplitTest:
				test++
			}
		}
		wantSt := transforms.UserStats{Events: int64(n), Short: n < 3, NoPair: n < 2, TrainWindows: train, Eval: n >= 3}
		if st != wantSt || valid != test || valid != min(1, int64(n)/3) {
			t.Fatalf("%s: stats %+v with %d valid, %d test rows; want %+v", name, st, valid, test, wantSt)
		}
		if opt.Stride != 0 && opt.Stride != l {
			continue
		}
		tlen := n
		if n >= 3 {
			tlen = n - 2
		}
		for i := 1; i < tlen; i++ {
			if c := labels[int64(100+i)]; c != 1 {
				t.Fatalf("%s: t[%d] is a training label %d times; want once", name, i, c)
			}
		}
		if len(labels) != max(0, tlen-1) {
			t.Fatalf("%s: %d distinct training labels; want %d", name, len(labels), max(0, tlen-1))
		}
	}
}

func TestSplitUserPanics(t *testing.T) {
	for _, tc := range []struct {
		name         string
		items, times []int64
		opt          transforms.SplitOptions
	}{
		{"lengths differ", []int64{1, 2}, []int64{1}, transforms.SplitOptions{MaxSeqLen: 2}},
		{"zero max_seq_len", []int64{1, 2}, []int64{1, 2}, transforms.SplitOptions{}},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(fmt.Sprint(r), "split: ") {
					t.Errorf("%s: recovered %v; want a panic starting with \"split: \"", tc.name, r)
				}
			}()
			transforms.SplitUser(1, "u", tc.items, tc.times, tc.opt, func(transforms.SequenceRow) {})
		}()
	}
}

func TestSplitOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opt  transforms.SplitOptions
		want string // "" for no error, else a part of it
	}{
		{transforms.SplitOptions{MaxSeqLen: 50}, ""},
		{transforms.SplitOptions{MaxSeqLen: 1, Stride: 7}, ""},
		{transforms.SplitOptions{MaxSeqLen: 0}, "max_seq_len must be positive, got 0"},
		{transforms.SplitOptions{MaxSeqLen: -3, Stride: 1}, "got -3"},
		{transforms.SplitOptions{MaxSeqLen: 5, Stride: -1}, "stride must not be negative, got -1"},
	} {
		err := tc.opt.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: Validate() = %v; want nil", tc.opt, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: Validate() = %v; want an error containing %q", tc.opt, err, tc.want)
		}
	}
}

func TestEncodeAndSplit(t *testing.T) {
	users := features.BuildVocab("user_id", map[string]int64{"alice": 2, "bob": 1, "carol": 1}, 0)
	// ids: a=1, b=2, c=3, d=4 (counts descending)
	items := features.BuildVocab("item_id", map[string]int64{"a": 9, "b": 8, "c": 7, "d": 6}, 0)
	opt := transforms.SplitOptions{MaxSeqLen: 5}
	for _, tc := range []struct {
		name   string
		h      transforms.History
		want   []transforms.SequenceRow
		wantSt transforms.SplitStats
	}{
		{"out-of-vocabulary items dropped after sorting", transforms.History{User: "alice",
			Items: []string{"c", "x", "a", "d", "y", "b"},
			Times: []int64{30, 5, 10, 40, 25, 20},
			Order: []int64{1, 2, 3, 4, 5, 6}, Pos: make([]int32, 6)},
			[]transforms.SequenceRow{
				{User: 1, UserKey: "alice", Split: transforms.SplitTest, Items: []int64{1, 2, 3}, Timestamps: []int64{10, 20, 30}, Target: 4, TargetTimestamp: 40},
				{User: 1, UserKey: "alice", Split: transforms.SplitTrain, Items: []int64{1}, Timestamps: []int64{10}, Target: 2, TargetTimestamp: 20},
				{User: 1, UserKey: "alice", Split: transforms.SplitValid, Items: []int64{1, 2}, Timestamps: []int64{10, 20}, Target: 3, TargetTimestamp: 30},
			},
			transforms.SplitStats{Users: 1, Events: 4, OOVEvents: 2, MaxLen: 4, Train: 1, Valid: 1, Test: 1}},
		{"unknown user dropped", transforms.History{User: "mallory",
			Items: []string{"a", "b", "c"}, Times: []int64{1, 2, 3}, Order: []int64{1, 2, 3}, Pos: make([]int32, 3)},
			nil, transforms.SplitStats{UsersDropped: 1}},
		{"every item out of vocabulary", transforms.History{User: "bob",
			Items: []string{"x", "y"}, Times: []int64{1, 2}, Order: []int64{1, 2}, Pos: make([]int32, 2)},
			nil, transforms.SplitStats{OOVEvents: 2, UsersNoPair: 1}},
		{"two events: train only", transforms.History{User: "carol",
			Items: []string{"d", "a"}, Times: []int64{1, 1}, Order: []int64{2, 1}, Pos: make([]int32, 2)},
			[]transforms.SequenceRow{
				{User: 3, UserKey: "carol", Split: transforms.SplitTrain, Items: []int64{1}, Timestamps: []int64{1}, Target: 4, TargetTimestamp: 1},
			},
			transforms.SplitStats{Users: 1, Events: 2, UsersShort: 1, MaxLen: 2, Train: 1}},
	} {
		var got []transforms.SequenceRow
		st := transforms.EncodeAndSplit(&tc.h, users, items, opt, func(r transforms.SequenceRow) { got = append(got, r) })
		sortRows(got)
		if !equalRows(got, tc.want) {
			t.Errorf("%s: rows%s\nwant%s", tc.name, rowsString(got), rowsString(tc.want))
		}
		if st != tc.wantSt {
			t.Errorf("%s: stats %+v; want %+v", tc.name, st, tc.wantSt)
		}
	}
}
