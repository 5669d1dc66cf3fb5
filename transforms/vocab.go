package transforms

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/features"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(features.Vocabs{}), encodeVocabs, decodeVocabs)
	register.Combiner1[TokenCounts](&mergeCountsFn{})
	register.DoFn2x0[TokenCounts, func(features.Vocabs)](&buildVocabsFn{})
	register.Emitter1[features.Vocabs]()
	register.DoFn3x1[context.Context, features.Vocabs, func(TempFile), error](&writeVocabFn{})
}

func encodeVocabs(vs features.Vocabs) ([]byte, error) {
	var b bytes.Buffer
	err := vs.WriteJSON(&b)
	return b.Bytes(), err
}

func decodeVocabs(b []byte) (features.Vocabs, error) {
	return features.ReadVocabsJSON(bytes.NewReader(b), "beam element")
}

// TokenCounts counts tokens per source (features.SourceUser, SourceItem,
// SourceCategory): how many events name each user and item, how many items
// carry each category.
type TokenCounts struct {
	Counts map[string]map[string]int64
}

// Add counts one token of source.
func (c *TokenCounts) Add(source, tok string) {
	if c.Counts == nil {
		c.Counts = map[string]map[string]int64{}
	}
	m := c.Counts[source]
	if m == nil {
		m = map[string]int64{}
		c.Counts[source] = m
	}
	m[tok]++
}

// Merge adds o's counts into c.
func (c *TokenCounts) Merge(o TokenCounts) {
	if c.Counts == nil {
		c.Counts = map[string]map[string]int64{}
	}
	for src, m := range o.Counts {
		dst := c.Counts[src]
		if dst == nil {
			dst = make(map[string]int64, len(m))
			c.Counts[src] = dst
		}
		for t, n := range m {
			dst[t] += n
		}
	}
}

type mergeCountsFn struct{}

func (mergeCountsFn) MergeAccumulators(a, b TokenCounts) TokenCounts {
	if len(a.Counts) == 0 {
		return b
	}
	a.Merge(b)
	return a
}

// VocabSpec names the vocabulary built from one source and its threshold.
type VocabSpec struct {
	Name     string // the feature name, e.g. item_id
	Source   string // features.SourceUser, SourceItem or SourceCategory
	MinCount int
}

// BuildVocabs merges partial token counts and builds one vocabulary per
// spec. It takes PCollection<TokenCounts> and returns a single-element
// PCollection<features.Vocabs>; a spec whose source saw no token gets an
// empty vocabulary.
func BuildVocabs(s beam.Scope, counts beam.PCollection, specs []VocabSpec) beam.PCollection {
	s = s.Scope("transforms.BuildVocabs")
	total := beam.Combine(s, &mergeCountsFn{}, counts)
	return beam.ParDo(s, &buildVocabsFn{Specs: specs}, total)
}

type buildVocabsFn struct {
	Specs []VocabSpec
}

func (f *buildVocabsFn) ProcessElement(c TokenCounts, emit func(features.Vocabs)) {
	emit(VocabsFromCounts(c, f.Specs))
}

// VocabsFromCounts builds the vocabularies of specs from total counts.
func VocabsFromCounts(c TokenCounts, specs []VocabSpec) features.Vocabs {
	vs := features.Vocabs{}
	for _, sp := range specs {
		vs[sp.Name] = features.BuildVocab(sp.Name, c.Counts[sp.Source], sp.MinCount)
	}
	return vs
}

// VocabRow is one row of the vocab table.
type VocabRow struct {
	Feature string `parquet:"feature,dict"`
	ID      int64  `parquet:"id"`
	Token   string `parquet:"token"`
	Count   int64  `parquet:"count"`
}

// VocabRows lists vs as table rows: features by name, ids ascending.
func VocabRows(vs features.Vocabs) []VocabRow {
	var rows []VocabRow
	for _, name := range vs.Names() {
		v := vs[name]
		for i, t := range v.Tokens {
			rows = append(rows, VocabRow{Feature: name, ID: int64(i + 1), Token: t, Count: v.Counts[i]})
		}
	}
	return rows
}

// WriteVocab writes the vocabularies as one Parquet file (rows in
// VocabRows order, so equal vocabularies give equal bytes) under a
// temporary name. It takes the single-element PCollection<features.Vocabs>
// and returns PCollection<TempFile>.
func WriteVocab(s beam.Scope, tempDir string, vocabs beam.PCollection) beam.PCollection {
	s = s.Scope("transforms.WriteVocab")
	return beam.ParDo(s, &writeVocabFn{TempDir: tempDir}, vocabs)
}

type writeVocabFn struct {
	TempDir string
}

func (f *writeVocabFn) ProcessElement(ctx context.Context, vs features.Vocabs, emit func(TempFile)) error {
	var w PartWriter[VocabRow]
	if err := w.Write(ctx, f.TempDir, TableVocab, VocabRows(vs)...); err != nil {
		return err
	}
	return w.Finish(ctx, emit)
}

// LoadVocabs reads the vocab table of a preprocess output folder (local or
// gs://) and rebuilds its vocabularies; its errors name the table.
func LoadVocabs(ctx context.Context, dir string) (features.Vocabs, error) {
	table := JoinPath(dir, TableVocab)
	rows, err := LoadTable[VocabRow](ctx, table)
	if err != nil {
		return nil, err
	}
	vs, err := VocabsFromRows(rows)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", table, err)
	}
	return vs, nil
}

// VocabsFromRows rebuilds the vocabularies of a vocab table (the inverse
// of VocabRows; rows may come in any order). It returns an error naming
// the feature when its ids are not exactly 1..n.
func VocabsFromRows(rows []VocabRow) (features.Vocabs, error) {
	byName := map[string][]VocabRow{}
	for _, r := range rows {
		byName[r.Feature] = append(byName[r.Feature], r)
	}
	vs := features.Vocabs{}
	for name, rs := range byName {
		slices.SortFunc(rs, func(a, b VocabRow) int { return cmp.Compare(a.ID, b.ID) })
		v := &features.Vocab{Name: name, Tokens: make([]string, len(rs)), Counts: make([]int64, len(rs))}
		for i, r := range rs {
			if r.ID != int64(i+1) {
				return nil, fmt.Errorf("transforms: vocab %s: ids are not 1..%d (found id %d at position %d)", name, len(rs), r.ID, i+1)
			}
			v.Tokens[i], v.Counts[i] = r.Token, r.Count
		}
		vs[name] = v
	}
	return vs, nil
}
