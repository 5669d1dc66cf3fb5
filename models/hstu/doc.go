// Package hstu implements HSTU, the Hierarchical Sequential Transduction
// Unit of Zhai et al., "Actions Speak Louder than Words" (arXiv 2402.17152),
// as a next-item retrieval model on the kernels of models/kernels.
//
// Per layer, on X (n x d), with N the padded sequence length:
//
//	U, V, Q, K = split(SiLU(LayerNorm(X) W_uvqk))
//	A          = SiLU(Q K^T + rab(p, t)) / N        (causal mask)
//	Y          = W_o Dropout(U * LayerNorm(A V)) + b_o + X
//
// rab is a learnable relative-position bias plus a relative-time bias over
// 129 log-spaced buckets of ts[i+1] - ts[j]. The input is the item
// embedding times sqrt(d) plus a learnable absolute position embedding; the
// output is L2-normalised and scored against L2-normalised item embeddings.
//
// hierarchical_params (not in the paper; genrec's meaning): with
// level1_window_size w1 > 0 each position attends causally only to the last
// w1 positions; with level2_window_size w2 > 0 it also attends the
// summaries (mean keys and values) of the last w2 complete windows of w1
// positions before its local window. Cost falls from O(L^2) to
// O(L*w1 + L*w2). Both zero (the default) is the paper's full attention.
//
// Rows are processed jagged: only the valid positions of each sequence go
// through the pointwise layers; padding costs memory in the attention
// buffers but no arithmetic.
package hstu
