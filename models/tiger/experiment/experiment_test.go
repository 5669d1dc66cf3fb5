package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models/tiger/rqvae"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/transforms"
)

// tinyData is 60 items and 200 users walking i -> i+1 -> i+2 ...
func tinyData() *transforms.Dataset {
	v := &features.Vocab{Name: "item_id"}
	for i := 1; i <= 60; i++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("item%d", i))
	}
	var rows []transforms.SequenceRow
	for u := range 200 {
		s := int64(u%60 + 1)
		items := []int64{s, s%60 + 1, (s+1)%60 + 1, (s+2)%60 + 1}
		rows = append(rows, transforms.SequenceRow{User: int64(u), Split: transforms.SplitTrain, Items: items[:3], Target: items[3]})
	}
	return &transforms.Dataset{Dir: "tiny", Summary: preprocess.Summary{Items: 60}, Rows: rows, Vocabs: features.Vocabs{"item_id": v}}
}

func TestSemanticIDsAreUniqueAndDeterministic(t *testing.T) {
	cfg := Config{CFDim: 16, RQVAE: rqvae.Config{Hidden: []int{16}, LatentDim: 8, Levels: 2, Codes: 8},
		RQVAEFit: rqvae.FitOptions{Epochs: 20, BatchSize: 32}}
	data := tinyData()
	ids, codes, _, err := SemanticIDs(context.Background(), cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 61 || ids[0] != nil || len(codes) != 3 {
		t.Fatalf("%d ids, codes %v", len(ids), codes)
	}
	seen := map[string]int{}
	for i, id := range ids[1:] {
		k := fmt.Sprint(id)
		if j, ok := seen[k]; ok {
			t.Fatalf("items %d and %d share %v", j, i+1, id)
		}
		seen[k] = i + 1
	}
	again, _, _, _ := SemanticIDs(context.Background(), cfg, data)
	for i := range ids {
		if fmt.Sprint(ids[i]) != fmt.Sprint(again[i]) {
			t.Fatalf("item %d: %v then %v with the same seed", i, ids[i], again[i])
		}
	}
	path := filepath.Join(t.TempDir(), "ids.parquet")
	if err := WriteSemanticIDs(context.Background(), path, data, ids); err != nil {
		t.Fatal(err)
	}
	back, err := transforms.ReadParquetFile[SemanticIDRow](context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 60 || back[4].ItemKey != "item5" || fmt.Sprint(append(back[4].Codes, back[4].Collision)) != fmt.Sprint(ids[5]) {
		t.Errorf("read back %d rows, row 4 = %+v, want item5 %v", len(back), back[4], ids[5])
	}
}

func TestFeaturesErrors(t *testing.T) {
	dir := t.TempDir()
	wrong := filepath.Join(dir, "attrs.json")
	os.WriteFile(wrong, []byte(`{"other": [1, 2]}`), 0o644)
	notJSON := filepath.Join(dir, "bad.json")
	os.WriteFile(notJSON, []byte(`[1, 2`), 0o644)
	for _, c := range []Config{
		{CFDim: -1},
		{CFDim: -1, Attributes: wrong},
		{Attributes: notJSON},
		{Attributes: filepath.Join(dir, "absent.json")},
	} {
		if _, _, err := Features(context.Background(), c, tinyData()); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
