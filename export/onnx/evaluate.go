package onnx

import (
	"fmt"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// RequestFromBatch lays out a genrec batch as an ONNX request, trimmed to
// the batch's longest row. The request time of each row is the time of the
// item its last position predicts (the batch's QueryTimes), as in training
// and evaluation.
func RequestFromBatch(b *sequential.Batch) Request {
	s := 1
	for _, n := range b.Lens {
		s = max(s, n)
	}
	r := Request{B: b.B, S: s, Items: make([]int64, b.B*s), Times: make([]int64, b.B*s),
		Lengths: make([]int64, b.B), QueryTimes: make([]int64, b.B), Users: append([]int64(nil), b.Users...)}
	for i, n := range b.Lens {
		for j := range n {
			r.Items[i*s+j] = int64(b.Items[i*b.L+j])
			r.Times[i*s+j] = b.Times[i*b.L+j]
		}
		r.Lengths[i] = int64(n)
		r.QueryTimes[i] = b.QueryTimes[i*b.L+n-1]
	}
	return r
}

// Evaluate ranks the rows of split with an exported model under DESIGN.md's
// protocol, exactly as sequential.Evaluate does with the Go model (full
// catalogue from the scores output, id 0 and the user's history masked),
// so the two reports compare the export with its source. maxLen is the
// model's max_seq_len (longer histories keep their last maxLen items).
func Evaluate(s *Session, rows []transforms.SequenceRow, split string, maxLen int, ks []int, batch int) (eval.Report, error) {
	idx := sequential.SplitRows(rows, split)
	if len(idx) == 0 {
		return eval.Report{}, fmt.Errorf("onnx: no %s rows to evaluate", split)
	}
	if batch <= 0 {
		batch = 128
	}
	hist := sequential.Histories(rows, split)
	ranks := make([]eval.UserRank, 0, len(idx))
	for lo := 0; lo < len(idx); lo += batch {
		b, err := sequential.NewBatch(rows, idx[lo:min(lo+batch, len(idx))], maxLen, false)
		if err != nil {
			return eval.Report{}, err
		}
		resp, err := s.Run(RequestFromBatch(b))
		if err != nil {
			return eval.Report{}, err
		}
		n := len(resp.Scores) / b.B
		for i, ri := range b.Rows {
			r := &rows[ri]
			if r.Target <= 0 || int(r.Target) >= n {
				return eval.Report{}, fmt.Errorf("onnx: user %q: target item %d is not in the catalogue of %d", r.UserKey, r.Target, n)
			}
			rank, cands, err := sequential.RankMasked(resp.Scores[i*n:(i+1)*n], int(r.Target), hist[r.User])
			if err != nil {
				return eval.Report{}, fmt.Errorf("onnx: row %d: %w", ri, err)
			}
			ranks = append(ranks, eval.UserRank{User: r.User, Rank: rank, NumCandidates: cands})
		}
	}
	return eval.Ranking(ranks, ks)
}
