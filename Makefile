# The two commands of the README: `make run` and `make test`. Both install what is missing.
SWIFT   ?= swift
VENV    := .build/venv
PYTEST  := $(VENV)/bin/python -m pytest
CONFIG  ?=

.PHONY: all build release run test test-swift test-integration deps deps-test embed clean

all: build

deps:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh test

embed:
	@scripts/embed-config.sh

build: deps embed
	$(SWIFT) build

release: deps embed
	$(SWIFT) build -c release --product tallyd

## Build release and run tallyd on its embedded default config (or CONFIG=path).
run: release
	.build/release/tallyd $(if $(CONFIG),--config $(CONFIG))

## Everything CI runs: Swift unit tests, then the integration suite against the real binary.
test: deps-test embed
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	TALLYD=$(CURDIR)/.build/debug/tallyd $(PYTEST) -q Tests/integration

test-swift: deps embed
	$(SWIFT) test

test-integration: deps-test build
	TALLYD=$(CURDIR)/.build/debug/tallyd $(PYTEST) -q Tests/integration

clean:
	rm -rf .build

## Benchmarks (own package under Benchmarks/, release build): the ordo-one/benchmark suite.
bench: deps embed
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

## Quick figures (median of 5 runs each): fold at several cardinalities, render, memory, baseline.
bench-quick: deps embed
	cd Benchmarks && $(SWIFT) build -c release --product tally-bench
	@for s in 10 10000 100000 1000000; do Benchmarks/.build/release/tally-bench fold --series $$s; done
	Benchmarks/.build/release/tally-bench mixed
	@for s in 10000 100000; do Benchmarks/.build/release/tally-bench render --series $$s; done
	Benchmarks/.build/release/tally-bench memory --series 1000000
	@for s in 10000 100000; do Benchmarks/.build/release/tally-bench baseline --series $$s; done

## Instructions per folded line (10k series), from callgrind: stable on noisy machines.
bench-instructions: deps embed
	cd Benchmarks && $(SWIFT) build -c release --product tally-bench
	@scripts/instructions-per-line.sh Benchmarks/.build/release/tally-bench
