# doppel: online schema changes for MySQL and MariaDB.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build test unit demo bench sandbox clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/doppel ./cmd/doppel

# Everything: vet, unit tests and the integration tests, which start their own throwaway MariaDB
# (or MySQL) servers from the mariadbd/mysqld on PATH.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

# The fast tests only: no database server.
unit:
	$(GO) test -race -count=1 ./alter ./internal/sqlbuild ./internal/applier ./internal/copier ./dbconn ./metrics ./cmd/doppel

# Starts a sandbox, loads 1,000,000 rows, migrates them live under a write load, checks the result
# against an oracle, and stops everything.
demo: build
	$(GO) run ./cmd/doppel-demo --doppel=bin/doppel

# Times doppel next to the server's own ALTER TABLE … ALGORITHM=COPY on a 2,000,000-row table, idle
# and under a write load; prints a table and writes bench.json. Takes a few minutes.
bench: build
	$(GO) run ./bench --doppel=bin/doppel

# A primary and a replica to try doppel by hand; Ctrl-C stops them.
sandbox:
	$(GO) run ./cmd/doppel-sandbox

clean:
	rm -rf bin
