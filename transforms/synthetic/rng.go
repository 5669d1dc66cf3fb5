package synthetic

import (
	"math/bits"
	"math/rand/v2"
)

// source is the only randomness in the package. It uses nothing of
// math/rand/v2 but PCG.Uint64, whose PCG-DXSM algorithm is fixed, so the
// streams do not change with the Go version the way rand.Rand's helper
// methods may.
type source struct{ pcg rand.PCG }

// Stream tags keep the catalogue's stream apart from the users' streams.
const (
	streamCatalogue = 0
	streamUser      = 1
)

// newSource seeds an independent stream for (seed, stream, index) by
// hashing them with splitmix64, so nearby indices give unrelated streams.
func newSource(seed, stream, index uint64) *source {
	a := splitmix(seed ^ splitmix(stream<<56^index))
	b := splitmix(a ^ 0x6a09e667f3bcc909)
	s := &source{}
	s.pcg.Seed(a, b)
	return s
}

// splitmix is the SplitMix64 finaliser (Steele, Lea, Flood, OOPSLA 2014).
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// uint64n returns a uniform value in [0, n) by Lemire's multiply-shift
// rejection method (ACM TOMACS 2019). n must be positive.
func (s *source) uint64n(n uint64) uint64 {
	hi, lo := bits.Mul64(s.pcg.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(s.pcg.Uint64(), n)
		}
	}
	return hi
}

// threshold converts a probability p in [0, 1] to the integer threshold
// that bernoulli compares against; the conversion is exact.
func threshold(p float64) uint64 { return uint64(p * (1 << 53)) }

// bernoulli returns true with probability thr/2⁵³.
func (s *source) bernoulli(thr uint64) bool { return s.pcg.Uint64()>>11 < thr }

// shuffle permutes x uniformly (Fisher–Yates).
func (s *source) shuffle(x []int32) {
	for i := len(x) - 1; i > 0; i-- {
		j := s.uint64n(uint64(i + 1))
		x[i], x[j] = x[j], x[i]
	}
}
