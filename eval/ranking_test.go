package eval_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/genrec/genrec/eval"
)

// tol is the tolerance of every comparison of computed metrics in this
// package's tests: the expected values are either exact sums of a few
// terms or the same sums taken in another order.
const tol = 1e-12

func near(a, b float64) bool { return math.Abs(a-b) <= tol }

// fourUsers has ranks 0, 2, 9 and 10 among 11 candidates each.
var fourUsers = []eval.UserRank{
	{User: 1, Rank: 0, NumCandidates: 11},
	{User: 2, Rank: 2, NumCandidates: 11},
	{User: 3, Rank: 9, NumCandidates: 11},
	{User: 4, Rank: 10, NumCandidates: 11},
}

// Expected values are hand-computed from the definitions: NDCG of rank r
// is 1/log2(r+2), so rank 0 gives 1 and rank 2 gives 1/log2(4) = 0.5; the
// per-user AUC of rank r among 11 is (10-r)/10.
func TestRankingMetrics(t *testing.T) {
	one := func(rank int64) []eval.UserRank { return []eval.UserRank{{User: 7, Rank: rank, NumCandidates: 11}} }
	tests := []struct {
		name  string
		fn    func([]eval.UserRank) (float64, error)
		ranks []eval.UserRank
		want  float64
	}{
		{"NDCG@10 rank 0", ndcgAt(10), one(0), 1},
		{"NDCG@10 rank 2", ndcgAt(10), one(2), 0.5},
		{"NDCG@10 rank 9", ndcgAt(10), one(9), 1 / math.Log2(11)},
		{"NDCG@10 rank 10", ndcgAt(10), one(10), 0},
		{"NDCG@3 four users", ndcgAt(3), fourUsers, (1 + 0.5) / 4},
		{"NDCG@10 four users", ndcgAt(10), fourUsers, (1 + 0.5 + 1/math.Log2(11)) / 4},
		{"HR@1 four users", hrAt(1), fourUsers, 0.25},
		{"HR@3 four users", hrAt(3), fourUsers, 0.5},
		{"HR@10 four users", hrAt(10), fourUsers, 0.75},
		{"HR@11 four users", hrAt(11), fourUsers, 1},
		{"Recall@10 four users", recallAt(10), fourUsers, 0.75},
		{"Precision@10 four users", precisionAt(10), fourUsers, 0.075},
		{"MRR four users", eval.MRR, fourUsers, (1 + 1.0/3 + 1.0/10 + 1.0/11) / 4},
		{"MRR rank 0", eval.MRR, one(0), 1},
		{"AUC four users", eval.FullRankAUC, fourUsers, (1 + 0.8 + 0.1 + 0) / 4},
		{"AUC best of 2", eval.FullRankAUC, []eval.UserRank{{Rank: 0, NumCandidates: 2}}, 1},
		{"AUC worst of 2", eval.FullRankAUC, []eval.UserRank{{Rank: 1, NumCandidates: 2}}, 0},
	}
	for _, tc := range tests {
		got, err := tc.fn(tc.ranks)
		if err != nil {
			t.Errorf("%s: unexpected error %v", tc.name, err)
			continue
		}
		if !near(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestRankingMetricsErrors(t *testing.T) {
	fns := map[string]func([]eval.UserRank) (float64, error){
		"HR@10": hrAt(10), "NDCG@10": ndcgAt(10), "P@10": precisionAt(10), "R@10": recallAt(10),
		"MRR": eval.MRR, "AUC": eval.FullRankAUC,
		"Ranking": func(r []eval.UserRank) (float64, error) { _, err := eval.Ranking(r, []int{10}); return 0, err },
	}
	bad := map[string][]eval.UserRank{
		"empty":          nil,
		"rank too large": {{User: 3, Rank: 11, NumCandidates: 11}},
		"negative rank":  {{User: 3, Rank: -1, NumCandidates: 11}},
		"no candidates":  {{User: 3, Rank: 0, NumCandidates: 0}},
	}
	for fname, fn := range fns {
		for cname, ranks := range bad {
			if got, err := fn(ranks); err == nil {
				t.Errorf("%s on %s input: got %v, want an error", fname, cname, got)
			}
		}
	}
	one := []eval.UserRank{{User: 3, Rank: 0, NumCandidates: 1}}
	if got, err := eval.FullRankAUC(one); err == nil {
		t.Errorf("FullRankAUC with 1 candidate: got %v, want an error", got)
	}
	if _, err := eval.Ranking(one, []int{10}); err == nil {
		t.Error("Ranking with 1 candidate: got no error, want one")
	}
}

func TestBadKPanics(t *testing.T) {
	cases := map[string]func(){
		"HitRate k=0":       func() { eval.HitRate(fourUsers, 0) },
		"NDCG k=-1":         func() { eval.NDCG(fourUsers, -1) },
		"Ranking k=0":       func() { eval.Ranking(fourUsers, []int{10, 0}) },
		"Ranking dup k":     func() { eval.Ranking(fourUsers, []int{10, 10}) },
		"PrecisionRecall 0": func() { eval.PrecisionRecallAtK([]int64{1}, map[int64]bool{1: true}, 0) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: got no panic", name)
				}
			}()
			f()
		}()
	}
}

// Ranking must agree with the single-metric functions, which compute each
// sum on its own.
func TestRankingAgreesWithFunctions(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	ks := []int{10, 50, 200}
	for _, users := range []int{1, 7, 1000} {
		ranks := randomRanks(rnd, users)
		rep, err := eval.Ranking(ranks, ks)
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, ranks, ks, rep)
	}
}

func TestPrecisionRecallAtK(t *testing.T) {
	ranked := []int64{5, 3, 8, 1}
	relevant := map[int64]bool{3: true, 1: true, 7: true, 9: false}
	// Hand-computed: 3 relevant items; the top 2 hold item 3, the top 4
	// hold items 3 and 1.
	tests := []struct {
		k    int
		p, r float64
	}{
		{k: 1, p: 0, r: 0},
		{k: 2, p: 0.5, r: 1.0 / 3},
		{k: 4, p: 0.5, r: 2.0 / 3},
		{k: 10, p: 0.2, r: 2.0 / 3},
	}
	for _, tc := range tests {
		p, r, err := eval.PrecisionRecallAtK(ranked, relevant, tc.k)
		if err != nil {
			t.Errorf("k=%d: unexpected error %v", tc.k, err)
			continue
		}
		if !near(p, tc.p) || !near(r, tc.r) {
			t.Errorf("k=%d: got P %v R %v, want P %v R %v", tc.k, p, r, tc.p, tc.r)
		}
	}
	if _, _, err := eval.PrecisionRecallAtK(ranked, map[int64]bool{9: false}, 2); err == nil {
		t.Error("no relevant items: got no error, want one")
	}
	if _, _, err := eval.PrecisionRecallAtK([]int64{3, 3}, relevant, 2); err == nil {
		t.Error("repeated item: got no error, want one")
	}
}

func TestReportJSON(t *testing.T) {
	rep, err := eval.Ranking(fourUsers, []int{3, 10})
	if err != nil {
		t.Fatal(err)
	}
	rep.NDCG[1], rep.AUC = 0.25, 0.5 // short in JSON
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Users":4,"HR@3":0.5,"HR@10":0.75,"NDCG@3":0.375,"NDCG@10":0.25,"MRR":0.38106060606060604,"AUC":0.5}`
	if string(b) != want {
		t.Errorf("JSON: got %s, want %s", b, want)
	}
	var back eval.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rep) {
		t.Errorf("JSON round trip: got %+v, want %+v", back, rep)
	}
	m := rep.Map()
	if m["HR@10"] != 0.75 || m["NDCG@3"] != 0.375 || m["Users"] != 4 || len(m) != 7 {
		t.Errorf("Map: got %v", m)
	}
	if err := json.Unmarshal([]byte(`{"HR@10":0.5}`), &back); err == nil {
		t.Error("JSON with HR@10 but no NDCG@10: got no error, want one")
	}
}

func hrAt(k int) func([]eval.UserRank) (float64, error) {
	return func(r []eval.UserRank) (float64, error) { return eval.HitRate(r, k) }
}

func ndcgAt(k int) func([]eval.UserRank) (float64, error) {
	return func(r []eval.UserRank) (float64, error) { return eval.NDCG(r, k) }
}

func recallAt(k int) func([]eval.UserRank) (float64, error) {
	return func(r []eval.UserRank) (float64, error) { return eval.Recall(r, k) }
}

func precisionAt(k int) func([]eval.UserRank) (float64, error) {
	return func(r []eval.UserRank) (float64, error) { return eval.Precision(r, k) }
}

// randomRanks returns users ranks, with catalogues of 2 to 5000 items and
// ranks skewed towards the top so every cutoff sees hits.
func randomRanks(rnd *rand.Rand, users int) []eval.UserRank {
	ranks := make([]eval.UserRank, users)
	for u := range ranks {
		n := 2 + rnd.Int64N(4999)
		r := int64(float64(n) * math.Pow(rnd.Float64(), 4))
		ranks[u] = eval.UserRank{User: int64(u), Rank: min(r, n-1), NumCandidates: n}
	}
	return ranks
}

// checkReport compares rep with the single-metric functions on ranks.
func checkReport(t *testing.T, ranks []eval.UserRank, ks []int, rep eval.Report) {
	t.Helper()
	if rep.Users != int64(len(ranks)) {
		t.Errorf("Users: got %d, want %d", rep.Users, len(ranks))
	}
	if !reflect.DeepEqual(rep.Ks, ks) {
		t.Fatalf("Ks: got %v, want %v", rep.Ks, ks)
	}
	for i, k := range ks {
		hr, _ := eval.HitRate(ranks, k)
		ndcg, _ := eval.NDCG(ranks, k)
		if !near(rep.HR[i], hr) {
			t.Errorf("HR@%d: got %v, want %v", k, rep.HR[i], hr)
		}
		if !near(rep.NDCG[i], ndcg) {
			t.Errorf("NDCG@%d: got %v, want %v", k, rep.NDCG[i], ndcg)
		}
	}
	mrr, _ := eval.MRR(ranks)
	auc, _ := eval.FullRankAUC(ranks)
	if !near(rep.MRR, mrr) {
		t.Errorf("MRR: got %v, want %v", rep.MRR, mrr)
	}
	if !near(rep.AUC, auc) {
		t.Errorf("AUC: got %v, want %v", rep.AUC, auc)
	}
}

// Near tolerates the last bits a different summation order changes, and
// nothing more.
func TestReportNear(t *testing.T) {
	a := eval.Report{Users: 3, Ks: []int{10}, HR: []float64{0.5}, NDCG: []float64{0.25}, MRR: 0.2, AUC: 0.75}
	b := a
	b.NDCG = []float64{0.25 + 3e-16}
	if !a.Near(b, 1e-9) || !a.Near(a, 0) {
		t.Errorf("%v and %v are not near", a, b)
	}
	for _, edit := range []func(*eval.Report){
		func(r *eval.Report) { r.NDCG = []float64{0.2501} },
		func(r *eval.Report) { r.HR = []float64{0.51} },
		func(r *eval.Report) { r.AUC = 0.76 },
		func(r *eval.Report) { r.MRR = 0.3 },
		func(r *eval.Report) { r.Users = 4 },
		func(r *eval.Report) { r.Ks, r.HR, r.NDCG = []int{20}, []float64{0.5}, []float64{0.25} },
	} {
		c := a
		edit(&c)
		if a.Near(c, 1e-9) {
			t.Errorf("%v is near %v", c, a)
		}
	}
}
