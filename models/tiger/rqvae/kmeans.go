package rqvae

import (
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
)

// KMeans returns k centres (k x d) of the n rows of x by Lloyd's algorithm
// (iters rounds) from k rows drawn without replacement; a centre that loses
// all its rows moves to a random row. With n < k the centres are the rows,
// repeated, plus noise of 1e-3 times the rows' spread.
func KMeans[T kernels.Float](x []T, n, d, k, iters int, rng *rand.Rand) []T {
	c := make([]T, k*d)
	if n == 0 {
		return c
	}
	perm := rng.Perm(n)
	for j := range k {
		copy(c[j*d:(j+1)*d], x[perm[j%n]*d:(perm[j%n]+1)*d])
	}
	if n < k {
		spread := 0.0
		for _, v := range x {
			spread = math.Max(spread, math.Abs(float64(v)))
		}
		for j := n * d; j < len(c); j++ {
			c[j] += T(rng.NormFloat64() * 1e-3 * (spread + 1e-6))
		}
		return c
	}
	assign := make([]int32, n)
	sum := make([]float64, k*d)
	cnt := make([]int, k)
	for range iters {
		kernels.Parallel(n, func(i int) { assign[i] = nearest(c, k, d, x[i*d:(i+1)*d]) })
		clear(sum)
		clear(cnt)
		for i, a := range assign {
			cnt[a]++
			for j := range d {
				sum[int(a)*d+j] += float64(x[i*d+j])
			}
		}
		for j := range k {
			if cnt[j] == 0 {
				r := rng.IntN(n)
				copy(c[j*d:(j+1)*d], x[r*d:(r+1)*d])
				continue
			}
			for t := range d {
				c[j*d+t] = T(sum[j*d+t] / float64(cnt[j]))
			}
		}
	}
	return c
}

// InitCodebooks sets the codebooks by k-means (20 rounds) on the residuals
// of x (n x InputDim), level by level: level l clusters the residuals left
// by levels 0 .. l-1 (Rajput et al. 2023, section 3.1).
func (m *Model[T]) InitCodebooks(x []T, n int, rng *rand.Rand) {
	d := m.Config.LatentDim
	r := m.Latent(x, n)
	for l := range m.Config.Levels {
		cb := m.Codebooks[l].Value
		copy(cb, KMeans(r, n, d, m.Config.Codes, 20, rng))
		kernels.Parallel(n, func(i int) {
			row := r[i*d : (i+1)*d]
			c := int(nearest(cb, m.Config.Codes, d, row))
			for j := range row {
				row[j] -= cb[c*d+j]
			}
		})
	}
}

// RestartDead moves every code that no row used since the last call to a
// random residual of the last Forward's rows at its level, and returns how
// many moved. AdamW moments of a moved code are zeroed.
func (m *Model[T]) RestartDead(rng *rand.Rand) int {
	d, moved := m.Config.LatentDim, 0
	for l := range m.Config.Levels {
		cb := m.Codebooks[l]
		for k, u := range m.usage[l] {
			if u > 0 || m.n == 0 {
				continue
			}
			i := rng.IntN(m.n)
			copy(cb.Value[k*d:(k+1)*d], m.res[l][i*d:(i+1)*d])
			if cb.M != nil {
				clear(cb.M[k*d : (k+1)*d])
				clear(cb.V[k*d : (k+1)*d])
			}
			moved++
		}
	}
	m.resetUsage()
	return moved
}

// Collisions appends to every tuple a last code that makes it unique: the
// rank, in row order, of the row among the rows with the same tuple (0 for
// an item whose tuple is its own). It returns the new tuples and the number
// of values the last code takes (the largest group's size).
func Collisions(codes [][]int32) ([][]int32, int) {
	seen := make(map[string]int32, len(codes))
	out := make([][]int32, len(codes))
	most := 1
	for i, t := range codes {
		key := string(tupleKey(t))
		k := seen[key]
		seen[key] = k + 1
		most = max(most, int(k)+1)
		out[i] = append(append(make([]int32, 0, len(t)+1), t...), k)
	}
	return out, most
}

func tupleKey(t []int32) []byte {
	b := make([]byte, 0, 4*len(t))
	for _, c := range t {
		b = append(b, byte(c), byte(c>>8), byte(c>>16), byte(c>>24))
	}
	return b
}
