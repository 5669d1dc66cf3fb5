//go:build openblas

package kernels

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
// int openblas_get_num_threads(void);
import "C"

import "os"

// The kernels parallelise over rows and heads with goroutines and call gemm
// from each; an OpenBLAS that also spreads every call over its own threads
// oversubscribes the cores and spins (BenchmarkFullSoftmax on 2 cores:
// 2.48 s/op with 2 OpenBLAS threads, 0.80 s/op with 1). So OpenBLAS runs
// single-threaded unless the user has set its thread count in the
// environment.
func init() {
	for _, k := range openblasThreadEnv {
		if _, ok := os.LookupEnv(k); ok {
			return
		}
	}
	C.openblas_set_num_threads(1)
}

// openblasThreadEnv are the variables by which a user sets OpenBLAS's
// thread count.
var openblasThreadEnv = []string{"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"}

// openblasThreads is the number of threads OpenBLAS uses per call.
func openblasThreads() int { return int(C.openblas_get_num_threads()) }
