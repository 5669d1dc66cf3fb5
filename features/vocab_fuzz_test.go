package features_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/genrec/genrec/features"
)

// FuzzReadVocabsJSON: any vocab.json gives vocabularies or an error naming
// the file, never a panic, and vocabularies it accepts write and read back
// equal (every token keeps its id).
func FuzzReadVocabsJSON(f *testing.F) {
	f.Add([]byte(`[{"name":"item_id","tokens":["a","b"],"counts":[3,1]},{"name":"user_id","tokens":[],"counts":[]}]`))
	f.Add([]byte(`[{"name":"x","tokens":["a","a"],"counts":[1,1]}]`))
	f.Add([]byte(`[null]`))
	f.Add([]byte(`[{"name":"x","tokens":["a"],"counts":[]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		vs, err := features.ReadVocabsJSON(bytes.NewReader(b), "vocab.json")
		if err != nil {
			if !strings.Contains(err.Error(), "vocab.json") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		var out bytes.Buffer
		if err := vs.WriteJSON(&out); err != nil {
			t.Fatalf("write back: %v", err)
		}
		again, err := features.ReadVocabsJSON(&out, "again.json")
		if err != nil {
			t.Fatalf("read back: %v", err)
		}
		for name, v := range vs {
			w := again[name]
			if w == nil || w.Len() != v.Len() {
				t.Fatalf("vocabulary %q lost on write/read", name)
			}
			for i, tok := range v.Tokens {
				if v.ID(tok) != int64(i+1) || w.ID(tok) != int64(i+1) {
					t.Fatalf("vocabulary %q token %q: id %d, read back %d, want %d", name, tok, v.ID(tok), w.ID(tok), i+1)
				}
			}
		}
	})
}
