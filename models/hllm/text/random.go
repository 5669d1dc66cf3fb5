package text

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// WriteRandom writes a HuggingFace BERT folder (config.json, vocab.txt of
// tokens, model.safetensors) with random weights drawn from seed: a model
// for smoke tests and benchmarks where no pretrained weights can be had.
// cfg.VocabSize must be at least len(tokens).
func WriteRandom(dir string, cfg Config, tokens []string, seed uint64) error {
	if err := cfg.check(); err != nil {
		return err
	}
	return writeFolderTensors(dir, cfg, tokens, randomTensors(cfg, rand.New(rand.NewPCG(seed, 0x62657274))), "")
}

// randomTensors draws every tensor of cfg: N(0, 0.5^2), LayerNorm gains
// 1 + N(0, 0.2^2), so attention is far from uniform.
func randomTensors(cfg Config, rng *rand.Rand) map[string]stTensor {
	ts := map[string]stTensor{}
	for _, s := range cfg.tensorShapes() {
		n := 1
		for _, v := range s.Shape {
			n *= v
		}
		data := make([]float32, n)
		for i := range data {
			if strings.HasSuffix(s.Name, "LayerNorm.weight") {
				data[i] = float32(1 + 0.2*rng.NormFloat64())
			} else {
				data[i] = float32(0.5 * rng.NormFloat64())
			}
		}
		ts[s.Name] = stTensor{Shape: s.Shape, Data: data}
	}
	return ts
}

// writeFolderTensors writes the folder of cfg, tokens and ts, each tensor
// name prefixed with prefix ("bert." in some checkpoints).
func writeFolderTensors(dir string, cfg Config, tokens []string, ts map[string]stTensor, prefix string) error {
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(tokens, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	named := map[string]stTensor{}
	for n, v := range ts {
		named[prefix+n] = v
	}
	return writeSafetensors(filepath.Join(dir, "model.safetensors"), named)
}
