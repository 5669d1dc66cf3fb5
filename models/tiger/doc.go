// Package tiger is TIGER, generative retrieval with semantic IDs (Rajput et
// al. 2023, arXiv 2305.05065): every item is a short tuple of codewords
// learnt from its content (package rqvae), and an encoder-decoder
// Transformer reads a user's history as code tokens and generates the next
// item's tuple, decoded by beam search constrained to the tuples of real
// items (Trie, BeamSearch).
package tiger
