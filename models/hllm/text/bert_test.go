package text

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tinyConfig is a small BERT for tests: vocab_size exceeds the vocabulary
// (allowed, as in HuggingFace checkpoints whose embedding is padded).
func tinyConfig() Config {
	return Config{VocabSize: len(testTokens) + 3, HiddenSize: 16, NumHiddenLayers: 2, NumAttentionHeads: 4,
		IntermediateSize: 24, HiddenAct: "gelu", MaxPositionEmbeddings: 12, TypeVocabSize: 2, LayerNormEps: 1e-12}
}

// randomBERT builds a model with random weights in memory.
func randomBERT(cfg Config, tok Tokenizer, rng *rand.Rand) *BERT {
	ws := map[string][]float32{}
	for n, t := range randomTensors(cfg, rng) {
		ws[n] = t.Data
	}
	return newBERT(cfg, tok, ws)
}

// writeFolder writes a HuggingFace BERT folder (config.json, vocab.txt,
// model.safetensors) with the given tensors, each name prefixed by prefix.
func writeFolder(t *testing.T, cfg Config, ts map[string]stTensor, prefix string) string {
	t.Helper()
	dir := t.TempDir()
	if err := writeFolderTensors(dir, cfg, testTokens, ts, prefix); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestForwardMatchesReference compares the packed float32 forward with the
// float64 loop reference on random models and sequence lengths
// (tolerance 1e-4 absolute on LayerNorm-scaled outputs).
func TestForwardMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cfg := range []Config{
		tinyConfig(),
		{VocabSize: 50, HiddenSize: 12, NumHiddenLayers: 3, NumAttentionHeads: 3, IntermediateSize: 7,
			HiddenAct: "gelu", MaxPositionEmbeddings: 20, TypeVocabSize: 1, LayerNormEps: 1e-5},
		{VocabSize: 9, HiddenSize: 8, NumHiddenLayers: 0, NumAttentionHeads: 1, IntermediateSize: 4,
			HiddenAct: "gelu", MaxPositionEmbeddings: 4, TypeVocabSize: 2, LayerNormEps: 1e-12},
	} {
		m := randomBERT(cfg, testTokenizer(0), rng)
		seqs := make([][]int32, 5)
		for i := range seqs {
			seqs[i] = make([]int32, 1+rng.IntN(cfg.MaxPositionEmbeddings))
			for j := range seqs[i] {
				seqs[i][j] = int32(rng.IntN(cfg.VocabSize))
			}
		}
		got := m.forward(seqs)
		d, row := cfg.HiddenSize, 0
		for si, s := range seqs {
			want := m.referenceHidden(s)
			for p := range s {
				for j := range d {
					if g, w := float64(got[row*d+j]), want[p][j]; math.Abs(g-w) > 1e-4 {
						t.Fatalf("cfg %+v: seq %d pos %d dim %d: forward %.7g, reference %.7g (tol 1e-4)", cfg, si, p, j, g, w)
					}
				}
				row++
			}
		}
	}
}

// TestEncodePooling checks that CLS pooling is the first hidden row, mean
// pooling the row mean, that an item's vector does not depend on the other
// items in its batch, and that Encode = EncodeIDs on the tokenizer's ids.
func TestEncodePooling(t *testing.T) {
	m := randomBERT(tinyConfig(), testTokenizer(12), rand.New(rand.NewPCG(3, 4)))
	texts := []string{"Red cotton shirt, size large", "", "classic novel", "lipstick matte gloss for women and men today"}
	for _, pool := range []string{PoolCLS, PoolMean} {
		all, err := m.Encode(texts, pool)
		if err != nil {
			t.Fatal(err)
		}
		for i, txt := range texts {
			ids := m.Tokenizer.encode(txt)
			ref := m.referenceHidden(ids)
			alone, err := m.EncodeIDs([][]int32{ids}, pool)
			if err != nil {
				t.Fatal(err)
			}
			for j := range m.Config.HiddenSize {
				var want float64
				if pool == PoolCLS {
					want = ref[0][j]
				} else {
					for _, r := range ref {
						want += r[j]
					}
					want /= float64(len(ref))
				}
				if g := float64(all[i][j]); math.Abs(g-want) > 1e-4 {
					t.Fatalf("%s text %d dim %d: Encode %.7g, reference %.7g (tol 1e-4)", pool, i, j, g, want)
				}
				if math.Abs(float64(all[i][j]-alone[0][j])) > 1e-5 {
					t.Fatalf("%s text %d dim %d: in batch %.7g, alone %.7g", pool, i, j, all[i][j], alone[0][j])
				}
			}
		}
	}
	if _, err := m.Encode(texts, "max"); err == nil {
		t.Error(`Encode(pooling "max") gave no error`)
	}
	if _, err := m.EncodeIDs([][]int32{{2, 999}}, PoolCLS); err == nil || !strings.Contains(err.Error(), "999") {
		t.Errorf("EncodeIDs(id 999) error %v, want one naming the id", err)
	}
	if out, err := m.Encode(nil, PoolMean); err != nil || len(out) != 0 {
		t.Errorf("Encode(nil) = %v, %v; want none, nil", out, err)
	}
}

// TestLoadBERT checks loading a folder (with and without the "bert."
// prefix) gives the weights written, and the errors for model names,
// missing or mis-shaped tensors, a non-float32 dtype and a bad config.
func TestLoadBERT(t *testing.T) {
	cfg := tinyConfig()
	ts := randomTensors(cfg, rand.New(rand.NewPCG(5, 6)))
	for _, prefix := range []string{"", "bert."} {
		m, err := LoadBERT(writeFolder(t, cfg, ts, prefix))
		if err != nil {
			t.Fatalf("prefix %q: %v", prefix, err)
		}
		if m.Config != cfg || !m.Tokenizer.Lower || m.Tokenizer.MaxLen != cfg.MaxPositionEmbeddings {
			t.Errorf("prefix %q: config %+v tokenizer lower %v maxlen %d", prefix, m.Config, m.Tokenizer.Lower, m.Tokenizer.MaxLen)
		}
		w := ts["encoder.layer.1.intermediate.dense.weight"].Data
		if got := m.layers[1].inter.w; got[len(got)-1] != w[len(w)-1] || got[0] != w[0] {
			t.Errorf("prefix %q: layer 1 intermediate weight not loaded", prefix)
		}
	}

	cased := writeFolder(t, cfg, ts, "")
	os.WriteFile(filepath.Join(cased, "tokenizer_config.json"), []byte(`{"do_lower_case": false}`), 0o644)
	if m, err := LoadBERT(cased); err != nil || m.Tokenizer.Lower {
		t.Errorf("do_lower_case false: err %v, Lower %v; want nil, false", err, m != nil && m.Tokenizer.Lower)
	}

	errHas := func(name string, err error, subs ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		for _, s := range subs {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not mention %q", name, err, s)
			}
		}
	}
	_, err := LoadBERT("bert-base-uncased")
	errHas("model name", err, "not a local folder", "download", "config.json", "vocab.txt", "model.safetensors")
	_, err = LoadBERT("gs://bucket/bert")
	errHas("gs path", err, "local folder")

	missing := map[string]stTensor{}
	for n, v := range ts {
		if n != "encoder.layer.1.output.LayerNorm.bias" {
			missing[n] = v
		}
	}
	dir := writeFolder(t, cfg, missing, "")
	_, err = LoadBERT(dir)
	errHas("missing tensor", err, filepath.Join(dir, "model.safetensors"), "encoder.layer.1.output.LayerNorm.bias")

	shaped := map[string]stTensor{}
	for n, v := range ts {
		shaped[n] = v
	}
	q := ts["encoder.layer.0.attention.self.query.weight"]
	shaped["encoder.layer.0.attention.self.query.weight"] = stTensor{Shape: []int{8, 32}, Data: q.Data}
	dir = writeFolder(t, cfg, shaped, "")
	_, err = LoadBERT(dir)
	errHas("wrong shape", err, filepath.Join(dir, "model.safetensors"), "attention.self.query.weight", "[8 32]", "[16 16]")

	// An int64 tensor (no float dtype): rewrite the dtype in the header.
	dir = writeFolder(t, cfg, ts, "")
	st := filepath.Join(dir, "model.safetensors")
	raw, _ := os.ReadFile(st)
	i := strings.Index(string(raw), `"embeddings.LayerNorm.bias":{"dtype":"F32"`)
	if i < 0 {
		t.Fatal("header layout changed")
	}
	copy(raw[i+len(`"embeddings.LayerNorm.bias":{"dtype":"`):], "I64")
	if err := os.WriteFile(st, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadBERT(dir)
	errHas("dtype", err, st, "embeddings.LayerNorm.bias", "I64")

	bad := cfg
	bad.HiddenAct = "relu"
	dir = writeFolder(t, bad, ts, "")
	_, err = LoadBERT(dir)
	errHas("hidden_act", err, filepath.Join(dir, "config.json"), "relu")

	dir = writeFolder(t, cfg, ts, "")
	os.WriteFile(filepath.Join(dir, "model.safetensors"), []byte{1, 2, 3}, 0o644)
	_, err = LoadBERT(dir)
	errHas("truncated", err, "model.safetensors", "too short")
}

// TestEncodeItemPooling checks HLLM's [ITEM] pooling: the text becomes
// [CLS] pieces [ITEM] [SEP] (truncated so that [ITEM] stays), its vector is
// the reference hidden state at [ITEM]; a vocabulary without [ITEM] is an
// error that says which poolings work.
func TestEncodeItemPooling(t *testing.T) {
	tok := Tokenizer{Vocab: NewVocab(append(slices.Clone(testTokens), ItemToken)), Lower: true, MaxLen: 8}
	m := randomBERT(tinyConfig(), tok, rand.New(rand.NewPCG(5, 6)))
	item, _ := tok.Vocab.ID(ItemToken)
	sep, _ := tok.Vocab.ID(SepToken)
	texts := []string{"Red cotton shirt, size large for men and women", "", "classic novel"}
	got, err := m.Encode(texts, PoolItem)
	if err != nil {
		t.Fatal(err)
	}
	for i, txt := range texts {
		short := tok
		short.MaxLen--
		ids := short.encode(txt)
		ids = append(ids[:len(ids)-1:len(ids)-1], item, sep)
		if len(ids) > tok.MaxLen {
			t.Fatalf("text %d: %d ids for MaxLen %d", i, len(ids), tok.MaxLen)
		}
		ref := m.referenceHidden(ids)
		for j := range m.Config.HiddenSize {
			if w := ref[len(ids)-2][j]; math.Abs(float64(got[i][j])-w) > 1e-4 {
				t.Fatalf("text %d dim %d: item pooling %.7g, reference hidden state at [ITEM] %.7g", i, j, got[i][j], w)
			}
		}
	}
	plain := randomBERT(tinyConfig(), testTokenizer(8), rand.New(rand.NewPCG(5, 6)))
	if _, err := plain.Encode(texts, PoolItem); err == nil || !strings.Contains(err.Error(), "[ITEM] token") || !strings.Contains(err.Error(), `"mean"`) {
		t.Errorf("item pooling without [ITEM]: err = %v", err)
	}
	if _, err := m.EncodeIDs([][]int32{{2, 5, 3}}, PoolItem); err == nil || !strings.Contains(err.Error(), "no [ITEM]") {
		t.Errorf("EncodeIDs without [ITEM]: err = %v", err)
	}
}
