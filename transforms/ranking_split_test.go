package transforms_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/genrec/genrec/transforms"
)

// Expected cuts are worked out by hand from TimeSplitCuts' doc comment;
// the random split's tolerances are stated with each test.

func TestTimeSplitCuts(t *testing.T) {
	m := math.MaxInt64
	for _, tc := range []struct {
		name  string
		times map[int64]int64
		ratio [2]float64
		want  transforms.TimeCuts
	}{
		// Sorted times 1..10: t(7) = 8, t(8) = 9.
		{"distinct", map[int64]int64{1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1}, [2]float64{0.7, 0.1}, transforms.TimeCuts{ValidCut: 8, TestCut: 9}},
		// Sorted 1,1,1,2,2,2,3,3,3,3: t(5) = 2, t(8) = 3; ties go to the later split.
		{"ties", map[int64]int64{1: 3, 2: 3, 3: 4}, [2]float64{0.5, 0.3}, transforms.TimeCuts{ValidCut: 2, TestCut: 3}},
		{"all train", map[int64]int64{1: 3, 2: 3}, [2]float64{1, 0}, transforms.TimeCuts{ValidCut: int64(m), TestCut: int64(m)}},
		{"no valid", map[int64]int64{1: 1, 2: 1, 3: 1, 4: 1}, [2]float64{0.5, 0}, transforms.TimeCuts{ValidCut: 3, TestCut: 3}},
		{"all test", map[int64]int64{1: 3, 2: 3}, [2]float64{0, 0}, transforms.TimeCuts{ValidCut: 1, TestCut: 1}},
		{"no rows", nil, [2]float64{0.7, 0.1}, transforms.TimeCuts{ValidCut: int64(m), TestCut: int64(m)}},
		// 0.7·100000 is 70000.00000000001 in float64: k = 70000, t(70000) = 70001.
		{"large", func() map[int64]int64 {
			c := map[int64]int64{}
			for i := range int64(100000) {
				c[i+1] = 1
			}
			return c
		}(), [2]float64{0.7, 0.1}, transforms.TimeCuts{ValidCut: 70001, TestCut: 80001}},
	} {
		if got := transforms.TimeSplitCuts(transforms.TimeCountsOf(tc.times), tc.ratio); got != tc.want {
			t.Errorf("%s: cuts %+v; want %+v", tc.name, got, tc.want)
		}
	}
}

func TestMergeTimeCounts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 100 {
		a, b, all := map[int64]int64{}, map[int64]int64{}, map[int64]int64{}
		for range rng.IntN(30) {
			t := rng.Int64N(20) - 5
			a[t]++
			all[t]++
		}
		for range rng.IntN(30) {
			t := rng.Int64N(20) - 5
			b[t]++
			all[t]++
		}
		got := transforms.MergeTimeCounts(transforms.TimeCountsOf(a), transforms.TimeCountsOf(b))
		want := transforms.TimeCountsOf(all)
		if !slices.Equal(got.Times, want.Times) || !slices.Equal(got.Counts, want.Counts) {
			t.Fatalf("trial %d: merge gives %+v; want %+v", trial, got, want)
		}
	}
}

// Over 100,000 rows each split's share is Binomial/n with sd at most
// 0.0015; the test allows 0.01. A rerun gives the same splits, another
// seed moves about 1 - (.7² + .1² + .2²) = 46% of the rows.
func TestRandomSplit(t *testing.T) {
	ratio := [2]float64{0.7, 0.1}
	const n = 100000
	count := map[string]int{}
	moved := 0
	for i := range n {
		user, item, ts := "u"+strconv.Itoa(i%977), int64(i%1601+1), int64(880000000+i/3)
		s := transforms.RandomSplit(1, user, item, ts, ratio)
		if s != transforms.RandomSplit(1, user, item, ts, ratio) {
			t.Fatal("RandomSplit is not deterministic")
		}
		if s != transforms.RandomSplit(2, user, item, ts, ratio) {
			moved++
		}
		count[s]++
	}
	for split, want := range map[string]float64{transforms.SplitTrain: 0.7, transforms.SplitValid: 0.1, transforms.SplitTest: 0.2} {
		if got := float64(count[split]) / n; math.Abs(got-want) > 0.01 {
			t.Errorf("%s share %.4f; want %.2f ± 0.01", split, got, want)
		}
	}
	if f := float64(moved) / n; math.Abs(f-0.46) > 0.02 {
		t.Errorf("another seed moves %.3f of the rows; want 0.46 ± 0.02", f)
	}
}
