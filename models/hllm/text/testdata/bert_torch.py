#!/usr/bin/env python3
"""Independent PyTorch (float64) reference for models/hllm/text's BERT encoder.

Usage: bert_torch.py MODEL_DIR IN_JSON OUT_JSON

MODEL_DIR holds config.json and model.safetensors (float32, HuggingFace
BertModel tensor names, optional "bert." prefix), parsed here with struct,
json and numpy (no safetensors or transformers package). IN_JSON is
{"ids": [[int, ...], ...]} (unpadded sequences). The batch is right-padded
with id 0 and the padding masked with -inf before the softmax, as
HuggingFace's BertModel does with an attention mask. OUT_JSON gets
{"cls": [[...]], "mean": [[...]]}: the first last-hidden row and the mean of
the unpadded last-hidden rows of each sequence.

Equations (BERT, Devlin et al. 2018, arXiv 1810.04805):
    x = LN(word[t] + pos[i] + type[0])
    per layer: x = LN(x + Wo softmax(Q K^T / sqrt(dh) + mask) V + bo)
               x = LN(x + W2 gelu_erf(W1 x + b1) + b2)
"""
import json
import math
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", (name, e["dtype"])
        lo, hi = e["data_offsets"]
        arr = np.frombuffer(data[lo:hi], dtype="<f4").reshape(e["shape"])
        out[name.removeprefix("bert.")] = torch.from_numpy(arr.astype(np.float64))
    return out


def forward(cfg, w, ids):
    B = len(ids)
    L = max(len(s) for s in ids)
    d = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    dh = d // H
    eps = cfg["layer_norm_eps"]
    tok = torch.zeros(B, L, dtype=torch.long)
    mask = torch.zeros(B, L, dtype=torch.float64)
    for b, s in enumerate(ids):
        tok[b, :len(s)] = torch.tensor(s)
        mask[b, :len(s)] = 1

    def ln(x, name):
        return F.layer_norm(x, (d,), w[name + ".weight"], w[name + ".bias"], eps)

    def dense(x, name):
        return F.linear(x, w[name + ".weight"], w[name + ".bias"])

    x = w["embeddings.word_embeddings.weight"][tok] \
        + w["embeddings.position_embeddings.weight"][:L].unsqueeze(0) \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = ln(x, "embeddings.LayerNorm")
    add_mask = (1 - mask)[:, None, None, :] * -1e300  # (B, 1, 1, L)
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."

        def heads(t):
            return t.view(B, L, H, dh).transpose(1, 2)  # (B, H, L, dh)

        q = heads(dense(x, p + "attention.self.query"))
        k = heads(dense(x, p + "attention.self.key"))
        v = heads(dense(x, p + "attention.self.value"))
        s = q @ k.transpose(-1, -2) / math.sqrt(dh) + add_mask
        a = torch.softmax(s, dim=-1) @ v
        a = a.transpose(1, 2).reshape(B, L, d)
        x = ln(x + dense(a, p + "attention.output.dense"), p + "attention.output.LayerNorm")
        h = F.gelu(dense(x, p + "intermediate.dense"))
        x = ln(x + dense(h, p + "output.dense"), p + "output.LayerNorm")
    cls = x[:, 0]
    mean = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)
    return cls, mean


def main():
    model_dir, in_path, out_path = sys.argv[1:4]
    with open(f"{model_dir}/config.json") as f:
        cfg = json.load(f)
    w = read_safetensors(f"{model_dir}/model.safetensors")
    with open(in_path) as f:
        ids = json.load(f)["ids"]
    cls, mean = forward(cfg, w, ids)
    with open(out_path, "w") as f:
        json.dump({"cls": cls.tolist(), "mean": mean.tolist()}, f)


if __name__ == "__main__":
    main()
