package ranking

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// Example is one labelled impression: a candidate item shown to a user at
// Timestamp after History (oldest first, strictly earlier), and whether it
// was clicked.
type Example struct {
	User         int64
	History      []int64
	HistoryTimes []int64
	// HistoryLabels, when not nil, holds each history item's own label
	// (1 clicked/liked, 0 not): HSTU's actions, used by models with
	// Config.Actions.
	HistoryLabels []float32
	Item          int64
	Timestamp     int64
	Label         float32
}

// The action ids of models with Config.Actions: each history position
// embeds its item's label, the candidate's position "to predict".
const (
	ActionUnknown  = 0 // no label given
	ActionNegative = 1
	ActionPositive = 2
	ActionPredict  = 3 // the candidate
	numActions     = 4
)

// actionOf maps a history label to its action id.
func actionOf(labels []float32, j int) int32 {
	switch {
	case labels == nil:
		return ActionUnknown
	case labels[j] > 0.5:
		return ActionPositive
	}
	return ActionNegative
}

// Encoders a ranking model can put under its head.
const (
	EncoderHSTU = "hstu" // the candidate attends the history and itself through HSTU layers (default)
	EncoderMean = "mean" // the baseline: the mean of the history's item embeddings
)

// Config fixes a ranking model's shape.
type Config struct {
	// Encoder is EncoderHSTU or EncoderMean.
	Encoder string `json:"encoder"`
	// HSTU is the encoder's configuration. MaxSeqLen counts the candidate:
	// histories keep their last MaxSeqLen-1 items. The mean encoder uses
	// its Items, MaxSeqLen and Transformer.HiddenSize only.
	HSTU hstu.Config `json:"hstu"`
	// MLP lists the head's hidden widths (default 64, 32).
	MLP []int `json:"mlp"`
	// Actions adds an action embedding to every position: the history
	// items' labels (Example.HistoryLabels) and the candidate's "to
	// predict", as HSTU interleaves items and actions (arXiv 2402.17152).
	Actions bool `json:"actions"`
}

func (c Config) withDefaults() Config {
	if c.Encoder == "" {
		c.Encoder = EncoderHSTU
	}
	if c.MLP == nil {
		c.MLP = []int{64, 32}
	}
	return c
}

// Model is HSTU as a click model (arXiv 2402.17152, the ranking setting):
//
//	z = HSTU([history..., candidate])[n]      the candidate's output, attending the history and itself
//	f = [z, e_c, z ⊙ e_c]                      e_c the candidate's item embedding
//	P(click) = sigmoid(MLP(f))                 ReLU hidden layers, one logit
//
// trained with binary cross-entropy. With EncoderMean, z is the mean of the
// history's item embeddings (zero for an empty history): the baseline.
// Not safe for concurrent use.
type Model struct {
	cfg     Config
	d       int
	enc     *hstu.Model[float32] // nil for the mean encoder
	items   *kernels.Param[float32]
	actions *kernels.Param[float32]   // the mean encoder's action table (nil without actions)
	mlp     []*kernels.Param[float32] // W0, b0, W1, b1, ..., Wout, bout
	// params lists every trainable tensor.
	params []*kernels.Param[float32]

	st state
}

// state is what one forward keeps for the backward.
type state struct {
	b        *sequential.Batch
	ex       []Example
	idx      []int
	cand     []int32
	z, e, f  []float32
	acts     [][]float32 // MLP inputs per layer (acts[0] = f), then pre-activations
	pre      [][]float32
	logits   []float32
	lastPos  []int
	histIDs  [][]int32
	histActs [][]int32
	train    bool
}

// New builds a ranking model, the encoder initialised as hstu.New does and
// the head Xavier-uniform.
func New(cfg Config, rng *rand.Rand) (*Model, error) {
	cfg = cfg.withDefaults()
	m := &Model{cfg: cfg, d: cfg.HSTU.Transformer.HiddenSize}
	switch cfg.Encoder {
	case EncoderHSTU:
		if cfg.HSTU.Hierarchical.Level2WindowSize > 0 {
			return nil, fmt.Errorf("ranking: hierarchical_params.level2_window_size is not supported by the ranking model")
		}
		if cfg.HSTU.MaxSeqLen < 2 {
			return nil, fmt.Errorf("ranking: max_seq_len must be at least 2 (history and candidate), got %d", cfg.HSTU.MaxSeqLen)
		}
		hc := cfg.HSTU
		if cfg.Actions {
			hc.Actions = numActions
		}
		enc, err := hstu.New[float32](hc, rng)
		if err != nil {
			return nil, fmt.Errorf("ranking: %w", err)
		}
		m.enc, m.items = enc, enc.ItemTable()
		m.params = append(m.params, enc.Params()...)
	case EncoderMean:
		if cfg.HSTU.Items < 2 || m.d < 1 {
			return nil, fmt.Errorf("ranking: mean encoder needs items >= 2 and hidden_size >= 1")
		}
		m.items = kernels.NewParam[float32]("item_emb", cfg.HSTU.Items, m.d)
		m.items.Sparse = true
		kernels.InitNormal(m.items.Value, 0.02, rng)
		clear(m.items.Value[:m.d])
		m.params = append(m.params, m.items)
		if cfg.Actions {
			m.actions = kernels.NewParam[float32]("action_emb", numActions, m.d)
			kernels.InitNormal(m.actions.Value, 0.02, rng)
			m.params = append(m.params, m.actions)
		}
	default:
		return nil, fmt.Errorf("ranking: unknown encoder %q (want %s or %s)", cfg.Encoder, EncoderHSTU, EncoderMean)
	}
	in := 3 * m.d
	for i, w := range append(append([]int{}, cfg.MLP...), 1) {
		if w < 1 {
			return nil, fmt.Errorf("ranking: mlp widths must be positive, got %v", cfg.MLP)
		}
		W := kernels.NewParam[float32](fmt.Sprintf("mlp.%d.w", i), in, w)
		b := kernels.NewParam[float32](fmt.Sprintf("mlp.%d.b", i), w)
		kernels.InitXavierUniform(W.Value, in, w, rng)
		m.mlp = append(m.mlp, W, b)
		in = w
	}
	m.params = append(m.params, m.mlp...)
	return m, nil
}

// Name is "hstu-ranking" or "mean-ranking".
func (m *Model) Name() string { return m.cfg.Encoder + "-ranking" }

// Config returns the model's configuration (defaults applied).
func (m *Model) Config() Config { return m.cfg }

// Params lists the trainable tensors: the encoder's (or the item table),
// then the head's.
func (m *Model) Params() []*kernels.Param[float32] { return m.params }

// Encoder returns the HSTU encoder, nil for the mean encoder.
func (m *Model) Encoder() *hstu.Model[float32] { return m.enc }

// MLP returns the head's weights: W0, b0, ..., Wout, bout.
func (m *Model) MLP() []*kernels.Param[float32] { return m.mlp }

// Forward returns the click logits of ex[idx] (dropout on when rng is not
// nil). It checks ids and history lengths and returns an error naming the
// bad example.
func (m *Model) Forward(ex []Example, idx []int, rng *rand.Rand) ([]float32, error) {
	st := &m.st
	st.ex, st.idx, st.train = ex, idx, rng != nil
	b, d := len(idx), m.d
	st.cand = sequential.Grow(st.cand, b)
	for i, k := range idx {
		e := &ex[k]
		if e.Item <= 0 || int(e.Item) >= m.items.Rows() {
			return nil, fmt.Errorf("ranking: example %d: item %d is not in the catalogue of %d", k, e.Item, m.items.Rows()-1)
		}
		if len(e.HistoryTimes) != len(e.History) {
			return nil, fmt.Errorf("ranking: example %d: %d history items but %d times", k, len(e.History), len(e.HistoryTimes))
		}
		for _, it := range e.History {
			if it <= 0 || int(it) >= m.items.Rows() {
				return nil, fmt.Errorf("ranking: example %d: history item %d is not in the catalogue", k, it)
			}
		}
		if e.HistoryLabels != nil && len(e.HistoryLabels) != len(e.History) {
			return nil, fmt.Errorf("ranking: example %d: %d history items but %d labels", k, len(e.History), len(e.HistoryLabels))
		}
		st.cand[i] = int32(e.Item)
	}
	st.z = sequential.Grow(st.z, b*d)
	if m.enc != nil {
		m.encodeHSTU(rng)
	} else {
		m.encodeMean()
	}
	st.e = sequential.Grow(st.e, b*d)
	kernels.EmbeddingGather(m.items.Value, d, st.cand, st.e)
	return m.head(), nil
}

// sequences lays ex[idx] out as history+candidate rows for the encoder.
func sequences(ex []Example, idx []int, maxLen int) ([]transforms.SequenceRow, []int) {
	rows := make([]transforms.SequenceRow, len(idx))
	pos := make([]int, len(idx))
	for i, k := range idx {
		e := &ex[k]
		h, ht := e.History, e.HistoryTimes
		if len(h) > maxLen-1 {
			h, ht = h[len(h)-(maxLen-1):], ht[len(ht)-(maxLen-1):]
		}
		rows[i] = transforms.SequenceRow{User: e.User,
			Items:      append(append(make([]int64, 0, len(h)+1), h...), e.Item),
			Timestamps: append(append(make([]int64, 0, len(h)+1), ht...), e.Timestamp), TargetTimestamp: e.Timestamp}
		pos[i] = i
	}
	return rows, pos
}

func (m *Model) encodeHSTU(rng *rand.Rand) {
	st, d, n := &m.st, m.d, m.enc.MaxLen()
	rows, pos := sequences(st.ex, st.idx, n)
	b, err := sequential.NewBatch(rows, pos, n, false)
	if err != nil {
		panic("ranking: " + err.Error()) // rows were checked by Forward
	}
	if m.cfg.Actions {
		b.Actions = make([]int32, b.B*n)
		for i, k := range st.idx {
			labels, cut := st.ex[k].HistoryLabels, len(st.ex[k].History)-(b.Lens[i]-1)
			for j := range b.Lens[i] - 1 {
				b.Actions[i*n+j] = actionOf(labels, cut+j)
			}
			b.Actions[i*n+b.Lens[i]-1] = ActionPredict
		}
	}
	st.b = b
	out := m.enc.Forward(b, rng)
	st.lastPos = sequential.Grow(st.lastPos, b.B)
	for i := range b.B {
		p := i*n + b.Lens[i] - 1
		st.lastPos[i] = p
		copy(st.z[i*d:(i+1)*d], out[p*d:(p+1)*d])
	}
}

func (m *Model) encodeMean() {
	st, d := &m.st, m.d
	maxH := m.cfg.HSTU.MaxSeqLen - 1
	st.histIDs = st.histIDs[:0]
	clear(st.z)
	st.histActs = st.histActs[:0]
	for i, k := range st.idx {
		h := st.ex[k].History
		cut := max(0, len(h)-maxH)
		h = h[cut:]
		ids := make([]int32, len(h))
		var acts []int32
		for j, it := range h {
			ids[j] = int32(it)
			kernels.Axpy(1/float32(len(h)), m.items.Value[int(it)*d:(int(it)+1)*d], st.z[i*d:(i+1)*d])
			if m.actions != nil {
				a := actionOf(st.ex[k].HistoryLabels, cut+j)
				acts = append(acts, a)
				kernels.Axpy(1/float32(len(h)), m.actions.Value[int(a)*d:(int(a)+1)*d], st.z[i*d:(i+1)*d])
			}
		}
		st.histIDs = append(st.histIDs, ids)
		st.histActs = append(st.histActs, acts)
	}
}

// head runs the MLP on f = [z, e, z*e] and returns the logits.
func (m *Model) head() []float32 {
	st, d, b := &m.st, m.d, len(m.st.idx)
	st.f = sequential.Grow(st.f, b*3*d)
	for i := range b {
		z, e, f := st.z[i*d:(i+1)*d], st.e[i*d:(i+1)*d], st.f[i*3*d:(i+1)*3*d]
		copy(f[:d], z)
		copy(f[d:2*d], e)
		for k := range d {
			f[2*d+k] = z[k] * e[k]
		}
	}
	st.acts, st.pre = st.acts[:0], st.pre[:0]
	x, in := st.f, 3*d
	for l := 0; l < len(m.mlp); l += 2 {
		w, bias := m.mlp[l], m.mlp[l+1]
		out := w.Cols()
		y := make([]float32, b*out)
		kernels.LinearForward(x, w.Value, bias.Value, y, b, in, out)
		st.acts, st.pre = append(st.acts, x), append(st.pre, y)
		if l+2 < len(m.mlp) {
			a := make([]float32, len(y))
			kernels.ReLUForward(y, a)
			x = a
		} else {
			x = y
		}
		in = out
	}
	st.logits = x
	return x
}

// Backward accumulates every parameter's gradient from dLogits (one per
// example of the last Forward).
func (m *Model) Backward(dLogits []float32) {
	st, d, b := &m.st, m.d, len(m.st.idx)
	dy := dLogits
	for l := len(m.mlp) - 2; l >= 0; l -= 2 {
		w, bias := m.mlp[l], m.mlp[l+1]
		in, out := w.Rows(), w.Cols()
		li := l / 2
		if l+2 < len(m.mlp) { // through the ReLU
			dpre := make([]float32, len(dy))
			kernels.ReLUBackward(st.pre[li], dy, dpre)
			dy = dpre
		}
		dx := make([]float32, b*in)
		kernels.LinearBackward(st.acts[li], w.Value, dy, dx, w.Grad, bias.Grad, b, in, out)
		dy = dx
	}
	df := dy // b x 3d
	dz, de := make([]float32, b*d), make([]float32, b*d)
	for i := range b {
		f := df[i*3*d : (i+1)*3*d]
		z, e := st.z[i*d:(i+1)*d], st.e[i*d:(i+1)*d]
		for k := range d {
			dz[i*d+k] = f[k] + f[2*d+k]*e[k]
			de[i*d+k] = f[d+k] + f[2*d+k]*z[k]
		}
	}
	kernels.EmbeddingScatter(m.items, st.cand, de, 1)
	if m.enc != nil {
		n := m.enc.MaxLen()
		dUser := make([]float32, st.b.B*n*d)
		for i, p := range st.lastPos {
			copy(dUser[p*d:(p+1)*d], dz[i*d:(i+1)*d])
		}
		m.enc.Backward(dUser)
		return
	}
	for i, ids := range st.histIDs {
		if len(ids) > 0 {
			g := make([]float32, len(ids)*d)
			for j := range ids {
				copy(g[j*d:(j+1)*d], dz[i*d:(i+1)*d])
			}
			kernels.EmbeddingScatter(m.items, ids, g, 1/float32(len(ids)))
			if m.actions != nil {
				kernels.EmbeddingScatter(m.actions, st.histActs[i], g, 1/float32(len(ids)))
			}
		}
	}
}

// Loss returns the mean binary cross-entropy of logits against ex[idx]'s
// labels and its gradient with respect to the logits:
//
//	loss = (1/B) Σ softplus(s) - y s,    dloss/ds = (sigmoid(s) - y) / B
func Loss(logits []float32, ex []Example, idx []int) (float64, []float32) {
	grad := make([]float32, len(logits))
	var loss float64
	inv := 1 / float64(len(idx))
	for i, k := range idx {
		s, y := float64(logits[i]), float64(ex[k].Label)
		loss += (math.Max(s, 0) + math.Log1p(math.Exp(-math.Abs(s))) - y*s) * inv
		grad[i] = float32((1/(1+math.Exp(-s)) - y) * inv)
	}
	return loss, grad
}

// Sigmoid turns logits into click probabilities.
func Sigmoid(logits []float32) []float32 {
	p := make([]float32, len(logits))
	for i, s := range logits {
		p[i] = float32(1 / (1 + math.Exp(-float64(s))))
	}
	return p
}

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
