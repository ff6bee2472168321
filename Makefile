# wangge: `make run` serves the demo town, `make test` runs every test.
# Both install PostgreSQL + PostGIS first when they are missing.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin/wangge
# Installed by .ci/deps (make deps) at the version pinned there.
STATICCHECK = $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: run test deps build bench vet fmt fixtures console ha-test

run: deps build
	./$(BIN) serve --demo-year

# -parallel 4: the parallel tests of api and cmd/wangge (each with its own
# database, cluster, browser or child processes) mostly wait, and go test's
# default (GOMAXPROCS) runs only two at once on a 2-core machine.
test: deps
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) test -race -count=1 -parallel 4 -timeout 30m ./...

deps:
	@./.ci/deps

build:
	$(GO) build -o $(BIN) ./cmd/wangge

# Benchmarks reported in BENCHMARKS.md (see there for each command).
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

# PostgreSQL failover under load (about 2 minutes): pg_auto_failover's
# monitor, primary and synchronous secondary on this machine, the primary
# killed during a stream of incident creations; prints acknowledged writes
# lost, failover time, time until writes resume, lookup errors
# (cmd/wangge/ha_failover_test.go, build tag ha).
ha-test: deps
	$(GO) test -tags ha -count=1 -run '^TestHA_' -v -timeout 15m ./cmd/wangge/

# Regenerates the demo town from fixtures/source, then its demo year of
# incidents and its visit and meeting log (all deterministic).
# Then the demo county 双峰县 in fixtures/county (deterministic too).
fixtures:
	$(GO) run ./fixtures/cmd/gentown
	$(GO) run ./fixtures/cmd/genstructure
	$(GO) run ./fixtures/cmd/genyear
	$(GO) run ./fixtures/cmd/genvisits
	$(GO) run ./fixtures/cmd/gencounty

# Rebuilds the map console's embedded assets from api/console/src and the
# pinned MapLibre (the built files are committed: go build needs no npm).
console:
	npm ci --prefix api/console && npm run build --prefix api/console

fmt:
	gofmt -w .

vet:
	$(GO) vet ./...
