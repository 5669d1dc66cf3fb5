// Package features declares the inputs of genrec's models and turns raw ids
// into dense integer ids.
//
// A model's inputs are declared like the seed's Python lists:
//
//	user_features:  [SparseFeature{Name: "user_id", EmbedDim: 16}]
//	item_features:  [SparseFeature{Name: "item_id", EmbedDim: 50},
//	                 SequenceFeature{Name: "hist_item_id", SharedWith: "item_id", Pooling: Concat}]
//
// in a Schema, usually read from the features: section of a YAML config.
//
// Vocabularies are built from data. Id 0 is reserved: it is the padding id
// of sequences and the id of every out-of-vocabulary token, so a model's
// embedding table has Size() = len(tokens)+1 rows. Tokens are ordered by
// descending count, ties by token (numerically when both are integers,
// otherwise bytewise), so two runs over the same data give the same ids.
package features
