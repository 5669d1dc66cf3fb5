package ranking

import (
	"fmt"

	"github.com/genrec/genrec/transforms"
)

// Split divides in-memory examples into train, valid and test as the seed
// API's DataGenerator(x, y).generate_dataloader(split_ratio=[0.7, 0.1])
// does, with the preprocess pipeline's rules (transforms.TimeSplitCuts,
// transforms.RandomSplit): by "time" (the default: global time quantiles,
// rows of one second never divided, so train holds at most its share) or
// "random" (each example by a seeded hash). ratio is the train and valid
// share; test takes the rest. Examples keep their order within a split.
func Split(ex []Example, ratio [2]float64, by string, seed uint64) (train, valid, test []Example, err error) {
	if ratio[0] < 0 || ratio[1] < 0 || ratio[0]+ratio[1] > 1 {
		return nil, nil, nil, fmt.Errorf("ranking: split ratio %v: shares must be non-negative and sum to at most 1", ratio)
	}
	var split func(e *Example) string
	switch by {
	case "", transforms.SplitByTime:
		counts := map[int64]int64{}
		for _, e := range ex {
			counts[e.Timestamp]++
		}
		cuts := transforms.TimeSplitCuts(transforms.TimeCountsOf(counts), ratio)
		split = func(e *Example) string { return cuts.Split(e.Timestamp) }
	case transforms.SplitByRandom:
		split = func(e *Example) string {
			return transforms.RandomSplit(seed, fmt.Sprint(e.User), e.Item, e.Timestamp, ratio)
		}
	default:
		return nil, nil, nil, fmt.Errorf("ranking: split by %q: want time or random", by)
	}
	for i := range ex {
		switch split(&ex[i]) {
		case transforms.SplitTrain:
			train = append(train, ex[i])
		case transforms.SplitValid:
			valid = append(valid, ex[i])
		default:
			test = append(test, ex[i])
		}
	}
	return train, valid, test, nil
}
