package tiger

import (
	"fmt"
	"math"
	"slices"

	"github.com/genrec/genrec/models/kernels"
)

// Trie is the prefix tree of the items' semantic IDs: the constraint of
// BeamSearch, so that every generated tuple is a real item.
type Trie struct {
	K     int
	next  []map[int32]int32 // node -> code -> child
	items []int32           // leaf node -> item (-1 for inner nodes)
}

// NewTrie builds the trie of ids: ids[item] is item's K-code tuple; a nil
// tuple (padding, items without content) is left out. Two items with one
// tuple, or tuples of different lengths, are an error.
func NewTrie(ids [][]int32) (*Trie, error) {
	t := &Trie{next: []map[int32]int32{{}}, items: []int32{-1}}
	for item, id := range ids {
		if id == nil {
			continue
		}
		if t.K == 0 {
			t.K = len(id)
		} else if len(id) != t.K {
			return nil, fmt.Errorf("tiger: item %d has %d codes, others %d", item, len(id), t.K)
		}
		n := int32(0)
		for _, c := range id {
			ch, ok := t.next[n][c]
			if !ok {
				ch = int32(len(t.next))
				t.next[n][c] = ch
				t.next = append(t.next, map[int32]int32{})
				t.items = append(t.items, -1)
			}
			n = ch
		}
		if t.items[n] >= 0 {
			return nil, fmt.Errorf("tiger: items %d and %d share the semantic ID %v (add the collision level)", t.items[n], item, id)
		}
		t.items[n] = int32(item)
	}
	return t, nil
}

// Hit is one generated item and its log-probability log p(c_1..c_K | user).
type Hit struct {
	Item    int32
	LogProb float64
}

type beamState struct {
	node   int32
	prefix []int32 // codes so far
	score  float64
}

// BeamSearch generates the top beam items for every row of b (encoder
// inputs only; Dec and Target are ignored) by beam search over t's
// prefixes: at step l each live prefix is extended by the level-l codes
// the trie allows, scored by the sum of log-softmax probabilities, and the
// best beam prefixes per row are kept. Rows get at most beam hits, best
// first (fewer when the catalogue is smaller). Dropout is off.
func (m *Model[T]) BeamSearch(b *Batch, t *Trie, beam int) [][]Hit {
	c := m.Config
	K, le, d := c.K(), c.EncLen(), c.Dim
	if t.K != K {
		panic(fmt.Sprintf("tiger: BeamSearch: trie of %d-code tuples, model of %d", t.K, K))
	}
	enc := append([]T(nil), m.Encode(b, nil)...)
	beams := make([][]beamState, b.B)
	for r := range beams {
		beams[r] = []beamState{{}}
	}
	for l := range K {
		var owner []int
		for r, bs := range beams {
			for range bs {
				owner = append(owner, r)
			}
		}
		n := len(owner)
		if n == 0 {
			break
		}
		db := &Batch{B: n, Enc: make([]int32, n*le), EncLen: make([]int, n), Dec: make([]int32, n*(l+1)), DecLen: l + 1}
		encRep := make([]T, n*le*d)
		i := 0
		for r, bs := range beams {
			for _, s := range bs {
				copy(encRep[i*le*d:(i+1)*le*d], enc[r*le*d:(r+1)*le*d])
				db.EncLen[i] = b.EncLen[r]
				db.Dec[i*(l+1)] = c.BOS()
				for j, code := range s.prefix {
					db.Dec[i*(l+1)+1+j] = c.CodeToken(j, int(code))
				}
				i++
			}
		}
		h := m.Decode(db, encRep, nil)
		lg := m.Logits(h, n, l+1, l, l)
		cl := c.Codes[l]
		i = 0
		for r, bs := range beams {
			var cand []beamState
			for _, s := range bs {
				row := lg[i*cl : (i+1)*cl]
				i++
				lse := logSumExp(row)
				for code, ch := range t.next[s.node] {
					cand = append(cand, beamState{node: ch, prefix: append(slices.Clip(s.prefix), code), score: s.score + float64(row[code]) - lse})
				}
			}
			slices.SortFunc(cand, func(a, b beamState) int {
				if a.score != b.score {
					if a.score > b.score {
						return -1
					}
					return 1
				}
				return int(a.node - b.node)
			})
			beams[r] = cand[:min(beam, len(cand))]
		}
	}
	out := make([][]Hit, b.B)
	for r, bs := range beams {
		for _, s := range bs {
			out[r] = append(out[r], Hit{Item: t.items[s.node], LogProb: s.score})
		}
	}
	return out
}

func logSumExp[T kernels.Float](x []T) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(float64(v) - mx)
	}
	return mx + math.Log(s)
}
