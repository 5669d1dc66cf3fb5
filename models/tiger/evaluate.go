package tiger

import (
	"fmt"

	"github.com/genrec/genrec/eval"
)

// Ranks generates Beam items for every example (BeamSearch, in batches of
// 256) and returns where each target landed, for eval.HitRate and
// eval.NDCG. Items already in the example's history are skipped (as in
// the full-ranking protocol, where they are masked); the target's rank is
// its place among the remaining generated items, and a target not
// generated ranks last among the catalogue's NumCandidates = items - 1 -
// |distinct history \ {target}|. catalogue counts padding id 0.
func (m *Model[T]) Ranks(ex []Example, ids [][]int32, t *Trie, beam, catalogue int) []eval.UserRank {
	out := make([]eval.UserRank, 0, len(ex))
	for lo := 0; lo < len(ex); lo += 256 {
		part := ex[lo:min(lo+256, len(ex))]
		hits := m.BeamSearch(m.Config.NewBatch(part, ids, false), t, beam)
		for i, e := range part {
			seen := make(map[int64]bool, len(e.Hist))
			for _, it := range e.Hist {
				if it != e.Target {
					seen[it] = true
				}
			}
			n := int64(catalogue - 1 - len(seen))
			r := eval.UserRank{User: e.User, Rank: n - 1, NumCandidates: n}
			pos := int64(0)
			for _, h := range hits[i] {
				if seen[int64(h.Item)] {
					continue
				}
				if int64(h.Item) == e.Target {
					r.Rank = pos
					break
				}
				pos++
			}
			out = append(out, r)
		}
	}
	return out
}

// Metrics are Recall@k (= HR@k: one target) and NDCG@k of ranks, keyed
// "HR@10", "NDCG@10", ...
func Metrics(ranks []eval.UserRank, ks []int) (map[string]float64, error) {
	out := map[string]float64{}
	for _, k := range ks {
		hr, err := eval.HitRate(ranks, k)
		if err != nil {
			return nil, err
		}
		nd, err := eval.NDCG(ranks, k)
		if err != nil {
			return nil, err
		}
		out[fmt.Sprintf("HR@%d", k)], out[fmt.Sprintf("NDCG@%d", k)] = hr, nd
	}
	return out, nil
}
