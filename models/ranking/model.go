package ranking

import (
	"fmt"
	"math/rand/v2"

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
		m.items = kernels.NewTable[float32]("item_emb", cfg.HSTU.Items, m.d)
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
