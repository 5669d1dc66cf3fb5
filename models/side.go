package models

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
	return sideLists(seen, byItem, items.Size())
}

// UserFeatures reads the user metadata file sf and returns the sorted
// feature names ("gender=F", "age=25", "occupation=writer") and, for each
// user id of users (0 .. users.Len()), the ids of the user's features.
// Users the file does not list get none. A malformed line is an error
// naming its file and line.
func UserFeatures(ctx context.Context, sf SideFile, users *features.Vocab) ([]string, [][]int32, error) {
	if users == nil {
		return nil, nil, fmt.Errorf("train: user_side_features: the data has no user_id vocabulary")
	}
	f, err := transforms.DetectUserFormat(sf.File)
	if sf.Format != "" {
		f, err = transforms.ParseUserFormat(sf.Format)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("train: user_side_features: %w", err)
	}
	data, err := transforms.ReadFile(ctx, sf.File)
	if err != nil {
		return nil, nil, fmt.Errorf("train: user_side_features: %w", err)
	}
	byUser := map[int64][]string{}
	seen := map[string]bool{}
	_, err = transforms.ParseUsers(bytes.NewReader(data), sf.File, f, func(m transforms.UserMeta) error {
		id := users.ID(m.User)
		if id == 0 {
			return nil
		}
		for _, kv := range [][2]string{{"gender", m.Gender}, {"age", m.Age}, {"occupation", m.Occupation}} {
			if kv[1] != "" {
				tok := kv[0] + "=" + kv[1]
				byUser[id] = append(byUser[id], tok)
				seen[tok] = true
			}
		}
		return nil
	}, func(b transforms.BadLine) error {
		return fmt.Errorf("train: user_side_features: %s", b)
	})
	if err != nil {
		return nil, nil, err
	}
	if len(seen) == 0 {
		return nil, nil, fmt.Errorf("train: user_side_features: %s gives no feature to any user of the data (wrong file or format %q?)", sf.File, f)
	}
	return sideLists(seen, byUser, users.Size())
}

// sideLists numbers the sorted names of seen and maps each key's names to
// their numbers.
func sideLists(seen map[string]bool, byKey map[int64][]string, size int) ([]string, [][]int32, error) {
	names := make([]string, 0, len(seen))
	for g := range seen {
		names = append(names, g)
	}
	slices.Sort(names)
	lists := make([][]int32, size)
	for key, gs := range byKey {
		for _, g := range gs {
			c, _ := slices.BinarySearch(names, g)
			lists[key] = append(lists[key], int32(c))
		}
	}
	return names, lists, nil
}
