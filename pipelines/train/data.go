package train

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/transforms"
)

// Data is a preprocess output folder loaded into memory.
type Data struct {
	Dir     string
	Summary preprocess.Summary
	Rows    []transforms.SequenceRow
	Vocabs  features.Vocabs
}

// ItemVocab is the vocabulary of item ids.
func (d *Data) ItemVocab() *features.Vocab { return d.Vocabs["item_id"] }

// Items is the catalogue size with padding id 0.
func (d *Data) Items() int { return d.Summary.Items + 1 }

// VocabJSON is the item vocabulary as features.Vocabs JSON, for checkpoints.
func (d *Data) VocabJSON() []byte {
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

// LoadData reads the sequences and vocab tables and summary.json of a
// preprocess output folder (local or gs://). Its errors say which part is
// missing and how to make it.
func LoadData(ctx context.Context, dir string) (*Data, error) {
	if dir == "" {
		return nil, fmt.Errorf("train: no data folder: set data: in the config or --data (a preprocess --out folder)")
	}
	sum, err := preprocess.ReadSummary(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("train: %s is not a finished preprocess output (run genrec preprocess first): %w", dir, err)
	}
	rows, err := transforms.LoadTable[transforms.SequenceRow](ctx, transforms.JoinPath(dir, transforms.TableSequences))
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("train: %s holds no sequences", transforms.JoinPath(dir, transforms.TableSequences))
	}
	// The pipeline writes rows in bundle order, which varies from run to
	// run; a fixed order makes the same seed give the same model on any
	// preprocess run of the same input.
	slices.SortStableFunc(rows, func(a, b transforms.SequenceRow) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Split, b.Split), cmp.Compare(a.Window, b.Window), cmp.Compare(a.Target, b.Target))
	})
	vs, err := transforms.LoadVocabs(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	d := &Data{Dir: dir, Summary: sum, Rows: rows, Vocabs: vs}
	for i, r := range rows {
		if r.Target < 0 || r.Target >= int64(d.Items()) {
			return nil, fmt.Errorf("train: %s: row %d (user %q): target id %d is outside the vocabulary of %d items; was the folder written by two runs?",
				dir, i, r.UserKey, r.Target, sum.Items)
		}
	}
	return d, nil
}
