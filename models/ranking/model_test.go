package ranking

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/trainer"
)

func testConfig(enc string) Config {
	return Config{Encoder: enc, MLP: []int{8},
		HSTU: hstu.Config{Items: 40, MaxSeqLen: 8, Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 1, HiddenSize: 6}}}
}

func randomExamples(rng *rand.Rand, n, items, maxHist int) []Example {
	ex := make([]Example, n)
	for i := range ex {
		h := rng.IntN(maxHist + 1)
		e := Example{User: int64(i % 5), Item: int64(1 + rng.IntN(items-1)), Timestamp: 1e9, Label: float32(rng.IntN(2))}
		for j := range h {
			e.History = append(e.History, int64(1+rng.IntN(items-1)))
			e.HistoryTimes = append(e.HistoryTimes, int64(1e9-1000*(h-j)))
			e.HistoryLabels = append(e.HistoryLabels, float32(rng.IntN(2)))
		}
		ex[i] = e
	}
	return ex
}

// TestGradients checks Backward against central differences of Loss for
// every parameter tensor of both encoders (the HSTU encoder's own
// per-coordinate float64 check is in models/hstu).
func TestGradients(t *testing.T) {
	for _, enc := range []string{EncoderHSTU, EncoderMean, EncoderHSTU + "+actions", EncoderMean + "+actions"} {
		rng := rand.New(rand.NewPCG(1, 2))
		cfg := testConfig(strings.TrimSuffix(enc, "+actions"))
		cfg.Actions = strings.HasSuffix(enc, "+actions")
		m, err := New(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			if p.Name != "item_emb" {
				continue
			}
			for i := range p.Value[6:] {
				p.Value[6+i] = float32(rng.NormFloat64() * 0.5)
			}
		}
		ex := randomExamples(rng, 6, 40, 10)
		idx := []int{0, 1, 2, 3, 4, 5}
		loss := func() float64 {
			lg, err := m.Forward(ex, idx, nil)
			if err != nil {
				t.Fatal(err)
			}
			l, _ := Loss(lg, ex, idx)
			return l
		}
		for _, p := range m.Params() {
			p.ZeroGrad()
		}
		lg, err := m.Forward(ex, idx, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, g := Loss(lg, ex, idx)
		m.Backward(g)
		// Per tensor, a directional derivative along a random direction v:
		// (L(θ+hv) - L(θ-hv)) / 2h against <grad, v>, which sums every
		// coordinate's contribution and so stands well above float32 noise.
		for _, p := range m.Params() {
			v := make([]float32, len(p.Value))
			grad := p.DenseGrad()
			want := 0.0
			for k := range v {
				if p.Name == "item_emb" && k < 6 {
					continue // the padding row is never used
				}
				v[k] = float32(rng.NormFloat64())
				want += float64(v[k]) * float64(grad[k])
			}
			old := append([]float32(nil), p.Value...)
			const h = 2e-4
			for k := range v {
				p.Value[k] = old[k] + h*v[k]
			}
			up := loss()
			for k := range v {
				p.Value[k] = old[k] - h*v[k]
			}
			down := loss()
			copy(p.Value, old)
			fd := (up - down) / (2 * h)
			if math.Abs(fd-want) > 1e-4+0.02*math.Abs(fd) {
				t.Errorf("%s %s: <grad, v> = %.6g, finite difference %.6g", enc, p.Name, want, fd)
			}
		}
	}
}

// TestScoreCandidatesMatchesForward: M-FALCON scoring of many candidates
// equals Forward on one example per candidate.
func TestScoreCandidatesMatchesForward(t *testing.T) {
	for _, enc := range []string{EncoderHSTU, EncoderMean, EncoderHSTU + "+actions", EncoderMean + "+actions"} {
		rng := rand.New(rand.NewPCG(3, 4))
		cfg := testConfig(strings.TrimSuffix(enc, "+actions"))
		cfg.Actions = strings.HasSuffix(enc, "+actions")
		m, err := New(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		for _, hist := range []int{0, 3, 12} {
			base := randomExamples(rng, 1, 40, 0)[0]
			for j := range hist {
				base.History = append(base.History, int64(1+rng.IntN(39)))
				base.HistoryTimes = append(base.HistoryTimes, int64(1e9-5000*(hist-j)))
				base.HistoryLabels = append(base.HistoryLabels, float32(rng.IntN(2)))
			}
			cands := make([]int32, 25)
			ex := make([]Example, len(cands))
			idx := make([]int, len(cands))
			for i := range cands {
				cands[i] = int32(1 + rng.IntN(39))
				ex[i] = base
				ex[i].Item = int64(cands[i])
				idx[i] = i
			}
			got, err := m.ScoreCandidates(base.User, base.History, base.HistoryTimes, base.HistoryLabels, base.Timestamp, cands, 7)
			if err != nil {
				t.Fatal(err)
			}
			lg, err := m.Forward(ex, idx, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := Sigmoid(lg)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-5 {
					t.Fatalf("%s history %d: candidate %d: M-FALCON %v, one at a time %v", enc, hist, i, got[i], want[i])
				}
			}
		}
	}
}

func TestBadExamples(t *testing.T) {
	m, err := New(testConfig(EncoderHSTU), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]Example{
		"unknown item":    {Item: 40},
		"padding item":    {Item: 0},
		"unknown history": {Item: 3, History: []int64{99}, HistoryTimes: []int64{1}},
		"times mismatch":  {Item: 3, History: []int64{2}},
	} {
		if _, err := m.Forward([]Example{e}, []int{0}, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(Config{Encoder: "din", HSTU: testConfig("").HSTU}, rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("unknown encoder accepted")
	}
}

// clickExamples makes impressions whose click follows the history: a user
// clicks an item of the same group (item mod 4) as their most recent
// history item, and not otherwise — a pattern only a history-aware model
// can learn, and one where the last item matters more than the mean.
func clickExamples(rng *rand.Rand, n, items int) []Example {
	ex := make([]Example, n)
	for i := range ex {
		h := 1 + rng.IntN(6)
		e := Example{User: int64(i % 50), Timestamp: 1e9}
		for j := range h {
			e.History = append(e.History, int64(1+rng.IntN(items-1)))
			e.HistoryTimes = append(e.HistoryTimes, int64(1e9-600*(h-j)))
		}
		e.Item = int64(1 + rng.IntN(items-1))
		if e.Item%4 == e.History[h-1]%4 {
			e.Label = 1
		}
		ex[i] = e
	}
	return ex
}

// TestFitLearnsClicks trains both encoders on clickExamples: validation AUC
// must rise well above chance, HSTU (which sees the order) above the mean
// baseline, and the best epoch's weights must be the ones kept.
func TestFitLearnsClicks(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	train, valid := clickExamples(rng, 3000, 40), clickExamples(rng, 600, 40)
	auc := map[string]float64{}
	for _, enc := range []string{EncoderHSTU, EncoderMean} {
		cfg := testConfig(enc)
		cfg.HSTU.Transformer.HiddenSize, cfg.MLP = 16, []int{16}
		m, err := New(cfg, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := NewTrainer(m, Options{Epochs: 25, BatchSize: 64, Optimizer: trainer.OptimizerParams{LR: 5e-3}, EarlyStopPatience: -1, ModelPath: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		res, err := tr.Fit(context.Background(), train, valid)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := tr.Evaluate(valid)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(rep.AUC-res.Best.AUC) > 1e-9 {
			t.Errorf("%s: after Fit the model scores AUC %.4f, the best epoch %d had %.4f", enc, rep.AUC, res.BestEpoch, res.Best.AUC)
		}
		auc[enc] = rep.AUC
		// The checkpoint reloads to the same predictions.
		back, _, err := LoadCheckpoint(context.Background(), filepath.Join(tr.Options.ModelPath, "best.ckpt"))
		if err != nil {
			t.Fatal(err)
		}
		t2, _ := NewTrainer(back, Options{})
		rep2, err := t2.Evaluate(valid)
		if err != nil || rep2.AUC != rep.AUC {
			t.Errorf("%s: reloaded best.ckpt AUC %.6f (err %v), trained %.6f", enc, rep2.AUC, err, rep.AUC)
		}
	}
	t.Logf("validation AUC: hstu %.4f, mean baseline %.4f", auc[EncoderHSTU], auc[EncoderMean])
	if auc[EncoderHSTU] < 0.9 {
		t.Errorf("hstu validation AUC %.4f, want >= 0.9", auc[EncoderHSTU])
	}
	if auc[EncoderHSTU] <= auc[EncoderMean] {
		t.Errorf("hstu AUC %.4f not above the mean baseline's %.4f on a last-item pattern", auc[EncoderHSTU], auc[EncoderMean])
	}
}

func TestPredictIsAligned(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	ex := clickExamples(rng, 50, 40)
	m, err := New(testConfig(EncoderHSTU), rng)
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := NewTrainer(m, Options{EvalBatchSize: 7})
	all, err := tr.Predict(ex)
	if err != nil || len(all) != len(ex) {
		t.Fatalf("Predict: %d values (err %v) for %d examples", len(all), err, len(ex))
	}
	for _, i := range []int{0, 13, 49} {
		one, err := tr.Predict(ex[i : i+1])
		if err != nil || math.Abs(float64(one[0]-all[i])) > 1e-6 {
			t.Errorf("example %d: alone %v, in the batch %v", i, one, all[i])
		}
	}
}

func TestSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	ex := randomExamples(rng, 1000, 40, 3)
	for i := range ex {
		ex[i].Timestamp = int64(1e9 + rng.IntN(500)) // ties: a second is never divided
	}
	tr, va, te, err := Split(ex, [2]float64{0.7, 0.1}, "time", 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr)+len(va)+len(te) != len(ex) || len(tr) > 700 || len(tr) < 650 || len(te) < 180 {
		t.Errorf("time split %d/%d/%d of %d", len(tr), len(va), len(te), len(ex))
	}
	maxT := func(s []Example) int64 {
		m := int64(0)
		for _, e := range s {
			m = max(m, e.Timestamp)
		}
		return m
	}
	minT := func(s []Example) int64 {
		m := int64(math.MaxInt64)
		for _, e := range s {
			m = min(m, e.Timestamp)
		}
		return m
	}
	if maxT(tr) >= minT(va) || maxT(va) >= minT(te) {
		t.Errorf("time split not monotone: train ends %d, valid %d..%d, test starts %d", maxT(tr), minT(va), maxT(va), minT(te))
	}
	tr2, va2, te2, err := Split(ex, [2]float64{0.5, 0.25}, "random", 3)
	if err != nil || math.Abs(float64(len(tr2))/1000-0.5) > 0.06 || math.Abs(float64(len(va2))/1000-0.25) > 0.05 || len(tr2)+len(va2)+len(te2) != 1000 {
		t.Errorf("random split %d/%d/%d (err %v)", len(tr2), len(va2), len(te2), err)
	}
	for _, bad := range []struct {
		r  [2]float64
		by string
	}{{[2]float64{0.8, 0.3}, "time"}, {[2]float64{-0.1, 0.1}, "time"}, {[2]float64{0.7, 0.1}, "user"}} {
		if _, _, _, err := Split(ex, bad.r, bad.by, 1); err == nil {
			t.Errorf("Split(%v, %q) accepted", bad.r, bad.by)
		}
	}
}
