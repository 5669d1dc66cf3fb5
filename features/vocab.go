package features

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Vocab maps the tokens of one feature to dense ids 1..Len(); id 0 is
// padding and out-of-vocabulary. Build one with BuildVocab.
type Vocab struct {
	Name   string   `json:"name"`
	Tokens []string `json:"tokens"` // Tokens[i] has id i+1
	Counts []int64  `json:"counts"` // Counts[i] is how often Tokens[i] was seen
	index  map[string]int64
}

// BuildVocab orders the tokens of counts by descending count, ties by
// token (numerically when both parse as integers, else bytewise), and keeps
// those seen at least minCount times. The result does not depend on map
// iteration order, so two runs over the same data give the same ids.
func BuildVocab(name string, counts map[string]int64, minCount int) *Vocab {
	type tc struct {
		tok string
		n   int64
	}
	kept := make([]tc, 0, len(counts))
	for t, n := range counts {
		if n >= int64(minCount) {
			kept = append(kept, tc{t, n})
		}
	}
	slices.SortFunc(kept, func(a, b tc) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return CompareTokens(a.tok, b.tok)
	})
	v := &Vocab{Name: name, Tokens: make([]string, len(kept)), Counts: make([]int64, len(kept))}
	for i, k := range kept {
		v.Tokens[i], v.Counts[i] = k.tok, k.n
	}
	return v
}

// CompareTokens orders two tokens numerically when both are integers and
// bytewise otherwise; integers sort before other tokens. Spellings of one
// integer ("7", "07", "+7") are ordered bytewise, so only equal tokens
// compare equal.
func CompareTokens(a, b string) int {
	ai, aerr := strconv.ParseInt(a, 10, 64)
	bi, berr := strconv.ParseInt(b, 10, 64)
	switch {
	case aerr == nil && berr == nil:
		if c := cmp.Compare(ai, bi); c != 0 {
			return c
		}
	case aerr == nil:
		return -1
	case berr == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

// Len is the number of real tokens; ids run 1..Len().
func (v *Vocab) Len() int { return len(v.Tokens) }

// Size is the number of rows an embedding table over v needs: Len()+1.
func (v *Vocab) Size() int { return len(v.Tokens) + 1 }

// ID returns tok's id, or 0 when tok is not in the vocabulary.
func (v *Vocab) ID(tok string) int64 {
	if v.index == nil {
		v.index = make(map[string]int64, len(v.Tokens))
		for i, t := range v.Tokens {
			v.index[t] = int64(i + 1)
		}
	}
	return v.index[tok]
}

// Token returns the token of id, and false for 0 or an id out of range.
func (v *Vocab) Token(id int64) (string, bool) {
	if id <= 0 || id > int64(len(v.Tokens)) {
		return "", false
	}
	return v.Tokens[id-1], true
}

// Vocabs is the set of vocabularies of one data set, by feature name.
type Vocabs map[string]*Vocab

// Names returns the vocabulary names in sorted order.
func (vs Vocabs) Names() []string {
	names := make([]string, 0, len(vs))
	for n := range vs {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// WriteJSON writes vs as a JSON list in name order, so equal vocabularies
// give equal bytes; it is the form saved beside models.
func (vs Vocabs) WriteJSON(w io.Writer) error {
	list := make([]*Vocab, 0, len(vs))
	for _, n := range vs.Names() {
		list = append(list, vs[n])
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(list)
}

// ReadVocabsJSON reads what WriteJSON wrote. name is used in errors.
func ReadVocabsJSON(r io.Reader, name string) (Vocabs, error) {
	var list []*Vocab
	if err := json.NewDecoder(r).Decode(&list); err != nil {
		return nil, fmt.Errorf("features: reading vocabularies from %s: %w", name, err)
	}
	vs := Vocabs{}
	for i, v := range list {
		if v == nil {
			return nil, fmt.Errorf("features: %s: vocabulary %d is null", name, i)
		}
		if len(v.Counts) != len(v.Tokens) {
			return nil, fmt.Errorf("features: %s: vocabulary %q has %d tokens but %d counts", name, v.Name, len(v.Tokens), len(v.Counts))
		}
		if _, dup := vs[v.Name]; dup {
			return nil, fmt.Errorf("features: %s: vocabulary %q appears twice", name, v.Name)
		}
		seen := make(map[string]bool, len(v.Tokens))
		for _, t := range v.Tokens {
			if seen[t] {
				return nil, fmt.Errorf("features: %s: vocabulary %q has token %q twice", name, v.Name, t)
			}
			seen[t] = true
		}
		vs[v.Name] = v
	}
	return vs, nil
}
