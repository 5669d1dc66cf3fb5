package transforms

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/genrec/genrec/features"
)

// Dataset is a preprocess output folder loaded into memory.
type Dataset struct {
	Dir     string
	Summary Summary
	Rows    []SequenceRow
	Vocabs  features.Vocabs
}

// ItemVocab is the vocabulary of item ids.
func (d *Dataset) ItemVocab() *features.Vocab { return d.Vocabs["item_id"] }

// Items is the catalogue size with padding id 0.
func (d *Dataset) Items() int { return d.Summary.Items + 1 }

// VocabJSON is the item vocabulary as features.Vocabs JSON, for checkpoints.
func (d *Dataset) VocabJSON() []byte {
	var buf bytes.Buffer
	v := d.ItemVocab()
	if v == nil {
		return nil
	}
	if err := (features.Vocabs{v.Name: v}).WriteJSON(&buf); err != nil {
		return nil
	}
	return buf.Bytes()
}

// LoadDataset reads the sequences and vocab tables and summary.json of a
// preprocess output folder (local or gs://). Its errors say which part is
// missing and how to make it.
func LoadDataset(ctx context.Context, dir string) (*Dataset, error) {
	if dir == "" {
		return nil, fmt.Errorf("no data folder: set data: in the config or --data (a preprocess --out folder)")
	}
	sum, err := ReadSummary(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("%s is not a finished preprocess output (run genrec preprocess first): %w", dir, err)
	}
	rows, err := LoadTable[SequenceRow](ctx, JoinPath(dir, TableSequences))
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s holds no sequences", JoinPath(dir, TableSequences))
	}
	// The pipeline writes rows in bundle order, which varies from run to
	// run; a fixed order makes the same seed give the same model on any
	// preprocess run of the same input.
	slices.SortStableFunc(rows, func(a, b SequenceRow) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Split, b.Split), cmp.Compare(a.Window, b.Window), cmp.Compare(a.Target, b.Target))
	})
	vs, err := LoadVocabs(ctx, dir)
	if err != nil {
		return nil, err
	}
	d := &Dataset{Dir: dir, Summary: sum, Rows: rows, Vocabs: vs}
	for i, r := range rows {
		if r.Target < 0 || r.Target >= int64(d.Items()) {
			return nil, fmt.Errorf("%s: row %d (user %q): target id %d is outside the vocabulary of %d items; was the folder written by two runs?",
				dir, i, r.UserKey, r.Target, sum.Items)
		}
	}
	return d, nil
}

// WithItems returns d with item vocabulary v (an extension of its own:
// see train.WithTextItems), or d itself when v is its vocabulary.
func (d *Dataset) WithItems(v *features.Vocab) *Dataset {
	if v == d.ItemVocab() {
		return d
	}
	out := *d
	out.Vocabs = maps.Clone(d.Vocabs)
	out.Vocabs[v.Name] = v
	out.Summary.Items = v.Len()
	return &out
}
