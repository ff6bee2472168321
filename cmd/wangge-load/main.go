// Command wangge-load reproduces the HTTP and PostGIS figures of
// BENCHMARKS.md in one run on the machine it runs on:
//
//	go run ./cmd/wangge-load [-duration 5s] [-c 16] [-batch-c 2] [-runs 1] [-wait-idle 0] [-skip-1m] [-skip-county] [-json] [-cpuprofile FILE]
//
// It starts a private PostgreSQL with PostGIS in a temporary folder,
// imports the demo town, serves the real API on a loopback port in this
// process, and measures, each for -duration after a short warm-up:
//
//   - GET /v1/locate (requests/s, p50, p99) with -c keep-alive connections,
//     and the PostGIS single-point ST_Covers query with -c connections;
//   - POST /v1/locate with 10,000 points per request (points/s), and a
//     PostGIS batch query of 1,000 points, with -batch-c connections;
//   - the full-town GET /v1/grids, cold and revalidated (304), and PostGIS's
//     json_agg(ST_AsGeoJSON(...)) of the town;
//   - one vector tile, cold, warm and revalidated, and PostGIS's ST_AsMVT
//     of it (tilebench.go);
//   - the in-memory index alone, on the demo town and on a synthetic
//     million grids (unless -skip-1m);
//   - the import of a synthetic county of 5,000 grids (unless -skip-county).
//
// The load generator writes prebuilt requests on raw connections and parses
// only the response framing, so that it costs the two cores it shares with
// the server far less than net/http's client would. Traffic goes only to
// 127.0.0.1. On a shared machine other processes lower the figures: the
// tool reports the CPU time they took during each measurement, and with
// -wait-idle waits for an idle machine and repeats disturbed measurements;
// -runs reports medians and ranges of several runs. It prints a Markdown
// table (or JSON with -json), then stops PostgreSQL and removes its folder,
// also on error and on Ctrl-C.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/api/busypoll"
)

// options are the command-line flags.
type options struct {
	duration   time.Duration
	conns      int
	batchConns int
	skip1M     bool
	skipCounty bool
	// data is what the benchmarks run on: the demo town or the demo county.
	data       string
	json       bool
	cpuProfile string
	runs       int
	waitIdle   time.Duration
	args       []string
	// intake, intakeClients, intakeChannel: the intake benchmark
	// (intakebench.go), run alone; intakeBatches, intakeBatchMax, when
	// not 0, replace pgstore.IntakeBatches and IntakeBatchMax;
	// intakePreload: open incidents written before the first measurement.
	intake         bool
	intakeClients  string
	intakeChannel  bool
	intakeBatches  int
	intakeBatchMax int
	intakePreload  int
	// busyPoll: the served API's busy polling (api/busypoll), as `wangge
	// serve --busy-poll`.
	busyPoll time.Duration
}

func main() {
	// Gin's mode is process-wide; set it once, before the server is built.
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err == nil {
		err = run(ctx, opts, os.Stdout, os.Stderr)
	}
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "wangge-load:", err)
		os.Exit(1)
	}
}

// parseFlags reads the flags.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	o := options{args: args}
	fs := flag.NewFlagSet("wangge-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "how long each measurement runs (after a warm-up of a fifth of it, at most 1s)")
	fs.IntVar(&o.conns, "c", 16, "concurrent connections for single lookups (HTTP and PostGIS) and 304s")
	fs.IntVar(&o.batchConns, "batch-c", 2, "concurrent connections for batches and full-town GeoJSON (HTTP and PostGIS)")
	fs.BoolVar(&o.skip1M, "skip-1m", false, "skip the in-memory index over a million synthetic grids")
	fs.BoolVar(&o.skipCounty, "skip-county", false, "skip the import of a synthetic county of 5,000 grids")
	fs.StringVar(&o.data, "data", "town", "what the benchmarks run on: town (the demo town, 荷叶镇) or county (the demo county, 16 towns of 双峰县)")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of Markdown")
	fs.IntVar(&o.runs, "runs", 1, "repeat every measurement this many times and report the median and the range (for noisy machines)")
	fs.DurationVar(&o.waitIdle, "wait-idle", 0, "before each measurement, wait up to this long for other processes to leave the CPUs idle, and measure again (up to 3 times) when they take more than 10% of the CPU time meanwhile (for shared machines)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of each HTTP measurement (server and load generator together) to `FILE`.get-locate.1, FILE.post-locate.1, FILE.grids-cold.1, FILE.grids-warm.1 (.2 … for further runs)")
	fs.BoolVar(&o.intake, "intake", false, "measure only intake (POST /v1/incidents) on a PostgreSQL with fsync on; see intakebench.go")
	fs.StringVar(&o.intakeClients, "intake-c", "8,16,32", "-intake: the numbers of concurrent clients, comma-separated")
	fs.BoolVar(&o.intakeChannel, "intake-channel", false, "-intake: with an enabled SMS channel (messages written to the outbox, nobody delivering)")
	fs.IntVar(&o.intakeBatches, "intake-batches", 0, "-intake: how many intake batches may be in flight at once (0: pgstore.IntakeBatches)")
	fs.IntVar(&o.intakeBatchMax, "intake-batch-max", 0, "-intake: how many incidents one batch writes at most (0: pgstore.IntakeBatchMax; 1: one by one)")
	fs.DurationVar(&o.busyPoll, "busy-poll", busypoll.DefaultBudget, "how long the served API polls an answered connection for its next request, as wangge serve --busy-poll (0: not at all)")
	fs.IntVar(&o.intakePreload, "intake-preload", 0, "-intake: before measuring, write this many incidents (left open) through the API, then VACUUM ANALYZE, so that the measurements run on a table that has grown")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.duration <= 0 || o.duration > time.Hour:
		return o, fmt.Errorf("-duration %v: want more than 0 and at most 1h", o.duration)
	case o.runs < 1 || o.runs > 20:
		return o, fmt.Errorf("-runs %d: want 1..20", o.runs)
	case o.conns < 1 || o.conns > 150 || o.batchConns < 1 || o.batchConns > 150:
		return o, errors.New("-c and -batch-c: want 1..150 (PostgreSQL allows 200 connections)")
	case o.intakePreload < 0 || o.intakePreload > 10_000_000:
		return o, fmt.Errorf("-intake-preload %d: want 0..10000000", o.intakePreload)
	}
	return o, nil
}

// command is the command line that reproduces the run.
func (o options) command() string {
	parts := []string{"go run ./cmd/wangge-load"}
	for _, a := range o.args {
		if strings.ContainsAny(a, " \t'\"$") {
			a = fmt.Sprintf("%q", a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// warmup is the unrecorded start of each measurement.
func (o options) warmup() time.Duration { return min(o.duration/5, time.Second) }

// run sets up, measures, prints, and tears down.
func run(ctx context.Context, o options, stdout, stderr io.Writer) error {
	logf := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s wangge-load: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	if o.intake {
		return runIntake(ctx, o, stdout, logf)
	}
	e, err := setUp(ctx, o.data, o.busyPoll, logf)
	defer e.close()
	if err != nil {
		return err
	}
	b, err := newBench(ctx, e, o, logf)
	defer b.close()
	if err != nil {
		return err
	}
	if err := b.measureRuns(ctx); err != nil {
		return err
	}
	if o.json {
		return b.rep.writeJSON(stdout)
	}
	return b.rep.writeMarkdown(stdout)
}

// startProfile starts a CPU profile written to path and returns the
// function that stops it.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
