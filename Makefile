# genrec — the two commands a fresh machine needs are `make demo` and `make test`.
GO      ?= go
BIN     := bin/genrec
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

# The kernels' gemm runs on OpenBLAS (cgo, gonum's netlib binding) when libopenblas-dev
# is installed, else on pure-Go gonum. TAGS= (empty) forces pure Go. Goroutines
# parallelise the kernels, so OpenBLAS itself runs single-threaded.
TAGS    ?= $(shell ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so ' && echo openblas)
TAGFLAG := $(if $(TAGS),-tags $(TAGS),)
export OPENBLAS_NUM_THREADS := 1

# The float32 element-wise kernels (SiLU, dot, axpy, add, scale) run on AVX-512 through Go's
# experimental simd/archsimd package when built with GOEXPERIMENT=simd on amd64 (checked at run
# time: without AVX-512, or with GENREC_SIMD=off, the scalar Go reference runs). Opt-in for now
# (make test GOEXPERIMENT=simd): the model, export and pipeline tests have not yet been run on the
# SIMD build. GOEXPERIMENT=simd needs a toolchain that knows the experiment (Go 1.26+).
GOEXPERIMENT ?=
export GOEXPERIMENT

.PHONY: build demo test test-run test-short test-flink fuzz bench bench-train bench-scale deps lint clean

build:
	$(GO) build $(TAGFLAG) -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/genrec

## demo: install OpenBLAS when missing and build on it, generate the embedded synthetic data, preprocess it on prism, train HSTU, evaluate
demo:
	@.ci/deps --blas
	@$(MAKE) --no-print-directory build
	./$(BIN) demo --out out/demo

## deps: install libopenblas-dev and python3-torch when missing (root + apt; else says what is missing)
deps:
	@.ci/deps

## test: every test, with OpenBLAS when present, then the model packages again on pure-Go BLAS,
## and the kernels once more on their scalar path (GENREC_SIMD=off) when the SIMD build is on;
## real-data tests read ../shared/data and skip when it is absent
test: deps
	$(MAKE) --no-print-directory test-run

test-run:
	@echo "BLAS: $(if $(TAGS),openblas,pure-Go gonum); GOEXPERIMENT=$(GOEXPERIMENT)"
	$(GO) test $(TAGFLAG) -count=1 ./...
	$(if $(TAGS),$(GO) test -count=1 ./models/...,)
	$(if $(findstring simd,$(GOEXPERIMENT)),GENREC_SIMD=off $(GO) test $(TAGFLAG) -count=1 ./models/kernels/,)

## fuzz: every go test -fuzz target for FUZZTIME each (default 10m here; .ci/run runs them for 20s);
## a crash's input lands in the package's testdata/fuzz/<Target>/ and stays there as a seed once fixed
fuzz:
	GO="$(GO)" TAGS="$(TAGS)" FUZZTIME=$(or $(FUZZTIME),10m) .ci/fuzz

## test-short: skips the real-data tests
test-short:
	$(GO) test $(TAGFLAG) -count=1 -short ./...

## test-flink: the Flink tests (GENREC_FLINK_ENDPOINT) on a real Flink: .ci/flink/run resolves Beam's Flink
## job server (beam-runners-flink-1.19:2.70.0, Flink 1.19.0) with Maven into .cache/flink, starts it on
## 127.0.0.1 with an embedded Flink, runs the tests and stops it (needs Java 17 and Maven)
test-flink:
	.ci/flink/run

## bench: throughput and memory figures (preprocess pipeline vs in-memory floor, parsers, metrics, training,
## serving: genrec's Go forward beside the exported ONNX file in onnxruntime, float32 and int8;
## ranking: M-FALCON candidates/s beside one forward per candidate; HLLM item encoders: items/s of the
## hashed n-gram encoder and of a BERT-base-shaped model; embed-items pipeline items/s is in ./pipelines/...)
bench: bench-train
	$(GO) test $(TAGFLAG) -run '^$$' -bench Serve -benchtime 2s ./export/onnx/
	$(GO) test $(TAGFLAG) -run '^$$' -bench Candidates -benchtime 3x ./models/hstu/
	$(GO) test $(TAGFLAG) -run '^$$' -bench . -benchtime 1x ./models/hllm/...
	$(GO) test -run '^$$' -bench . -benchtime 3x ./pipelines/...
	$(GO) test -run '^$$' -bench . -benchmem ./transforms/... ./eval/...

## bench-train: HSTU training and top-10 throughput, Go (this build's BLAS) beside PyTorch in one run
bench-train: deps
	GO="$(GO)" TAGS="$(TAGS)" bench/compare.sh

## bench-scale: issue 14's step ladder: one HSTU training step of the Beauty shape on 1e4..1e7 items, negatives
## per position and shared (seq/s, rows/step, peak RSS); needs ~8 GB at 1e7 (SCALE_MAX=1000000 stops earlier)
bench-scale:
	GENREC_SCALE_MAX=$(or $(SCALE_MAX),10000000) $(GO) test $(TAGFLAG) -run '^$$' -bench TrainStepScale -benchtime 3x -count $(or $(COUNT),1) -timeout 60m ./models/hstu/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin out
