// Package export holds genrec's model artifact formats: the checkpoint a
// trainer writes and reads back (weights, optimizer state, configuration
// and vocabulary), and the ONNX writer.
package export
