// Package sequential holds what genrec's next-item models share: a Batch of
// left-aligned user sequences built from the preprocess sequences table,
// the Model interface the trainer drives, and the retrieval head
// (L2-normalised item embeddings, sampled or full softmax, full-catalogue
// ranking with the user's history masked, as DESIGN.md's protocol says).
package sequential
