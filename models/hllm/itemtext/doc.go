// Package itemtext turns item metadata into text and text into item
// embeddings: the item side of HLLM (Chen et al. 2024, arXiv 2409.12740),
// where an item is described by a prompt built from its title, genres,
// tags and description and encoded by a text model.
//
// Template builds the text. An Encoder maps texts to vectors; two are
// provided:
//
//   - HashedNGram, a built-in encoder that needs no weights: hashed word
//     and character n-grams, each bucket a pseudo-random ±1/√D direction
//     (feature hashing with a random projection). Encode is frozen;
//     Features gives the buckets that HLLM's trainable variant learns a
//     vector for.
//   - BERTEncoder, a BERT-family model from a local HuggingFace folder
//     (package models/hllm/text), with CLS or mean pooling.
//
// Pipelines key precomputed embeddings by Encoder.ID, so that a rerun with
// the same encoder can reuse vectors of items whose text did not change.
package itemtext
