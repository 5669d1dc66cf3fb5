package recommend

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

func init() {
	register.DoFn4x1[context.Context, int64, func(*transforms.SequenceRow) bool, func(Recommendation), error](&recommendFn{})
	register.Iter1[transforms.SequenceRow]()
	register.Emitter1[Recommendation]()
}

// Recommendation is one output row: the item at a rank of a user's top K.
type Recommendation struct {
	User         string  `parquet:"user"`               // the user's original token
	Rank         int32   `parquet:"rank"`               // 1 = best, up to K
	Item         string  `parquet:"item"`               // the item's original token
	Score        float32 `parquet:"score"`              // cosine of user and item embeddings
	ModelVersion string  `parquet:"model_version,dict"` // Config.ModelVersion
	Source       string  `parquet:"source,dict"`        // SourceModel, or SourcePopular for a listed user without history
}

// ItemVocab is the name of the item vocabulary in a vocab table.
const ItemVocab = "item_id"

// users counts the users recommended for.
var users = beam.NewCounter("genrec.recommend", "users")

// TopK scores every user of rows with the model of cfg.Checkpoint and
// keeps the top cfg.K items. It takes PCollection<transforms.SequenceRow>
// (every row of every user) and returns PCollection<Recommendation>, K
// rows per user (fewer when fewer items are left unmasked). items is the
// catalogue size (with padding id 0) the checkpoint must have.
func TopK(s beam.Scope, rows beam.PCollection, cfg Config, items int) beam.PCollection {
	s = s.Scope("recommend.TopK")
	grouped := transforms.GroupByUser(s, rows, false)
	return beam.ParDo(s, &recommendFn{Checkpoint: cfg.Checkpoint, Data: cfg.Data, Items: items, K: cfg.K,
		BatchSize: max(cfg.BatchSize, 1), ModelVersion: cfg.ModelVersion}, grouped)
}

// recommendFn predicts for grouped users BatchSize at a time. The model
// and the item tokens are loaded once per DoFn instance in Setup; users
// are buffered and scored when the buffer is full (in ProcessElement) and
// at the end of the bundle (in FinishBundle, whose elements go to the
// global window like every element of this batch pipeline).
type recommendFn struct {
	Checkpoint   string
	Data         string
	Items        int
	K            int
	BatchSize    int
	ModelVersion string

	m      *sequential.Scorer // the model and its normalised item table, built in Setup
	tokens []string           // tokens[id-1] is item id's token
	rows   []transforms.SequenceRow
	hist   sequential.History
}

func (f *recommendFn) Setup(ctx context.Context) error {
	m, mc, ck, err := models.Load(ctx, f.Checkpoint)
	if err != nil {
		return fmt.Errorf("recommend: %w", err)
	}
	if mc.Items != f.Items {
		return fmt.Errorf("recommend: %s now holds a model of %d items, not the %d the pipeline was built for", f.Checkpoint, mc.Items-1, f.Items-1)
	}
	vocab, err := readItemVocab(ctx, f.Data)
	if err != nil {
		return err
	}
	if vocab, err = models.CheckpointCatalogue(ck, f.Checkpoint, vocab, f.Data); err != nil {
		return fmt.Errorf("recommend: %w", err)
	}
	f.m, f.tokens, f.hist = sequential.NewScorer(m), vocab.Tokens, sequential.History{}
	return nil
}

// readItemVocab reads the item vocabulary of a preprocess output folder.
func readItemVocab(ctx context.Context, data string) (*features.Vocab, error) {
	vs, err := transforms.LoadVocabs(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("recommend: %w", err)
	}
	if vs[ItemVocab] == nil {
		return nil, fmt.Errorf("recommend: %s has no %s vocabulary", transforms.JoinPath(data, transforms.TableVocab), ItemVocab)
	}
	return vs[ItemVocab], nil
}

// StartBundle drops what a failed bundle may have left buffered.
func (f *recommendFn) StartBundle(_ context.Context, _ func(Recommendation)) {
	f.rows, f.hist = f.rows[:0], sequential.History{}
}

func (f *recommendFn) ProcessElement(ctx context.Context, user int64, iter func(*transforms.SequenceRow) bool, emit func(Recommendation)) error {
	var rows []transforms.SequenceRow
	var r transforms.SequenceRow
	for iter(&r) {
		rows = append(rows, r)
		r = transforms.SequenceRow{}
	}
	if len(rows) == 0 {
		return nil
	}
	last := latest(rows)
	// sequential.Histories restricted to the user, plus the last target:
	// everything the user is known to have.
	h := sequential.Histories(rows, transforms.SplitTest)[user]
	if i, found := slices.BinarySearch(h, int32(last.Target)); !found {
		h = slices.Insert(h, i, int32(last.Target))
	}
	f.rows, f.hist[user] = append(f.rows, last), h
	if len(f.rows) >= f.BatchSize {
		return f.flush(ctx, emit)
	}
	return nil
}

func (f *recommendFn) FinishBundle(ctx context.Context, emit func(Recommendation)) error {
	return f.flush(ctx, emit)
}

// latest is a user's most recent row: the test row, else the valid row,
// else the training window nearest the end (window 0).
func latest(rows []transforms.SequenceRow) transforms.SequenceRow {
	order := map[string]int{transforms.SplitTrain: 0, transforms.SplitValid: 1, transforms.SplitTest: 2}
	best := rows[0]
	for _, r := range rows[1:] {
		if order[r.Split] > order[best.Split] || (r.Split == best.Split && r.Window < best.Window) {
			best = r
		}
	}
	return best
}

// flush predicts for the buffered users as sequential.Predict does, with the item table normalised once in
// Setup, and emits their rows.
func (f *recommendFn) flush(ctx context.Context, emit func(Recommendation)) error {
	if len(f.rows) == 0 {
		return nil
	}
	defer func() { f.rows, f.hist = f.rows[:0], sequential.History{} }()
	idx := make([]int, len(f.rows))
	for i := range idx {
		idx[i] = i
	}
	recs, err := f.m.Predict(f.rows, idx, f.hist, f.K, f.BatchSize)
	if err != nil {
		return fmt.Errorf("recommend: %w", err)
	}
	for _, rec := range recs {
		for j, id := range rec.Items {
			if id <= 0 || int(id) > len(f.tokens) {
				return fmt.Errorf("recommend: user %q: item id %d has no token in %s's vocabulary", rec.UserKey, id, f.Data)
			}
			emit(Recommendation{User: rec.UserKey, Rank: int32(j + 1), Item: f.tokens[id-1], Score: rec.Scores[j], ModelVersion: f.ModelVersion, Source: SourceModel})
		}
	}
	users.Inc(ctx, int64(len(recs)))
	return nil
}
