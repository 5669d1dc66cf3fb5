package preprocess_test

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/transforms"
)

func sortRankingRows(rows []transforms.RankingRow) {
	slices.SortStableFunc(rows, func(a, b transforms.RankingRow) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Timestamp, b.Timestamp), cmp.Compare(a.Item, b.Item),
			cmp.Compare(a.Label, b.Label), cmp.Compare(len(a.History), len(b.History)))
	})
}

func equalRankingRow(a, b transforms.RankingRow) bool {
	return a.User == b.User && a.UserKey == b.UserKey && a.Item == b.Item && a.Timestamp == b.Timestamp &&
		slices.Equal(a.History, b.History) && slices.Equal(a.HistoryTimes, b.HistoryTimes) && a.Label == b.Label && a.Split == b.Split
}

func loadRankingRows(t *testing.T, out string) []transforms.RankingRow {
	t.Helper()
	rows, err := transforms.LoadTable[transforms.RankingRow](context.Background(), transforms.JoinPath(out, transforms.TableRanking))
	if err != nil {
		t.Fatal(err)
	}
	sortRankingRows(rows)
	return rows
}

// countRatings counts the rating lines of a CSV or tab/"::"-separated
// file and those rated at least threshold, independently of the parsers:
// the rating is the third field, a first line starting with a letter is a
// header.
func countRatings(t *testing.T, path, sep string, threshold float64) (lines, atLeast int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	field := 2
	if strings.HasPrefix(text, "user,item,timestamp,rating") { // the synthetic CSV
		field = 3
	}
	for i, line := range strings.Split(strings.TrimSpace(text), "\n") {
		f := strings.Split(strings.TrimSpace(line), sep)
		if i == 0 && f[0] != "" && (f[0][0] < '0' || f[0][0] > '9') {
			continue
		}
		r, err := strconv.ParseFloat(f[field], 64)
		if err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		lines++
		if r >= threshold {
			atLeast++
		}
	}
	return lines, atLeast
}

// checkRankingRows asserts what holds for any ranking table: no history
// event at or after its row, histories at most maxLen long and oldest
// first, and (time split) train before valid before test.
func checkRankingRows(t *testing.T, rows []transforms.RankingRow, maxLen int, timeSplit bool) {
	t.Helper()
	lo, hi := map[string]int64{}, map[string]int64{}
	for _, r := range rows {
		if len(r.History) != len(r.HistoryTimes) || len(r.History) > maxLen {
			t.Fatalf("row %+v: history of %d items and %d times, want equal and <= %d", r, len(r.History), len(r.HistoryTimes), maxLen)
		}
		for k, ht := range r.HistoryTimes {
			if ht >= r.Timestamp || k > 0 && ht < r.HistoryTimes[k-1] {
				t.Fatalf("row %+v: history times not strictly before %d, oldest first", r, r.Timestamp)
			}
		}
		if _, ok := lo[r.Split]; !ok {
			lo[r.Split], hi[r.Split] = r.Timestamp, r.Timestamp
		}
		lo[r.Split], hi[r.Split] = min(lo[r.Split], r.Timestamp), max(hi[r.Split], r.Timestamp)
	}
	if !timeSplit {
		return
	}
	if hi["train"] >= lo["valid"] || hi["valid"] >= lo["test"] {
		t.Errorf("time split not monotone: train %d..%d, valid %d..%d, test %d..%d",
			lo["train"], hi["train"], lo["valid"], hi["valid"], lo["test"], hi["test"])
	}
}

// The pipeline's ranking table equals the in-memory computation; every
// rated event is one row, labelled by the threshold.
func TestRankingRun(t *testing.T) {
	input := writeSynthetic(t, 300, 9)
	for _, tc := range []struct {
		name string
		rc   preprocess.RankingConfig
	}{
		{"time split", preprocess.RankingConfig{Seed: 1}},
		{"random split, threshold 3", preprocess.RankingConfig{Split: "random", LabelThreshold: 3, SplitRatio: [2]float64{0.6, 0.2}, Seed: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := preprocess.Config{Inputs: []string{input}, Format: "table", Task: preprocess.TaskRanking, MaxSeqLen: 20, OutDir: t.TempDir(), Ranking: tc.rc}
			sum, err := run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := loadRankingRows(t, cfg.OutDir)
			want, err := preprocess.InMemory(context.Background(), cfg, false)
			if err != nil {
				t.Fatal(err)
			}
			sortRankingRows(want.Ranking)
			if len(got) != len(want.Ranking) {
				t.Fatalf("%d rows, want %d", len(got), len(want.Ranking))
			}
			for i := range got {
				if !equalRankingRow(got[i], want.Ranking[i]) {
					t.Fatalf("row %d:\ngot  %+v\nwant %+v", i, got[i], want.Ranking[i])
				}
			}
			threshold := cmp.Or(tc.rc.LabelThreshold, 4)
			events, positives := countRatings(t, input, ",", threshold)
			var gotPos int64
			for _, r := range got {
				gotPos += int64(r.Label)
			}
			r := sum.Ranking
			if r == nil {
				t.Fatal("summary has no ranking section")
			}
			if int64(len(got)) != events || r.Rows != events || gotPos != positives || r.Positives != positives || r.RatedEvents != events {
				t.Errorf("rows %d (summary %d), positives %d (summary %d), rated %d; want %d rows, %d positives (rating >= %g)",
					len(got), r.Rows, gotPos, r.Positives, r.RatedEvents, events, positives, threshold)
			}
			if sum.Task != preprocess.TaskRanking || len(sum.Tables[transforms.TableRanking]) == 0 || len(sum.Tables[transforms.TableVocab]) != 1 || sum.Tables[transforms.TableSequences] != nil {
				t.Errorf("task %q, tables %v; want ranking, a ranking and a vocab table, no sequences", sum.Task, sum.Tables)
			}
			if sum.Rows["train"]+sum.Rows["valid"]+sum.Rows["test"] != events || sum.Rows["train"] != want.RankingStats.Train {
				t.Errorf("rows by split %v; want %d in all, train %d", sum.Rows, events, want.RankingStats.Train)
			}
			checkRankingRows(t, got, cfg.MaxSeqLen, tc.rc.Split != "random")
			if entries, _ := os.ReadDir(filepath.Join(cfg.OutDir, "_temporary")); len(entries) > 0 {
				t.Errorf("temporary files left behind: %v", entries)
			}
		})
	}
}

// Implicit data (the S3-Rec line format): every event is a positive with
// its sampled negatives, none of them one of the user's items; a rerun
// with the same seed gives the same table.
func TestRankingRunImplicit(t *testing.T) {
	var b strings.Builder
	seen := map[string]map[string]bool{}
	events := 0
	for u := range 60 {
		user := "u" + strconv.Itoa(u)
		seen[user] = map[string]bool{}
		b.WriteString(user)
		for i := range 3 + u%7 {
			item := "i" + strconv.Itoa((u*7+i*13)%80)
			fmt.Fprintf(&b, " %s", item)
			seen[user][item] = true
			events++
		}
		b.WriteString("\n")
	}
	input := filepath.Join(t.TempDir(), "seq.txt")
	if err := os.WriteFile(input, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var runs [2][]transforms.RankingRow
	var outs [2]string
	for i := range runs {
		outs[i] = t.TempDir()
		cfg := preprocess.Config{Inputs: []string{input}, Task: preprocess.TaskRanking, MaxSeqLen: 4, OutDir: outs[i],
			Ranking: preprocess.RankingConfig{Negatives: 3, Split: "random", Seed: 4}}
		sum, err := run(t, cfg)
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = loadRankingRows(t, cfg.OutDir)
		r := sum.Ranking
		if r.Rows != int64(4*events) || r.Positives != int64(events) || r.ImplicitEvents != int64(events) || r.SampledNegatives != int64(3*events) {
			t.Errorf("summary %+v; want %d rows, %d positives and implicit events, %d negatives", r, 4*events, events, 3*events)
		}
	}
	if !slices.EqualFunc(runs[0], runs[1], equalRankingRow) {
		t.Error("two runs with the same seed give different rows")
	}
	checkRankingRows(t, runs[0], 4, false)
	vocab, err := transforms.LoadTable[transforms.VocabRow](context.Background(), transforms.JoinPath(outs[0], transforms.TableVocab))
	if err != nil {
		t.Fatal(err)
	}
	token := map[int64]string{}
	for _, v := range vocab {
		if v.Feature == "item_id" {
			token[v.ID] = v.Token
		}
	}
	for _, r := range runs[0] {
		if tok, ok := token[r.Item]; !ok || r.Label == 0 && seen[r.UserKey][tok] {
			t.Fatalf("row %+v: item %q is unknown or a negative the user has seen", r, tok)
		}
	}
}

func TestRankingConfigValidate(t *testing.T) {
	base := func() preprocess.Config {
		return preprocess.Config{Inputs: []string{"x"}, OutDir: "out", Task: preprocess.TaskRanking}
	}
	for _, tc := range []struct {
		name string
		edit func(*preprocess.Config)
		want string // "" = valid
	}{
		{"defaults", func(*preprocess.Config) {}, ""},
		{"retrieval default", func(c *preprocess.Config) { c.Task = "" }, ""},
		{"full section", func(c *preprocess.Config) {
			c.Ranking = preprocess.RankingConfig{LabelThreshold: 3.5, Negatives: 4, Split: "random", SplitRatio: [2]float64{0.8, 0.2}, Seed: 9}
		}, ""},
		{"min_rating drops the negatives", func(c *preprocess.Config) { c.MinRating = 4 }, "min_rating 4 would drop the low-rated events"},
		{"ratio over 1", func(c *preprocess.Config) { c.Ranking.SplitRatio = [2]float64{1.5, 0} }, "split_ratio[0] must be in [0, 1]"},
		{"negative ratio", func(c *preprocess.Config) { c.Ranking.SplitRatio = [2]float64{0.5, -0.2} }, "split_ratio[1] must be in [0, 1]"},
		{"ratios sum over 1", func(c *preprocess.Config) { c.Ranking.SplitRatio = [2]float64{0.8, 0.3} }, "sums to 1.1, over 1"},
		{"unknown split", func(c *preprocess.Config) { c.Ranking.Split = "user" }, `unknown split "user"`},
		{"negative negatives", func(c *preprocess.Config) { c.Ranking.Negatives = -2 }, "negatives must not be negative"},
		{"unknown task", func(c *preprocess.Config) { c.Task = "ctr" }, `unknown task "ctr"`},
		{"ranking section without the task", func(c *preprocess.Config) { c.Task = ""; c.Ranking.Negatives = 4 }, "needs task: ranking"},
	} {
		cfg := base()
		tc.edit(&cfg)
		err := cfg.WithDefaults().Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v; want valid", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v; want one containing %q", tc.name, err, tc.want)
		}
	}
}

// The YAML keys of the ranking section, as a config file spells them.
func TestRankingConfigYAML(t *testing.T) {
	decode := func(body string) (preprocess.Config, error) {
		var job struct {
			Preprocess preprocess.Config `yaml:"preprocess"`
		}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(body)))
		dec.KnownFields(true)
		err := dec.Decode(&job)
		return job.Preprocess, err
	}
	cfg, err := decode("preprocess:\n  task: ranking\n  ranking: {label_threshold: 3.5, negatives: 2, split: random, split_ratio: [0.8, 0.15], seed: 7}\n")
	if err != nil {
		t.Fatal(err)
	}
	want := preprocess.RankingConfig{LabelThreshold: 3.5, Negatives: 2, Split: "random", SplitRatio: [2]float64{0.8, 0.15}, Seed: 7}
	if cfg.Task != "ranking" || cfg.Ranking != want {
		t.Errorf("decoded task %q, ranking %+v; want ranking, %+v", cfg.Task, cfg.Ranking, want)
	}
	if _, err := decode("preprocess:\n  ranking: {split_ratio: [0.7, 0.1, 0.2]}\n"); err == nil {
		t.Error("split_ratio with three values: want an error")
	}
	if _, err := decode("preprocess:\n  ranking: {threshold: 4}\n"); err == nil {
		t.Error("unknown ranking key: want an error")
	}
}

func TestRealDataRanking(t *testing.T) {
	if testing.Short() {
		t.Skip("real data: skipped with -short")
	}
	for _, tc := range []struct {
		file, format, sep string
		rows              int64 // from each data set's README
	}{
		{"ml-100k/u.data", "ml-100k", "\t", 100000},
		{"ml-latest-small/ratings.csv", "ml-csv", ",", 100836},
	} {
		t.Run(tc.format, func(t *testing.T) {
			input := sharedData(t, tc.file)
			cfg := preprocess.Config{Inputs: []string{input}, Format: tc.format, Task: preprocess.TaskRanking, MaxSeqLen: 50,
				OutDir: t.TempDir(), Ranking: preprocess.RankingConfig{Seed: 1}}
			sum, err := run(t, cfg)
			if err != nil {
				t.Fatal(err)
			}
			lines, positives := countRatings(t, input, tc.sep, 4)
			rows := loadRankingRows(t, cfg.OutDir)
			var gotPos int64
			for _, r := range rows {
				gotPos += int64(r.Label)
			}
			if lines != tc.rows || int64(len(rows)) != tc.rows || sum.Ranking.Rows != tc.rows || gotPos != positives || sum.Ranking.Positives != positives {
				t.Errorf("rows %d (summary %d, file %d), positives %d (summary %d); want %d rows, %d positives (rating >= 4, counted from the file)",
					len(rows), sum.Ranking.Rows, lines, gotPos, sum.Ranking.Positives, tc.rows, positives)
			}
			// Ties at a cut move whole seconds to the later split; these
			// data sets have few, so the shares stay within 1% of 70/10/20.
			for split, want := range map[string]float64{"train": 0.7, "valid": 0.1, "test": 0.2} {
				if got := float64(sum.Rows[split]) / float64(tc.rows); math.Abs(got-want) > 0.01 {
					t.Errorf("%s share %.4f; want %.2f ± 0.01", split, got, want)
				}
			}
			checkRankingRows(t, rows, 50, true)
			t.Logf("%s: %d rows, %d positives, train/valid/test %d/%d/%d, %d with empty history",
				tc.format, len(rows), gotPos, sum.Rows["train"], sum.Rows["valid"], sum.Rows["test"], sum.Ranking.RowsNoHistory)
		})
	}
}
