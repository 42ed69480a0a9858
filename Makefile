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
