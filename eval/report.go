package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Report holds the retrieval metrics of DESIGN.md's protocol over a set of
// users: HR[i] and NDCG[i] are HR@Ks[i] and NDCG@Ks[i], MRR is uncut, and
// AUC is FullRankAUC. Its JSON form is flat and ordered, and reads back
// with UnmarshalJSON:
//
//	{"Users":6040,"HR@10":0.31,"HR@50":..,"NDCG@10":..,"MRR":..,"AUC":..}
type Report struct {
	Users int64
	Ks    []int
	HR    []float64
	NDCG  []float64
	MRR   float64
	AUC   float64
}

// Ranking computes a Report over ranks in one pass: for each k in ks
//
//	HR@k   = (1/|U|) Σ_u 1[rank_u < k]
//	NDCG@k = (1/|U|) Σ_u 1[rank_u < k] / log2(rank_u + 2)
//
// and
//
//	MRR = (1/|U|) Σ_u 1 / (rank_u + 1)
//	AUC = (1/|U|) Σ_u (n_u - 1 - rank_u) / (n_u - 1)
//
// as HitRate, NDCG, MRR and FullRankAUC define them. It returns an error for
// empty ranks, an invalid UserRank, or a user with fewer than 2 candidates,
// and panics if a k is < 1 or repeated. ks may be empty.
func Ranking(ranks []UserRank, ks []int) (Report, error) {
	checkKs(ks)
	acc := newRankingAccum(len(ks))
	for _, r := range ranks {
		if err := acc.add(ks, r); err != nil {
			return Report{}, err
		}
	}
	return acc.report(ks)
}

// Map returns the report as metric name to value, with the names of its
// JSON form: "Users", "HR@k", "NDCG@k", "MRR", "AUC".
func (r Report) Map() map[string]float64 {
	m := map[string]float64{"Users": float64(r.Users), "MRR": r.MRR, "AUC": r.AUC}
	for i, k := range r.Ks {
		m["HR@"+strconv.Itoa(k)] = r.HR[i]
		m["NDCG@"+strconv.Itoa(k)] = r.NDCG[i]
	}
	return m
}

// Near reports whether r and o rank the same users at the same cut-offs
// with every metric within tol of the other's. Reports of one model
// differ in the last bits when their per-user sums ran in another order
// (a pipeline combines bundles as they come): compare them with Near and
// a tol such as 1e-9, not ==.
func (r Report) Near(o Report, tol float64) bool {
	if r.Users != o.Users || !slices.Equal(r.Ks, o.Ks) || len(r.HR) != len(o.HR) || len(r.NDCG) != len(o.NDCG) {
		return false
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= tol }
	for i := range r.HR {
		if !near(r.HR[i], o.HR[i]) || !near(r.NDCG[i], o.NDCG[i]) {
			return false
		}
	}
	return near(r.MRR, o.MRR) && near(r.AUC, o.AUC)
}

// MarshalJSON writes the report as one flat object, in the order Users,
// HR@k for each k, NDCG@k for each k, MRR, AUC.
func (r Report) MarshalJSON() ([]byte, error) {
	if len(r.HR) != len(r.Ks) || len(r.NDCG) != len(r.Ks) {
		return nil, fmt.Errorf("eval: report has %d ks, %d HR, %d NDCG values", len(r.Ks), len(r.HR), len(r.NDCG))
	}
	var b bytes.Buffer
	b.WriteString(`{"Users":`)
	b.WriteString(strconv.FormatInt(r.Users, 10))
	field := func(name string, v float64) error {
		enc, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("eval: %s: %w", name, err)
		}
		b.WriteString(`,"` + name + `":`)
		b.Write(enc)
		return nil
	}
	for i, k := range r.Ks {
		if err := field("HR@"+strconv.Itoa(k), r.HR[i]); err != nil {
			return nil, err
		}
	}
	for i, k := range r.Ks {
		if err := field("NDCG@"+strconv.Itoa(k), r.NDCG[i]); err != nil {
			return nil, err
		}
	}
	if err := field("MRR", r.MRR); err != nil {
		return nil, err
	}
	if err := field("AUC", r.AUC); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the form MarshalJSON writes. Ks follow the order of
// the "HR@k" keys; every k needs both an "HR@k" and an "NDCG@k" key.
// Unknown keys are ignored.
func (r *Report) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("eval: report is not a JSON object")
	}
	var out Report
	ndcg := map[int]float64{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return fmt.Errorf("eval: report: %w", err)
		}
		key, _ := t.(string)
		var v float64
		switch {
		case key == "Users":
			err = dec.Decode(&out.Users)
		case key == "MRR":
			err = dec.Decode(&out.MRR)
		case key == "AUC":
			err = dec.Decode(&out.AUC)
		case strings.HasPrefix(key, "HR@"):
			var k int
			if k, err = strconv.Atoi(key[len("HR@"):]); err == nil {
				err = dec.Decode(&v)
				out.Ks = append(out.Ks, k)
				out.HR = append(out.HR, v)
			}
		case strings.HasPrefix(key, "NDCG@"):
			var k int
			if k, err = strconv.Atoi(key[len("NDCG@"):]); err == nil {
				err = dec.Decode(&v)
				ndcg[k] = v
			}
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return fmt.Errorf("eval: report key %q: %w", key, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("eval: report: %w", err)
	}
	for _, k := range out.Ks {
		v, ok := ndcg[k]
		if !ok {
			return fmt.Errorf("eval: report has HR@%d but no NDCG@%d", k, k)
		}
		out.NDCG = append(out.NDCG, v)
	}
	if len(ndcg) != len(out.Ks) {
		return fmt.Errorf("eval: report has %d NDCG@k keys for %d HR@k keys", len(ndcg), len(out.Ks))
	}
	*r = out
	return nil
}

// rankingAccum holds the sums behind a Report; Hits[i] and NDCG[i] belong
// to the i-th k. It is also the accumulator of rankingFn, hence exported
// fields of plain types.
type rankingAccum struct {
	Users int64
	Hits  []int64
	NDCG  []float64
	RR    float64
	AUC   float64
}

func newRankingAccum(nk int) rankingAccum {
	return rankingAccum{Hits: make([]int64, nk), NDCG: make([]float64, nk)}
}

// fit makes the per-k slices as long as ks; a decoded empty accumulator may
// carry nil slices.
func (a *rankingAccum) fit(nk int) {
	if len(a.Hits) > nk || len(a.NDCG) > nk {
		panic("eval: accumulator holds more ks than configured")
	}
	if len(a.Hits) != nk {
		a.Hits = append(a.Hits, make([]int64, nk-len(a.Hits))...)
	}
	if len(a.NDCG) != nk {
		a.NDCG = append(a.NDCG, make([]float64, nk-len(a.NDCG))...)
	}
}

func (a *rankingAccum) add(ks []int, r UserRank) error {
	if err := r.validate(); err != nil {
		return err
	}
	if r.NumCandidates < 2 {
		return fmt.Errorf("eval: user %d: AUC needs 2 or more candidates, have %d", r.User, r.NumCandidates)
	}
	a.fit(len(ks))
	a.Users++
	for i, k := range ks {
		if r.Rank < int64(k) {
			a.Hits[i]++
			a.NDCG[i] += gain(r.Rank, k)
		}
	}
	a.RR += 1 / float64(r.Rank+1)
	a.AUC += userAUC(r)
	return nil
}

func (a *rankingAccum) merge(nk int, b rankingAccum) {
	a.fit(nk)
	b.fit(nk)
	a.Users += b.Users
	for i := range nk {
		a.Hits[i] += b.Hits[i]
		a.NDCG[i] += b.NDCG[i]
	}
	a.RR += b.RR
	a.AUC += b.AUC
}

func (a rankingAccum) report(ks []int) (Report, error) {
	if a.Users == 0 {
		return Report{}, fmt.Errorf("eval: no users")
	}
	a.fit(len(ks))
	u := float64(a.Users)
	r := Report{
		Users: a.Users,
		Ks:    append([]int(nil), ks...),
		HR:    make([]float64, len(ks)),
		NDCG:  make([]float64, len(ks)),
		MRR:   a.RR / u,
		AUC:   a.AUC / u,
	}
	for i := range ks {
		r.HR[i] = float64(a.Hits[i]) / u
		r.NDCG[i] = a.NDCG[i] / u
	}
	return r, nil
}
