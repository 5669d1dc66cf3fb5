// Package embeditems is the pipeline that precomputes HLLM item
// embeddings: it reads an item metadata file (and optionally tags.csv and a
// preprocess folder's item vocabulary), builds each item's text with an
// itemtext.Template, encodes the texts in batches with an itemtext.Encoder
// loaded once per worker, and writes Out/item_embeddings.parquet/part-*.
//
// Reruns are incremental: rows already in Out that were made by the same
// encoder (Encoder.ID) for the same text (SHA-256) are copied instead of
// being encoded again.
package embeditems
