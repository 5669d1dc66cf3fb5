package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/genrec/genrec/models/hllm/itemtext"
)

func TestEmbedItemsCommand(t *testing.T) {
	dir := t.TempDir()
	movies := filepath.Join(dir, "movies.csv")
	csv := "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation|Children\n2,Jumanji (1995),Adventure|Children|Fantasy\n3,Heat (1995),Action|Crime|Thriller\n"
	if err := os.WriteFile(movies, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "emb")
	if code := run(context.Background(), []string{"embed-items", "--items", movies, "--out", out, "--dim", "16"}); code != 0 {
		t.Fatalf("embed-items exit %d", code)
	}
	rows, err := itemtext.LoadEmbeddings(context.Background(), out)
	if err != nil || len(rows) != 3 || len(rows[0].Vector) != 16 {
		t.Fatalf("embed-items wrote %d rows (err %v)", len(rows), err)
	}
	if code := run(context.Background(), []string{"embed-items", "--items", movies}); code != 2 {
		t.Errorf("embed-items without --out: exit %d, want 2", code)
	}
}
