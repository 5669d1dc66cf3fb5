// Package kernels holds the numerical building blocks of genrec's models as
// plain Go functions with an explicit forward and backward: fused LayerNorm,
// SiLU, dense layers on gonum BLAS, HSTU's SiLU attention with relative
// position and time bias, softmax attention, sparse embedding gather with
// row-sparse gradients, dropout, sampled-softmax cross-entropy and a
// row-sparse AdamW.
//
// Tensors are flat row-major slices; shapes are passed as ints and stated in
// each function's doc comment. Every kernel is generic over float32 (training)
// and float64 (gradient checks against finite differences). Each fast kernel
// has a slow, obvious reference beside it (*_ref.go: LayerNormReference,
// HSTUAttentionReference, SampledSoftmaxReference, ...) that tests compare
// it with, and a finite-difference gradient check.
//
// Backward functions accumulate (+=) into gradient buffers, so a buffer
// shared by two uses of a tensor sums both contributions; callers zero
// gradients before a step.
//
// BLAS: pure-Go gonum by default; built with the tag openblas (and
// libopenblas-dev installed) the gemm calls go to OpenBLAS through gonum's
// netlib binding. Kernels parallelise over batch rows and heads with
// goroutines, so OpenBLAS runs single-threaded unless OPENBLAS_NUM_THREADS
// (or GOTO_NUM_THREADS, OMP_NUM_THREADS) is set (openblas_link.go).
package kernels
