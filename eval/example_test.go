package eval_test

import (
	"encoding/json"
	"fmt"

	"github.com/genrec/genrec/eval"
)

func ExampleRanking() {
	// Three users, a catalogue of 6 items. Each user's history is masked;
	// the held-out target is ranked against the rest.
	users := []struct {
		scores  []float32
		history map[int]bool
		target  int
	}{
		{[]float32{0.9, 0.1, 0.8, 0.3, 0.2, 0.4}, map[int]bool{0: true}, 2}, // best of 5: rank 0
		{[]float32{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, nil, 4},                   // all tied: rank 5
		{[]float32{0.1, 0.7, 0.6, 0.9, 0.2, 0.3}, map[int]bool{3: true}, 2}, // behind item 1: rank 1
	}
	var ranks []eval.UserRank
	for u, x := range users {
		rank, n, err := eval.RankOf(x.scores, x.target, func(i int) bool { return x.history[i] })
		if err != nil {
			fmt.Println(err)
			return
		}
		ranks = append(ranks, eval.UserRank{User: int64(u), Rank: rank, NumCandidates: n})
	}
	fmt.Println(ranks)

	rep, err := eval.Ranking(ranks, []int{1, 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, k := range rep.Ks {
		fmt.Printf("HR@%d %.4f  NDCG@%d %.4f\n", k, rep.HR[i], k, rep.NDCG[i])
	}
	fmt.Printf("MRR %.4f  AUC %.4f  users %d\n", rep.MRR, rep.AUC, rep.Users)

	// Reports marshal to one flat JSON object.
	b, _ := json.Marshal(eval.Report{Users: 3, Ks: []int{10}, HR: []float64{0.5}, NDCG: []float64{0.25}, MRR: 0.2, AUC: 0.75})
	fmt.Println(string(b))
	// Output:
	// [{0 0 5} {1 5 6} {2 1 5}]
	// HR@1 0.3333  NDCG@1 0.3333
	// HR@2 0.6667  NDCG@2 0.5436
	// MRR 0.5556  AUC 0.5833  users 3
	// {"Users":3,"HR@10":0.5,"NDCG@10":0.25,"MRR":0.2,"AUC":0.75}
}
