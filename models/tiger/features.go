package tiger

import (
	"math"

	"github.com/genrec/genrec/transforms"
)

// randomDirection fills v with the ±1/√dim signs of a hash of (salt, key):
// a fixed pseudo-random direction per key (feature hashing with a random
// projection, as itemtext.HashedNGram).
func randomDirection(salt, key uint64, v []float64, w float64) {
	s := 1 / math.Sqrt(float64(len(v)))
	x := salt*0x9e3779b97f4a7c15 ^ key
	for i := range v {
		x += 0x9e3779b97f4a7c15
		z := (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		if (z^(z>>31))&1 == 0 {
			v[i] += w * s
		} else {
			v[i] -= w * s
		}
	}
}

func normalise(v []float64) {
	n := 0.0
	for _, x := range v {
		n += x * x
	}
	if n > 0 {
		n = 1 / math.Sqrt(n)
		for i := range v {
			v[i] *= n
		}
	}
}

// CooccurrenceFeatures returns an items x dim table (row = item id) of
// collaborative item features from the training rows only (split
// "train": no validation or test target is seen): the random projection
// of each item's row of log co-occurrence counts within window positions,
//
//	f_i = normalise( Σ_j log(1 + n_ij) R_j ),   R_j ∈ {±1/√dim}^dim fixed per j
//
// so that items met in the same contexts get close vectors. An item
// without neighbours keeps its own direction R_i.
func CooccurrenceFeatures(rows []transforms.SequenceRow, items, dim, window int) []float32 {
	co := make([]map[int64]float64, items)
	for _, r := range rows {
		if r.Split != transforms.SplitTrain {
			continue
		}
		seq := append(append([]int64(nil), r.Items...), r.Target)
		for i, a := range seq {
			for j := i + 1; j < min(len(seq), i+1+window); j++ {
				b := seq[j]
				if a == b || a <= 0 || b <= 0 || int(a) >= items || int(b) >= items {
					continue
				}
				for _, p := range [][2]int64{{a, b}, {b, a}} {
					if co[p[0]] == nil {
						co[p[0]] = map[int64]float64{}
					}
					co[p[0]][p[1]]++
				}
			}
		}
	}
	out := make([]float32, items*dim)
	v := make([]float64, dim)
	for i := 1; i < items; i++ {
		clear(v)
		if len(co[i]) == 0 {
			randomDirection(1, uint64(i), v, 1)
		}
		for j, n := range co[i] {
			randomDirection(1, uint64(j), v, math.Log1p(n))
		}
		normalise(v)
		for k, x := range v {
			out[i*dim+k] = float32(x)
		}
	}
	return out
}

// AttributeFeatures returns an items x dim table of content features from
// attribute ids (brand, categories: attrs[item]), the normalised sum of a
// fixed random direction per attribute; items without attributes get a
// zero row.
func AttributeFeatures(attrs map[int64][]int64, items, dim int) []float32 {
	out := make([]float32, items*dim)
	v := make([]float64, dim)
	for i := 1; i < items; i++ {
		clear(v)
		for _, a := range attrs[int64(i)] {
			randomDirection(2, uint64(a), v, 1)
		}
		normalise(v)
		for k, x := range v {
			out[i*dim+k] = float32(x)
		}
	}
	return out
}

// Concat joins tables (items rows each, widths dims) row by row, scaling
// table t by weights[t].
func Concat(items int, tables [][]float32, dims []int, weights []float64) ([]float32, int) {
	w := 0
	for _, d := range dims {
		w += d
	}
	out := make([]float32, items*w)
	for i := range items {
		off := i * w
		for t, tab := range tables {
			for k := range dims[t] {
				out[off+k] = tab[i*dims[t]+k] * float32(weights[t])
			}
			off += dims[t]
		}
	}
	return out, w
}
