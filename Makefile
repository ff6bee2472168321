# wangge: `make run` serves the demo town, `make test` runs every test.
# Both install PostgreSQL + PostGIS first when they are missing.

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
BIN := bin/wangge
# Installed by .ci/deps (make deps) at the version pinned there.
STATICCHECK = $(shell $(GO) env GOPATH)/bin/staticcheck

.PHONY: run test deps build bench vet fmt fixtures console

run: deps build
	./$(BIN) serve

test: deps
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) test -race -count=1 -timeout 30m ./...

deps:
	@./.ci/deps

build:
	$(GO) build -o $(BIN) ./cmd/wangge

# Benchmarks reported in BENCHMARKS.md (see there for each command).
bench: deps
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Regenerates the demo town from fixtures/source (deterministic).
fixtures:
	$(GO) run ./fixtures/cmd/gentown

# Rebuilds the map console's embedded assets from api/console/src and the
# pinned MapLibre (the built files are committed: go build needs no npm).
console:
	npm ci --prefix api/console && npm run build --prefix api/console

fmt:
	gofmt -w .

vet:
	$(GO) vet ./...
