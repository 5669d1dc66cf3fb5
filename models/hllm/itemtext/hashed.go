package itemtext

import (
	"fmt"
	"math"
	"strings"
	"unicode"
)

// HashedNGram is a text encoder that needs no weights: feature hashing
// (Weinberger et al. 2009, arXiv 0902.2206) of word and character n-grams
// (as fastText, Bojanowski et al. 2017, arXiv 1607.04606) followed by a
// random ±1 projection. For a text with features f (every word n-gram,
// n = 1..N, and every character n-gram, n = 3..CharN, of each word
// wrapped in boundary markers "<word>") occurring tf(f) times,
//
//	b(f) = FNV-1a64(kind(f) · f) mod B
//	r(b) ∈ {-1/√D, +1/√D}^D, the signs the bits of splitmix64(b ⊕ Seed)
//	v    = Σ_f tf(f) · r(b(f))
//	e    = v / ‖v‖₂
//
// where D = Dimension and B = Buckets. Words are the maximal runs of letters
// and digits of the lower-cased text. Texts that share n-grams share
// directions, so cosine similarity follows n-gram overlap; distinct
// features are nearly orthogonal for large D. The projection vectors are
// generated from the bucket number on the fly: there is no table. A text
// with no words encodes to the zero vector (its cosine to anything is
// taken as 0).
//
// Encode is frozen. Features gives the bucket ids themselves, from which
// HLLM's trainable encoder (models/hllm, item_text.trainable) learns one
// vector per bucket end to end with the recommender.
//
// Zero fields take defaults: Dimension 64, N 2, CharN 5, Buckets 2^18. CharN
// below 3 (but not 0) turns character n-grams off.
type HashedNGram struct {
	Dimension int // D (a field named Dim would clash with Encoder.Dim)
	N         int // word n-grams up to N
	CharN     int // character n-grams of 3..CharN
	Buckets   int // B
	Seed      uint64
}

func (h HashedNGram) withDefaults() HashedNGram {
	if h.Dimension == 0 {
		h.Dimension = 64
	}
	if h.N == 0 {
		h.N = 2
	}
	if h.CharN == 0 {
		h.CharN = 5
	}
	if h.Buckets == 0 {
		h.Buckets = 1 << 18
	}
	if h.Dimension < 0 || h.N < 0 || h.Buckets < 0 {
		panic(fmt.Sprintf("itemtext: negative HashedNGram setting %+v", h))
	}
	return h
}

// ID is "hashed-ngram-v1:d=D,n=N,char=C,buckets=B,seed=S" with the
// defaults filled in.
func (h HashedNGram) ID() string {
	h = h.withDefaults()
	return fmt.Sprintf("hashed-ngram-v1:d=%d,n=%d,char=%d,buckets=%d,seed=%d", h.Dimension, h.N, h.CharN, h.Buckets, h.Seed)
}

// Dim is the vector length.
func (h HashedNGram) Dim() int { return h.withDefaults().Dimension }

// Encode encodes every text; it never fails.
func (h HashedNGram) Encode(texts []string) ([][]float32, error) {
	h = h.withDefaults()
	out := make([][]float32, len(texts))
	acc := make([]float64, h.Dimension)
	for i, t := range texts {
		out[i] = h.encode(t, acc)
	}
	return out, nil
}

func (h HashedNGram) encode(t string, acc []float64) []float32 {
	clear(acc)
	h.eachBucket(t, func(b uint64) {
		x := splitmix(b ^ h.Seed)
		for d := range acc {
			if d%64 == 0 && d > 0 {
				x = splitmix(x)
			}
			if x>>(d%64)&1 == 1 {
				acc[d]++
			} else {
				acc[d]--
			}
		}
	})
	// The common factor 1/√D of r cancels in the normalisation.
	var ss float64
	for _, a := range acc {
		ss += a * a
	}
	v := make([]float32, len(acc))
	if ss == 0 {
		return v
	}
	inv := 1 / math.Sqrt(ss)
	for d, a := range acc {
		v[d] = float32(a * inv)
	}
	return v
}

// eachBucket calls fn with the bucket b(f) of every feature f of t, once
// per occurrence: word n-grams, then character n-grams.
func (h HashedNGram) eachBucket(t string, fn func(bucket uint64)) {
	words := Words(t)
	add := func(kind byte, s string) { fn(fnv1a(kind, s) % uint64(h.Buckets)) }
	for n := 1; n <= h.N; n++ {
		for i := 0; i+n <= len(words); i++ {
			add('w', strings.Join(words[i:i+n], " "))
		}
	}
	for _, w := range words {
		r := []rune("<" + w + ">")
		for n := 3; n <= h.CharN; n++ {
			for i := 0; i+n <= len(r); i++ {
				add('c', string(r[i:i+n]))
			}
		}
	}
}

// Features returns the hashed features of t as bucket ids in [0, Buckets),
// one per feature occurrence (a repeated n-gram repeats its bucket): the
// input of a trainable bag-of-n-grams encoder, which learns one vector
// per bucket instead of the fixed random ones Encode sums.
func (h HashedNGram) Features(t string) []int32 {
	h = h.withDefaults()
	var out []int32
	h.eachBucket(t, func(b uint64) { out = append(out, int32(b)) })
	return out
}

// BucketVector fills v with bucket b's pseudo-random direction r(b) of
// width len(v) (entries ±1/√len(v)): what Encode sums for a feature in
// that bucket. A trainable encoder starts from it, so that before any
// training it already places texts that share n-grams close together.
func (h HashedNGram) BucketVector(b int32, v []float32) {
	x := splitmix(uint64(b) ^ h.Seed)
	a := float32(1 / math.Sqrt(float64(len(v))))
	for d := range v {
		if d%64 == 0 && d > 0 {
			x = splitmix(x)
		}
		if x>>(d%64)&1 == 1 {
			v[d] = a
		} else {
			v[d] = -a
		}
	}
}

// Words lower-cases t and returns its maximal runs of letters and digits.
func Words(t string) []string {
	return strings.FieldsFunc(strings.ToLower(t), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// fnv1a is 64-bit FNV-1a of kind followed by s.
func fnv1a(kind byte, s string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	h = (h ^ uint64(kind)) * prime
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * prime
	}
	return h
}

// splitmix is one step of splitmix64 (Steele et al. 2014).
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
