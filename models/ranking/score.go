package ranking

import (
	"fmt"

	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// ScoreCandidates returns the click probability of each candidate item for
// one user with history items/times (and labels, nil if unknown) at time t, all candidates in one pass
// (M-FALCON for the HSTU encoder, see hstu.Model.Candidates; the mean
// encoder's z is shared by construction). It equals Forward on one example
// per candidate.
func (m *Model) ScoreCandidates(user int64, items, times []int64, labels []float32, t int64, cands []int32, micro int) ([]float32, error) {
	if labels != nil && len(labels) != len(items) {
		return nil, fmt.Errorf("ranking: %d history items but %d labels", len(items), len(labels))
	}
	d, b := m.d, len(cands)
	for _, c := range cands {
		if c <= 0 || int(c) >= m.items.Rows() {
			return nil, fmt.Errorf("ranking: candidate item %d is not in the catalogue of %d", c, m.items.Rows()-1)
		}
	}
	st := &m.st
	st.idx = make([]int, b) // head() sizes itself by idx
	st.z = sequential.Grow(st.z, b*d)
	if m.enc != nil {
		q := hstu.Query{Items: items, Times: times, User: user, Time: t, CandidateAction: ActionPredict}
		if m.cfg.Actions {
			q.Actions = make([]int32, len(items))
			for j := range items {
				q.Actions[j] = actionOf(labels, j)
			}
		}
		z, err := m.enc.Candidates(q, cands, micro)
		if err != nil {
			return nil, fmt.Errorf("ranking: %w", err)
		}
		copy(st.z, z)
	} else {
		st.ex = []Example{{History: items, HistoryTimes: times, HistoryLabels: labels}}
		st.idx = make([]int, 1)
		m.encodeMean()
		for i := 1; i < b; i++ {
			copy(st.z[i*d:(i+1)*d], st.z[:d])
		}
		st.idx = make([]int, b)
	}
	st.cand = append(st.cand[:0], cands...)
	st.e = sequential.Grow(st.e, b*d)
	kernels.EmbeddingGather(m.items.Value, d, st.cand, st.e)
	return Sigmoid(m.head()), nil
}

// RankingRequest lays examples out as a request for an exported ranking
// file, histories cut to their last s items (s = max_seq_len - 1 to match
// Forward).
func RankingRequest(ex []Example, s int) onnx.RankingRequest {
	r := onnx.RankingRequest{B: len(ex), S: s, History: make([]int64, len(ex)*s), HistoryTimes: make([]int64, len(ex)*s),
		HistoryLabels: make([]float32, len(ex)*s)}
	for i, e := range ex {
		h, ht, hl := e.History, e.HistoryTimes, e.HistoryLabels
		cut := max(0, len(h)-s)
		h, ht = h[cut:], ht[cut:]
		copy(r.History[i*s:], h)
		copy(r.HistoryTimes[i*s:], ht)
		if hl != nil {
			copy(r.HistoryLabels[i*s:], hl[cut:])
		}
		r.Lengths = append(r.Lengths, int64(len(h)))
		r.Candidates = append(r.Candidates, e.Item)
		r.CandidateTimes = append(r.CandidateTimes, e.Timestamp)
		r.Users = append(r.Users, e.User)
	}
	return r
}
