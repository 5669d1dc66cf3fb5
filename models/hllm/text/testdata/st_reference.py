#!/usr/bin/env python3
"""sentence-transformers reference for models/hllm/text's SentenceTransformer.

Usage: st_reference.py MODEL_DIR IN_JSON OUT_JSON

IN_JSON is {"texts": [str, ...]}. The model folder is loaded by
sentence_transformers.SentenceTransformer (its Transformer, Pooling and
Normalize modules, on CPU, in float32). OUT_JSON gets {"ids": [[int, ...]],
"emb": [[float, ...]]}: each text's token ids as model.tokenize gives them
(padding dropped by the attention mask) and model.encode's vector.
"""
import json
import sys

from sentence_transformers import SentenceTransformer


def main():
    model_dir, in_path, out_path = sys.argv[1:4]
    with open(in_path) as f:
        texts = json.load(f)["texts"]
    model = SentenceTransformer(model_dir, device="cpu")
    feats = model.tokenize(texts)
    ids = [[int(t) for t, m in zip(row, mask) if m]
           for row, mask in zip(feats["input_ids"].tolist(), feats["attention_mask"].tolist())]
    emb = model.encode(texts, batch_size=len(texts), convert_to_numpy=True)
    with open(out_path, "w") as f:
        json.dump({"ids": ids, "emb": emb.astype(float).tolist()}, f)


if __name__ == "__main__":
    main()
