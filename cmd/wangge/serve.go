package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"wangge/api"
	"wangge/api/busypoll"
	"wangge/fixtures"
	"wangge/fixtures/towngen"
	"wangge/geo"
	"wangge/geo/outbox"
	"wangge/geo/pgstore"
	"wangge/geo/townfile"
)

// Main is `wangge serve`: it opens the database (embedded or DATABASE_URL),
// loads the demo town into an empty one, keeps the lookup snapshot current,
// and serves HTTP until its context ends.
type Main struct {
	Config   Config
	Registry geo.Registry
	Tokens   geo.TokenSet
	// Addr is the address the server listens on once Run has started
	// (useful with --addr :0 in tests); closed Ready tells it is set.
	Addr  string
	Ready chan struct{}

	// reloader rebuilds Registry's snapshot; Run makes it.
	reloader *geo.Reloader
	// worker delivers the outbox's messages; Run makes it.
	worker *outbox.Worker
	// server is the HTTP API; Run makes it, watch reloads its revoked
	// sessions of people signed in.
	server *api.Server

	log    *slog.Logger
	stdout io.Writer
	stderr io.Writer
}

// NewMain returns a Main with the default configuration.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{Config: DefaultConfig(), Ready: make(chan struct{}), stdout: stdout, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, nil))}
}

// ParseFlags reads the serve flags.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("wangge serve", flag.ContinueOnError)
	fs.SetOutput(m.stderr)
	fs.StringVar(&m.Config.Addr, "addr", m.Config.Addr, "listen address (env WANGGE_ADDR)")
	fs.Float64Var(&m.Config.ToleranceM, "tolerance-m", m.Config.ToleranceM, "route points this close (m) to a grid to the nearest one (env WANGGE_TOLERANCE_M)")
	fs.StringVar(&m.Config.CORSOrigins, "cors-origins", m.Config.CORSOrigins, "origins whose browsers may read responses, comma-separated; * for any; empty for none (env WANGGE_CORS_ORIGINS)")
	fs.StringVar(&m.Config.Due, "due", m.Config.Due, "time limits by severity, e.g. urgent=2h,major=24h,minor=72h (the defaults) (env WANGGE_DUE)")
	fs.StringVar(&m.Config.CoNotify, "co-notify", m.Config.CoNotify, "organization kind co-notified per category, e.g. customs=red_white_council,dispute=mediation; none for no co-notification (env WANGGE_CO_NOTIFY)")
	fs.Float64Var(&m.Config.DuplicateWithinM, "duplicate-within-m", m.Config.DuplicateWithinM, "flag a new incident as a possible duplicate of an open one of the same category this many metres away; 0: never (env WANGGE_DUPLICATE_WITHIN_M)")
	fs.DurationVar(&m.Config.DuplicateWindow, "duplicate-window", m.Config.DuplicateWindow, "… and received at most this long before it (env WANGGE_DUPLICATE_WINDOW)")
	fs.DurationVar(&m.Config.EscalateEvery, "escalate-every", m.Config.EscalateEvery, "how often overdue incidents are escalated (env WANGGE_ESCALATE_EVERY)")
	fs.BoolVar(&m.Config.EscalateViaDistrict, "escalate-via-district", m.Config.EscalateViaDistrict, "escalate from the village to the 片区's secretary before the town duty desk (env WANGGE_ESCALATE_VIA_DISTRICT)")
	fs.Var(demoValue{&m.Config}, "demo", "load a demo into an empty database: the demo town (true, the default), the demo county (county: 16 towns of 双峰县), or none (false) (env WANGGE_DEMO)")
	fs.BoolVar(&m.Config.DemoYear, "demo-year", m.Config.DemoYear, "with the demo town, load a synthetic year of its incidents once (env WANGGE_DEMO_YEAR)")
	fs.StringVar(&m.Config.TrustedProxies, "trusted-proxies", m.Config.TrustedProxies, "reverse proxies whose X-Forwarded-For names the client, comma-separated IPs or CIDRs (env WANGGE_TRUSTED_PROXIES)")
	fs.StringVar(&m.Config.PublicURL, "public-url", m.Config.PublicURL, "address people reach this service at, for links in messages (env WANGGE_PUBLIC_URL)")
	fs.DurationVar(&m.Config.RemindBefore, "remind-before", m.Config.RemindBefore, "remind the assignee this long before an incident is due; 0: never (env WANGGE_REMIND_BEFORE)")
	fs.IntVar(&m.Config.DeliveryAttempts, "delivery-attempts", m.Config.DeliveryAttempts, "attempts to deliver a message before it is dead-lettered (env WANGGE_DELIVERY_ATTEMPTS)")
	fs.DurationVar(&m.Config.DeliveryLease, "delivery-lease", m.Config.DeliveryLease, "how long a worker holds a message it sends, at least; a message whose worker died is sent again after it (env WANGGE_DELIVERY_LEASE)")
	fs.DurationVar(&m.Config.HeaderTimeout, "header-timeout", m.Config.HeaderTimeout, "time a client has to send the request line and headers (env WANGGE_HEADER_TIMEOUT)")
	fs.DurationVar(&m.Config.BodyTimeout, "body-timeout", m.Config.BodyTimeout, "grace before a request body must keep up --body-min-rate; a body of n bytes has this plus n / rate (env WANGGE_BODY_TIMEOUT)")
	fs.Int64Var(&m.Config.BodyMinRate, "body-min-rate", m.Config.BodyMinRate, "slowest average rate, in bytes a second, at which a request body may arrive; slower ones answer 408 (env WANGGE_BODY_MIN_RATE)")
	fs.IntVar(&m.Config.MaxConns, "max-conns", m.Config.MaxConns, "most connections open at once; 0: the open-file limit less 64 (env WANGGE_MAX_CONNS)")
	fs.IntVar(&m.Config.MaxConnsPerAddr, "max-conns-per-addr", m.Config.MaxConnsPerAddr, "most connections open at once from one client address (IPv6: one /64); 0: no cap, e.g. behind a reverse proxy (env WANGGE_MAX_CONNS_PER_ADDR)")
	fs.DurationVar(&m.Config.BusyPoll, "busy-poll", m.Config.BusyPoll, "how long a connection just answered is polled for its next request before it sleeps, while no other has a request in hand; 0: never (env WANGGE_BUSY_POLL)")
	fs.Int64Var(&m.Config.MaxLayerBytes, "max-layer-bytes", m.Config.MaxLayerBytes, "largest layer file uploaded to a plan, in bytes, as sent and as decompressed (env WANGGE_MAX_LAYER_BYTES)")
	m.Config.databaseFlags(fs)
	if err := m.Config.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	return m.Config.Validate()
}

// Run serves until ctx ends, then shuts down cleanly: HTTP first, then the
// embedded PostgreSQL.
func (m *Main) Run(ctx context.Context) error {
	start := time.Now()
	reserveGCFloor() // gcfloor.go
	if err := m.Config.Validate(); err != nil {
		return err
	}
	db, err := openDatabase(ctx, m.Config, m.log)
	if err != nil {
		return err
	}
	defer db.close(m.log, true)
	m.reloader = geo.NewReloader(&m.Registry, db.snapshot)

	if err := m.loadDemo(ctx, db); err != nil {
		return err
	}
	// Listening before the first loads lets them count as the listener's
	// first catch-up: a national snapshot is built once at start, not twice.
	listener, err := db.StartListening(ctx)
	if err != nil {
		return err
	}
	defer listener.Close(ctx)
	if err := m.reload(ctx, db); err != nil {
		return err
	}
	if err := m.reloadTokens(ctx, db); err != nil {
		return err
	}
	key, err := m.secretKey()
	if err != nil {
		return err
	}
	poller := busypoll.New(m.Config.BusyPoll)
	handler := api.New(&m.Registry, db, api.Config{ToleranceM: m.Config.ToleranceM,
		CORSOrigins: m.Config.corsOrigins(), Tokens: &m.Tokens, Incidents: db, Dispatch: m.Config.dispatch,
		People: db, Organizations: db, History: db, Plans: db, Reload: func(ctx context.Context) error { return m.reload(ctx, db) },
		Outbox: db, Channels: db, Ratings: db, SecretKey: key, PublicURL: m.Config.PublicURL, Photos: db,
		Logins: db, TrustedProxies: m.Config.trustedProxies(), MaxLayerBytes: m.Config.MaxLayerBytes, ServiceItems: db,
		BaseMaps: db, MapsDir: filepath.Join(m.Config.DataDir, "maps"),
		Collectors: []prometheus.Collector{intakeCollector{db.DB}, pollCollector{poller}}}, m.log)
	m.worker = m.newWorker(db, key, handler)
	// People's sessions are checked from memory, and so are the revoked
	// ones; watch reloads them when a replica announces a revocation.
	if err := handler.ReloadSessions(ctx); err != nil {
		return err
	}
	// Intake takes categories and time limits from the catalogue and the
	// holiday calendar in memory; watch reloads them on LimitsChanged.
	if err := handler.ReloadLimits(ctx); err != nil {
		return err
	}
	// The store re-decides routing inside its own writes (a plan applied,
	// an appointment ended): with the same catalogue and calendar.
	db.Dispatcher = db.Dispatcher.WithLimits(handler.Limits())
	m.server = handler

	var wg sync.WaitGroup
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer func() { stopWatch(); wg.Wait() }()
	wg.Add(4)
	go func() { defer wg.Done(); m.watch(watchCtx, db, listener) }()
	go func() { defer wg.Done(); m.reloadPeriodically(watchCtx, db) }()
	go func() { defer wg.Done(); m.escalate(watchCtx, db) }()
	go func() { defer wg.Done(); m.worker.Run(watchCtx) }()

	// No ReadTimeout: BodyDeadline bounds each body by its size instead of
	// holding every client for as long as the largest upload needs.
	srv := &http.Server{
		Handler:           api.BodyDeadline(handler, m.Config.BodyTimeout, m.Config.BodyMinRate),
		ReadHeaderTimeout: m.Config.HeaderTimeout,
		IdleTimeout:       120 * time.Second,
	}
	// A connection watches for its client going away only when a handler
	// runs long (api/busypoll's WatchAfter), not with a goroutine per request.
	poller.Configure(srv)
	tcp, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return err
	}
	ln := api.LimitListener(poller.Listen(tcp), api.ConnLimits{Total: m.Config.MaxConns, PerAddr: m.Config.MaxConnsPerAddr}, m.log)
	m.Addr = ln.Addr().String()
	snap := m.Registry.Load()
	m.log.Info("serving", "addr", m.Addr, "town", snap.Whole().Name, "generation", snap.Generation,
		"grids", len(snap.Grids), "startup", time.Since(start).Round(time.Millisecond))
	close(m.Ready)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	m.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// loadDemo imports the embedded demo town when the database has none and,
// with --demo-year, its synthetic year of incidents once (LoadDemoYear
// loads nothing into any other town, nor twice).
func (m *Main) loadDemo(ctx context.Context, db *database) error {
	gen, err := db.CurrentGeneration(ctx)
	if err != nil {
		return err
	}
	if gen == 0 && m.Config.Demo && m.Config.DemoData == DemoCounty {
		towns, err := fixtures.County()
		if err != nil {
			return fmt.Errorf("reading the demo county: %w", err)
		}
		grids := 0
		for _, td := range towns {
			grids += len(td.Grids)
		}
		m.log.Info("the database is empty: loading the demo county (real names and codes, synthetic boundaries)",
			"county", towns[0].Town.County, "towns", len(towns), "grids", grids)
		if _, err := db.ImportTowns(ctx, towns, "demo", "demo county loaded on first start"); err != nil {
			return fmt.Errorf("loading the demo county: %w", err)
		}
		// A 便民服务中心 per town and a 便民服务站 per village, with the demo
		// year's duty rosters (fixtures/county_servicepoints.go).
		cat, err := geo.LoadCatalogue(ctx, db)
		if err != nil {
			return fmt.Errorf("reading the calendar for the demo county's rosters: %w", err)
		}
		if _, _, err := fixtures.LoadCountyServicePoints(ctx, db, towns, cat.Calendar); err != nil {
			return fmt.Errorf("loading the demo county's service points: %w", err)
		}
	}
	if m.Config.DemoData == DemoCounty {
		if m.Config.DemoYear {
			m.log.Warn("--demo-year is the demo town's year of incidents: not loaded into the demo county")
		}
		return nil
	}
	if gen == 0 && m.Config.Demo {
		td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
		if err != nil {
			return fmt.Errorf("reading the demo town: %w", err)
		}
		m.log.Info("the database is empty: loading the demo town (synthetic boundaries)", "town", td.Town.Name, "grids", len(td.Grids))
		if _, err := db.ImportTown(ctx, td, "demo", "demo town loaded on first start"); err != nil {
			return fmt.Errorf("loading the demo town: %w", err)
		}
		// Its service points and duty rosters (to towngen.RosterEnd), generated
		// from the town's files with a fixed seed.
		cat, err := geo.LoadCatalogue(ctx, db)
		if err != nil {
			return fmt.Errorf("reading the calendar for the demo rosters: %w", err)
		}
		points := towngen.DemoServicePoints(td, towngen.DefaultServicePointSeed)
		shifts := towngen.DemoDutyRoster(td, points, cat.Calendar, towngen.DefaultServicePointSeed)
		if _, err := db.LoadDemoServicePoints(ctx, td.Town.Code, points, shifts, towngen.YearStart); err != nil {
			return fmt.Errorf("loading the demo service points: %w", err)
		}
		// Its 片区 with their 党工委 and a work team per village
		// (fixtures/heye/structure.json, geo/structure.go).
		structure, err := fixtures.HeyeStructure()
		if err != nil {
			return fmt.Errorf("reading the demo town's structure: %w", err)
		}
		if _, err := db.SeedStructure(ctx, structure, time.Now(), "demo"); err != nil {
			return fmt.Errorf("loading the demo town's structure: %w", err)
		}
	}
	if !m.Config.DemoYear {
		return nil
	}
	n, err := db.LoadDemoYear(ctx, fixtures.HeyeCode, fixtures.OpenDemoYear)
	if err != nil {
		return fmt.Errorf("loading the demo year: %w", err)
	}
	if n > 0 {
		m.log.Info("loaded the demo year: synthetic incidents for the figures", "incidents", n)
	}
	return nil
}

// reload builds a snapshot of the current generation and swaps it in,
// through the one reloader every trigger shares (start-up, writes, NOTIFY,
// the periodic reload), so that concurrent triggers cannot put an older
// snapshot back.
func (m *Main) reload(ctx context.Context, db *database) error {
	return m.reloader.Reload(ctx)
}

// escalate runs the escalator: every EscalateEvery, overdue incidents go
// one level up. With several replicas, one acts per round (an advisory
// lock); the others skip it.
func (m *Main) escalate(ctx context.Context, db *database) {
	t := time.NewTicker(m.Config.EscalateEvery)
	defer t.Stop()
	// The server's catalogue and calendar: an escalation's fresh time
	// limit is the service item's, as at intake.
	dispatcher := geo.NewDispatcher(m.Config.dispatch, m.Config.ToleranceM).WithPublicURL(m.Config.PublicURL).WithLimits(m.server.Limits())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := db.Now()
		snap := m.Registry.Load()
		channels, err := db.Channels(ctx)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("escalating overdue incidents", "err", err)
			}
			continue
		}
		n, err := db.EscalateOverdue(ctx, now, 500, func(inc *geo.Incident) (geo.IncidentChange, bool) {
			ch, ok := dispatcher.Escalate(snap, inc, now, "")
			if ok {
				ch.Messages = dispatcher.OverdueMessages(channels, snap, inc, ch)
			}
			return ch, ok
		})
		if err != nil && ctx.Err() == nil {
			m.log.Warn("escalating overdue incidents", "err", err)
		} else if n > 0 {
			m.log.Info("escalated overdue incidents", "count", n)
		}
		if m.Config.RemindBefore <= 0 {
			continue
		}
		n, err = db.RemindDueSoon(ctx, now, m.Config.RemindBefore, 500, func(inc *geo.Incident) []geo.OutboxMessage {
			return dispatcher.Messages(channels, snap, inc, geo.MsgDueSoon, nil, "")
		})
		if err != nil && ctx.Err() == nil {
			m.log.Warn("reminding incidents due soon", "err", err)
		} else if n > 0 {
			m.log.Info("reminded incidents due soon", "count", n)
		}
	}
}

// reloadTokens loads the tokens in use into memory.
func (m *Main) reloadTokens(ctx context.Context, db *database) error {
	tokens, err := db.ActiveTokens(ctx)
	if err != nil {
		return err
	}
	m.Tokens.Store(tokens)
	return nil
}

// reloadPeriodically rebuilds the snapshot every reloadEvery when
// something dated has come into force (or gone out of it) since it was
// loaded: rebuilding a national snapshot takes seconds of CPU and a second
// copy in memory, and every other change is announced.
func (m *Main) reloadPeriodically(ctx context.Context, db *database) {
	every(ctx, reloadEvery, func() {
		if snap := m.Registry.Load(); snap != nil {
			changed, err := db.RegistryChangedSince(ctx, snap.Generation, snap.LoadedAt, db.Now())
			if err == nil && !changed {
				return
			}
		}
		if err := m.reload(ctx, db); err != nil && ctx.Err() == nil {
			m.log.Warn("periodic reload of the grids; lookups continue from the snapshot in memory", "err", err)
		}
	})
}

// every runs fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// reloadEvery is how often the snapshot is rebuilt even without a change
// announced: appointments and attachments dated in the future take effect
// when their time comes, not when they were written.
const reloadEvery = time.Minute

// watch reloads the snapshot whenever another process announces a change,
// and reconnects with backoff while PostgreSQL is down; lookups meanwhile
// keep answering from the snapshot in memory. Announcements sent while the
// listener was disconnected are lost, so every (re)connect reloads the
// tokens and the snapshot at once (Listen's empty payload; not on the first
// connection, first, opened before start-up loaded them), and the backoff
// stays at most watchBackoffMax: a token revoked just after an outage is
// refused within that, not after a backoff grown during the outage. The
// tokens are also reloaded every tokenReloadEvery, in case an
// announcement is lost without the connection breaking.
func (m *Main) watch(ctx context.Context, db *database, first *pgstore.Listener) {
	done := make(chan struct{})
	defer func() { <-done }()
	go func() { defer close(done); m.reloadTokensPeriodically(ctx, db) }()
	backoff := time.Second
	for ctx.Err() == nil {
		onNotify := func(payload string) {
			backoff = time.Second
			if payload == pgstore.OutboxChanged {
				m.worker.Wake()
				return
			}
			if payload == pgstore.LimitsChanged || payload == "" {
				if err := m.server.ReloadLimits(ctx); err != nil {
					m.log.Warn("reloading the service items and calendar", "err", err)
				}
				if payload != "" {
					return
				}
			}
			if payload == pgstore.SessionsChanged || payload == "" {
				if err := m.server.ReloadSessions(ctx); err != nil {
					m.log.Warn("reloading the revoked sessions", "err", err)
				}
				if payload != "" {
					return
				}
			}
			if payload == pgstore.TokensChanged || payload == "" {
				if err := m.reloadTokens(ctx, db); err != nil {
					m.log.Warn("reloading the tokens", "err", err)
				}
				if payload != "" {
					return
				}
			}
			cur := m.Registry.Load()
			if gen, err := strconv.ParseInt(payload, 10, 64); err == nil && cur != nil && gen < cur.Generation {
				return
			}
			if err := m.reload(ctx, db); err != nil {
				m.log.Warn("reloading the grids", "err", err)
				return
			}
			if s := m.Registry.Load(); cur == nil || s.Generation != cur.Generation {
				m.log.Info("loaded a new generation", "generation", s.Generation, "grids", len(s.Grids))
			}
		}
		var err error
		if first != nil {
			err = first.Wait(ctx, onNotify)
			first = nil
		} else {
			err = db.Listen(ctx, onNotify)
		}
		if ctx.Err() != nil {
			return
		}
		m.log.Warn("lost the database notifications; lookups continue from memory", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, watchBackoffMax)
	}
}

// watchBackoffMax caps the wait between attempts to reconnect the
// listener, which bounds how long a change made just after an outage goes
// unseen.
const watchBackoffMax = 5 * time.Second

// tokenReloadEvery is how often the tokens (and revoked sessions) are
// reloaded even without an announcement: a safety net under NOTIFY,
// bounding how long a revoked token can work if one is lost.
const tokenReloadEvery = 30 * time.Second

// reloadTokensPeriodically reloads the tokens and the revoked sessions
// every tokenReloadEvery.
func (m *Main) reloadTokensPeriodically(ctx context.Context, db *database) {
	every(ctx, tokenReloadEvery, func() {
		if err := m.reloadTokens(ctx, db); err != nil && ctx.Err() == nil {
			m.log.Warn("periodic reload of the tokens; requests are checked against the tokens in memory", "err", err)
		}
		if err := m.server.ReloadSessions(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("periodic reload of the revoked sessions", "err", err)
		}
	})
}
