package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"wangge/geo/notify/notifytest"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// obWaitIdle is BenchmarkDelivery's -wait-idle.
var obWaitIdle = flag.Duration("wait-idle", 0, "BenchmarkDelivery: before each burst, wait up to this long for a second in which other processes take less than 10% of the CPU (for shared machines)")

// obDurable is BenchmarkDelivery's -durable.
var obDurable = flag.Bool("durable", false, "BenchmarkDelivery: serve on wangge's own embedded PostgreSQL in a temporary folder (fsync on, as in production) instead of the test cluster (fsync off)")

// BenchmarkDelivery is the delivery figure of BENCHMARKS.md:
//
//	go test -run '^$' -bench Delivery -benchtime 1x -count 5 ./cmd/wangge/ -args -wait-idle 2m
//
// It serves `wangge serve` (Main.Run, in this process) on the test
// cluster (fsync off) with one signed webhook channel to a local receiver
// (notifytest), and, with 8 concurrent clients each time:
//
//  1. creates 1,000 incidents with the channel disabled: the intake rate
//     when no message is written (the baseline);
//  2. creates 1,000 incidents with the receiver healthy: the intake rate
//     and, for each incident, the time from its commit to the arrival of
//     its message at the receiver (p50, p99). The commit lies between the
//     incident's received_at (taken before its transaction) and the 201
//     the client reads, so both are reported: from the 201 (a message that
//     arrives before its 201 is read counts as 0) and from received_at;
//  3. makes the receiver answer 500 to every request and creates 1,000
//     more: the intake rate while the worker fails and retries.
//
// It reports the CPU share other processes took during each burst (from
// /proc, as cmd/wangge-load does) and the load average; with -wait-idle
// it waits for an idle second before each burst. With -durable it serves
// on its own embedded PostgreSQL with fsync on, where every commit waits
// for the disk.
func BenchmarkDelivery(b *testing.B) {
	const incidents, clients = 1000, 8
	if b.N > 1 {
		b.Fatal("one run of BenchmarkDelivery takes seconds: run it with -benchtime 1x (and -count for more runs)")
	}
	cfg := DefaultConfig()
	cfg.SecretKey = obSecretKey
	where := []string{"-database-url", ""}
	var pgData string
	if *obDurable {
		dir, err := os.MkdirTemp("", "wangge-delivery-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		os.Chmod(dir, 0o755) // PostgreSQL runs as postgres when the tests run as root
		cfg.DatabaseURL, cfg.DataDir = "", filepath.Join(dir, "data")
		b.Cleanup(func() { obStopCluster(cfg.DataDir) })
		where = []string{"-data-dir", cfg.DataDir}
		pgData = filepath.Join(cfg.DataDir, "pgdata")
	} else {
		cfg.DatabaseURL, cfg.DataDir = pgtest.ConnString(b), ""
		where[1] = cfg.DatabaseURL
		pgData = pgtest.Cluster(b).PGData
	}
	admin := obToken(b, where, "admin", "bench-admin")
	desk := obToken(b, where, "dispatcher", "bench-desk")
	srv := obStartInProcess(b, cfg)
	dbURL := cfg.DatabaseURL
	if *obDurable {
		cl, err := pgstore.StartCluster(context.Background(), cfg.DataDir, pgstore.ClusterOptions{})
		if err != nil || !cl.Adopted {
			b.Fatalf("adopting the server's PostgreSQL: %v", err)
		}
		dbURL = cl.ConnString("wangge")
	}
	api := obNewAPI(b, srv.main.Addr)
	rx := notifytest.NewWebhook(b, obWebhookSecret)
	channel := obChannel(b, api, admin, map[string]any{"name": "12345平台", "kind": "webhook", "url": rx.WebhookURL(), "secret": obWebhookSecret})
	enable := func(on bool) {
		if r, err := api.do("PATCH", fmt.Sprintf("/v1/channels/%d", channel), admin, map[string]any{"enabled": on}); err != nil || r.status != 200 {
			b.Fatalf("PATCH channel: %v %d %s", err, r.status, r.body)
		}
	}
	db, err := pgstore.Open(context.Background(), dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const warm = 50
	points := obPoints(b, 4*incidents+warm)
	obBurst(b, api, desk, points[:warm], clients) // connections, caches
	rx.WaitFor(warm, time.Minute)
	points = points[warm:]
	meter := obNewCPUMeter(pgData)
	load0 := obLoadAvg()
	b.ResetTimer()

	// 1. No message written.
	enable(false)
	obIdle(b, meter)
	_, baseLat, baseTook := obBurst(b, api, desk, points[:incidents], clients)
	baseCPU := meter.lap()
	enable(true)

	// 2. A healthy receiver.
	obIdle(b, meter)
	before := len(rx.Received())
	created, intakeLat, healthyTook := obBurst(b, api, desk, points[incidents:2*incidents], clients)
	healthyCPU := meter.lap()
	got := rx.WaitFor(before+incidents, 5*time.Minute)[before:]
	byNumber := map[string]obCreated{}
	for _, c := range created {
		byNumber[c.number] = c
	}
	var from201, fromReceived []time.Duration
	var last time.Time
	early := 0
	for _, m := range got {
		c, ok := byNumber[m.Fields["number"]]
		if !ok || m.Duplicate {
			continue
		}
		d := m.At.Sub(c.at)
		if d < 0 {
			early++
			d = 0
		}
		from201 = append(from201, d)
		fromReceived = append(fromReceived, m.At.Sub(c.received))
		if m.At.After(last) {
			last = m.At
		}
	}
	if len(from201) != incidents {
		b.Fatalf("%d of %d messages matched an incident", len(from201), incidents)
	}
	drain := last.Sub(created[0].at)

	// 3. A receiver answering 500.
	requests := rx.Requests()
	rx.FailStatus(8*incidents, 500)
	obIdle(b, meter)
	_, failLat, failingTook := obBurst(b, api, desk, points[2*incidents:3*incidents], clients)
	failingCPU := meter.lap()
	tried := rx.Requests() - requests

	// 4. A receiver that hangs: the worker's slots wait for the channel's
	// timeout (10 s), so it does next to nothing during the burst.
	rx.Hang(true)
	time.Sleep(200 * time.Millisecond) // the worker's slots fill with hanging requests
	obIdle(b, meter)
	_, hangLat, hangingTook := obBurst(b, api, desk, points[3*incidents:], clients)
	hangingCPU := meter.lap()
	b.StopTimer()
	states := obStatusCounts(b, db)

	rate := func(d time.Duration) float64 { return incidents / d.Seconds() }
	p := func(ds []time.Duration, q float64) time.Duration {
		return obPercentile(ds, q).Round(10 * time.Microsecond)
	}
	b.ReportMetric(float64(obPercentile(from201, 50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(obPercentile(from201, 99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(rate(baseTook), "no-channel-incidents/s")
	b.ReportMetric(rate(healthyTook), "healthy-incidents/s")
	b.ReportMetric(rate(failingTook), "failing-incidents/s")
	b.ReportMetric(rate(hangingTook), "hanging-incidents/s")
	b.Logf("no channel: %d incidents by %d clients in %v = %.0f/s (intake p50 %v, p99 %v); other processes took %.0f%% of the CPU",
		incidents, clients, baseTook.Round(time.Millisecond), rate(baseTook), p(baseLat, 50), p(baseLat, 99), 100*baseCPU)
	b.Logf("healthy receiver: %d incidents in %v = %.0f/s (intake p50 %v, p99 %v); other processes took %.0f%% of the CPU",
		incidents, healthyTook.Round(time.Millisecond), rate(healthyTook), p(intakeLat, 50), p(intakeLat, 99), 100*healthyCPU)
	b.Logf("  commit → arrival, from the 201: p50 %v, p99 %v, max %v (%d arrived before their 201 was read); from received_at: p50 %v, p99 %v; the last arrived %v after the first 201",
		p(from201, 50), p(from201, 99), p(from201, 100), early, p(fromReceived, 50), p(fromReceived, 99), drain.Round(time.Millisecond))
	b.Logf("receiver answering 500: %d incidents in %v = %.0f/s (intake p50 %v, p99 %v), %d delivery attempts failed meanwhile; other processes took %.0f%% of the CPU; outbox after: %v",
		incidents, failingTook.Round(time.Millisecond), rate(failingTook), p(failLat, 50), p(failLat, 99), tried, 100*failingCPU, states)
	b.Logf("receiver hanging: %d incidents in %v = %.0f/s (intake p50 %v, p99 %v); other processes took %.0f%% of the CPU",
		incidents, hangingTook.Round(time.Millisecond), rate(hangingTook), p(hangLat, 50), p(hangLat, 99), 100*hangingCPU)
	b.Logf("load average before %s, after %s", load0, obLoadAvg())
	if states["sent"] != incidents+warm {
		b.Errorf("outbox %v: want the %d messages of the healthy bursts sent", states, incidents+warm)
	}
}

// obIdle waits, with -wait-idle, for a second in which other processes
// take less than 10% of the CPU, and starts a lap of meter.
func obIdle(b *testing.B, meter *obCPUMeter) {
	b.StopTimer()
	defer b.StartTimer()
	meter.lap()
	if *obWaitIdle <= 0 {
		return
	}
	deadline := time.Now().Add(*obWaitIdle)
	for {
		time.Sleep(time.Second)
		share := meter.lap()
		if share < 0.1 {
			return
		}
		if time.Now().After(deadline) {
			b.Logf("the machine was not idle within %v (others took %.0f%% of the last second); measuring anyway", *obWaitIdle, 100*share)
			return
		}
	}
}

// obLoadAvg is the first three fields of /proc/loadavg.
func obLoadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(raw))
	return strings.Join(f[:min(3, len(f))], " ")
}

// obCPUMeter measures the share of the machine's CPU time other processes
// took: busy time (/proc/stat) minus this process's and the test
// cluster's PostgreSQL (the postmaster, its children, and the children it
// reaped), as cmd/wangge-load's meter does.
type obCPUMeter struct {
	postmaster      int
	busy, total, us uint64
}

func obNewCPUMeter(pgData string) *obCPUMeter {
	m := &obCPUMeter{}
	if raw, err := os.ReadFile(filepath.Join(pgData, "postmaster.pid")); err == nil {
		line, _, _ := strings.Cut(string(raw), "\n")
		m.postmaster, _ = strconv.Atoi(strings.TrimSpace(line))
	}
	m.busy, m.total, m.us = m.sample()
	return m
}

// lap returns the share other processes took since the last lap.
func (m *obCPUMeter) lap() float64 {
	busy, total, us := m.sample()
	dBusy, dTotal, dUs := float64(busy-m.busy), float64(total-m.total), float64(us-m.us)
	m.busy, m.total, m.us = busy, total, us
	if dTotal <= 0 {
		return 0
	}
	return max(dBusy-dUs, 0) / dTotal
}

func (m *obCPUMeter) sample() (busy, total, us uint64) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	for i, s := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseUint(s, 10, 64)
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	us = obProcTicks("self", false)
	if m.postmaster > 0 {
		us += obProcTicks(strconv.Itoa(m.postmaster), true)
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err == nil && obParent(e.Name()) == m.postmaster {
				us += obProcTicks(e.Name(), false)
			}
		}
	}
	return busy, total, us
}

// obStat returns /proc/<pid>/stat's fields after the command name (field 3
// of proc(5) at index 0).
func obStat(pid string) []string {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil
	}
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(raw[i+1:]))
}

// obProcTicks is a process's user+system time, with its reaped children's
// when children.
func obProcTicks(pid string, children bool) uint64 {
	f := obStat(pid)
	if len(f) < 15 {
		return 0
	}
	var sum uint64
	last := 12
	if children {
		last = 14
	}
	for _, s := range f[11 : last+1] {
		v, _ := strconv.ParseUint(s, 10, 64)
		sum += v
	}
	return sum
}

func obParent(pid string) int {
	f := obStat(pid)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}
