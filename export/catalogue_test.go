package export_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/features"
)

func vocabJSON(t *testing.T, tokens ...string) []byte {
	t.Helper()
	v := &features.Vocab{Name: "item_id", Tokens: tokens, Counts: make([]int64, len(tokens))}
	var b bytes.Buffer
	if err := (features.Vocabs{"item_id": v}).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The identity tells apart catalogues of one size; counts do not enter it;
// a checkpoint without a vocabulary is "unknown", never a mismatch.
func TestSameCatalogue(t *testing.T) {
	abc, cba := vocabJSON(t, "a", "b", "c"), vocabJSON(t, "c", "b", "a")
	if export.CatalogueID([]string{"ab", "c"}) == export.CatalogueID([]string{"a", "bc"}) {
		t.Error("token boundaries do not enter the identity")
	}
	if err := export.SameCatalogue(abc, "x.ckpt", abc, "data"); err != nil {
		t.Errorf("same catalogue: %v", err)
	}
	err := export.SameCatalogue(abc, "x.ckpt", cba, "data/")
	if err == nil || !strings.Contains(err.Error(), "x.ckpt") || !strings.Contains(err.Error(), "data/") {
		t.Errorf("other ids: err = %v, want one naming x.ckpt and data/", err)
	}
	if err := export.SameCatalogue(nil, "x.ckpt", abc, "data"); err != nil {
		t.Errorf("no vocabulary: %v, want nil", err)
	}
	if _, err := export.CheckpointCatalogueID(nil, "x.ckpt"); !errors.Is(err, export.ErrNoCatalogue) {
		t.Errorf("CheckpointCatalogueID(nil) = %v, want ErrNoCatalogue", err)
	}
	if err := export.SameCatalogue([]byte("{not json"), "x.ckpt", abc, "data"); err == nil || !strings.Contains(err.Error(), "x.ckpt") {
		t.Errorf("corrupt vocabulary: %v", err)
	}
}
