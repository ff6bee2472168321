package main

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"
)

var (
	capacityTowns    = flag.Int("capacity.towns", 1000, "BenchmarkCapacity: towns of 1,000 grids each")
	capacityDuration = flag.Duration("capacity.duration", 5*time.Second, "BenchmarkCapacity: each rate measurement, after a warm-up of a fifth of it (at most 1 s)")
	capacityConns    = flag.Int("capacity.c", 16, "BenchmarkCapacity: connections for single lookups (besides 1)")
	capacityBin      = flag.String("capacity.bin", "", "BenchmarkCapacity: a built wangge binary; empty: go build ./cmd/wangge")
	capacityExcl     = flag.Bool("capacity.exclusion", false, "BenchmarkCapacity: rebuild the exclusion constraint on grid versions after the load (minutes)")
	capacityRate     = flag.Int("capacity.plan-rate", 2000, "BenchmarkCapacity: lookups a second kept up in the other towns while a plan is applied to one")
)

// BenchmarkCapacity is issue 12 item 5, national size: a synthetic coverage
// of 1,000 towns × 1,000 grids generated inside a private PostgreSQL,
// served by the real `wangge serve` binary; it measures start-up, memory,
// locate latency and rate against PostGIS on the same data, and a plan
// applied to one town while the other towns are served (capacity.go). It
// prints a Markdown table.
//
//	go test ./cmd/wangge-load -run '^$' -bench Capacity -benchtime 1x -timeout 60m -v
//	go test ./cmd/wangge-load -run '^$' -bench Capacity -benchtime 1x -v -args -capacity.towns 10   # a quick trial
func BenchmarkCapacity(b *testing.B) {
	for b.Loop() {
		o := capacityOptions{Towns: *capacityTowns, Duration: *capacityDuration, Conns: *capacityConns, Bin: *capacityBin, PlanRate: *capacityRate, Exclusion: *capacityExcl}
		if o.Towns < 1 || o.Towns > 9000 {
			b.Fatalf("-capacity.towns %d: want 1..9000", o.Towns)
		}
		logf := func(format string, args ...any) { b.Logf(format, args...) }
		if err := runCapacity(context.Background(), o, os.Stdout, logf); err != nil {
			b.Fatal(err)
		}
	}
}
