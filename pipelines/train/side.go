package train

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/transforms"
)

// ItemCategories reads the item metadata file sf and returns the sorted
// category names and, for each item id of items (0 .. items.Len()), the
// ids of its categories. Items the file does not list get none; items of
// the file that the data does not have are ignored. A malformed line is an
// error naming its file and line.
func ItemCategories(ctx context.Context, sf SideFile, items *features.Vocab) ([]string, [][]int32, error) {
	f, err := transforms.DetectItemFormat(sf.File)
	if sf.Format != "" {
		f, err = transforms.ParseItemFormat(sf.Format)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("train: item_side_features: %w", err)
	}
	data, err := transforms.ReadFile(ctx, sf.File)
	if err != nil {
		return nil, nil, fmt.Errorf("train: item_side_features: %w", err)
	}
	byItem := map[int64][]string{}
	seen := map[string]bool{}
	_, err = transforms.ParseItems(bytes.NewReader(data), sf.File, f, func(m transforms.ItemMeta) error {
		if id := items.ID(m.Item); id > 0 {
			byItem[id] = m.Genres
			for _, g := range m.Genres {
				seen[g] = true
			}
		}
		return nil
	}, func(b transforms.BadLine) error {
		return fmt.Errorf("train: item_side_features: %s", b)
	})
	if err != nil {
		return nil, nil, err
	}
	if len(seen) == 0 {
		return nil, nil, fmt.Errorf("train: item_side_features: %s gives no category to any item of the data (wrong file or format %q?)", sf.File, f)
	}
	names := make([]string, 0, len(seen))
	for g := range seen {
		names = append(names, g)
	}
	slices.Sort(names)
	cats := make([][]int32, items.Size())
	for id, gs := range byItem {
		for _, g := range gs {
			c, _ := slices.BinarySearch(names, g)
			cats[id] = append(cats[id], int32(c))
		}
	}
	return names, cats, nil
}
