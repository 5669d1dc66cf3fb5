package onnx

import (
	"fmt"
	"math"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/sequential"
)

// Names of the exported graph's inputs and outputs.
const (
	InItemIDs    = "item_ids"   // int64 [batch, seq]: encoded item ids, left-aligned, 0 = padding
	InLengths    = "lengths"    // int64 [batch]: valid positions per row, 1..seq
	InTimestamps = "timestamps" // int64 [batch, seq]: the items' Unix times (time-bias models only)
	InQueryTime  = "query_time" // int64 [batch]: the time of the request (time-bias models only)
	InUserIDs    = "user_ids"   // int64 [batch]: encoded user ids (models with user side features only)
	OutUser      = "user_embedding"
	OutScores    = "scores"
	OutTopItems  = "top_k_items"
	OutTopScores = "top_k_scores"
)

// Options configure an export.
type Options struct {
	// TopK is the number of items top_k_items and top_k_scores return per
	// row (default 10).
	TopK int
	// Quantization stores weights in float32 (None, the default) or int8.
	Quantization Quantization
	// Meta is added to the file's metadata_props (for example the
	// checkpoint it came from).
	Meta map[string]string
}

// lnEps and normEps are the model's LayerNorm and L2 epsilons.
const (
	lnEps   = 1e-6
	normEps = 1e-12
)

// HSTU builds the ONNX graph of a trained HSTU model: the user embedding at
// each row's last valid position, the scores of the whole catalogue and the
// top-k items, with the equations of models/hstu in evaluation mode
// (dropout off):
//
//	x0   = E[item_ids] * sqrt(d) + P[0..seq) (+ item and user side means)
//	per layer:
//	  u, v, q, k = split(SiLU(LayerNorm(x) W_uvqk))
//	  A = SiLU(q kᵀ * scale + rab_pos(i-j) + rab_time(bucket(t'_i - t_j))) / N   (causal, windowed)
//	  o = A v (+ window summaries)
//	  x = LayerNorm(o) ⊙ u W_o + b_o + x
//	user_embedding = x[lengths-1] / ||x[lengths-1]||
//	scores         = user_embedding · (E[j] / ||E[j]||)ᵀ for every item j
//	top_k          = TopK(scores with id 0 and the row's own items at -inf)
//
// t'_i is the next item's timestamp and, at the last valid position,
// query_time, as in training (DESIGN.md). N is the model's max_seq_len;
// seq may be anything from 1 to N and rows must be left-aligned.
func HSTU(m *hstu.Model[float32], opt Options) (*pb.ModelProto, error) {
	cfg := m.Config()
	if opt.TopK == 0 {
		opt.TopK = 10
	}
	if opt.TopK < 1 || opt.TopK >= cfg.Items {
		return nil, fmt.Errorf("onnx: top-k must be in [1, %d) for a catalogue of %d items, got %d", cfg.Items, cfg.Items-1, opt.TopK)
	}
	if opt.Quantization != None && opt.Quantization != Int8 {
		return nil, fmt.Errorf("onnx: unknown quantization %q", opt.Quantization)
	}
	if cfg.Actions > 0 {
		return nil, fmt.Errorf("onnx: the retrieval graph has no action input; models with actions export as ranking models")
	}
	if len(cfg.ItemCategories) > cfg.Items {
		return nil, fmt.Errorf("onnx: item side feature lists %d items, the catalogue %d", len(cfg.ItemCategories), cfg.Items)
	}
	g := newGraph("hstu")
	b := newHSTUBuilder(g, m, opt.Quantization)
	b.inputs()
	user := b.encode()
	g.output(user, OutUser, tFloat, "L2-normalised user embedding at the last valid position", symbolic("batch"), fixed(b.d))
	b.head(user, opt.TopK)

	meta := map[string]string{
		"genrec.model": "hstu", "genrec.items": fmt.Sprint(cfg.Items), "genrec.max_seq_len": fmt.Sprint(b.n),
		"genrec.dim": fmt.Sprint(b.d), "genrec.top_k": fmt.Sprint(opt.TopK),
		"genrec.quantization": string(map[bool]Quantization{true: "none", false: opt.Quantization}[opt.Quantization == None]),
	}
	for k, v := range opt.Meta {
		meta[k] = v
	}
	const limit = 2<<30 - 64<<20 // protobuf's 2 GiB message limit, with room for the graph
	if g.bytes > limit {
		return nil, fmt.Errorf("onnx: the weights take %d MiB, over the 2 GiB a single ONNX file can hold: export with quantization int8, or shrink the catalogue", g.bytes>>20)
	}
	return g.model(hstuDoc, meta), nil
}

const hstuDoc = `genrec HSTU (arXiv 2402.17152), retrieval.
Inputs: item_ids int64 [batch, seq] left-aligned, 0 = padding; lengths int64 [batch] in 1..seq;
timestamps int64 [batch, seq] and query_time int64 [batch] (models with time bias);
user_ids int64 [batch] (models with user side features). seq <= genrec.max_seq_len.
Outputs: user_embedding float [batch, dim] (L2-normalised), scores float [batch, items]
(cosine of user and item embeddings; column j is encoded item id j, 0 = padding),
top_k_items int64 [batch, k] and top_k_scores float [batch, k] with id 0 and the row's
own items excluded.`

type hstuBuilder struct {
	g                *graph
	m                *hstu.Model[float32]
	cfg              hstu.Config
	q                Quantization
	d, n, h, dqk, dv int
	scale            float64

	ids, lens, ts, qt, users string
	actions                  string // [batch, seq] int64 action ids (models with actions)
	pos                      string // [seq] int64 0..seq-1
	items                    table
	mask                     string // [seq, seq] float: 1/N where attended, else 0
	rel                      string // [seq, seq] int64: max(i-j, 0)
	bucket                   string // [batch, seq, seq] int64 time buckets; "" without time bias
	sumMask                  string // [seq, chunks] float; "" without summaries
}

func newHSTUBuilder(g *graph, m *hstu.Model[float32], q Quantization) *hstuBuilder {
	cfg := m.Config()
	b := &hstuBuilder{g: g, m: m, cfg: cfg, q: q, d: m.Dim(), n: m.MaxLen(), h: cfg.Transformer.NumHeads}
	b.dqk, b.dv = cfg.Dims()
	b.scale = cfg.Transformer.AttentionScale
	if b.scale == 0 {
		b.scale = 1
	}
	return b
}

// encode runs the embedding and every layer on b's inputs (ids, lens and,
// per the model, ts, qt and users, set before) and returns the
// L2-normalised output at each row's last valid position: [batch, d].
func (b *hstuBuilder) encode() string {
	x := b.embed()
	b.masks()
	for l, ly := range b.m.Layers {
		x = b.layer(l, ly, x)
	}
	return b.last(x)
}

func (b *hstuBuilder) inputs() {
	g := b.g
	batch, seq := symbolic("batch"), symbolic("seq")
	b.ids = g.input(InItemIDs, tInt64, "encoded item ids, left-aligned, 0 = padding", batch, seq)
	b.lens = g.input(InLengths, tInt64, "valid positions per row, 1..seq", batch)
	if !b.cfg.NoTimeBias {
		b.ts = g.input(InTimestamps, tInt64, "Unix times of item_ids", batch, seq)
		b.qt = g.input(InQueryTime, tInt64, "time of the request (the next item's time)", batch)
	}
	if b.cfg.UserFeatures > 0 {
		b.users = g.input(InUserIDs, tInt64, "encoded user ids (user side features)", batch)
	}
}

// embed returns x0 [batch, seq, d].
func (b *hstuBuilder) embed() string {
	g, in := b.g, b.m.In
	b.items = g.addTable("item_emb", in.Items.Value, in.Items.Rows(), b.d, b.q)
	x := g.mul(g.lookup(b.items, b.ids), g.float(float32(math.Sqrt(float64(b.d)))))
	seqLen := g.op("Squeeze", []string{g.dimOf(b.ids, 1)})
	b.pos = g.op("Range", []string{g.int(0), seqLen, g.int(1)})
	x = g.add(x, g.gather(g.initFloats("pos_emb", []int64{int64(b.n), int64(b.d)}, in.Pos.Value), b.pos))
	if s := in.ItemSide; s != nil {
		side := sideMeans(s, b.cfg.Items, b.d)
		t := g.addTable("item_side_mean", side, b.cfg.Items, b.d, b.q)
		x = g.add(x, g.lookup(t, b.ids))
	}
	if a := in.Actions; a != nil {
		t := g.addTable("action_emb", a.Value, a.Rows(), b.d, None)
		x = g.add(x, g.lookup(t, b.actions))
	}
	if s := in.UserSide; s != nil {
		users := max(len(s.Lists), 1)
		side := sideMeans(s, users, b.d)
		t := g.addTable("user_side_mean", side, users, b.d, b.q)
		x = g.add(x, g.unsqueeze(g.lookup(t, b.users), 1))
	}
	return x
}

// sideMeans returns, per key, the mean of its rows of the side table: the
// vector sequential.Input adds.
func sideMeans(s *sequential.Side[float32], keys, d int) []float32 {
	out := make([]float32, keys*d)
	for k := range min(keys, len(s.Lists)) {
		rows := s.Lists[k]
		if len(rows) == 0 {
			continue
		}
		w := 1 / float32(len(rows))
		for _, r := range rows {
			kernels.Axpy(w, s.Table.Value[int(r)*d:(int(r)+1)*d], out[k*d:(k+1)*d])
		}
	}
	return out
}

// masks builds what every layer shares: the causal (and windowed)
// attention mask scaled by 1/N, the relative positions, the time buckets
// and the summary mask.
func (b *hstuBuilder) masks() {
	g := b.g
	i, j := g.unsqueeze(b.pos, 1), g.unsqueeze(b.pos, 0)
	rel := g.sub(i, j) // [seq, seq]: i - j
	allowed := g.op("GreaterOrEqual", []string{rel, g.int(0)})
	w := b.cfg.Hierarchical.Level1WindowSize
	if w > 0 {
		allowed = g.op("And", []string{allowed, g.op("Less", []string{rel, g.int(int64(w))})})
	}
	b.mask = g.where(allowed, g.float(1/float32(b.n)), g.float(0))
	b.rel = g.op("Max", []string{rel, g.int(0)})

	if b.ts != "" {
		// t'[b,i] = ts[b,i+1]; query_time at i = lengths[b]-1.
		next := g.op("Slice", []string{b.ts, g.ints(1), g.ints(math.MaxInt64), g.ints(1)})
		qt := g.unsqueeze(b.qt, 1)
		next = g.op("Concat", []string{next, qt}, aInt("axis", 1))
		isLast := g.op("Equal", []string{j, g.unsqueeze(g.sub(b.lens, g.int(1)), 1)})
		tq := g.where(isLast, qt, next)
		dt := g.sub(g.unsqueeze(tq, 2), g.unsqueeze(b.ts, 1)) // [batch, seq, seq]
		mag := g.op("Max", []string{g.op("Abs", []string{dt}), g.int(1)})
		lg := g.div(g.op("Log", []string{g.cast(mag, tDouble)}), g.double(0.301))
		b.bucket = g.op("Min", []string{g.cast(lg, tInt64), g.int(kernels.TimeBuckets - 1)})
	}

	if s := b.cfg.Hierarchical.Level2WindowSize; s > 0 {
		seqLen := g.op("Squeeze", []string{g.dimOf(b.ids, 1)})
		chunks := g.div(seqLen, g.int(int64(w)))
		c := g.unsqueeze(g.op("Range", []string{g.int(0), chunks, g.int(1)}), 0) // [1, C]
		// Chunk c is summarised for query i when it is among the last s
		// complete chunks ending before i's window: c < cnt(i) and
		// c >= cnt(i) - s, cnt(i) = (i+1)/W - 1.
		cnt := g.unsqueeze(g.sub(g.div(g.add(b.pos, g.int(1)), g.int(int64(w))), g.int(1)), 1)
		ok := g.op("And", []string{
			g.op("Less", []string{c, cnt}),
			g.op("GreaterOrEqual", []string{c, g.sub(cnt, g.int(int64(s)))}),
		})
		b.sumMask = g.where(ok, g.float(1/float32(b.n)), g.float(0))
	}
}

// layer adds one HSTU layer to x [batch, seq, d].
func (b *hstuBuilder) layer(l int, ly *hstu.Layer[float32], x string) string {
	g := b.g
	hv, hqk := b.h*b.dv, b.h*b.dqk
	width := 2*hv + 2*hqk
	name := fmt.Sprintf("layers.%d.", l)
	act := g.silu(g.linear(g.layerNorm(x, b.d, lnEps), name+"uvqk", ly.UVQK.Value, b.d, width, nil, b.q))
	parts := g.opN("Split", 4, []string{act, g.ints(int64(hv), int64(hv), int64(hqk), int64(hqk))}, aInt("axis", -1))
	u := parts[0]
	heads := func(t string, w int) string { return g.reshape(t, 0, 0, int64(b.h), int64(w)) }
	v := g.transpose(heads(parts[1], b.dv), 0, 2, 1, 3)  // [batch, H, seq, dv]
	q := g.transpose(heads(parts[2], b.dqk), 0, 2, 1, 3) // [batch, H, seq, dqk]
	k := g.transpose(heads(parts[3], b.dqk), 0, 2, 3, 1) // [batch, H, dqk, seq]

	s := g.matmul(q, k)
	if b.scale != 1 {
		s = g.mul(s, g.float(float32(b.scale)))
	}
	if ly.PosBias != nil {
		pb := g.initFloats(name+"pos_bias", []int64{int64(len(ly.PosBias.Value))}, ly.PosBias.Value)
		s = g.add(s, g.gather(pb, b.rel))
	}
	if ly.TimeBias != nil {
		tb := g.initFloats(name+"time_bias", []int64{kernels.TimeBuckets}, ly.TimeBias.Value)
		s = g.add(s, g.unsqueeze(g.gather(tb, b.bucket), 1))
	}
	o := g.matmul(g.mul(g.silu(s), b.mask), v)
	if b.sumMask != "" {
		o = g.add(o, b.summaries(q, k, v))
	}
	o = g.reshape(g.transpose(o, 0, 2, 1, 3), 0, 0, int64(hv))
	gated := g.mul(u, g.layerNorm(o, hv, lnEps))
	y := g.linear(gated, name+"o", ly.OW.Value, hv, b.d, ly.OB.Value, b.q)
	return g.add(y, x)
}

// summaries returns the level-2 term: each query's attention to the means
// of the last complete windows before its own (see kernels.HSTUAttention).
// q is [batch, H, seq, dqk], k [batch, H, dqk, seq], v [batch, H, seq, dv].
func (b *hstuBuilder) summaries(q, k, v string) string {
	g := b.g
	w := int64(b.cfg.Hierarchical.Level1WindowSize)
	seqLen := g.dimOf(b.ids, 1)
	chunks := g.div(seqLen, g.ints(w)) // [1]
	covered := g.mul(chunks, g.ints(w))
	kc := g.op("Slice", []string{k, g.ints(0), covered, g.ints(3)})
	kc = g.op("Reshape", []string{kc, g.op("Concat", []string{g.ints(0, 0, 0), chunks, g.ints(w)}, aInt("axis", 0))})
	kbar := g.op("ReduceMean", []string{kc}, aInts("axes", 4), aInt("keepdims", 0)) // [batch, H, dqk, C]
	vc := g.op("Slice", []string{v, g.ints(0), covered, g.ints(2)})
	vc = g.op("Reshape", []string{vc, g.op("Concat", []string{g.ints(0, 0), chunks, g.ints(w, int64(b.dv))}, aInt("axis", 0))})
	vbar := g.op("ReduceMean", []string{vc}, aInts("axes", 3), aInt("keepdims", 0)) // [batch, H, C, dv]
	s := g.matmul(q, kbar)
	if b.scale != 1 {
		s = g.mul(s, g.float(float32(b.scale)))
	}
	return g.matmul(g.mul(g.silu(s), b.sumMask), vbar)
}

// last returns the L2-normalised row at lengths-1: [batch, d].
func (b *hstuBuilder) last(x string) string {
	g := b.g
	idx := g.reshape(g.sub(b.lens, g.int(1)), -1, 1, 1)
	idx = g.op("Expand", []string{idx, g.ints(1, 1, int64(b.d))})
	row := g.op("GatherElements", []string{x, idx}, aInt("axis", 1))
	return g.l2Normalize(g.op("Squeeze", []string{row, g.ints(1)}), normEps)
}

// head scores the catalogue and picks the top k.
func (b *hstuBuilder) head(user string, k int) {
	scores := b.g.scoreCatalogue(user, b.items)
	b.g.output(scores, OutScores, tFloat, "cosine score of every item (column = encoded item id)", symbolic("batch"), fixed(b.items.rows))
	b.g.topK(scores, b.ids, k)
}

// scoreCatalogue returns user [batch, d] · normalised item tableᵀ:
// [batch, items]. The item-side normalisation and transposition depend on
// weights only, so onnxruntime folds them when it loads the model.
func (g *graph) scoreCatalogue(user string, t table) string {
	if t.scales == "" {
		return g.matmul(user, g.transpose(g.l2Normalize(t.name, normEps), 1, 0))
	}
	// Row j of the table is scale[j] * q[j]; its norm is scale[j] * ||q[j]||,
	// so the normalised row is q[j] / ||q[j]|| whatever the scale (a zero
	// row, the padding item, scores 0).
	qf := g.cast(t.name, tFloat)
	norm := g.op("Max", []string{g.op("Sqrt", []string{g.op("ReduceSumSquare", []string{qf}, aInts("axes", 1), aInt("keepdims", 0))}), g.float(1)})
	inv := g.div(g.float(1), norm)
	return g.mul(g.matmulInt8(user, g.transpose(t.name, 1, 0), g.float(1)), inv)
}

// topK sets id 0 and each row's own items to -inf and returns the k best.
func (g *graph) topK(scores, ids string, k int) {
	batch := g.dimOf(ids, 0)
	zeros := g.op("ConstantOfShape", []string{g.op("Concat", []string{batch, g.ints(1)}, aInt("axis", 0))},
		&pb.AttributeProto{Name: "value", Type: pb.AttributeProto_TENSOR, T: &pb.TensorProto{DataType: int32(tInt64), Dims: []int64{1}, Int64Data: []int64{0}}})
	masked := g.op("Concat", []string{ids, zeros}, aInt("axis", 1))
	neg := g.op("Expand", []string{g.float(float32(math.Inf(-1))), g.op("Shape", []string{masked})})
	s := g.op("ScatterElements", []string{scores, masked, neg}, aInt("axis", 1))
	top := g.opN("TopK", 2, []string{s, g.ints(int64(k))}, aInt("axis", -1), aInt("largest", 1), aInt("sorted", 1))
	g.output(top[1], OutTopItems, tInt64, "the k best items (encoded ids), best first", symbolic("batch"), fixed(k))
	g.output(top[0], OutTopScores, tFloat, "their scores", symbolic("batch"), fixed(k))
}
