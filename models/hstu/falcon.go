package hstu

import (
	"fmt"
	"math"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// Query is one user's history for Candidates.
type Query struct {
	Items   []int64 // history, oldest first
	Times   []int64
	Actions []int32 // per history item, for models with actions (Config.Actions)
	User    int64   // for user side features
	Time    int64   // the candidates' time: the last query time
	// CandidateAction is the action id every candidate carries (models
	// with actions; the ranking task's "to predict").
	CandidateAction int32
}

// Candidates scores many candidate items against one user's history in
// one pass: M-FALCON (Zhai et al. 2024, arXiv 2402.17152, section 3.4). It
// returns, for each candidate c, the output Forward would give at the
// position after the history if c were appended to it at time t
// (len(cands) x d, L2-normalised, evaluation mode):
//
//	out(c) = HSTU([items..., c])[n]      n = len(items), query time t
//
// Each candidate attends the history and itself, never another candidate,
// so the history's keys and values are computed once (one Forward of the
// history, its last position's query time t) and the candidates go through
// every layer in micro-batches of micro rows (default 128), their
// attention to the history as one matrix product per head:
//
//	s[c,j] = scale <q_c, k_j> + pos[n-j] + time[bucket(t - t_j)]     j < n (within the window)
//	s[c,c] = scale <q_c, k_c> + pos[0] + time[0]
//	o_c    = Σ_j SiLU(s[c,j]) / N v_j + SiLU(s[c,c]) / N v_c (+ window summaries)
//
// The history keeps its last MaxSeqLen-1 items (the candidate takes the
// last position); it may be empty. The model's activations of the last
// Forward are overwritten.
func (m *Model[T]) Candidates(q Query, cands []int32, micro int) ([]T, error) {
	items, times, acts, user, t := q.Items, q.Times, q.Actions, q.User, q.Time
	if len(times) != len(items) {
		return nil, fmt.Errorf("hstu: %d history items but %d timestamps", len(items), len(times))
	}
	if m.In.Actions != nil && len(acts) != len(items) {
		return nil, fmt.Errorf("hstu: the model embeds actions: %d history items but %d actions", len(items), len(acts))
	}
	if micro <= 0 {
		micro = 128
	}
	for _, c := range cands {
		if c <= 0 || int(c) >= m.cfg.Items {
			return nil, fmt.Errorf("hstu: candidate item %d is not in the catalogue of %d", c, m.cfg.Items-1)
		}
	}
	if len(items) > m.n-1 {
		cut := len(items) - (m.n - 1)
		items, times = items[cut:], times[cut:]
		if m.In.Actions != nil {
			acts = acts[cut:]
		}
	}
	n := len(items)
	if n > 0 {
		row := transforms.SequenceRow{User: user, Items: items, Timestamps: times, Target: 0, TargetTimestamp: t}
		b, err := sequential.NewBatch([]transforms.SequenceRow{row}, []int{0}, m.n, false)
		if err != nil {
			return nil, err
		}
		if m.In.Actions != nil {
			b.Actions = make([]int32, m.n)
			copy(b.Actions, acts)
		}
		m.Forward(b, nil) // fills each layer's history k and v (rows 0..n-1)
	}
	f := falcon[T]{m: m, n: n, t: t, times: times, action: q.CandidateAction}
	f.biases()
	out := make([]T, len(cands)*m.d)
	for lo := 0; lo < len(cands); lo += micro {
		hi := min(lo+micro, len(cands))
		f.run(cands[lo:hi], user, out[lo*m.d:hi*m.d])
	}
	return out, nil
}

// falcon holds one Candidates call's state.
type falcon[T kernels.Float] struct {
	m      *Model[T]
	n      int     // history length
	t      int64   // the candidates' time
	action int32   // the candidates' action id
	times  []int64 // history times
	bias   [][]T   // per layer: the rab of the candidate's query against history key j; NaN outside the window
	kbar   [][]T   // per layer: window-summary means of the history's k (chunks x H*dqk)
	vbar   [][]T   // and v (chunks x H*dv)
	sums   []int   // the summarised chunks

	x, ln1, rstd, pre, act, s, o, ln2, y []T
}

// biases precomputes what every candidate shares: the relative position
// and time bias against each history key, and the window summaries.
func (f *falcon[T]) biases() {
	m, n := f.m, f.n
	w, sum := m.cfg.Hierarchical.Level1WindowSize, m.cfg.Hierarchical.Level2WindowSize
	hqk, hv := m.h*m.dqk, m.h*m.dv
	if w > 0 && sum > 0 {
		cnt := (n+1)/w - 1 // complete windows ending before the candidate's window
		for c := max(0, cnt-sum); c < cnt; c++ {
			f.sums = append(f.sums, c)
		}
	}
	for _, ly := range m.Layers {
		b := make([]T, n)
		for j := range n {
			if w > 0 && n-j >= w {
				b[j] = T(math.NaN()) // outside the window
				continue
			}
			if ly.PosBias != nil {
				b[j] += ly.PosBias.Value[n-j]
			}
			if ly.TimeBias != nil {
				b[j] += ly.TimeBias.Value[kernels.TimeBucket(f.t-f.times[j])]
			}
		}
		f.bias = append(f.bias, b)
		kb, vb := make([]T, len(f.sums)*hqk), make([]T, len(f.sums)*hv)
		for i, c := range f.sums {
			for j := c * w; j < (c+1)*w; j++ {
				kernels.Axpy(1/T(w), ly.k[j*hqk:(j+1)*hqk], kb[i*hqk:(i+1)*hqk])
				kernels.Axpy(1/T(w), ly.v[j*hv:(j+1)*hv], vb[i*hv:(i+1)*hv])
			}
		}
		f.kbar, f.vbar = append(f.kbar, kb), append(f.vbar, vb)
	}
}

// run pushes the candidates cs through every layer and writes their
// normalised outputs to out (len(cs) x d).
func (f *falcon[T]) run(cs []int32, user int64, out []T) {
	m, n, r := f.m, f.n, len(cs)
	d, h, dqk, dv := m.d, m.h, m.dqk, m.dv
	hv, hqk := h*dv, h*dqk
	width := 2*hv + 2*hqk
	in := m.In
	f.x = sequential.Grow(f.x, r*d)
	kernels.EmbeddingGather(in.Items.Value, d, cs, f.x)
	sq := T(math.Sqrt(float64(d)))
	pos := in.Pos.Value[n*d : (n+1)*d]
	for i, c := range cs {
		row := f.x[i*d : (i+1)*d]
		for k := range row {
			row[k] = row[k]*sq + pos[k]
		}
		in.ItemSide.AddMean(int64(c), row)
		in.UserSide.AddMean(user, row)
		if in.Actions != nil {
			kernels.AddTo(row, in.Actions.Value[int(f.action)*d:(int(f.action)+1)*d])
		}
	}
	scale := T(m.attention(1).Scale)
	if scale == 0 {
		scale = 1
	}
	invN := 1 / T(m.n)
	f.ln1, f.rstd = sequential.Grow(f.ln1, r*d), sequential.Grow(f.rstd, r)
	f.pre, f.act = sequential.Grow(f.pre, r*width), sequential.Grow(f.act, r*width)
	f.o, f.ln2, f.y = sequential.Grow(f.o, r*hv), sequential.Grow(f.ln2, r*hv), sequential.Grow(f.y, r*d)
	f.s = sequential.Grow(f.s, r*max(n, 1))
	for li, ly := range m.Layers {
		kernels.LayerNormForward(f.x, f.ln1, r, d, lnEps, f.rstd)
		kernels.LinearForward(f.ln1, ly.UVQK.Value, nil, f.pre, r, d, width)
		kernels.SiLUForward(f.pre, f.act)
		clear(f.o)
		bias := f.bias[li]
		for hd := range h {
			qOff, kOff, vOff := 2*hv+hd*dqk, 2*hv+hqk+hd*dqk, hv+hd*dv
			if n > 0 {
				// Against the history: S = Q_c K_hᵀ, then A = SiLU(S + bias) / N, O += A V_h.
				kernels.Gemm(false, true, r, n, dqk, scale, f.act[qOff:], width, ly.k[hd*dqk:], hqk, 0, f.s, n)
				for i := range r {
					srow := f.s[i*n : (i+1)*n]
					for j, b := range bias {
						if b != b {
							srow[j] = 0
							continue
						}
						x := srow[j] + b
						srow[j] = x * kernels.Sigmoid(x) * invN
					}
				}
				kernels.Gemm(false, false, r, dv, n, 1, f.s, n, ly.v[hd*dv:], hv, 1, f.o[hd*dv:], hv)
			}
			var self T
			if ly.PosBias != nil {
				self += ly.PosBias.Value[0]
			}
			if ly.TimeBias != nil {
				self += ly.TimeBias.Value[0]
			}
			kb, vb := f.kbar[li], f.vbar[li]
			for i := range r {
				a := f.act[i*width : (i+1)*width]
				q, o := a[qOff:qOff+dqk], f.o[i*hv+hd*dv:i*hv+(hd+1)*dv]
				x := scale*kernels.Dot(q, a[kOff:kOff+dqk]) + self
				kernels.Axpy(x*kernels.Sigmoid(x)*invN, a[vOff:vOff+dv], o)
				for c := range f.sums {
					x := scale * kernels.Dot(q, kb[c*hqk+hd*dqk:c*hqk+(hd+1)*dqk])
					kernels.Axpy(x*kernels.Sigmoid(x)*invN, vb[c*hv+hd*dv:c*hv+(hd+1)*dv], o)
				}
			}
		}
		kernels.LayerNormForward(f.o, f.ln2, r, hv, lnEps, f.rstd)
		for i := range r {
			u := f.act[i*width : i*width+hv]
			g := f.ln2[i*hv : (i+1)*hv]
			for k := range g {
				g[k] *= u[k]
			}
		}
		kernels.LinearForward(f.ln2, ly.OW.Value, ly.OB.Value, f.y, r, hv, d)
		kernels.AddTo(f.y, f.x)
		f.x, f.y = f.y, f.x
	}
	kernels.L2NormalizeForward(f.x, out, make([]T, r), r, d, 1e-12)
}
