//go:build openblas

package kernels

// #cgo LDFLAGS: -lopenblas
import "C"
