package models_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/genrec/genrec/features"

	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/transforms"
)

func TestModelConfigRoundTrip(t *testing.T) {
	c := models.Config{Spec: models.Spec{Name: "hstu", Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 1, HiddenSize: 8},
		Hierarchical: hstu.HierarchicalParams{Level1WindowSize: 4}}, Items: 10, MaxSeqLen: 6}
	got, err := models.ParseConfig(c.JSON())
	if err != nil || got.Transformer != c.Transformer || got.Hierarchical != c.Hierarchical || got.Items != 10 || got.MaxSeqLen != 6 {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, c)
	}
	for _, name := range []string{"hstu", "sasrec"} {
		c.Name = name
		m, err := models.Build(c, 1)
		if err != nil || m.Name() != name || m.ItemTable().Rows() != 10 || m.MaxLen() != 6 {
			t.Errorf("BuildModel(%s) = %v, %v", name, m, err)
		}
	}
	c.Name = "gpt"
	if _, err := models.Build(c, 1); err == nil || !strings.Contains(err.Error(), "unknown model \"gpt\"") || !errors.Is(err, transforms.ErrInvalid) {
		t.Errorf("unknown model: err = %v", err)
	}
}

func TestLoadDataErrors(t *testing.T) {
	for _, tc := range []struct{ dir, want string }{
		{"", "no data folder"},
		{t.TempDir(), "is not a finished preprocess output (run genrec preprocess first)"},
	} {
		if _, err := transforms.LoadDataset(context.Background(), tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadData(%q): err = %v, want %q", tc.dir, err, tc.want)
		}
	}
}

func TestItemCategories(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "movies.csv")
	os.WriteFile(path, []byte("movieId,title,genres\n10,A (1999),Drama|Comedy\n20,B (2001),Drama\n99,Not in data (2000),Horror\n"), 0o644)
	items := features.BuildVocab("item_id", map[string]int64{"10": 5, "20": 3, "30": 1}, 1)
	names, cats, err := models.ItemCategories(context.Background(), models.SideFile{File: path}, items)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names, []string{"Comedy", "Drama"}) { // Horror is only on an item the data lacks
		t.Errorf("names %v, want [Comedy Drama]", names)
	}
	want := [][]int32{nil, {1, 0}, {1}, nil} // ids: 0 padding, 1 "10", 2 "20", 3 "30" (no metadata)
	if len(cats) != 4 || !slices.Equal(cats[1], want[1]) || !slices.Equal(cats[2], want[2]) || cats[3] != nil {
		t.Errorf("cats %v, want %v", cats, want)
	}
	bad := filepath.Join(dir, "u.item")
	os.WriteFile(bad, []byte("1|x\n"), 0o644)
	if _, _, err := models.ItemCategories(context.Background(), models.SideFile{File: bad}, items); err == nil || !strings.Contains(err.Error(), "u.item:1") {
		t.Errorf("malformed file: err = %v, want it to name u.item:1", err)
	}
	if _, _, err := models.ItemCategories(context.Background(), models.SideFile{File: filepath.Join(dir, "nope.csv")}, items); err == nil {
		t.Error("missing file: no error")
	}
}

func TestUserFeatures(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.user")
	os.WriteFile(path, []byte("1|24|M|technician|85711\n2|53|F|other|94043\n7|57|M|administrator|91344\n"), 0o644)
	users := features.BuildVocab("user_id", map[string]int64{"1": 9, "2": 5, "3": 1}, 1)
	names, lists, err := models.UserFeatures(context.Background(), models.SideFile{File: path}, users)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"age=24", "age=53", "gender=F", "gender=M", "occupation=other", "occupation=technician"}
	if !slices.Equal(names, want) {
		t.Errorf("names %v, want %v (user 7 is not in the data)", names, want)
	}
	if !slices.Equal(lists[1], []int32{3, 0, 5}) || !slices.Equal(lists[2], []int32{2, 1, 4}) || lists[3] != nil || len(lists) != 4 {
		t.Errorf("lists %v, want user 1 → [3 0 5], user 2 → [2 1 4], user 3 → none", lists)
	}
}
