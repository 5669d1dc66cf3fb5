# genrec — the two commands a fresh machine needs are `make demo` and `make test`.
GO      ?= go
BIN     := bin/genrec
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: build demo test test-short bench lint clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/genrec

## demo: generate the embedded synthetic data, preprocess it on prism, evaluate the baselines
demo: build
	./$(BIN) demo --out out/demo

## test: every test; real-data tests read ../shared/data and skip when it is absent
test:
	$(GO) test -count=1 ./...

## test-short: skips the real-data tests
test-short:
	$(GO) test -count=1 -short ./...

## bench: throughput and memory figures (preprocess pipeline vs in-memory floor, parsers, metrics)
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./pipelines/... 
	$(GO) test -run '^$$' -bench . -benchmem ./transforms/... ./eval/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin out
