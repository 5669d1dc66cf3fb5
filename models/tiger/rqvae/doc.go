// Package rqvae is TIGER's item tokenizer (Rajput et al. 2023, arXiv
// 2305.05065, section 3.1): a residual-quantised variational autoencoder
// (RQ-VAE; Zeghidour et al. 2021, arXiv 2107.03312; Lee et al. 2022, arXiv
// 2203.01941) that maps an item's content embedding to a short tuple of
// codewords, its semantic ID.
//
//	z      = E(x)                                   MLP encoder, x: D, z: latent
//	r_0    = z
//	c_l    = argmin_k ||r_l - e_{l,k}||²            l = 0 .. L-1
//	r_l+1  = r_l - sg[e_{l,c_l}]
//	ẑ      = Σ_l e_{l,c_l}
//	x̂      = G(z + sg[ẑ - z])                       MLP decoder (straight-through)
//	loss   = mean (x - x̂)²
//	       + Σ_l mean ( (sg[r_l] - e_{l,c_l})² + β (r_l - sg[e_{l,c_l}])² )
//
// sg is stop-gradient. The decoder sees the quantised ẑ, but its gradient
// passes to the encoder as if ẑ were z (the straight-through estimator of
// van den Oord et al. 2017, arXiv 1711.00937). The codebook term moves
// codewords to the residuals assigned to them; the commitment term (β =
// 0.25) pulls the encoder towards its codewords. Codebooks are initialised
// by k-means on the first batch's residuals, level by level, and codes no
// item used in an epoch are restarted at a random residual of the last
// batch. Tuples that several items share get a further code 0..k-1 in item
// order (Collisions), so every item has a unique semantic ID.
//
// Model is the network with its forward and backward; Fit trains it with
// genrec's training loop (models/trainer); Model.Codes assigns tuples.
package rqvae
