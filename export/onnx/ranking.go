package onnx

import (
	"fmt"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
)

// Names of the ranking graph's inputs and output.
const (
	InHistory       = "history"        // int64 [batch, seq]: encoded items before the impression, left-aligned, 0 = padding
	InHistoryTimes  = "history_times"  // int64 [batch, seq] (time-bias models)
	InHistoryLabels = "history_labels" // float [batch, seq]: each history item's label, 1 liked / 0 not (models with actions)
	InHistoryLength = "lengths"        // int64 [batch]: valid history items, 0..seq
	InCandidate     = "candidate"      // int64 [batch]: the encoded item shown
	InCandidateTime = "candidate_time" // int64 [batch]: when it was shown (time-bias models)
	OutProbability  = "probability"    // float [batch]: P(click)
)

// HSTURanking builds the ONNX graph of a ranking model (models/ranking with
// the HSTU encoder): each row's candidate is appended to its history at
// position lengths and time candidate_time, the HSTU layers run as in HSTU,
// and the candidate's output z feeds the head:
//
//	f = [z, e_c, z ⊙ e_c],   probability = sigmoid(MLP(f))   (ReLU between layers)
//
// mlp holds the head's weights in models/ranking order (W0, b0, ...,
// Wout, bout; W is in x out). seq may be 1..max_seq_len-1; a row's history
// may be empty (lengths 0).
func HSTURanking(enc *hstu.Model[float32], mlp []*kernels.Param[float32], opt Options) (*pb.ModelProto, error) {
	if len(mlp) < 2 || len(mlp)%2 != 0 {
		return nil, fmt.Errorf("onnx: the ranking head needs weight and bias pairs, got %d tensors", len(mlp))
	}
	if opt.Quantization != None && opt.Quantization != Int8 {
		return nil, fmt.Errorf("onnx: unknown quantization %q", opt.Quantization)
	}
	cfg := enc.Config()
	if cfg.Hierarchical.Level2WindowSize > 0 {
		return nil, fmt.Errorf("onnx: ranking models with level-2 window summaries cannot be exported")
	}
	d := enc.Dim()
	if mlp[0].Rows() != 3*d || mlp[len(mlp)-2].Cols() != 1 {
		return nil, fmt.Errorf("onnx: the ranking head takes %d inputs and gives %d outputs; want %d and 1", mlp[0].Rows(), mlp[len(mlp)-2].Cols(), 3*d)
	}
	g := newGraph("hstu_ranking")
	b := newHSTUBuilder(g, enc, opt.Quantization)
	batch, seq := symbolic("batch"), symbolic("seq")
	hist := g.input(InHistory, tInt64, "encoded items before the impression, left-aligned, 0 = padding", batch, seq)
	lens := g.input(InHistoryLength, tInt64, "valid history items per row, 0..seq", batch)
	cand := g.input(InCandidate, tInt64, "the encoded item shown", batch)
	zero := g.op("ConstantOfShape", []string{g.op("Concat", []string{g.dimOf(hist, 0), g.ints(1)}, aInt("axis", 0))},
		&pb.AttributeProto{Name: "value", Type: pb.AttributeProto_TENSOR, T: &pb.TensorProto{DataType: int32(tInt64), Dims: []int64{1}, Int64Data: []int64{0}}})
	at := g.unsqueeze(lens, 1)
	// place puts v [batch] at column lengths of x [batch, seq] widened by one.
	place := func(x, v string) string {
		return g.op("ScatterElements", []string{g.op("Concat", []string{x, zero}, aInt("axis", 1)), at, g.unsqueeze(v, 1)}, aInt("axis", 1))
	}
	b.ids = place(hist, cand)
	b.lens = g.add(lens, g.int(1))
	if !cfg.NoTimeBias {
		ht := g.input(InHistoryTimes, tInt64, "Unix times of history", batch, seq)
		b.qt = g.input(InCandidateTime, tInt64, "when the candidate was shown", batch)
		b.ts = place(ht, b.qt)
	}
	if cfg.UserFeatures > 0 {
		b.users = g.input(InUserIDs, tInt64, "encoded user ids (user side features)", batch)
	}
	if cfg.Actions > 0 {
		if cfg.Actions < 4 {
			return nil, fmt.Errorf("onnx: the ranking graph needs 4 action ids (unknown, negative, positive, to predict), the model has %d", cfg.Actions)
		}
		// action = positive (2) if label > 0.5 else negative (1); the
		// candidate's is "to predict" (3), as models/ranking.
		labels := g.input(InHistoryLabels, tFloat, "each history item's label: 1 liked/clicked, 0 not", batch, seq)
		acts := g.add(g.cast(g.op("Greater", []string{labels, g.float(0.5)}), tInt64), g.int(1))
		b.actions = place(acts, g.op("Expand", []string{g.int(3), g.dimOf(hist, 0)}))
	}
	z := b.encode()
	e := g.lookup(b.items, cand)
	x := g.op("Concat", []string{z, e, g.mul(z, e)}, aInt("axis", 1))
	for l := 0; l < len(mlp); l += 2 {
		w, bias := mlp[l], mlp[l+1]
		x = g.linear(x, fmt.Sprintf("mlp.%d", l/2), w.Value, w.Rows(), w.Cols(), bias.Value, opt.Quantization)
		if l+2 < len(mlp) {
			x = g.op("Relu", []string{x})
		}
	}
	p := g.op("Sigmoid", []string{g.op("Squeeze", []string{x, g.ints(1)})})
	g.output(p, OutProbability, tFloat, "click probability", batch)
	meta := map[string]string{
		"genrec.model": "hstu-ranking", "genrec.items": fmt.Sprint(cfg.Items), "genrec.max_seq_len": fmt.Sprint(cfg.MaxSeqLen),
		"genrec.dim": fmt.Sprint(d), "genrec.quantization": string(map[bool]Quantization{true: "none", false: opt.Quantization}[opt.Quantization == None]),
	}
	for k, v := range opt.Meta {
		meta[k] = v
	}
	return g.model(rankingDoc, meta), nil
}

const rankingDoc = `genrec HSTU ranking (click) model.
Inputs: history int64 [batch, seq] left-aligned, 0 = padding; lengths int64 [batch] in 0..seq;
candidate int64 [batch]; history_times int64 [batch, seq] and candidate_time int64 [batch]
(models with time bias); history_labels float [batch, seq] (models with actions);
user_ids int64 [batch] (models with user side features).
seq <= genrec.max_seq_len - 1. Output: probability float [batch], P(click).`

// RankingRequest is one batch for a ranking file.
type RankingRequest struct {
	B, S           int
	History        []int64   // B*S
	HistoryTimes   []int64   // B*S
	HistoryLabels  []float32 // B*S (models with actions)
	Lengths        []int64   // B, 0..S
	Candidates     []int64   // B
	CandidateTimes []int64   // B
	Users          []int64   // B
}

// RunRanking runs a ranking file and returns the click probabilities.
func (s *Session) RunRanking(r RankingRequest) ([]float32, error) {
	if r.B < 1 || r.S < 1 || len(r.Lengths) != r.B || len(r.Candidates) != r.B {
		return nil, fmt.Errorf("onnx: ranking request of %d rows of length %d with %d lengths and %d candidates", r.B, r.S, len(r.Lengths), len(r.Candidates))
	}
	for i, n := range r.Lengths {
		if n < 0 || n > int64(r.S) {
			return nil, fmt.Errorf("onnx: row %d: history length %d not in [0, %d]", i, n, r.S)
		}
	}
	out, err := s.run(map[string]any{
		InHistory: r.History, InHistoryTimes: r.HistoryTimes, InHistoryLength: r.Lengths,
		InCandidate: r.Candidates, InCandidateTime: r.CandidateTimes, InUserIDs: r.Users, InHistoryLabels: r.HistoryLabels,
	}, r.B, r.S, map[string]bool{InHistory: true, InHistoryTimes: true, InHistoryLabels: true})
	if err != nil {
		return nil, err
	}
	return out[OutProbability].([]float32), nil
}
