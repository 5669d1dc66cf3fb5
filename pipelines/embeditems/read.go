package embeditems

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/transforms"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(ItemText), error](&readItemsFn{})
	register.Emitter1[ItemText]()
}

// ItemText is one item's text, ready to encode.
type ItemText struct {
	Key  string // the item's token in the metadata file
	Item int64  // its encoded id in the vocabulary, 0 without one
	Text string
	Hash string // hex SHA-256 of Text
}

// ReadItems reads the metadata file (and the tags and vocabulary cfg
// names) and returns PCollection<ItemText>, one per item (of the
// vocabulary when cfg.Data is set). The file is read by one worker: item
// metadata is small. A malformed line fails the job with an error naming
// file:line (ParseItems' fail-fast rule).
func ReadItems(s beam.Scope, cfg Config) beam.PCollection {
	s = s.Scope("embeditems.ReadItems")
	return beam.ParDo(s, &readItemsFn{Items: cfg.Items, Format: string(cfg.format()), Tags: cfg.Tags,
		MaxTags: cfg.MaxTags, Data: cfg.Data, Template: cfg.Template}, beam.Impulse(s))
}

type readItemsFn struct {
	Items, Format, Tags string
	MaxTags             int
	Data, Template      string
}

func (f *readItemsFn) ProcessElement(ctx context.Context, _ []byte, emit func(ItemText)) error {
	tpl, err := itemtext.NewTemplate(f.Template)
	if err != nil {
		return err
	}
	tags := map[string][]string{}
	if f.Tags != "" {
		if tags, err = readTags(ctx, f.Tags, f.MaxTags); err != nil {
			return err
		}
	}
	var ids map[string]int64
	if f.Data != "" {
		if ids, err = itemIDs(ctx, f.Data); err != nil {
			return err
		}
	}
	b, err := transforms.ReadFile(ctx, f.Items)
	if err != nil {
		return fmt.Errorf("embeditems: reading %s: %w", f.Items, err)
	}
	seen := map[string]bool{}
	notInVocab := beam.NewCounter("genrec.embeditems", "not_in_vocab")
	_, err = transforms.ParseItems(bytes.NewReader(b), f.Items, transforms.ItemFormat(f.Format), func(m transforms.ItemMeta) error {
		var id int64
		if ids != nil {
			if id = ids[m.Item]; id == 0 {
				notInVocab.Inc(ctx, 1)
				return nil
			}
		}
		if seen[m.Item] {
			return fmt.Errorf("embeditems: %s: item %q appears twice", f.Items, m.Item)
		}
		seen[m.Item] = true
		t := tpl.Build(m, tags[m.Item])
		emit(ItemText{Key: m.Item, Item: id, Text: t, Hash: TextHash(t)})
		return nil
	}, nil)
	if err != nil {
		return fmt.Errorf("embeditems: %w", err)
	}
	if ids != nil {
		beam.NewCounter("genrec.embeditems", "vocab_without_metadata").Inc(ctx, int64(len(ids)-len(seen)))
	}
	return nil
}

// TextHash is the hex SHA-256 of an item text.
func TextHash(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// itemIDs reads the "item_id" vocabulary of a preprocess folder.
func itemIDs(ctx context.Context, data string) (map[string]int64, error) {
	vs, err := transforms.LoadVocabs(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("embeditems: reading the vocabulary: %w", err)
	}
	dir := transforms.JoinPath(data, transforms.TableVocab)
	v := vs["item_id"]
	if v == nil {
		return nil, fmt.Errorf("embeditems: %s has no item_id vocabulary", dir)
	}
	ids := make(map[string]int64, v.Len())
	for i, t := range v.Tokens {
		ids[t] = int64(i + 1)
	}
	return ids, nil
}

// readTags reads a MovieLens tags.csv (header userId,movieId,tag,timestamp)
// and returns, per movie, up to max distinct tags (compared lower-cased,
// first spelling kept), most frequent first, ties alphabetical. A
// malformed record is an error naming file:line.
func readTags(ctx context.Context, path string, max int) (map[string][]string, error) {
	b, err := transforms.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("embeditems: reading %s: %w", path, err)
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	type tag struct {
		text string
		n    int
	}
	byItem := map[string]map[string]*tag{}
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("embeditems: %s: %w", path, err)
		}
		if first && len(rec) > 1 && rec[1] == "movieId" {
			continue
		}
		if len(rec) < 3 {
			return nil, fmt.Errorf("embeditems: %s:%d: %d fields, want userId,movieId,tag,timestamp", path, line, len(rec))
		}
		t := strings.TrimSpace(rec[2])
		if t == "" {
			continue
		}
		m := byItem[rec[1]]
		if m == nil {
			m = map[string]*tag{}
			byItem[rec[1]] = m
		}
		k := strings.ToLower(t)
		if m[k] == nil {
			m[k] = &tag{text: t}
		}
		m[k].n++
	}
	out := make(map[string][]string, len(byItem))
	for item, m := range byItem {
		ts := make([]*tag, 0, len(m))
		for _, t := range m {
			ts = append(ts, t)
		}
		slices.SortFunc(ts, func(a, b *tag) int {
			if c := cmp.Compare(b.n, a.n); c != 0 {
				return c
			}
			return strings.Compare(strings.ToLower(a.text), strings.ToLower(b.text))
		})
		if len(ts) > max {
			ts = ts[:max]
		}
		for _, t := range ts {
			out[item] = append(out[item], t.text)
		}
	}
	return out, nil
}
