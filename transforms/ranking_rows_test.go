package transforms_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/transforms"
)

// keyHistoryFn keys a partial history by its user, as ReadEvents does.
func keyHistoryFn(h transforms.History) (string, transforms.History) { return h.User, h }

func init() { register.Function1x2(keyHistoryFn) }

// BuildRankingRows in a pipeline, from partial histories with feedback,
// gives exactly the rows and stats of the per-user functions run in
// process, and its time split is monotone.
func TestBuildRankingRowsPipeline(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	userCounts, itemCounts := map[string]int64{}, map[string]int64{}
	var full []transforms.History // one per user, for the reference
	var parts []transforms.History
	for u := range 40 {
		user := "user" + strconv.Itoa(u)
		var evs []rEvent
		for i := range 1 + rng.IntN(25) {
			e := rEvent{item: "it" + strconv.Itoa(rng.IntN(60)), time: 1000 + rng.Int64N(300), order: int64(u*100 + i + 1), label: -1}
			switch rng.IntN(4) {
			case 0: // implicit
			case 1:
				e.label = int8(rng.IntN(2))
			default:
				e.rating, e.rated = float64(1+rng.IntN(5)), true
			}
			evs = append(evs, e)
		}
		if u%7 != 3 { // some users are out of vocabulary
			userCounts[user] = int64(len(evs))
		}
		for _, e := range evs {
			if e.item != "it59" { // an out-of-vocabulary item
				itemCounts[e.item]++
			}
		}
		full = append(full, rankingHistory(user, evs))
		for len(evs) > 0 { // cut into partial histories
			c := 1 + rng.IntN(len(evs))
			parts = append(parts, rankingHistory(user, evs[:c]))
			evs = evs[c:]
		}
	}
	vs := features.Vocabs{"user_id": features.BuildVocab("user_id", userCounts, 0), "item_id": features.BuildVocab("item_id", itemCounts, 0)}

	for _, split := range []string{transforms.SplitByTime, transforms.SplitByRandom} {
		t.Run(split, func(t *testing.T) {
			opt := transforms.RankingOptions{MaxSeqLen: 6, Negatives: 2, SplitBy: split, Seed: 5, UserVocab: "user_id", ItemVocab: "item_id"}.WithDefaults()
			// Reference: per-user functions, cuts from all rows' times.
			var us []transforms.RankingUser
			var wantSt transforms.RankingStats
			times := map[int64]int64{}
			for _, h := range full {
				u, st := transforms.EncodeRanking(&h, vs["user_id"], vs["item_id"], opt)
				wantSt.Merge(st)
				for _, ev := range u.ImpEvents {
					times[u.Times[ev]]++
				}
				us = append(us, u)
			}
			cuts := transforms.TimeSplitCuts(transforms.TimeCountsOf(times), opt.SplitRatio)
			if split == transforms.SplitByTime {
				wantSt.HasCuts, wantSt.ValidCut, wantSt.TestCut = true, cuts.ValidCut, cuts.TestCut
			}
			var want []transforms.RankingRow
			for i := range us {
				wantSt.Merge(transforms.RankingRows(&us[i], opt, cuts, func(r transforms.RankingRow) { want = append(want, r) }))
			}

			out := t.TempDir()
			p, s := beam.NewPipelineWithRoot()
			hist := beam.ParDo(s, keyHistoryFn, beam.CreateList(s, parts))
			rows, stats := transforms.BuildRankingRows(s, hist, beam.Create(s, vs), opt)
			passert.Equals(s, stats, wantSt)
			temps := transforms.WriteRanking(s, out+"/_temporary/t", rows)
			transforms.FinalizeParquet(s, out, temps, beam.Create(s, transforms.Gate{}))
			ptest.RunAndValidate(t, p)

			got, err := transforms.LoadTable[transforms.RankingRow](context.Background(), out+"/"+transforms.TableRanking)
			if err != nil {
				t.Fatal(err)
			}
			sortRankingRows(got)
			sortRankingRows(want)
			if len(got) != len(want) || len(want) == 0 {
				t.Fatalf("%d rows, want %d (> 0)", len(got), len(want))
			}
			for i := range got {
				if !equalRankingRow(got[i], want[i]) {
					t.Fatalf("row %d:\ngot  %+v\nwant %+v", i, got[i], want[i])
				}
			}
			if wantSt.UsersDropped == 0 || wantSt.OOVEvents == 0 || wantSt.Rated == 0 || wantSt.Labelled == 0 || wantSt.Implicit == 0 || wantSt.SampledNegatives == 0 {
				t.Errorf("the data should exercise every case: %+v", wantSt)
			}
			if split == transforms.SplitByTime {
				assertMonotone(t, got)
			}
		})
	}
}

// assertMonotone checks max train time < min valid time and max valid
// time < min test time (for the splits that have rows).
func assertMonotone(t *testing.T, rows []transforms.RankingRow) {
	t.Helper()
	lo, hi := map[string]int64{}, map[string]int64{}
	for _, r := range rows {
		if _, ok := lo[r.Split]; !ok {
			lo[r.Split], hi[r.Split] = r.Timestamp, r.Timestamp
		}
		lo[r.Split], hi[r.Split] = min(lo[r.Split], r.Timestamp), max(hi[r.Split], r.Timestamp)
	}
	order := []string{transforms.SplitTrain, transforms.SplitValid, transforms.SplitTest}
	for i, a := range order {
		for _, b := range order[i+1:] {
			_, okA := hi[a]
			_, okB := lo[b]
			if okA && okB && hi[a] >= lo[b] {
				t.Errorf("time split not monotone: %s ends at %d, %s starts at %d", a, hi[a], b, lo[b])
			}
		}
	}
	if len(lo) != 3 {
		t.Errorf("splits with rows: %v; want all three", fmt.Sprint(lo))
	}
}
