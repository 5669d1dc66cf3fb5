package transforms_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/transforms"
)

// Expected values in this file are worked out by hand from the doc
// comments of history.go, files.go, finalize.go (BaseDir) and vocab.go;
// every comparison is exact.

// hEvent is one event of a History, as its parallel slices hold it.
type hEvent struct {
	item  string
	time  int64
	order int64
	pos   int32
}

func makeHistory(user string, evs []hEvent) transforms.History {
	h := transforms.History{User: user}
	for _, e := range evs {
		h.Items = append(h.Items, e.item)
		h.Times = append(h.Times, e.time)
		h.Order = append(h.Order, e.order)
		h.Pos = append(h.Pos, e.pos)
	}
	return h
}

func events(h *transforms.History) []hEvent {
	evs := make([]hEvent, h.Len())
	for i := range evs {
		evs[i] = hEvent{h.Items[i], h.Times[i], h.Order[i], h.Pos[i]}
	}
	return evs
}

func TestHistorySort(t *testing.T) {
	k := transforms.OrderKey
	for _, tc := range []struct {
		name string
		in   []hEvent
		want []string // items after Sort
	}{
		{"empty", nil, nil},
		{"by time", []hEvent{{"c", 30, k(0, 1), 0}, {"a", 10, k(0, 2), 0}, {"b", 20, k(0, 3), 0}}, []string{"a", "b", "c"}},
		{"time ties by line", []hEvent{{"b", 5, k(0, 9), 0}, {"a", 5, k(0, 2), 0}, {"c", 6, k(0, 1), 0}}, []string{"a", "b", "c"}},
		{"time ties by file before line", []hEvent{{"b", 5, k(1, 1), 0}, {"a", 5, k(0, 1<<40-1), 0}}, []string{"a", "b"}},
		{"line ties by position", []hEvent{{"c", 1, k(2, 4), 2}, {"a", 1, k(2, 4), 0}, {"b", 1, k(2, 4), 1}}, []string{"a", "b", "c"}},
		{"time before file order", []hEvent{{"b", 2, k(0, 1), 0}, {"a", 1, k(3, 9), 5}}, []string{"a", "b"}},
		{"negative times", []hEvent{{"b", 0, k(0, 1), 0}, {"a", -1, k(0, 2), 0}}, []string{"a", "b"}},
	} {
		h := makeHistory("u", tc.in)
		h.Sort()
		if !slices.Equal(h.Items, tc.want) {
			t.Errorf("%s: Sort gives items %q; want %q", tc.name, h.Items, tc.want)
		}
		if h.User != "u" || len(h.Times) != len(tc.want) || len(h.Order) != len(tc.want) || len(h.Pos) != len(tc.want) {
			t.Errorf("%s: after Sort user %q, %d times, %d orders, %d positions; want u and %d of each",
				tc.name, h.User, len(h.Times), len(h.Order), len(h.Pos), len(tc.want))
		}
	}
}

// randomEvents gives n events with many equal timestamps and distinct
// (order, pos) keys, as a real file gives.
func randomEvents(rng *rand.Rand, n int) []hEvent {
	evs := make([]hEvent, n)
	for i := range evs {
		evs[i] = hEvent{
			item:  fmt.Sprintf("i%d", i),
			time:  rng.Int64N(5),
			order: transforms.OrderKey(i/6, int64(1+i%6/2)),
			pos:   int32(i % 2),
		}
	}
	return evs
}

// sortedRef is the obvious reading of Sort's doc comment.
func sortedRef(evs []hEvent) []hEvent {
	out := slices.Clone(evs)
	slices.SortStableFunc(out, func(a, b hEvent) int {
		return cmp.Or(cmp.Compare(a.time, b.time), cmp.Compare(a.order, b.order), cmp.Compare(a.pos, b.pos))
	})
	return out
}

func TestHistorySortPermutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 50 {
		evs := randomEvents(rng, rng.IntN(60))
		want := sortedRef(evs)
		for range 20 {
			perm := slices.Clone(evs)
			rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			h := makeHistory("u", perm)
			h.Sort()
			if got := events(&h); !slices.Equal(got, want) {
				t.Fatalf("trial %d: Sort of %v\ngives %v\nwant  %v", trial, perm, got, want)
			}
		}
	}
}

func TestHistoryMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 50 {
		evs := randomEvents(rng, rng.IntN(60))
		rng.Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
		// Cut evs into chunks at random points and merge them in order.
		var h transforms.History
		for rest := evs; len(rest) > 0; {
			c := 1 + rng.IntN(len(rest))
			part := makeHistory("u", rest[:c])
			h.Merge(&part)
			rest = rest[c:]
		}
		if got := events(&h); !slices.Equal(got, evs) {
			t.Fatalf("trial %d: Merge of chunks gives %v; want the concatenation %v", trial, got, evs)
		}
		h.Sort()
		if got, want := events(&h), sortedRef(evs); !slices.Equal(got, want) {
			t.Fatalf("trial %d: Merge then Sort gives %v; want %v", trial, got, want)
		}
	}
}

func TestHistoryAdd(t *testing.T) {
	var h transforms.History
	h.Add(2, transforms.Event{User: "u", Item: "a", Timestamp: 9, Line: 17, Pos: 3})
	h.Add(0, transforms.Event{User: "u", Item: "b", Timestamp: 9, Line: 40})
	want := []hEvent{{"a", 9, 2<<40 | 17, 3}, {"b", 9, 40, 0}}
	if got := events(&h); !slices.Equal(got, want) {
		t.Errorf("Add gives %v; want %v", got, want)
	}
	h.Sort() // same time: file 0 comes first
	if !slices.Equal(h.Items, []string{"b", "a"}) {
		t.Errorf("after Sort items %q; want [b a]", h.Items)
	}
}

func TestJoinPath(t *testing.T) {
	for _, tc := range []struct {
		base string
		elem []string
		want string
	}{
		{"gs://b/", []string{"t", "f"}, "gs://b/t/f"},
		{"gs://b", []string{"t", "f"}, "gs://b/t/f"},
		{"gs://b/x/", []string{"/t/", "/f"}, "gs://b/x/t/f"},
		{"gs://b/x", []string{"sequences/part-00000-of-00001.parquet"}, "gs://b/x/sequences/part-00000-of-00001.parquet"},
		{"gs://b/tmp", []string{"*"}, "gs://b/tmp/*"},
		{"gs://b/x/", nil, "gs://b/x"},
		{"gs://b/x", []string{"", "last.ckpt"}, "gs://b/x/last.ckpt"}, // empty elements dropped, as filepath.Join does
		{"s3://b/x", []string{"y"}, "s3://b/x/y"},
		{"/tmp/out", []string{"t", "f"}, "/tmp/out/t/f"},
		{"/tmp/out/", []string{"t/"}, "/tmp/out/t"},
		{"out", []string{"t"}, "out/t"},
		{"out", nil, "out"},
	} {
		if got := transforms.JoinPath(tc.base, tc.elem...); got != tc.want {
			t.Errorf("JoinPath(%q, %q) = %q; want %q", tc.base, tc.elem, got, tc.want)
		}
	}
}

func TestFilesBaseNameBaseDir(t *testing.T) {
	for _, tc := range []struct {
		path, name, dir string
	}{
		{"gs://b/x/y", "y", "gs://b/x"},
		{"gs://b/x/y/", "y", "gs://b/x"},
		{"gs://b/x", "x", "gs://b"},
		{"gs://b", "b", "gs://b"}, // a bucket is its own folder
		{"gs://b/", "b", "gs://b"},
		{"/tmp/a/b.parquet", "b.parquet", "/tmp/a"},
		{"/tmp/a/", "a", "/tmp"},
		{"/a", "a", "/"},
		{"a/b", "b", "a"},
		{"a", "a", "."},
	} {
		if got := transforms.BaseName(tc.path); got != tc.name {
			t.Errorf("BaseName(%q) = %q; want %q", tc.path, got, tc.name)
		}
		if got := transforms.BaseDir(tc.path); got != tc.dir {
			t.Errorf("BaseDir(%q) = %q; want %q", tc.path, got, tc.dir)
		}
	}
}

func TestVocabsFromCounts(t *testing.T) {
	var c, part transforms.TokenCounts
	for _, ev := range [][2]string{{"u1", "10"}, {"u1", "9"}, {"u2", "9"}, {"u1", "a"}} {
		part.Add(features.SourceUser, ev[0])
		part.Add(features.SourceItem, ev[1])
	}
	c.Merge(part) // into the zero value
	c.Merge(transforms.TokenCounts{Counts: map[string]map[string]int64{features.SourceItem: {"10": 1, "b": 1}}})
	specs := []transforms.VocabSpec{
		{Name: "user_id", Source: features.SourceUser},
		{Name: "item_id", Source: features.SourceItem, MinCount: 2},
		{Name: "genres", Source: features.SourceCategory},
	}
	vs := transforms.VocabsFromCounts(c, specs)
	want := []transforms.VocabRow{ // features by name, ids ascending
		{Feature: "item_id", ID: 1, Token: "9", Count: 2}, // 9 before 10: numeric tie-break
		{Feature: "item_id", ID: 2, Token: "10", Count: 2},
		{Feature: "user_id", ID: 1, Token: "u1", Count: 3},
		{Feature: "user_id", ID: 2, Token: "u2", Count: 1},
	}
	if got := transforms.VocabRows(vs); !slices.Equal(got, want) {
		t.Errorf("VocabRows = %+v; want %+v", got, want)
	}
	if g := vs["genres"]; g == nil || g.Len() != 0 || g.Size() != 1 {
		t.Errorf("genres vocabulary = %+v; want an empty one", g)
	}
}
