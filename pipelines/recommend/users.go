package recommend

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/textio"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/top"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/transforms"
)

func init() {
	register.Function2x0[string, func(string, int)](listedUser)
	register.Function2x0[transforms.SequenceRow, func(string, transforms.SequenceRow)](rowByUserKey)
	register.DoFn5x0[string, func(*int) bool, func(*transforms.SequenceRow) bool, func(transforms.SequenceRow), func(string)](&splitListedFn{})
	register.Function2x0[transforms.SequenceRow, func(int64, int64)](itemInteractions)
	register.Function2x1[int64, int64, ItemCount](toItemCount)
	register.Function2x1[ItemCount, ItemCount, bool](lessPopular)
	register.Function1x1[transforms.SequenceRow, int64](rowInteractions)
	register.DoFn5x1[context.Context, string, func(*[]ItemCount) bool, func(*int64) bool, func(Recommendation), error](&popularFn{})
	register.Emitter2[string, int]()
	register.Emitter2[string, transforms.SequenceRow]()
	register.Emitter2[int64, int64]()
	register.Emitter1[transforms.SequenceRow]()
	register.Emitter1[string]()
	register.Iter1[int]()
	register.Iter1[[]ItemCount]()
	register.Iter1[int64]()
}

// Sources of a Recommendation.
const (
	SourceModel   = "model"   // the checkpoint's top K after the user's history
	SourcePopular = "popular" // a listed user without history: the most popular items
)

// newUsers counts the listed users recommended the popular items.
var newUsers = beam.NewCounter("genrec.recommend", "new_users")

// SelectUsers keeps the rows of the users listed in the file usersFile
// (one user key per line; blank lines skipped, repeats kept once). It
// takes PCollection<transforms.SequenceRow> and returns the listed users'
// rows (PCollection<transforms.SequenceRow>) and the listed keys that no
// row has, new users (PCollection<string>).
func SelectUsers(s beam.Scope, usersFile string, rows beam.PCollection) (listed, unknown beam.PCollection) {
	s = s.Scope("recommend.SelectUsers")
	keys := beam.ParDo(s, listedUser, textio.Read(s, usersFile))
	byKey := beam.ParDo(s, rowByUserKey, rows)
	return beam.ParDo2(s, &splitListedFn{}, beam.CoGroupByKey(s, keys, byKey))
}

func listedUser(line string, emit func(string, int)) {
	if u := strings.TrimSpace(line); u != "" {
		emit(u, 1)
	}
}

func rowByUserKey(r transforms.SequenceRow, emit func(string, transforms.SequenceRow)) {
	emit(r.UserKey, r)
}

// splitListedFn passes on the rows of listed users and names the listed
// users without rows.
type splitListedFn struct{}

func (f *splitListedFn) ProcessElement(user string, listed func(*int) bool, rows func(*transforms.SequenceRow) bool, emitRow func(transforms.SequenceRow), emitNew func(string)) {
	var n int
	if !listed(&n) {
		return // a user of the data the file does not list
	}
	found := false
	var r transforms.SequenceRow
	for rows(&r) {
		emitRow(r)
		found, r = true, transforms.SequenceRow{}
	}
	if !found {
		emitNew(user)
	}
}

// ItemCount is an item and its training interactions.
type ItemCount struct {
	Item  int64
	Count int64
}

// PopularItems returns the k items with the most training interactions
// (history items and targets of the train split's rows) as a
// single-element PCollection<[]ItemCount>, and the number of training
// interactions as a single-element PCollection<int64> (no element when
// there are no training rows). It takes PCollection<transforms.SequenceRow>.
func PopularItems(s beam.Scope, rows beam.PCollection, k int) (items, total beam.PCollection) {
	s = s.Scope("recommend.PopularItems")
	counts := beam.ParDo(s, toItemCount, stats.SumPerKey(s, beam.ParDo(s, itemInteractions, rows)))
	return top.Largest(s, counts, k, lessPopular), stats.Sum(s, beam.ParDo(s, rowInteractions, rows))
}

func itemInteractions(r transforms.SequenceRow, emit func(int64, int64)) {
	if r.Split != transforms.SplitTrain {
		return
	}
	for _, it := range r.Items {
		emit(it, 1)
	}
	emit(r.Target, 1)
}

func rowInteractions(r transforms.SequenceRow) int64 {
	if r.Split != transforms.SplitTrain {
		return 0
	}
	return int64(len(r.Items) + 1)
}

func toItemCount(item, count int64) ItemCount { return ItemCount{Item: item, Count: count} }

// lessPopular orders by count, then by id (the lower id wins a tie, as
// Popular).
func lessPopular(a, b ItemCount) bool {
	return a.Count < b.Count || (a.Count == b.Count && a.Item > b.Item)
}

// Popular is PopularItems in memory: the k most popular items of rows,
// most first, and each one's share of the training interactions, the
// scores a new user's recommendations carry.
func Popular(rows []transforms.SequenceRow, k int) ([]int64, []float32) {
	counts := map[int64]int64{}
	var total int64
	for _, r := range rows {
		itemInteractions(r, func(it, n int64) { counts[it] += n })
		total += rowInteractions(r)
	}
	all := make([]ItemCount, 0, len(counts))
	for it, n := range counts {
		all = append(all, ItemCount{it, n})
	}
	return ranked(all, k, total)
}

// ranked sorts item counts most popular first (ties: lower id first),
// drops padding id 0, keeps k and scores each by its share of total.
func ranked(counts []ItemCount, k int, total int64) ([]int64, []float32) {
	counts = slices.DeleteFunc(slices.Clone(counts), func(c ItemCount) bool { return c.Item <= 0 })
	slices.SortFunc(counts, func(a, b ItemCount) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Item, b.Item)) })
	counts = counts[:min(k, len(counts))]
	ids, scores := make([]int64, len(counts)), make([]float32, len(counts))
	for i, c := range counts {
		ids[i], scores[i] = c.Item, float32(c.Count)/float32(total)
	}
	return ids, scores
}

// Fallback gives each new user (PCollection<string>) the popular items
// (PopularItems' two outputs, as side inputs), with source "popular".
func Fallback(s beam.Scope, cfg Config, unknown, items, total beam.PCollection) beam.PCollection {
	s = s.Scope("recommend.Fallback")
	return beam.ParDo(s, &popularFn{Data: cfg.Data, K: cfg.K, ModelVersion: cfg.ModelVersion}, unknown,
		beam.SideInput{Input: items}, beam.SideInput{Input: total})
}

// popularFn writes the popular items for a new user.
type popularFn struct {
	Data         string
	K            int
	ModelVersion string

	vocab *features.Vocab
}

func (f *popularFn) Setup(ctx context.Context) error {
	v, err := readItemVocab(ctx, f.Data)
	f.vocab = v
	return err
}

func (f *popularFn) ProcessElement(ctx context.Context, user string, items func(*[]ItemCount) bool, total func(*int64) bool, emit func(Recommendation)) error {
	var top []ItemCount
	var n int64
	items(&top)
	total(&n)
	ids, scores := ranked(top, f.K, n)
	for j, id := range ids {
		tok, ok := f.vocab.Token(id)
		if !ok {
			return fmt.Errorf("recommend: item id %d has no token in %s's vocabulary", id, f.Data)
		}
		emit(Recommendation{User: user, Rank: int32(j + 1), Item: tok, Score: scores[j], ModelVersion: f.ModelVersion, Source: SourcePopular})
	}
	newUsers.Inc(ctx, 1)
	return nil
}
