package transforms

import (
	"math"
	"slices"
)

// TimeCounts is a histogram of row timestamps: Counts[i] rows at
// Times[i], Times ascending and distinct. It holds 16 bytes per distinct
// timestamp, at most 16 MB for the 1e6 rows of ML-1M.
type TimeCounts struct {
	Times  []int64
	Counts []int64
}

// TimeCountsOf turns a map from timestamp to count into a TimeCounts.
func TimeCountsOf(m map[int64]int64) TimeCounts {
	c := TimeCounts{Times: make([]int64, 0, len(m)), Counts: make([]int64, 0, len(m))}
	for t := range m {
		c.Times = append(c.Times, t)
	}
	slices.Sort(c.Times)
	for _, t := range c.Times {
		c.Counts = append(c.Counts, m[t])
	}
	return c
}

// MergeTimeCounts adds two histograms (a merge of two sorted lists).
func MergeTimeCounts(a, b TimeCounts) TimeCounts {
	out := TimeCounts{Times: make([]int64, 0, len(a.Times)+len(b.Times)), Counts: make([]int64, 0, len(a.Times)+len(b.Times))}
	i, j := 0, 0
	for i < len(a.Times) || j < len(b.Times) {
		switch {
		case j == len(b.Times) || i < len(a.Times) && a.Times[i] < b.Times[j]:
			out.Times, out.Counts = append(out.Times, a.Times[i]), append(out.Counts, a.Counts[i])
			i++
		case i == len(a.Times) || b.Times[j] < a.Times[i]:
			out.Times, out.Counts = append(out.Times, b.Times[j]), append(out.Counts, b.Counts[j])
			j++
		default: // equal times
			out.Times, out.Counts = append(out.Times, a.Times[i]), append(out.Counts, a.Counts[i]+b.Counts[j])
			i++
			j++
		}
	}
	return out
}

// TimeCuts are the boundaries of the global time split: a row at time t
// is train when t < ValidCut, valid when ValidCut <= t < TestCut, and
// test when t >= TestCut.
type TimeCuts struct {
	ValidCut, TestCut int64
}

// Split names the split of a row at time t.
func (c TimeCuts) Split(t int64) string {
	switch {
	case t < c.ValidCut:
		return SplitTrain
	case t < c.TestCut:
		return SplitValid
	}
	return SplitTest
}

// TimeSplitCuts computes the cuts of the global time split from the
// histogram of all rows' timestamps. With the N row times sorted,
// t(0) <= ... <= t(N-1), and ratio = (r_train, r_valid):
//
//	ValidCut = t(floor(r_train·N)),  TestCut = t(floor((r_train+r_valid)·N)),
//
// where t(N) stands for +inf (math.MaxInt64). Train then holds the rows
// strictly before the r_train quantile: exactly floor(r_train·N) of them
// unless rows share the cut's timestamp, in which case they all go to the
// later split (a split never divides one second), and the split is
// monotone: max train time < min valid time <= max valid time < min test
// time. With N = 0 both cuts are +inf.
func TimeSplitCuts(c TimeCounts, ratio [2]float64) TimeCuts {
	var n int64
	for _, k := range c.Counts {
		n += k
	}
	at := func(p float64) int64 {
		k := min(int64(math.Floor(p*float64(n)+1e-9)), n) // 1e-9: 0.7·1e5 must give 70000
		var seen int64
		for i, cnt := range c.Counts {
			seen += cnt
			if seen > k {
				return c.Times[i]
			}
		}
		return math.MaxInt64
	}
	return TimeCuts{ValidCut: at(ratio[0]), TestCut: at(ratio[0] + ratio[1])}
}

// RandomSplit assigns a row to a split by a hash of (seed, user, item, t):
//
//	u = splitmix64(FNV-1a(seed, user, item, t)) / 2^64 ∈ [0, 1)
//	train if u < ratio[0], valid if u < ratio[0]+ratio[1], test otherwise
//
// so each row lands in a split independently with the given
// probabilities, and a rerun gives the same split.
func RandomSplit(seed uint64, user string, item, t int64, ratio [2]float64) string {
	h := fnvOffset
	h = fnvUint64(h, seed)
	h = fnvString(h, user)
	h = fnvUint64(h, uint64(item))
	h = fnvUint64(h, uint64(t))
	u := float64(splitmix64(h)>>11) / (1 << 53)
	switch {
	case u < ratio[0]:
		return SplitTrain
	case u < ratio[0]+ratio[1]:
		return SplitValid
	}
	return SplitTest
}

const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

// hashString is the 64-bit FNV-1a hash of s.
func hashString(s string) uint64 { return fnvString(fnvOffset, s) }

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func fnvUint64(h, v uint64) uint64 {
	for range 8 {
		h = (h ^ (v & 0xff)) * fnvPrime
		v >>= 8
	}
	return h
}

// splitmix64 is the finalizer of Steele, Lea and Flood's SplitMix64
// (OOPSLA 2014): it spreads FNV's weak low-order mixing over all bits.
func splitmix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
