# Passerelle: `make run` builds and starts the gateway on its embedded
# defaults; `make test` runs every test with the race detector.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/passerelle
DATA     ?= ./passerelle-data
# CI's short fuzz run counts executions rather than seconds: with a
# duration, Go 1.26 can fail a target with a spurious "context deadline
# exceeded" as the time runs out (go.dev/issue/75804, fixed in Go 1.27).
FUZZCOUNT ?= 50000x
FUZZTIME  ?= 5m

.PHONY: build run test test-short soak bench lint templ templ-check fuzz-short fuzz cross package test-packages clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/passerelle

run: build
	./$(BIN) run --data $(DATA)

test:
	$(GO) test -race -count=1 -timeout 9m ./...

test-short:
	$(GO) test -race -count=1 -short ./...

# The power-cut soak: SOAKCYCLES kill -9 of a real gateway while tills
# post and terminals pay, a quarter of them by strace inside a write of the
# database (apt-get install strace), each checked (docs/operations.md).
# `make test` runs the same test with 20 cycles.
SOAKCYCLES ?= 500
soak:
	PASSERELLE_SOAK_CYCLES=$(SOAKCYCLES) $(GO) test -count=1 -timeout 90m -v \
	  -run '^TestCrashLosesNothingAcknowledged$$' ./cmd/passerelle/

# Go benchmarks, then the load tools against real gateway processes on
# 127.0.0.1, each printing its table (about 8 minutes on 2 cores; each
# script's header lists its knobs).
# The scripts' tables are kept in BENCHOUT, and bench/targets.sh ends with
# one table of the venue-scale targets beside their figures.
BENCHOUT ?= bench-out
bench: build
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./...
	mkdir -p $(BENCHOUT)
	./bench/till-load.sh | tee $(BENCHOUT)/till.txt
	./bench/terminal-load.sh | tee $(BENCHOUT)/terminal.txt
	ROWS=8 ./bench/terminal-load.sh | tee $(BENCHOUT)/terminal-paged.txt
	./bench/idle-terminals.sh | tee $(BENCHOUT)/idle.txt
	./bench/memory-startup.sh | tee $(BENCHOUT)/memory.txt
	$(GO) test -count=1 -v -run '^TestV11ListMatchesV1$$' ./drivers/terminalsim | tee $(BENCHOUT)/delta.txt
	./bench/targets.sh $(BENCHOUT)

# packaging/release is a module of its own (nfpm stays out of the
# binary's go.mod): vetted on its own.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '_templ.go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	cd packaging/release && $(GO) vet ./...

# The admin page's templ components are generated Go, committed beside
# their .templ files: `make templ` regenerates them, and templ-check fails
# when what is committed is not what the .templ files generate.
templ:
	$(GO) tool templ generate -path web

templ-check: templ
	@out=$$(git status --porcelain -- web); \
	  if [ -n "$$out" ]; then echo "generated templ files differ from what is committed (run make templ and commit):"; echo "$$out"; exit 1; fi

# Every fuzz target: FUZZCOUNT executions each in CI, FUZZTIME each for a
# long run (`make fuzz FUZZTIME=30m`; a count such as 5000000x avoids the
# Go 1.26 flake above).
fuzz-short:
	./.ci/fuzz $(FUZZCOUNT)

fuzz:
	./.ci/fuzz $(FUZZTIME)

# The box runs Windows or Linux, x86-64 or arm64: pure Go builds for all.
cross:
	for t in linux/amd64 linux/arm64 windows/amd64 windows/arm64; do \
	  os=$${t%/*}; arch=$${t#*/}; ext=; [ $$os = windows ] && ext=.exe; \
	  CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
	    -o bin/passerelle-$$os-$$arch$$ext ./cmd/passerelle || exit 1; \
	done

# Every package into dist/: .deb and .rpm (linux amd64, arm64), the MSI,
# .tar.gz and .zip, SHA256SUMS (packaging/package.sh; needs wixl and zip).
package:
	./packaging/package.sh

# The packages checked: their files, scripts and tables, and the .deb in a
# real systemd (a debootstrap'd Debian booted with systemd-nspawn, as root;
# skipped with the reason otherwise). Not part of `make test`: a few minutes.
test-packages: package
	cd packaging/release && $(GO) test -count=1 -timeout 15m -v ./...

clean:
	rm -rf bin dist
