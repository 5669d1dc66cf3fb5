package preprocess

import (
	"bytes"
	"context"
	"fmt"

	"github.com/parquet-go/parquet-go"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/transforms"
)

// InMemoryResult is what InMemory computed.
type InMemoryResult struct {
	Rows   []transforms.SequenceRow // task retrieval
	Vocabs features.Vocabs
	Read   transforms.ReadStats
	Split  transforms.SplitStats // task retrieval
	// Ranking and RankingStats are the rows and counts of task ranking.
	Ranking      []transforms.RankingRow
	RankingStats transforms.RankingStats
}

// InMemory is the same transformation as Pipeline in plain Go on one
// machine, holding everything in memory: read, count, build vocabularies,
// group, sort, encode, split, window (task ranking: label and split with
// transforms.EncodeRanking, TimeSplitCuts and RankingRows). It is the floor the pipeline's
// benchmark is measured against and the oracle its tests compare with.
// With write set it also writes both tables as one Parquet file each under
// cfg.OutDir (plain files, no temp-and-rename), as the pipeline would.
func InMemory(ctx context.Context, cfg Config, write bool) (InMemoryResult, error) {
	cfg, files, err := cfg.resolve(ctx)
	if err != nil {
		return InMemoryResult{}, err
	}
	format, _ := transforms.ParseFormat(cfg.Format)
	var res InMemoryResult
	buf := transforms.NewUserBuffer()
	for i, f := range files {
		data, err := transforms.ReadFile(ctx, f)
		if err != nil {
			return res, fmt.Errorf("reading %s: %w", f, err)
		}
		st := transforms.ReadStats{Files: 1}
		before := buf.Events
		st.Lines, err = transforms.ParseEvents(bytes.NewReader(data), f, format, cfg.Parse,
			func(e transforms.Event) error { buf.Add(i, e); return nil },
			func(b transforms.BadLine) error { return st.AddBad(b, cfg.FailFast) })
		st.Events = buf.Events - before
		if err != nil {
			return res, err
		}
		res.Read.Merge(st)
	}
	if msg := GateError(res.Read, cfg.MaxBadFraction); msg != "" {
		return res, fmt.Errorf("%s", msg)
	}
	specs, userVocab, itemVocab := cfg.vocabSpecs()
	res.Vocabs = transforms.VocabsFromCounts(buf.Counts, specs)
	if cfg.Task == TaskRanking {
		return res, inMemoryRanking(ctx, cfg, buf, &res, userVocab, itemVocab, write)
	}
	split := transforms.SplitOptions{MaxSeqLen: cfg.MaxSeqLen, Stride: cfg.Stride}
	for _, u := range buf.Users() {
		st := transforms.EncodeAndSplit(buf.Histories[u], res.Vocabs[userVocab], res.Vocabs[itemVocab], split,
			func(r transforms.SequenceRow) { res.Rows = append(res.Rows, r) })
		res.Split.Merge(st)
	}
	if write {
		if err := writeParquet(ctx, transforms.JoinPath(cfg.OutDir, transforms.TableSequences, transforms.PartName(0, 1)), res.Rows); err != nil {
			return res, err
		}
		if err := writeParquet(ctx, transforms.JoinPath(cfg.OutDir, transforms.TableVocab, transforms.PartName(0, 1)), transforms.VocabRows(res.Vocabs)); err != nil {
			return res, err
		}
	}
	return res, nil
}

// inMemoryRanking is InMemory's ranking task: every user's impressions
// first, then the time split's cuts over all of them, then the rows.
func inMemoryRanking(ctx context.Context, cfg Config, buf *transforms.UserBuffer, res *InMemoryResult, userVocab, itemVocab string, write bool) error {
	opt := cfg.rankingOptions(userVocab, itemVocab)
	var users []transforms.RankingUser
	times := map[int64]int64{}
	for _, u := range buf.Users() {
		ru, st := transforms.EncodeRanking(buf.Histories[u], res.Vocabs[userVocab], res.Vocabs[itemVocab], opt)
		res.RankingStats.Merge(st)
		for _, ev := range ru.ImpEvents {
			times[ru.Times[ev]]++
		}
		users = append(users, ru)
	}
	var cuts transforms.TimeCuts
	if opt.SplitBy == transforms.SplitByTime {
		cuts = transforms.TimeSplitCuts(transforms.TimeCountsOf(times), opt.SplitRatio)
		res.RankingStats.HasCuts, res.RankingStats.ValidCut, res.RankingStats.TestCut = true, cuts.ValidCut, cuts.TestCut
	}
	for i := range users {
		st := transforms.RankingRows(&users[i], opt, cuts, func(r transforms.RankingRow) { res.Ranking = append(res.Ranking, r) })
		res.RankingStats.Merge(st)
	}
	if !write {
		return nil
	}
	if err := writeParquet(ctx, transforms.JoinPath(cfg.OutDir, transforms.TableRanking, transforms.PartName(0, 1)), res.Ranking); err != nil {
		return err
	}
	return writeParquet(ctx, transforms.JoinPath(cfg.OutDir, transforms.TableVocab, transforms.PartName(0, 1)), transforms.VocabRows(res.Vocabs))
}

func writeParquet[T any](ctx context.Context, path string, rows []T) error {
	var b bytes.Buffer
	if err := parquet.Write(&b, rows, parquet.Compression(&parquet.Snappy)); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return transforms.WriteFileAtomic(ctx, path, b.Bytes())
}
