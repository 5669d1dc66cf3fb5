package itemtext_test

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/models/hllm/text"
	"github.com/genrec/genrec/transforms"
)

func TestTemplateBuild(t *testing.T) {
	tpl := itemtext.MustTemplate(itemtext.DefaultTemplate)
	heat := transforms.ItemMeta{Item: "6", Title: "Heat (1995)", Year: 1995, Genres: []string{"Action", "Crime"}}
	cases := []struct {
		name string
		meta transforms.ItemMeta
		tags []string
		want string
	}{
		{"all", heat, []string{"Pacino", "De Niro"}, "Title: Heat (1995). Genres: Action, Crime. Tags: Pacino, De Niro."},
		{"no tags", heat, nil, "Title: Heat (1995). Genres: Action, Crime."},
		{"no genres", transforms.ItemMeta{Title: "Heat (1995)"}, []string{"heist"}, "Title: Heat (1995). Tags: heist."},
		{"title only, dots inside", transforms.ItemMeta{Title: "Mr. Holland's Opus (1995)"}, nil, "Title: Mr. Holland's Opus (1995)."},
		{"nothing", transforms.ItemMeta{}, nil, ""},
	}
	for _, c := range cases {
		if got := tpl.Build(c.meta, c.tags); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTemplateRenderFields(t *testing.T) {
	tpl := itemtext.MustTemplate("{title} ({year}). Categories: {categories}. About: {description}")
	got := tpl.Render(map[string]string{"title": "Heat", "year": "1995", "genres": "Crime", "description": "a heist film"})
	if want := "Heat (1995). Categories: Crime. About: a heist film"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = tpl.Render(map[string]string{"title": "Heat"})
	if want := "Heat ()."; got != want { // a clause is dropped only when all its fields are empty
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, f := range []string{"Title: {name}.", "Title: {title"} {
		if _, err := itemtext.NewTemplate(f); err == nil {
			t.Errorf("NewTemplate(%q): no error", f)
		}
	}
	if _, err := itemtext.NewTemplate(""); err != nil {
		t.Errorf("empty template: %v", err)
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

func norm(v []float32) float64 { return math.Sqrt(cosineDot(v, v)) }

func cosineDot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func TestHashedNGramShapesAndDeterminism(t *testing.T) {
	texts := []string{"Title: Toy Story (1995). Genres: Animation, Children's, Comedy.", "", "  ...  ", "Heat"}
	for _, d := range []int{1, 7, 64, 65, 256} {
		e := itemtext.HashedNGram{Dimension: d}
		if e.Dim() != d {
			t.Fatalf("Dim() = %d, want %d", e.Dim(), d)
		}
		a, err := e.Encode(texts)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := itemtext.HashedNGram{Dimension: d}.Encode(texts)
		if len(a) != len(texts) {
			t.Fatalf("d=%d: %d vectors for %d texts", d, len(a), len(texts))
		}
		for i, v := range a {
			if len(v) != d {
				t.Fatalf("d=%d text %d: len %d", d, i, len(v))
			}
			for j := range v {
				if v[j] != b[i][j] {
					t.Fatalf("d=%d text %d: not deterministic", d, i)
				}
			}
		}
		// Texts with words are unit vectors (tolerance 1e-6, float32 rounding);
		// texts without words are the zero vector.
		for _, i := range []int{0, 3} {
			if n := norm(a[i]); math.Abs(n-1) > 1e-6 {
				t.Errorf("d=%d text %d: norm %v, want 1", d, i, n)
			}
		}
		for _, i := range []int{1, 2} {
			if n := norm(a[i]); n != 0 {
				t.Errorf("d=%d text %q: norm %v, want 0", d, texts[i], n)
			}
		}
	}
	if (itemtext.HashedNGram{}).ID() == (itemtext.HashedNGram{Seed: 1}).ID() {
		t.Error("ID does not name the seed")
	}
	x, _ := itemtext.HashedNGram{}.Encode([]string{"Heat"})
	y, _ := itemtext.HashedNGram{Seed: 1}.Encode([]string{"Heat"})
	if cosine(x[0], y[0]) > 0.9 {
		t.Error("another seed gives nearly the same vector")
	}
}

// Similar titles must be closer than unrelated ones. Pairs are MovieLens
// titles; the margin is what the check needs, not a measured figure.
func TestHashedNGramSimilarity(t *testing.T) {
	e := itemtext.HashedNGram{Dimension: 256}
	cases := []struct{ a, similar, unrelated string }{
		{"Toy Story (1995)", "Toy Story 2 (1999)", "Heat (1995)"},
		{"Star Wars: Episode IV - A New Hope", "Star Wars: Episode V - The Empire Strikes Back", "Sense and Sensibility"},
		{"Genres: Animation, Children's, Comedy", "Genres: Animation, Comedy", "Genres: Horror, Thriller"},
		{"godfather", "Godfather, The", "casablanca"},
	}
	for _, c := range cases {
		v, _ := e.Encode([]string{c.a, c.similar, c.unrelated})
		s, u := cosine(v[0], v[1]), cosine(v[0], v[2])
		if s <= u+0.2 {
			t.Errorf("%q: cos to %q = %.3f, to %q = %.3f; want the first larger by 0.2", c.a, c.similar, s, c.unrelated, u)
		}
	}
}

func TestWords(t *testing.T) {
	got := strings.Join(itemtext.Words("Children's Café: L.A. 2019!"), "|")
	if want := "children|s|café|l|a|2019"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestLoadBERTEncoderErrors(t *testing.T) {
	if _, err := itemtext.LoadBERTEncoder(t.TempDir(), "max"); err == nil || !strings.Contains(err.Error(), "pooling") {
		t.Errorf("bad pooling: err = %v", err)
	}
	if _, err := itemtext.LoadBERTEncoder(t.TempDir(), ""); err == nil {
		t.Error("empty folder: no error")
	}
}

// TestMiniLMEncoder loads the packaged all-MiniLM-L6-v2 (when installed) as
// the embed-items pipeline does: the sentence-transformers folder's mean
// pooling and normalisation, and a clear error for another pooling.
func TestMiniLMEncoder(t *testing.T) {
	dir, err := text.ResolveModel("all-MiniLM-L6-v2")
	if err != nil {
		if os.Getenv("GENREC_REQUIRE_HF") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if _, err := itemtext.LoadBERTEncoder(dir, text.PoolCLS); err == nil || !strings.Contains(err.Error(), "item_text.pooling: mean") {
		t.Errorf("cls pooling on a mean-pooled sentence-transformers folder: error %v, want one naming item_text.pooling: mean", err)
	}
	e, err := itemtext.LoadBERTEncoder(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(e.ID(), "sentence-transformers:") || e.Dim() != 384 {
		t.Errorf("ID %q, Dim %d; want sentence-transformers:..., 384", e.ID(), e.Dim())
	}
	vs, err := e.Encode([]string{"Toy Story (1995)", "Heat (1995)"})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		if math.Abs(ss-1) > 1e-5 {
			t.Errorf("vector %d: squared norm %g, want 1", i, ss)
		}
	}
}
