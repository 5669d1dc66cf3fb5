#!/usr/bin/env python3
"""transformers reference for models/hllm/text's Llama and BPETokenizer.

Usage: llama_reference.py OUT_DIR CORPUS IN_JSON OUT_JSON

Trains a byte-level BPE tokenizer (tokenizers' ByteLevelBPETokenizer, 400
ids, GPT-2's pre-tokenizer, a "<s> $A" template) on the text file CORPUS,
then writes two tiny random decoder folders under OUT_DIR, each with that
tokenizer.json:
  llama/  LlamaModel, grouped-query attention (4 heads, 2 kv heads), saved
          in bfloat16 as shards with model.safetensors.index.json
  qwen2/  Qwen2Model (q, k, v biases), saved in float32, one file
Weights are drawn with std 0.2 (biases and norm gains too, so every term
matters); the reference is transformers' float32 forward of each folder as
saved (from_pretrained), so on the bfloat16-rounded weights for llama/.
IN_JSON is {"texts": [...]}; OUT_JSON gets {"ids": [[...]], "llama":
[[[...]]], "qwen2": [[[...]]]}: each text's ids and each model's
last_hidden_state for them (one text at a time, no padding).
"""
import json
import os
import sys

import torch
from tokenizers import ByteLevelBPETokenizer
from tokenizers.processors import TemplateProcessing
from transformers import LlamaConfig, LlamaModel, Qwen2Config, Qwen2Model


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.2 + (1.0 if p.dim() == 1 and p.shape[0] == 64 else 0.0))


def main():
    out_dir, corpus, in_path, out_path = sys.argv[1:5]
    with open(in_path) as f:
        texts = json.load(f)["texts"]
    tok = ByteLevelBPETokenizer()
    tok.train([corpus], vocab_size=400, min_frequency=2, special_tokens=["<s>", "</s>", "[ITEM]"])
    tok.post_processor = TemplateProcessing(single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    ids = [tok.encode(t).ids for t in texts]
    res = {"ids": ids}
    common = dict(vocab_size=tok.get_vocab_size(), hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, rms_norm_eps=1e-5,
                  rope_theta=10000.0, attn_implementation="eager")
    for name, cfg_cls, model_cls, dtype, shard in [
            ("llama", LlamaConfig, LlamaModel, torch.bfloat16, "40KB"),
            ("qwen2", Qwen2Config, Qwen2Model, torch.float32, "10GB")]:
        cfg = cfg_cls(**common)
        model = model_cls(cfg).eval()
        randomize(model, 1 if name == "llama" else 2)
        d = os.path.join(out_dir, name)
        model.to(dtype).save_pretrained(d, max_shard_size=shard, safe_serialization=True)
        tok._tokenizer.save(os.path.join(d, "tokenizer.json"))
        # The forward of the folder as saved: reloaded in float32 (model.to(bfloat16) would also have
        # rounded the rotary inv_freq buffer, which a saved folder does not hold).
        model = model_cls.from_pretrained(d, torch_dtype=torch.float32, attn_implementation="eager").eval()
        hs = []
        with torch.no_grad():
            for s in ids:
                hs.append(model(input_ids=torch.tensor([s])).last_hidden_state[0].tolist())
        res[name] = hs
    with open(out_path, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
