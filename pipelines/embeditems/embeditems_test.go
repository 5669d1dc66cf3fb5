package embeditems_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/pipelines/embeditems"
	"github.com/genrec/genrec/runners"
)

func TestMain(m *testing.M) { ptest.Main(m) }

const movies = `movieId,title,genres
1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy
2,Jumanji (1995),Adventure|Children|Fantasy
3,Grumpier Old Men (1995),Comedy|Romance
4,Heat (1995),Action|Crime|Thriller
5,"Godfather, The (1972)",Crime|Drama
6,Sabrina (1995),(no genres listed)
`

const tags = `userId,movieId,tag,timestamp
1,1,pixar,0
2,1,Pixar,0
3,1,fun,0
4,4,heist,0
`

func write(t testing.TB, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func byKey(t *testing.T, out string) map[string]embeditems.EmbeddingRow {
	t.Helper()
	rows, err := itemtext.LoadEmbeddings(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]embeditems.EmbeddingRow{}
	for _, r := range rows {
		if _, dup := m[r.ItemKey]; dup {
			t.Fatalf("item %s written twice", r.ItemKey)
		}
		m[r.ItemKey] = r
	}
	return m
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// A run writes one unit-norm Dim-long row per item; a rerun after one
// title changed encodes that item only and copies the others bit for bit.
func TestRunAndIncrementalRerun(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := embeditems.Config{Items: write(t, dir, "movies.csv", movies), Tags: write(t, dir, "tags.csv", tags),
		Out: filepath.Join(dir, "out"), Dim: 32, BatchSize: 4}
	res, err := embeditems.Run(ctx, cfg, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 6 || res.Encoded != 6 || res.Reused != 0 {
		t.Errorf("first run: rows %d encoded %d reused %d, want 6 6 0", res.Rows, res.Encoded, res.Reused)
	}
	first := byKey(t, cfg.Out)
	if len(first) != 6 {
		t.Fatalf("%d rows, want 6", len(first))
	}
	for k, r := range first {
		if len(r.Vector) != 32 {
			t.Errorf("item %s: dim %d, want 32", k, len(r.Vector))
		}
		if n := norm(r.Vector); math.Abs(n-1) > 1e-5 { // float32 rounding
			t.Errorf("item %s: norm %v, want 1", k, n)
		}
		if r.Item != 0 || r.Encoder != res.Encoder || len(r.TextHash) != 64 {
			t.Errorf("item %s: row %+v", k, r)
		}
	}
	if got, want := first["1"].TextHash, embeditems.TextHash("Title: Toy Story (1995). Genres: Adventure, Animation, Children, Comedy, Fantasy. Tags: pixar, fun."); got != want {
		t.Errorf("item 1: text hash %s is not that of the expected text (tags deduplicated, most frequent first)", got)
	}

	write(t, dir, "movies.csv", strings.Replace(movies, "Heat (1995)", "Heat: Director's Cut (1995)", 1))
	res, err = embeditems.Run(ctx, cfg, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 6 || res.Encoded != 1 || res.Reused != 5 {
		t.Errorf("rerun: rows %d encoded %d reused %d, want 6 1 5", res.Rows, res.Encoded, res.Reused)
	}
	second := byKey(t, cfg.Out)
	if len(second) != 6 {
		t.Fatalf("rerun: %d rows, want 6", len(second))
	}
	for k, r := range second {
		same := slices.Equal(r.Vector, first[k].Vector)
		if k == "4" && same {
			t.Errorf("edited item 4 kept its vector")
		}
		if k != "4" && !same {
			t.Errorf("unchanged item %s got a new vector", k)
		}
	}

	// Another encoder ID reuses nothing.
	cfg.Dim = 16
	res, err = embeditems.Run(ctx, cfg, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Encoded != 6 || res.Reused != 0 {
		t.Errorf("new encoder: encoded %d reused %d, want 6 0", res.Encoded, res.Reused)
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	bad := write(t, dir, "movies.csv", movies+"7,Only Two Fields\n")
	cases := []struct {
		name string
		cfg  embeditems.Config
		want string
	}{
		{"malformed line names file:line", embeditems.Config{Items: bad, Out: filepath.Join(dir, "o1")}, "movies.csv:8"},
		{"unknown format", embeditems.Config{Items: write(t, dir, "items.txt", movies), Out: dir}, "item format"},
		{"missing items file", embeditems.Config{Items: filepath.Join(dir, "gone", "movies.csv"), Out: dir}, "gone/movies.csv: file does not exist"},
		{"missing tags file", embeditems.Config{Items: bad, Tags: filepath.Join(dir, "tags.csv"), Out: dir}, "tags.csv: file does not exist"},
		{"bad template", embeditems.Config{Items: bad, Template: "{plot}", Out: dir}, "unknown field"},
		{"missing BERT folder", embeditems.Config{Items: bad, Encoder: filepath.Join(dir, "nobert"), Out: dir}, "nobert"},
	}
	for _, c := range cases {
		_, err := embeditems.Run(context.Background(), c.cfg, runners.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o1", embeditems.EmbeddingsTable)); err == nil {
		t.Error("a failed run published a table")
	}
}

func TestRealML100K(t *testing.T) {
	items := "/work/shared/data/ml-100k/u.item"
	if _, err := os.Stat(items); err != nil {
		t.Skip("no ml-100k u.item")
	}
	out := t.TempDir()
	res, err := embeditems.Run(context.Background(), embeditems.Config{Items: items, Out: out}, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rows := byKey(t, out)
	if len(rows) != 1682 || res.Rows != 1682 {
		t.Errorf("%d rows (result %d), want 1682", len(rows), res.Rows)
	}
	t.Logf("ml-100k: %d items in %.2fs (%.0f items/s, whole pipeline)", res.Rows, res.Seconds, res.ItemsPerSecond)
}
