package transforms

import (
	"fmt"
	"math"
)

// RankingRow is one row of the ranking table: one impression of a
// candidate item to a user, its click label, and the user's history as it
// stood just before the impression.
type RankingRow struct {
	User    int64  `parquet:"user"` // encoded user id
	UserKey string `parquet:"user_key"`
	Item    int64  `parquet:"item"` // encoded candidate item id
	// Timestamp is the impression's time; a sampled negative gets its
	// positive's time.
	Timestamp int64 `parquet:"timestamp"`
	// History holds the encoded items of the user's events strictly before
	// Timestamp (events in the same second are not history), oldest
	// first, ordered by (time, file order), the last MaxSeqLen of them.
	// It may be empty.
	History      []int64 `parquet:"history,list"`
	HistoryTimes []int64 `parquet:"history_times,list"`
	// HistoryLabels is each history event's own label (1 for implicit
	// events): the actions of HSTU's interleaved item/action sequence.
	HistoryLabels []float32 `parquet:"history_labels,list"`
	Label         float32   `parquet:"label"` // 1 click/positive, 0 negative
	Split         string    `parquet:"split,dict"`
}

// The values of RankingOptions.SplitBy.
const (
	SplitByTime   = "time"
	SplitByRandom = "random"
)

// RankingOptions configure BuildRankingRows.
type RankingOptions struct {
	// MaxSeqLen is the longest history a row keeps; it must be positive.
	MaxSeqLen int
	// LabelThreshold labels a rated event: label = 1 when rating >=
	// LabelThreshold, else 0. 0 means the default, 4 (MovieLens' "liked").
	LabelThreshold float64
	// Negatives is how many negatives are sampled for each implicit event
	// (one with neither rating nor label, e.g. the S3-Rec format): items
	// drawn uniformly from the item vocabulary, never one of the user's
	// items, distinct within one positive. Rated and labelled events get
	// none: their negatives are in the data. Default 0: with implicit
	// data every row is then a positive.
	Negatives int
	// SplitBy is SplitByTime (the default, "") or SplitByRandom.
	SplitBy string
	// SplitRatio is the train and valid share of the rows; test takes the
	// rest. {0, 0} means the default {0.7, 0.1}.
	SplitRatio [2]float64
	// Seed drives negative sampling and the random split.
	Seed uint64
	// UserVocab and ItemVocab name the user and item id vocabularies.
	UserVocab, ItemVocab string
}

// DefaultLabelThreshold is the default RankingOptions.LabelThreshold.
const DefaultLabelThreshold = 4

// defaultSplitRatio is the default train and valid share; test gets 0.2.
var defaultSplitRatio = [2]float64{0.7, 0.1}

// WithDefaults fills zero fields with their defaults.
func (o RankingOptions) WithDefaults() RankingOptions {
	if o.LabelThreshold == 0 {
		o.LabelThreshold = DefaultLabelThreshold
	}
	if o.SplitBy == "" {
		o.SplitBy = SplitByTime
	}
	if o.SplitRatio == [2]float64{} {
		o.SplitRatio = defaultSplitRatio
	}
	return o
}

// Validate reports the first bad option. Call it after WithDefaults.
func (o RankingOptions) Validate() error {
	if o.MaxSeqLen <= 0 {
		return fmt.Errorf("ranking: max_seq_len must be positive, got %d", o.MaxSeqLen)
	}
	if math.IsNaN(o.LabelThreshold) || math.IsInf(o.LabelThreshold, 0) {
		return fmt.Errorf("ranking: label_threshold must be a finite number, got %g", o.LabelThreshold)
	}
	if o.Negatives < 0 {
		return fmt.Errorf("ranking: negatives must not be negative, got %d", o.Negatives)
	}
	if o.SplitBy != SplitByTime && o.SplitBy != SplitByRandom {
		return fmt.Errorf("ranking: unknown split %q (supported: %s, %s)", o.SplitBy, SplitByTime, SplitByRandom)
	}
	for i, r := range o.SplitRatio {
		if !(r >= 0 && r <= 1) {
			return fmt.Errorf("ranking: split_ratio[%d] must be in [0, 1], got %g", i, r)
		}
	}
	if sum := o.SplitRatio[0] + o.SplitRatio[1]; sum > 1+1e-9 {
		return fmt.Errorf("ranking: split_ratio %v sums to %g, over 1 (test takes the rest)", o.SplitRatio, sum)
	}
	return nil
}

// RankingStats counts the outcome of BuildRankingRows.
type RankingStats struct {
	Users             int64 // users with at least one row
	UsersDropped      int64 // user id out of vocabulary: all their events dropped
	DroppedUserEvents int64 // events of dropped users
	OOVEvents         int64 // events whose item is out of vocabulary, dropped
	Events            int64 // events kept: rows and histories
	MaxLen            int64 // most events kept for one user

	// Where the kept events' labels came from.
	Rated, Labelled, Implicit int64
	// SampledNegatives were drawn for implicit events; NegativesShort
	// could not be, because the user had seen almost every item.
	SampledNegatives, NegativesShort int64

	Rows, Positives    int64
	EmptyHistory       int64 // rows with no earlier event; they are kept
	Train, Valid, Test int64 // rows by split
	// Positives by split.
	TrainPositives, ValidPositives, TestPositives int64

	// The time split's boundaries (HasCuts false for the random split).
	HasCuts  bool
	ValidCut int64 // first valid time: rows before it are train
	TestCut  int64 // first test time
}

// Merge adds o into s.
func (s *RankingStats) Merge(o RankingStats) {
	s.Users += o.Users
	s.UsersDropped += o.UsersDropped
	s.DroppedUserEvents += o.DroppedUserEvents
	s.OOVEvents += o.OOVEvents
	s.Events += o.Events
	s.MaxLen = max(s.MaxLen, o.MaxLen)
	s.Rated += o.Rated
	s.Labelled += o.Labelled
	s.Implicit += o.Implicit
	s.SampledNegatives += o.SampledNegatives
	s.NegativesShort += o.NegativesShort
	s.Rows += o.Rows
	s.Positives += o.Positives
	s.EmptyHistory += o.EmptyHistory
	s.Train += o.Train
	s.Valid += o.Valid
	s.Test += o.Test
	s.TrainPositives += o.TrainPositives
	s.ValidPositives += o.ValidPositives
	s.TestPositives += o.TestPositives
	if o.HasCuts {
		s.HasCuts, s.ValidCut, s.TestCut = true, o.ValidCut, o.TestCut
	}
}

// count records one emitted row.
func (s *RankingStats) count(r *RankingRow) {
	s.Rows++
	pos := int64(0)
	if r.Label > 0 {
		pos = 1
	}
	s.Positives += pos
	if len(r.History) == 0 {
		s.EmptyHistory++
	}
	switch r.Split {
	case SplitTrain:
		s.Train++
		s.TrainPositives += pos
	case SplitValid:
		s.Valid++
		s.ValidPositives += pos
	case SplitTest:
		s.Test++
		s.TestPositives += pos
	}
}
