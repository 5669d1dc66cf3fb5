package eval_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/genrec/genrec/eval"
)

var sinkReport eval.Report
var sinkFloat float64

func BenchmarkRanking(b *testing.B) {
	ks := []int{10, 50, 200}
	for _, users := range []int{1e3, 1e5} {
		ranks := randomRanks(rand.New(rand.NewPCG(1, 1)), users)
		b.Run("users="+strconv.Itoa(users), func(b *testing.B) {
			for b.Loop() {
				rep, err := eval.Ranking(ranks, ks)
				if err != nil {
					b.Fatal(err)
				}
				sinkReport = rep
			}
		})
	}
}

func BenchmarkAUC(b *testing.B) {
	for _, n := range []int{1e3, 1e5} {
		s := randomScored(rand.New(rand.NewPCG(2, 2)), n, 1000)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				auc, err := eval.AUC(s)
				if err != nil {
					b.Fatal(err)
				}
				sinkFloat = auc
			}
		})
	}
}

func BenchmarkGAUC(b *testing.B) {
	for _, n := range []int{1e3, 1e5} {
		s := randomScored(rand.New(rand.NewPCG(3, 3)), n, 1000)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				gauc, _, err := eval.GAUC(s)
				if err != nil {
					b.Fatal(err)
				}
				sinkFloat = gauc
			}
		})
	}
}

func BenchmarkRankOf(b *testing.B) {
	for _, items := range []int{1e3, 1e5} {
		rnd := rand.New(rand.NewPCG(4, 4))
		scores := make([]float32, items)
		for i := range scores {
			scores[i] = rnd.Float32()
		}
		history := map[int]bool{1: true, 7: true, 30: true}
		exclude := func(i int) bool { return history[i] }
		b.Run("items="+strconv.Itoa(items), func(b *testing.B) {
			for b.Loop() {
				r, _, err := eval.RankOf(scores, 0, exclude)
				if err != nil {
					b.Fatal(err)
				}
				sinkFloat = float64(r)
			}
		})
	}
}
