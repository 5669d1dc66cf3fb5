package gcstest_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/models/hllm/text"
	"github.com/genrec/genrec/pipelines/embeditems"
	"github.com/genrec/genrec/runners"
)

// TestBERTFolderOnGCS encodes item texts with a BERT folder on gs://
// (each worker copies it locally) and with the same folder on disk: the
// vectors are the same, and the encoder id names the gs:// folder.
func TestBERTFolderOnGCS(t *testing.T) {
	srv := startFakeGCS(t, nil)
	ctx := context.Background()
	local := t.TempDir()
	tokens := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "title", ":", "genres", "toy", "story", "heat", "comedy", "action", ".", "(", ")"}
	cfg := text.Config{VocabSize: len(tokens), HiddenSize: 8, NumHiddenLayers: 1, NumAttentionHeads: 2, IntermediateSize: 16,
		HiddenAct: "gelu", MaxPositionEmbeddings: 64, TypeVocabSize: 2, LayerNormEps: 1e-12}
	if err := text.WriteRandom(local, cfg, tokens, 7); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "vocab.txt", "model.safetensors"} {
		b, err := os.ReadFile(filepath.Join(local, name))
		if err != nil {
			t.Fatal(err)
		}
		put(t, srv, "models/tiny-bert/"+name, b)
	}
	items := filepath.Join(t.TempDir(), "movies.csv")
	os.WriteFile(items, []byte("movieId,title,genres\n1,Toy Story (1995),Comedy\n2,Heat (1995),Action\n3,Toy Heat (2000),Comedy|Action\n"), 0o644)
	run := func(encoder, out string) map[string][]float32 {
		t.Helper()
		res, err := embeditems.Run(ctx, embeditems.Config{Items: items, Encoder: encoder, Out: out}, runners.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Encoded != 3 || !strings.Contains(res.Encoder, encoder) {
			t.Fatalf("encoder %s: %d encoded, encoder id %q", encoder, res.Encoded, res.Encoder)
		}
		rows, err := itemtext.LoadEmbeddings(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]float32{}
		for _, r := range rows {
			m[r.ItemKey] = r.Vector
		}
		return m
	}
	want := run(local, t.TempDir())
	got := run(gs("models/tiny-bert"), gs("items-bert"))
	for k, w := range want {
		if len(w) != 8 || !slices.Equal(got[k], w) {
			t.Errorf("item %s: gs:// folder %v, local folder %v", k, got[k], w)
		}
	}
	if _, err := embeditems.Run(ctx, embeditems.Config{Items: items, Encoder: gs("models/none"), Out: t.TempDir()}, runners.Options{}); err == nil || !strings.Contains(err.Error(), "models/none") {
		t.Errorf("missing gs:// folder: err = %v", err)
	}
}
