package features_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/genrec/genrec/features"
)

// Expected values in this file are worked out by hand from the doc
// comments of package features; nothing here is floating point, so every
// comparison is exact.

func TestParsePooling(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want features.Pooling
	}{
		{"mean", features.Mean},
		{"sum", features.Sum},
		{"concat", features.Concat},
		{"", features.Concat},
		{"MEAN", features.Mean},
		{" Sum ", features.Sum},
		{"Concat", features.Concat},
	} {
		got, err := features.ParsePooling("hist_item_id", tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParsePooling(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"max", "avg", "concat,mean"} {
		got, err := features.ParsePooling("hist_item_id", in)
		if err == nil {
			t.Errorf("ParsePooling(%q) = %q, nil; want an error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), "hist_item_id") || !strings.Contains(err.Error(), in) {
			t.Errorf("ParsePooling(%q) error %q; want it to name the feature and the value", in, err)
		}
	}
}

func sparse(name string) features.Spec { return features.Spec{Type: "sparse", Name: name} }

func sparseFrom(name, source string) features.Spec {
	return features.Spec{Type: "sparse", Name: name, Source: source}
}

func sequence(name, sharedWith, pooling string) features.Spec {
	return features.Spec{Type: "sequence", Name: name, SharedWith: sharedWith, Pooling: pooling}
}

func dense(name string, dim int) features.Spec {
	return features.Spec{Type: "dense", Name: name, Dim: dim}
}

func TestSchemaValidateOK(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    features.Schema
	}{
		{"default", features.DefaultSchema()},
		{"item only", features.Schema{ItemFeatures: []features.Spec{sparse("item_id")}}},
		{"types are case-insensitive", features.Schema{
			UserFeatures: []features.Spec{{Type: "SPARSE", Name: "user_id"}, {Type: "Dense", Name: "age", Dim: 1}},
			ItemFeatures: []features.Spec{sparse("item_id"), {Type: "Sequence", Name: "hist", SharedWith: "item_id", Pooling: "MEAN"}},
		}},
		{"explicit sources", features.Schema{
			UserFeatures: []features.Spec{sparseFrom("uid", "user")},
			ItemFeatures: []features.Spec{sparseFrom("sku", "item"), sparse("genres"), sequence("hist_sku", "sku", "sum")},
		}},
	} {
		if err := tc.s.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v; want nil", tc.name, err)
		}
	}
}

func TestSchemaValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    features.Schema
		want []string // substrings of the error
	}{
		{"duplicate across lists", features.Schema{
			UserFeatures: []features.Spec{sparse("user_id")},
			ItemFeatures: []features.Spec{sparse("item_id"), dense("user_id", 1)},
		}, []string{`"user_id"`, "twice"}},
		{"duplicate in one list", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), sparse("item_id")},
		}, []string{`"item_id"`, "twice"}},
		{"unknown type", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), {Type: "embedding", Name: "tags"}},
		}, []string{`"tags"`, `"embedding"`}},
		{"no name", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), {Type: "dense", Dim: 2}},
		}, []string{"dense", "no name"}},
		{"shared_with a dense feature", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), dense("age", 1), sequence("hist", "age", "")},
		}, []string{`"hist"`, `"age"`}},
		{"shared_with a sequence feature", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), sequence("a", "item_id", ""), sequence("hist", "a", "")},
		}, []string{`"hist"`, `"a"`}},
		{"shared_with nothing", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), sequence("hist", "nope", "")},
		}, []string{`"hist"`, `"nope"`}},
		{"bad pooling", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), sequence("hist", "item_id", "max")},
		}, []string{`"hist"`, `"max"`}},
		{"no item source", features.Schema{
			UserFeatures: []features.Spec{sparse("user_id")},
		}, []string{"source item"}},
		{"two item sources", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), sparseFrom("sku", "item")},
		}, []string{`"item_id"`, `"sku"`}},
		{"unknown source", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), sparseFrom("brand", "shop")},
		}, []string{`"brand"`, `"shop"`}},
		{"unconventional name without source", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), sparse("brand")},
		}, []string{`"brand"`, "source"}},
		{"negative embed_dim", features.Schema{
			ItemFeatures: []features.Spec{{Type: "sparse", Name: "item_id", EmbedDim: -1}},
		}, []string{`"item_id"`, "negative"}},
		{"dense dim 0", features.Schema{
			ItemFeatures: []features.Spec{sparse("item_id"), dense("age", 0)},
		}, []string{`"age"`, "dim"}},
	} {
		err := tc.s.Validate()
		if err == nil {
			t.Errorf("%s: Validate() = nil; want an error containing %q", tc.name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate() = %q; want it to contain %q", tc.name, err, w)
			}
		}
	}
}

func TestDefaultSchemaAccessors(t *testing.T) {
	s := features.DefaultSchema()
	var names []string
	for _, f := range s.Sparse() {
		names = append(names, f.Name)
	}
	if want := []string{"user_id", "item_id"}; !slices.Equal(names, want) {
		t.Errorf("Sparse() names = %q; want %q", names, want)
	}
	want := []features.SequenceFeature{{Name: "hist_item_id", Pooling: features.Concat, SharedWith: "item_id"}}
	if got := s.Sequences(); !slices.Equal(got, want) {
		t.Errorf("Sequences() = %+v; want %+v", got, want)
	}
	if got := s.Dense(); len(got) != 0 {
		t.Errorf("Dense() = %+v; want none", got)
	}
	for src, want := range map[string]string{features.SourceItem: "item_id", features.SourceUser: "user_id"} {
		if got, ok := s.SparseBySource(src); !ok || got.Name != want {
			t.Errorf("SparseBySource(%q) = %q, %v; want %q, true", src, got.Name, ok, want)
		}
	}
	if got, ok := s.SparseBySource(features.SourceCategory); ok {
		t.Errorf("SparseBySource(category) = %q, true; want false", got.Name)
	}
}

func TestCompareTokens(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"9", "10", -1},                   // numeric, not bytewise ("10" < "9" bytewise)
		{"-3", "2", -1},                   // negative integers are integers
		{"10", "a", -1},                   // integers first
		{"a", "10", 1},                    //
		{"B", "a", -1},                    // bytewise: 'B' = 0x42 < 'a' = 0x61
		{"a", "ab", -1},                   //
		{"x", "x", 0},                     //
		{"1.5", "1e3", -1},                // not integers: bytewise
		{"07", "7", -1},                   // equal as integers: bytewise so that the order is total
		{"+7", "07", -1},                  // '+' = 0x2B < '0' = 0x30
		{"7", "7", 0},                     //
		{"", "0", 1},                      // "" is not an integer
		{"18446744073709551616", "a", -1}, // past int64: bytewise, '1' < 'a'
	} {
		if got := features.CompareTokens(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareTokens(%q, %q) = %d; want %d", tc.a, tc.b, got, tc.want)
		}
		if got := features.CompareTokens(tc.b, tc.a); got != -tc.want {
			t.Errorf("CompareTokens(%q, %q) = %d; want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

func TestBuildVocabOrder(t *testing.T) {
	for _, tc := range []struct {
		name       string
		counts     map[string]int64
		minCount   int
		wantTokens []string
		wantCounts []int64
	}{
		{"count desc, then integers numerically, then bytewise",
			map[string]int64{"10": 2, "9": 2, "b": 2, "a": 2, "100": 5, "B": 2}, 0,
			[]string{"100", "9", "10", "B", "a", "b"}, []int64{5, 2, 2, 2, 2, 2}},
		{"negative integers", map[string]int64{"x": 1, "2": 1, "-3": 1}, 1,
			[]string{"-3", "2", "x"}, []int64{1, 1, 1}},
		{"same integer, different spelling", map[string]int64{"7": 1, "07": 1, "+7": 1}, 0,
			[]string{"+7", "07", "7"}, []int64{1, 1, 1}},
		{"min_count drops rare tokens", map[string]int64{"a": 3, "b": 2, "c": 1}, 2,
			[]string{"a", "b"}, []int64{3, 2}},
		{"min_count above every count", map[string]int64{"a": 3}, 4, []string{}, []int64{}},
		{"nil counts", nil, 0, []string{}, []int64{}},
	} {
		v := features.BuildVocab("item_id", tc.counts, tc.minCount)
		if v.Name != "item_id" || !slices.Equal(v.Tokens, tc.wantTokens) || !slices.Equal(v.Counts, tc.wantCounts) {
			t.Errorf("%s: BuildVocab = %q %q %v; want item_id %q %v", tc.name, v.Name, v.Tokens, v.Counts, tc.wantTokens, tc.wantCounts)
		}
		if v.Len() != len(tc.wantTokens) || v.Size() != len(tc.wantTokens)+1 {
			t.Errorf("%s: Len, Size = %d, %d; want %d, %d", tc.name, v.Len(), v.Size(), len(tc.wantTokens), len(tc.wantTokens)+1)
		}
	}
}

func TestVocabIDs(t *testing.T) {
	v := features.BuildVocab("item_id", map[string]int64{"a": 3, "b": 2, "c": 2}, 0)
	for tok, want := range map[string]int64{"a": 1, "b": 2, "c": 3, "d": 0, "": 0} {
		if got := v.ID(tok); got != want {
			t.Errorf("ID(%q) = %d; want %d", tok, got, want)
		}
	}
	for _, id := range []int64{-1, 0, 4} {
		if tok, ok := v.Token(id); ok {
			t.Errorf("Token(%d) = %q, true; want false", id, tok)
		}
	}
	for id := int64(1); id <= int64(v.Len()); id++ {
		tok, ok := v.Token(id)
		if !ok || v.ID(tok) != id {
			t.Errorf("Token(%d) = %q, %v; ID of it = %d; want a token whose ID is %d", id, tok, ok, v.ID(tok), id)
		}
	}
}

// TestBuildVocabDeterministic builds the same vocabulary many times: map
// iteration order changes between builds, the ids must not.
func TestBuildVocabDeterministic(t *testing.T) {
	counts := map[string]int64{}
	for i := range 60 {
		n := int64(1 + i%3) // many ties
		counts[fmt.Sprint(i)] = n
		counts[fmt.Sprintf("%03d", i)] = n // same integer as fmt.Sprint(i)
		counts[fmt.Sprintf("tok%d", i)] = n
	}
	first := features.BuildVocab("item_id", counts, 0)
	for i := range 50 {
		v := features.BuildVocab("item_id", counts, 0)
		if !slices.Equal(v.Tokens, first.Tokens) || !slices.Equal(v.Counts, first.Counts) {
			t.Fatalf("build %d: tokens %q; first build %q", i, v.Tokens, first.Tokens)
		}
	}
}

func testVocabs(seed int) features.Vocabs {
	items, users := map[string]int64{}, map[string]int64{}
	for i := range 20 {
		j := (i*7 + seed) % 20 // insertion order depends on seed, content does not
		items[fmt.Sprint(j)] = int64(j%4 + 1)
		users[fmt.Sprintf("u%02d", j)] = int64(j%3 + 1)
	}
	return features.Vocabs{
		"item_id": features.BuildVocab("item_id", items, 2),
		"user_id": features.BuildVocab("user_id", users, 0),
		"genres":  features.BuildVocab("genres", nil, 0),
	}
}

func TestVocabsJSONRoundTrip(t *testing.T) {
	vs := testVocabs(0)
	var b bytes.Buffer
	if err := vs.WriteJSON(&b); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	first := b.String()
	got, err := features.ReadVocabsJSON(&b, "vocab.json")
	if err != nil {
		t.Fatalf("ReadVocabsJSON: %v", err)
	}
	if !slices.Equal(got.Names(), vs.Names()) {
		t.Fatalf("names = %q; want %q", got.Names(), vs.Names())
	}
	for _, name := range vs.Names() {
		g, w := got[name], vs[name]
		if g.Name != w.Name || !slices.Equal(g.Tokens, w.Tokens) || !slices.Equal(g.Counts, w.Counts) {
			t.Errorf("%s: read %q %q %v; wrote %q %q %v", name, g.Name, g.Tokens, g.Counts, w.Name, w.Tokens, w.Counts)
		}
		for _, tok := range w.Tokens {
			if g.ID(tok) != w.ID(tok) {
				t.Errorf("%s: ID(%q) after reading = %d; want %d", name, tok, g.ID(tok), w.ID(tok))
			}
		}
	}
	for _, other := range []features.Vocabs{got, testVocabs(3), testVocabs(11)} {
		var b2 bytes.Buffer
		if err := other.WriteJSON(&b2); err != nil {
			t.Fatalf("WriteJSON: %v", err)
		}
		if b2.String() != first {
			t.Errorf("WriteJSON of equal vocabularies differs:\n%s\nwant\n%s", b2.String(), first)
		}
	}
}

func TestReadVocabsJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"not JSON", `{`, nil},
		{"not a list", `{"name":"item_id"}`, nil},
		{"counts shorter than tokens", `[{"name":"item_id","tokens":["a","b"],"counts":[1]}]`, []string{`"item_id"`}},
		{"counts longer than tokens", `[{"name":"item_id","tokens":["a"],"counts":[1,1]}]`, []string{`"item_id"`}},
		{"duplicate name", `[{"name":"item_id","tokens":[],"counts":[]},{"name":"item_id","tokens":[],"counts":[]}]`, []string{`"item_id"`, "twice"}},
		{"duplicate token", `[{"name":"item_id","tokens":["a","b","a"],"counts":[3,2,1]}]`, []string{`"item_id"`, `"a"`}},
		{"null vocabulary", `[null]`, nil},
	} {
		vs, err := features.ReadVocabsJSON(strings.NewReader(tc.in), "vocab.json")
		if err == nil {
			t.Errorf("%s: ReadVocabsJSON = %v, nil; want an error", tc.name, vs.Names())
			continue
		}
		for _, w := range append([]string{"vocab.json"}, tc.want...) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q; want it to contain %q", tc.name, err, w)
			}
		}
	}
}
