# doppel: online schema changes for MySQL and MariaDB.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# The linter, pinned: `make lint` builds this version into .tools/ when it is not there yet.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := $(CURDIR)/.tools/golangci-lint-$(GOLANGCI_LINT_VERSION)/golangci-lint

.PHONY: build test unit lint demo demo-migrate bench sandbox chaos soak clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/doppel ./cmd/doppel

# Everything: vet, unit tests and the integration tests, which start their own throwaway MariaDB
# (or MySQL) servers from the mariadbd/mysqld on PATH.
test: lint
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

# golangci-lint with .golangci.yml: errcheck, errorlint, rowserrcheck, sqlclosecheck, staticcheck,
# gofmt and the import rules of docs/architecture.md (depguard); also over the failpoints build.
lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...
	$(GOLANGCI_LINT) run --build-tags failpoints ./cmd/doppel ./faults

$(GOLANGCI_LINT):
	GOBIN=$(dir $(GOLANGCI_LINT)) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# The fast tests only: no database server.
unit:
	$(GO) test -race -count=1 ./alter ./internal/sqlbuild ./internal/applier ./internal/copier ./dbconn ./metrics ./cmd/doppel

# Randomized faults during live migrations under writes, each checked against an oracle: 100 runs
# (about half an hour on 2 cores); SEED=n reproduces a schedule, RUNS=n sets how many.
RUNS ?= 100
SEED ?= 0
chaos: build
	$(GO) run ./chaos --doppel=bin/doppel --runs=$(RUNS) --seed=$(SEED)

# One migration of 3,000,000 rows under writes for 30 minutes, throttled from the socket 10 s of
# every 30, sampled every minute (memory, goroutines, backlog, checkpoint age), checked against an
# oracle at the end; MINUTES=n shortens it.
MINUTES ?= 30
soak: build
	$(GO) run ./soak --doppel=bin/doppel --duration=$(MINUTES)m

# Starts a sandbox, loads 1,000,000 rows, migrates them live under a write load, checks the result
# against an oracle, and stops everything.
demo: build
	$(GO) run ./cmd/doppel-demo --doppel=bin/doppel

# The schema workflow: a directory of versioned migrations (a new table, a column, a backfill, an
# online index on a 200,000-row table under writes) run with doppel migrate: status, plan, the
# rollback test, up, the history, down; the big table checked against an oracle.
demo-migrate: build
	$(GO) run ./cmd/doppel-demo-migrate --doppel=bin/doppel

# Times doppel next to the server's own ALTER TABLE (COPY, INPLACE), a chunked-copy floor,
# pt-online-schema-change (when on PATH) and gh-ost (BENCH_ARGS=--ghost=PATH) on a 2,000,000-row
# table with production durability and a replica, idle and under a write load; prints a table,
# writes bench.json and bench-*.svg. Takes 20 minutes or more. docs/benchmarks.md.
bench: build
	$(GO) run ./bench --doppel=bin/doppel $(BENCH_ARGS)

# A primary and a replica to try doppel by hand; Ctrl-C stops them.
sandbox:
	$(GO) run ./cmd/doppel-sandbox

clean:
	rm -rf bin
