//go:build !openblas

package kernels

// BLAS names the BLAS implementation the kernels call.
const BLAS = "gonum"
