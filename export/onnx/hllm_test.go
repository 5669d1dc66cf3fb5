package onnx

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/hllm"
	"github.com/genrec/genrec/models/sequential"
)

func randomHLLM(t *testing.T, backbone, fusion string) *hllm.Model[float32] {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, uint64(len(fusion))))
	m, err := hllm.New[float32](hllm.Config{Items: 40, MaxSeqLen: 24, TextDim: 12,
		LLM:    hllm.LLMParams{Backbone: backbone, HiddenSize: 16, NumHeads: 2, NumLayers: 2},
		Fusion: hllm.FusionParams{FusionType: fusion}, NoID: []int32{5, 6}}, rng)
	if err != nil {
		t.Fatal(err)
	}
	text := make([]float32, 40*12)
	for i := range text {
		text[i] = float32(rng.NormFloat64())
	}
	if err := m.SetText(text); err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Params() {
		if !p.Frozen && p != m.Scale {
			for i := range p.Value {
				p.Value[i] += float32(rng.NormFloat64() * 0.05)
			}
		}
	}
	return m
}

// TestHLLMMatchesGenrec exports HLLM models with an HSTU user model: the
// ONNX user embedding is within 1e-4 of the HLLM forward and the top-10
// items (the fused table scored, text-only items among them) are those of
// sequential.Predict on the HLLM model itself.
func TestHLLMMatchesGenrec(t *testing.T) {
	needRuntime(t)
	for _, fu := range []string{hllm.FusionConcat, hllm.FusionGate, hllm.FusionNone} {
		m := randomHLLM(t, hllm.BackboneHSTU, fu)
		s := exportSession(t, m, Options{TopK: 10})
		rows := randomRows(rand.New(rand.NewPCG(9, 9)), 6, 24, 40, 1)
		idx := []int{0, 1, 2, 3, 4, 5}
		b, err := sequential.NewBatch(rows, idx, 24, false)
		if err != nil {
			t.Fatal(err)
		}
		want := sequential.LastEmbeddings(m, b)
		got, err := s.Run(request(rows, 24))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if d := math.Abs(float64(got.User[i] - want[i])); d > 1e-4 {
				t.Fatalf("%s: user_embedding[%d] = %v, genrec %v", fu, i, got.User[i], want[i])
			}
		}
		checkTopK(t, m, s, rows, 24, 10)
	}
}

func TestHLLMSoftmaxBackboneRefused(t *testing.T) {
	m := randomHLLM(t, hllm.BackboneSoftmax, hllm.FusionSum)
	if _, err := Export(m, Options{}); err == nil || !strings.Contains(err.Error(), "backbone") {
		t.Errorf("Export(hllm softmax) = %v, want an error naming the backbone", err)
	}
}
