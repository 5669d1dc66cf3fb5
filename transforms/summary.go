package transforms

import (
	"context"
	"encoding/json"
	"fmt"
)

// The tasks a preprocess output is written for (Summary.Task).
const (
	// TaskRetrieval is leave-one-out next-item sequences (the sequences
	// table).
	TaskRetrieval = "retrieval"
	// TaskRanking is labelled impressions with their histories (the
	// ranking table) for a click-through model.
	TaskRanking = "ranking"
)

// SummaryFile is the name of the summary beside the tables.
const SummaryFile = "summary.json"

// Summary is what one preprocess run did; it is written to summary.json
// after every table is published.
type Summary struct {
	Task      string   `json:"task"` // TaskRetrieval or TaskRanking
	Inputs    []string `json:"inputs"`
	Format    string   `json:"format"`
	OutDir    string   `json:"out"`
	MaxSeqLen int      `json:"max_seq_len"`
	Stride    int      `json:"stride"`

	LinesRead  int64    `json:"lines_read"`
	EventsRead int64    `json:"events_read"`
	BadLines   int64    `json:"bad_lines"`
	BadSamples []string `json:"bad_samples,omitempty"` // "file:line: reason: text", first ones

	Users       int   `json:"users"`  // user vocabulary size (without id 0)
	Items       int   `json:"items"`  // item vocabulary size (without id 0)
	Events      int64 `json:"events"` // events kept in sequences (ranking: in rows and histories)
	OOVEvents   int64 `json:"oov_events"`
	UsersShort  int64 `json:"users_train_only"` // fewer than 3 events
	UsersNoPair int64 `json:"users_single_event"`
	UsersDrop   int64 `json:"users_dropped"`
	MaxHistory  int64 `json:"max_history"`

	Rows   map[string]int64    `json:"rows"`   // by split
	Vocabs map[string]int      `json:"vocabs"` // sizes by feature, without id 0
	Tables map[string][]string `json:"tables"` // part files by table

	// Ranking is the ranking task's options and counts (task ranking only).
	Ranking *RankingSummary `json:"ranking,omitempty"`

	// StaleTemps are the temp folders of killed earlier runs that this
	// run removed (see GuardTemp); not stored in the summary file.
	StaleTemps []string `json:"-"`
}

// RankingSummary is what the ranking task did: its options after defaults
// and transforms.RankingStats' counts. Rows by split are in Summary.Rows.
type RankingSummary struct {
	LabelThreshold float64    `json:"label_threshold"`
	Negatives      int        `json:"negatives"`
	Split          string     `json:"split"`
	SplitRatio     [2]float64 `json:"split_ratio"`
	Seed           uint64     `json:"seed"`

	Rows             int64            `json:"rows"`
	Positives        int64            `json:"positives"`
	PositivesBySplit map[string]int64 `json:"positives_by_split"`
	RowsNoHistory    int64            `json:"rows_empty_history"` // kept
	RatedEvents      int64            `json:"rated_events"`       // labelled by label_threshold
	LabelledEvents   int64            `json:"labelled_events"`    // labelled by a label column
	ImplicitEvents   int64            `json:"implicit_events"`    // positives with sampled negatives
	SampledNegatives int64            `json:"sampled_negatives"`
	NegativesShort   int64            `json:"negatives_short"` // could not be sampled: user saw almost every item
	// DroppedEvents counts events dropped for an unknown user or item.
	DroppedEvents int64 `json:"dropped_events"`
	// ValidCut and TestCut are the time split's first valid and first test
	// timestamps (split time only).
	ValidCut *int64 `json:"valid_cut,omitempty"`
	TestCut  *int64 `json:"test_cut,omitempty"`
}

// ReadSummary reads outDir/summary.json.
func ReadSummary(ctx context.Context, outDir string) (Summary, error) {
	path := JoinPath(outDir, SummaryFile)
	b, err := ReadFile(ctx, path)
	if err != nil {
		return Summary{}, fmt.Errorf("reading %s: %w", path, err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		return Summary{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return s, nil
}
