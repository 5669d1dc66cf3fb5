// Package export will hold genrec's model artifact formats: the ONNX
// writer and the checkpoint layout. Nothing is exported yet; the
// vocabularies a model needs are saved today with features.Vocabs.WriteJSON
// and in the preprocess output's vocab table.
package export
