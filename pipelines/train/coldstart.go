package train

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// HoldOutItems removes a seeded random fraction of the catalogue's items
// (ids 1..items-1) from training entirely: they are cut out of every
// row's history, training and validation rows that predict one are
// dropped, and test rows keep their target (held out or not) with the
// held-out items cut from their history. Rows left with an empty history
// are dropped. It returns the rows and held[item].
func HoldOutItems(rows []transforms.SequenceRow, items int, frac float64, seed uint64) ([]transforms.SequenceRow, []bool) {
	held := make([]bool, items)
	rng := rand.New(rand.NewPCG(seed, 0x636f6c64))
	k := int(math.Round(frac * float64(items-1)))
	for _, i := range rng.Perm(items - 1)[:k] {
		held[i+1] = true
	}
	out := make([]transforms.SequenceRow, 0, len(rows))
	for _, r := range rows {
		if held[r.Target] && r.Split != transforms.SplitTest {
			continue
		}
		var its, ts []int64
		for j, it := range r.Items {
			if !held[it] {
				its, ts = append(its, it), append(ts, r.Timestamps[j])
			}
		}
		if len(its) == 0 {
			continue
		}
		r.Items, r.Timestamps = its, ts
		out = append(out, r)
	}
	return out, held
}

// ColdStartResult is what ColdStart reports.
type ColdStartResult struct {
	Held int // items held out of training
	Fit  trainer.FitResult
	// Cold ranks the test rows whose target is a held-out item, Warm the
	// others, each against the whole catalogue (history masked).
	Cold, Warm eval.Report
	// Random is the expected HR@K and NDCG@K of a uniformly random ranking
	// on the Cold rows (same candidates, same masking), by K.
	RandomHR, RandomNDCG map[int]float64
}

// ColdStart trains cfg's model with a fraction frac of the items held out
// of training (HoldOutItems, seeded by cfg.Seed) and reports how well it
// ranks test targets that are held-out items, beside a random ranking.
// An HLLM model embeds them from their text; an ID-only model has only
// their untrained embeddings.
func ColdStart(ctx context.Context, cfg Config, frac float64, progress io.Writer, onEpoch func(trainer.EpochLog)) (ColdStartResult, error) {
	if frac <= 0 || frac >= 1 {
		return ColdStartResult{}, fmt.Errorf("train: cold-start fraction must be in (0, 1), got %v", frac)
	}
	data, err := LoadTrainData(ctx, cfg)
	if err != nil {
		return ColdStartResult{}, err
	}
	rows, held := HoldOutItems(data.Rows, data.Items(), frac, cfg.Seed)
	res := ColdStartResult{}
	for _, h := range held {
		if h {
			res.Held++
		}
	}
	cut := *data
	cut.Rows = rows
	t, _, err := newTrainer(ctx, cfg, &cut, progress, onEpoch)
	if err != nil {
		return res, err
	}
	model := t.Model
	if res.Fit, err = t.Fit(ctx, rows, validRows(rows)); err != nil {
		return res, err
	}
	hist := sequential.Histories(rows, transforms.SplitTest)
	var cold, warm []int
	for i, r := range rows {
		if r.Split != transforms.SplitTest {
			continue
		}
		if held[r.Target] {
			cold = append(cold, i)
		} else {
			warm = append(warm, i)
		}
	}
	if len(cold) == 0 {
		return res, fmt.Errorf("train: no test target is a held-out item; hold out a larger fraction")
	}
	ks := t.Options.Ks
	for _, part := range []struct {
		idx []int
		rep *eval.Report
	}{{cold, &res.Cold}, {warm, &res.Warm}} {
		ranks, err := sequential.Rank(model, rows, part.idx, hist, t.Options.EvalBatchSize)
		if err != nil {
			return res, err
		}
		if *part.rep, err = eval.Ranking(ranks, ks); err != nil {
			return res, err
		}
	}
	res.RandomHR, res.RandomNDCG = randomRanking(rows, cold, hist, data.Items(), ks)
	return res, nil
}

// randomRanking is the expected HR@K and NDCG@K of a uniformly random
// order of each row's candidates: the catalogue without id 0 and the
// user's masked history (the target stays a candidate).
func randomRanking(rows []transforms.SequenceRow, idx []int, hist sequential.History, items int, ks []int) (map[int]float64, map[int]float64) {
	hr, ndcg := map[int]float64{}, map[int]float64{}
	for _, i := range idx {
		r := rows[i]
		masked := 0
		for _, it := range hist[r.User] {
			if it != 0 && int64(it) != r.Target {
				masked++
			}
		}
		c := items - 1 - masked
		for _, k := range ks {
			top := min(k, c)
			hr[k] += float64(top) / float64(c)
			var g float64
			for p := 1; p <= top; p++ {
				g += 1 / math.Log2(float64(p)+1)
			}
			ndcg[k] += g / float64(c)
		}
	}
	for _, k := range ks {
		hr[k] /= float64(len(idx))
		ndcg[k] /= float64(len(idx))
	}
	return hr, ndcg
}
