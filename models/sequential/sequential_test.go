package sequential

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/transforms"
)

func row(user int64, split string, items []int64, target int64) transforms.SequenceRow {
	ts := make([]int64, len(items))
	for i := range ts {
		ts[i] = int64(100 * (i + 1))
	}
	return transforms.SequenceRow{User: user, UserKey: "u", Split: split, Items: items, Timestamps: ts,
		Target: target, TargetTimestamp: int64(100 * (len(items) + 1))}
}

func TestNewBatch(t *testing.T) {
	rows := []transforms.SequenceRow{row(1, "train", []int64{5, 6, 7}, 8), row(2, "valid", []int64{1, 2, 3, 4, 9}, 3)}
	b, err := NewBatch(rows, []int{0, 1}, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	wantItems := []int32{5, 6, 7, 0, 2, 3, 4, 9}  // row 1 keeps its last 4 items
	wantLabels := []int32{6, 7, 8, 0, 3, 4, 9, 3} // next item, the target last
	wantQuery := []int64{200, 300, 400, 0, 300, 400, 500, 600}
	if !slices.Equal(b.Items, wantItems) || !slices.Equal(b.Labels, wantLabels) || !slices.Equal(b.QueryTimes, wantQuery) || !slices.Equal(b.Lens, []int{3, 4}) {
		t.Errorf("batch: items %v labels %v query %v lens %v\nwant items %v labels %v query %v lens [3 4]", b.Items, b.Labels, b.QueryTimes, b.Lens, wantItems, wantLabels, wantQuery)
	}
	ev, _ := NewBatch(rows, []int{0}, 4, false)
	if !slices.Equal(ev.Labels, []int32{0, 0, 8, 0}) {
		t.Errorf("evaluation labels %v, want only the last position labelled", ev.Labels)
	}
	if got := b.Targets(); got != 7 {
		t.Errorf("Targets() = %d, want 7", got)
	}
	bad := []transforms.SequenceRow{row(3, "train", nil, 1), {User: 4, Split: "train", Items: []int64{1, 2}, Timestamps: []int64{1}}}
	for i, want := range []string{"empty history", "2 items but 1 timestamps"} {
		if _, err := NewBatch(bad, []int{i}, 4, true); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad row %d: err = %v, want %q", i, err, want)
		}
	}
}

func TestStochasticLength(t *testing.T) {
	long := row(1, "train", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 16)
	rng := rand.New(rand.NewPCG(1, 1))
	if got := StochasticLength(long, 16, 0, rng); len(got.Items) != 15 {
		t.Errorf("alpha 0 changed the row")
	}
	// N=16, alpha=1.5: keep 16^0.75 = 8 of 16 items with probability 1 - 16^1.5/16^2 = 0.75.
	sub := 0
	for range 2000 {
		got := StochasticLength(long, 16, 1.5, rng)
		if len(got.Items) == 15 {
			continue
		}
		sub++
		all := append(append([]int64{}, got.Items...), got.Target)
		if len(all) != 8 || !slices.IsSorted(all) || len(got.Timestamps) != 7 {
			t.Fatalf("subsample %v (target %d): want 8 items in order", got.Items, got.Target)
		}
	}
	if frac := float64(sub) / 2000; frac < 0.72 || frac > 0.78 {
		t.Errorf("subsampled %.3f of rows, want 0.75 ± 0.03", frac)
	}
	short := row(1, "train", []int64{1, 2, 3}, 4)
	if got := StochasticLength(short, 16, 1.5, rng); len(got.Items) != 3 {
		t.Errorf("a short row was subsampled")
	}
}

func TestHistories(t *testing.T) {
	rows := []transforms.SequenceRow{
		row(1, "train", []int64{1, 2}, 3),
		row(1, "valid", []int64{1, 2, 3}, 4),
		row(1, "test", []int64{1, 2, 3, 4}, 5),
	}
	if got := Histories(rows, "valid")[1]; !slices.Equal(got, []int32{1, 2, 3}) {
		t.Errorf("valid history %v, want [1 2 3]", got)
	}
	if got := Histories(rows, "test")[1]; !slices.Equal(got, []int32{1, 2, 3, 4}) {
		t.Errorf("test history %v, want [1 2 3 4] (the valid target included, the test target not)", got)
	}
}

func TestTopK(t *testing.T) {
	r := row(1, "test", []int64{2}, 3)
	scores := []float32{9, 1, 8, 5, 5, 7, 0}
	rec := topK(&r, scores, []int32{5}, 3)
	// id 0 is padding, 2 is in the row, 5 in the history: 3 and 4 tie at 5, the smaller id first.
	if !slices.Equal(rec.Items, []int64{3, 4, 1}) || !slices.Equal(rec.Scores, []float32{5, 5, 1}) {
		t.Errorf("topK = %v %v, want [3 4 1] [5 5 1]", rec.Items, rec.Scores)
	}
}

// TestRankMaskedMatchesRankOf compares the one-pass ranking with
// eval.RankOf on random scores with ties, masks and the target masked.
func TestRankMaskedMatchesRankOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := range 500 {
		n := 2 + rng.IntN(40)
		scores := make([]float32, n)
		for i := range scores {
			scores[i] = float32(rng.IntN(5)) // many ties
		}
		var h []int32
		for j := 1; j < n; j++ {
			if rng.IntN(3) == 0 {
				h = append(h, int32(j))
			}
		}
		target := 1 + rng.IntN(n-1)
		hs := map[int]bool{}
		for _, x := range h {
			hs[int(x)] = true
		}
		wantRank, wantN, _ := eval.RankOf(scores, target, func(j int) bool { return j == 0 || hs[j] })
		gotRank, gotN, err := RankMasked(scores, target, h)
		if err != nil || gotRank != wantRank || gotN != wantN {
			t.Fatalf("trial %d: RankMasked = %d of %d (%v), RankOf = %d of %d", trial, gotRank, gotN, err, wantRank, wantN)
		}
	}
}
