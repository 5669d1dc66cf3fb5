// Package onnx writes trained genrec models as ONNX files (IR version 8,
// opset 17) that onnxruntime and any other ONNX runtime serve without Go:
// the HSTU retrieval graph with the user embedding, the scores of the whole
// catalogue and the top-k items as outputs, optionally with int8 weights.
// It also runs such files through onnxruntime (Session), which the tests,
// the benchmarks and genrec export's check use.
//
// The graph is built from the ONNX protobuf messages of
// github.com/advancedclimatesystems/gonnx/onnx, generated from onnx.proto3.
package onnx
