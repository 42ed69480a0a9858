# The two commands of the README: `make run` and `make test`. Both install what is missing.
SWIFT   ?= swift
VENV    := .build/venv
PYTEST  := $(VENV)/bin/python -m pytest
CONFIG  ?=
# make install: where things go (DESTDIR for staging, as packagers expect).
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DESTDIR    ?=
BIN        ?= .build/release/tallyd
TALLY_BIN  ?= $(dir $(BIN))tally

.PHONY: bench bench-quick bench-instructions bench-report bench-peers bench-transport deps-peers fuzz
FUZZ_SECONDS ?= 60
.PHONY: all build release run test lint format status-page test-swift test-integration deps deps-test deps-deb embed clean install install-files uninstall deb dist test-package

all: build

deps:
	@scripts/install-deps.sh run

deps-test:
	@scripts/install-deps.sh test

deps-deb:
	@scripts/install-deps.sh deb

embed:
	@scripts/embed-version.sh
	@scripts/embed-config.sh

build: deps embed
	$(SWIFT) build

## The release binaries carry the Swift runtime (--static-swift-stdlib): they need only Debian's
## own shared libraries, so they run (and the package installs) on hosts without a Swift toolchain;
## -z now: full RELRO, as Debian's hardening flags ask.
RELEASE_FLAGS ?= -c release --static-swift-stdlib -Xlinker -z -Xlinker now
release: deps embed
	$(SWIFT) build $(RELEASE_FLAGS) --product tallyd
	$(SWIFT) build $(RELEASE_FLAGS) --product tally

## Build release and run tallyd on its embedded default config (or CONFIG=path).
run: release
	.build/release/tallyd $(if $(CONFIG),--config $(CONFIG))

## Everything CI runs: Swift unit tests, then the integration suite against the real binary.
test: deps-test embed lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	TALLYD=$(CURDIR)/.build/debug/tallyd TALLY=$(CURDIR)/.build/debug/tally $(PYTEST) -q Tests/integration

## The house style (.swift-format: 4 spaces, 120 columns; `make format` applies it), and ruff
## (ruff.toml) over the Python: the test kit, the scripts, the client.
lint: deps-test
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift
	$(VENV)/bin/ruff check Tests scripts clients/python

format:
	$(SWIFT) format format --in-place --recursive Sources Tests Package.swift

## docs/status-page.png, regenerated from a real tallyd and headless chromium.
status-page: deps-test build
	TALLYD=$(CURDIR)/.build/debug/tallyd TALLY=$(CURDIR)/.build/debug/tally $(VENV)/bin/python scripts/status-page.py

test-swift: deps embed
	$(SWIFT) test

test-integration: deps-test build
	TALLYD=$(CURDIR)/.build/debug/tallyd TALLY=$(CURDIR)/.build/debug/tally $(PYTEST) -q Tests/integration

clean:
	rm -rf .build

## .build/deb/tally_<version>_amd64.deb (and -dbgsym): debhelper over the release build; lintian.
deb: deps-deb embed
	scripts/build-deb.sh

## The package installed in a clean Debian 12 root (mmdebstrap, cached in .build/debroot):
## install, run, upgrade, purge; and the release binaries with the Swift toolchain hidden.
test-package: deb dist deps-test
	TALLY_VERSION=$(shell cat VERSION)+next1 DEB_OUT=.build/deb-next LINTIAN=0 scripts/build-deb.sh
	TALLY_DEB_DIR=$(CURDIR)/.build/deb TALLY_NEXT_DEB_DIR=$(CURDIR)/.build/deb-next $(PYTEST) -q Tests/package

## The Python client as a wheel and an sdist in clients/python/dist (PyPI's build).
dist: deps-test embed
	rm -rf clients/python/dist
	$(VENV)/bin/python -m build --no-isolation --outdir clients/python/dist clients/python
	rm -rf clients/python/build clients/python/*.egg-info

## libFuzzer on the ingest path (parser, families, registry, exposition) for FUZZ_SECONDS.
## Seeds are Fuzz/corpus; new inputs go to .build/fuzz-corpus; a crash leaves .build/fuzz-crash-*
## and fails (make it a table test). Linked with lld: gold cannot read the DWARF Swift 6 emits.
fuzz: deps
	rm -f Fuzz/.build/debug.yaml Fuzz/.build/build.db Fuzz/.build/*/debug/description.json
	cd Fuzz && $(SWIFT) build -c debug --product TallyFuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
	mkdir -p .build/fuzz-corpus
	Fuzz/.build/debug/TallyFuzz .build/fuzz-corpus Fuzz/corpus -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -artifact_prefix=.build/fuzz-crash- -print_final_stats=1

## Install the release binaries, the man pages, the systemd units and (unless one exists)
## /etc/tally/tallyd.yaml.
install: release
	@$(MAKE) --no-print-directory install-files

install-files:
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/tallyd
	install -D -m 0755 $(TALLY_BIN) $(DESTDIR)$(PREFIX)/bin/tally
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(UNITDIR)/tally.socket.d $(DESTDIR)$(UNITDIR)/tally.service.d \
	    $(DESTDIR)$(PREFIX)/share/doc/tally
	sed -e 's#/usr/local/bin/tallyd#$(PREFIX)/bin/tallyd#g' -e 's#/etc/tally/#$(SYSCONFDIR)/tally/#g' \
	    -e 's#/usr/local/share/doc/#$(PREFIX)/share/doc/#g' systemd/tally.service > $(DESTDIR)$(UNITDIR)/tally.service
	sed -e 's#/etc/tally/#$(SYSCONFDIR)/tally/#g' systemd/tally.socket > $(DESTDIR)$(UNITDIR)/tally.socket
	install -m 0644 systemd/tally.socket.d/ports.conf.example $(DESTDIR)$(UNITDIR)/tally.socket.d/
	for f in web peer-identity; do \
	    sed -e 's#/usr/local/bin/tallyd#$(PREFIX)/bin/tallyd#g' -e 's#/etc/tally/#$(SYSCONFDIR)/tally/#g' \
	        systemd/tally.service.d/$$f.conf.example > $(DESTDIR)$(UNITDIR)/tally.service.d/$$f.conf.example; done
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/tally/
	install -d $(DESTDIR)$(PREFIX)/share/doc/tally/docs
	install -m 0644 docs/*.md docs/status-page.png $(DESTDIR)$(PREFIX)/share/doc/tally/docs/
	install -D -m 0644 docs/man/tallyd.8 $(DESTDIR)$(PREFIX)/share/man/man8/tallyd.8
	install -D -m 0644 docs/man/tally.1 $(DESTDIR)$(PREFIX)/share/man/man1/tally.1
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/tally/tallyd.yaml ]; then \
	    echo "keeping $(DESTDIR)$(SYSCONFDIR)/tally/tallyd.yaml (the shipped default: tallyd --print-default-config)"; \
	else install -D -m 0644 config/tallyd.yaml $(DESTDIR)$(SYSCONFDIR)/tally/tallyd.yaml; fi
	@echo "installed; then: systemctl daemon-reload && systemctl enable --now tally.socket tally.service"

## Remove what install put there, except the config (it may hold an operator's edits).
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tallyd $(DESTDIR)$(PREFIX)/bin/tally $(DESTDIR)$(UNITDIR)/tally.service $(DESTDIR)$(UNITDIR)/tally.socket \
	      $(DESTDIR)$(UNITDIR)/tally.socket.d/ports.conf.example \
	      $(DESTDIR)$(UNITDIR)/tally.service.d/web.conf.example $(DESTDIR)$(UNITDIR)/tally.service.d/peer-identity.conf.example
	-rmdir $(DESTDIR)$(UNITDIR)/tally.socket.d $(DESTDIR)$(UNITDIR)/tally.service.d 2>/dev/null
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/tally
	rm -f $(DESTDIR)$(PREFIX)/share/man/man8/tallyd.8 $(DESTDIR)$(PREFIX)/share/man/man1/tally.1
	@echo "kept $(DESTDIR)$(SYSCONFDIR)/tally/tallyd.yaml; remove it by hand if you no longer need it"

# SwiftPM keeps a stale file list of the path dependency (this package) in Benchmarks/.build:
# a source file added here is "not found" there until the build plan is dropped.
BENCH_BUILD = rm -f Benchmarks/.build/release.yaml Benchmarks/.build/build.db Benchmarks/.build/*/release/description.json; \
	cd Benchmarks && $(SWIFT) build -c release --product tally-bench

## Benchmarks (own package under Benchmarks/, release build): the ordo-one/benchmark suite.
bench: deps embed
	cd Benchmarks && $(SWIFT) package --allow-writing-to-package-directory benchmark

## Quick figures (median of 5 runs each): fold at several cardinalities, render, memory, baseline.
bench-quick: deps embed
	$(BENCH_BUILD)
	@for s in 10 10000 100000 1000000; do Benchmarks/.build/release/tally-bench fold --series $$s; done
	Benchmarks/.build/release/tally-bench mixed
	@for s in 10000 100000; do Benchmarks/.build/release/tally-bench render --series $$s; done
	Benchmarks/.build/release/tally-bench memory --series 1000000
	@for s in 10000 100000; do Benchmarks/.build/release/tally-bench baseline --series $$s; done

## docs/performance.md, regenerated: the peers section first (tallyd, statsd_exporter, collectd
## with the same load; its medians feed the end-to-end targets), then every other figure.
bench-report: release deps-peers
	$(BENCH_BUILD)
	python3 scripts/bench-peers.py
	python3 scripts/performance-report.py

## tallyd side by side with statsd_exporter (STATSD_EXPORTER=) and collectd (COLLECTD=), same
## load, one run; rewrites the peers section of docs/performance.md.
bench-peers: release deps-peers
	python3 scripts/bench-peers.py

## What the kernel charges a receiver per datagram over UDP and over a Unix socket, tallyd
## taken out: a C receiver (Benchmarks/transport-floor/sink.c) with fixed work per datagram.
bench-transport: release
	scripts/transport-floor.sh

## collectd (and valgrind) for the benchmarks; statsd_exporter is a binary (STATSD_EXPORTER=).
deps-peers:
	scripts/install-deps.sh peers

## Instructions per folded line (10k series), from callgrind: stable on noisy machines.
bench-instructions: deps embed
	$(BENCH_BUILD)
	@scripts/instructions-per-line.sh Benchmarks/.build/release/tally-bench
	@TRACE=1 scripts/instructions-per-line.sh Benchmarks/.build/release/tally-bench
