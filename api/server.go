// Package api is wangge's HTTP interface, built on Gin: one file per
// resource, one error exit (problem.go), and the OpenAPI document that the
// tests check every response against. Lookups are answered from the
// in-memory snapshot (geo.Registry), never from the database, so they keep
// working while PostgreSQL is down.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"wangge/geo"
	"wangge/geo/layerfile"
	"wangge/geo/open311"
)

// Config holds the tunables of the HTTP interface. Zero fields take the
// defaults of DefaultConfig.
type Config struct {
	// ToleranceM: points this close (metres) to a grid but outside every
	// grid are routed to the nearest one.
	ToleranceM float64
	// MaxBatchPoints bounds POST /v1/locate.
	MaxBatchPoints int
	// MaxBodyBytes bounds every request body but the layer uploads'.
	MaxBodyBytes int64
	// MaxLayerBytes bounds a layer file sent to POST /v1/plans/{id}/import:
	// the body as sent and, when gzip-compressed, as decompressed (default
	// layerfile.DefaultLimits.MaxBytes, 256 MiB).
	MaxLayerBytes int64
	// CORSOrigins may read responses from a browser: "*" for any, or exact
	// origins such as "https://map.example.cn"; empty for none.
	CORSOrigins []string
	// Tokens checks bearer tokens. Nil: every caller is an anonymous viewer
	// and any bearer token is refused.
	Tokens Tokens
	// Incidents stores incidents; nil disables the dispatch endpoints (503).
	Incidents geo.IncidentStore
	// ServiceItems keeps the catalogue of service items and the holiday
	// calendar that intake takes categories and time limits from (nil:
	// the built-in categories and the severity limits; their endpoints
	// answer 503). ReloadLimits reads them into memory.
	ServiceItems geo.ServiceItemStore
	// ServicePoints keeps the service points and duty rosters
	// (servicepoints.go); nil: the ServiceItems store if it keeps them
	// too, else their endpoints answer 503.
	ServicePoints geo.ServicePointStore
	// People and Organizations keep who serves the grids; nil disables
	// their endpoints (503).
	People        geo.PeopleStore
	Organizations geo.OrganizationStore
	// Plans keeps plans and runs the coverage report; nil disables them
	// (503).
	Plans geo.PlanStore
	// Reload rebuilds the snapshot after a change that alters it (an
	// appointment, a leave, an attachment) so that the next lookup sees
	// it; other replicas learn of it by NOTIFY. Nil: nothing to do.
	Reload func(ctx context.Context) error
	// History answers at= and the generation and grid histories; nil
	// disables them (503).
	History geo.HistoryStore
	// Dispatch holds time limits and co-notification (zero: the defaults).
	Dispatch geo.DispatchConfig
	// Outbox and Channels keep the messages to people and the channels
	// they go through; nil: no messages are written (and the channel
	// endpoints answer 503).
	Outbox   geo.OutboxStore
	Channels geo.ChannelStore
	// Ratings keeps the residents' feedback; nil disables it (503).
	Ratings geo.RatingStore
	// SecretKey seals the channels' secrets (32 bytes).
	SecretKey []byte
	// PublicURL is the address people reach this service at, for the
	// links in messages (e.g. https://wangge.example.cn); empty: no links.
	PublicURL string
	// Logins keeps people's sign-in: codes, login links, sessions (nil:
	// people cannot sign in, and the login endpoints answer 503). Sessions
	// are signed with a key derived from SecretKey.
	Logins geo.LoginStore
	// TrustedProxies are the addresses (CIDRs or IPs) of the proxies whose
	// X-Forwarded-For is believed, for the per-address limits of sign-in;
	// empty: the peer's address is the client's.
	TrustedProxies []string
	// Photos keeps the photos attached to incidents (nil: the photo
	// endpoints answer 503). MaxPhotoBytes bounds one upload (default
	// 5 MiB) and MaxPhotoPixels its width × height (default 40
	// megapixels), read from the header before any pixel is decoded.
	Photos         geo.PhotoStore
	MaxPhotoBytes  int64
	MaxPhotoPixels int
	// Collectors are registered on /metrics beside the server's own: the
	// program's view of its parts the server does not hold (the database's
	// intake batches).
	Collectors []prometheus.Collector
	// Open311 keeps what Open311 requests carry beside their incidents
	// (open311.go); nil: the Incidents store if it keeps them too.
	Open311 open311.Store
	// BaseMaps keeps the console's base-map setting (basemaps.go; nil: no
	// base map, and PUT /v1/basemap answers 503). MapsDir is the folder
	// offline PMTiles base maps are dropped into (empty: none).
	BaseMaps geo.BaseMapStore
	MapsDir  string
	// Now is the clock (nil: time.Now); tests control it.
	Now func() time.Time
	// ReadyMaxLag: /readyz answers 503 once the database has held a newer
	// generation than the snapshot for longer (0: DefaultReadyMaxLag).
	ReadyMaxLag time.Duration
}

// DefaultConfig returns the defaults: 200 m tolerance, 10,000 points per
// batch, 4 MiB bodies.
func DefaultConfig() Config {
	return Config{ToleranceM: geo.DefaultToleranceM, MaxBatchPoints: 10_000, MaxBodyBytes: 4 << 20}
}

// Pinger reports whether the database answers; readiness shows it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server serves the HTTP API.
type Server struct {
	registry *geo.Registry
	db       Pinger
	tokens   Tokens
	cfg      Config
	log      *slog.Logger
	engine   *gin.Engine
	metrics  *metrics
	// dispatcher decides routing and every step of the closed loop.
	dispatcher geo.Dispatcher

	// rendered caches the bytes of the current generation's responses;
	// past, those of a few past generations asked for with at=.
	rendered atomic.Pointer[rendering]
	past     pastSnapshots

	// channels caches the notification channels for routing messages.
	channels channelCache

	// logins holds the sign-in keys and the revoked sessions (login.go).
	logins loginState

	// basemap is the console's base-map setting in use (basemaps.go).
	basemap basemapState

	// limits holds the catalogue and the calendar the dispatcher decides
	// intake with (serviceitems.go).
	limits geo.Limits

	// lag is since when the snapshot is behind the database (health.go).
	lag lagWatch
}

// New returns a server answering from registry. db may be nil (no database:
// readiness then reports it as absent). Gin's mode is process-wide, so New
// leaves it alone: a program sets gin.SetMode(gin.ReleaseMode) once, before
// calling New, or gin logs every route in debug mode.
func New(registry *geo.Registry, db Pinger, cfg Config, log *slog.Logger) *Server {
	def := DefaultConfig()
	if cfg.ToleranceM <= 0 {
		cfg.ToleranceM = def.ToleranceM
	}
	if cfg.MaxBatchPoints <= 0 {
		cfg.MaxBatchPoints = def.MaxBatchPoints
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = def.MaxBodyBytes
	}
	if cfg.MaxLayerBytes <= 0 {
		cfg.MaxLayerBytes = layerfile.DefaultLimits.MaxBytes
	}
	if cfg.MaxPhotoBytes <= 0 {
		cfg.MaxPhotoBytes = geo.DefaultMaxPhotoBytes
	}
	if cfg.MaxPhotoPixels <= 0 {
		cfg.MaxPhotoPixels = geo.DefaultMaxPhotoPixels
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Dispatch.DueIn == nil {
		cfg.Dispatch = geo.DefaultDispatchConfig()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Open311 == nil {
		cfg.Open311, _ = cfg.Incidents.(open311.Store)
	}
	if cfg.ServicePoints == nil {
		cfg.ServicePoints, _ = cfg.ServiceItems.(geo.ServicePointStore)
	}
	if cfg.ReadyMaxLag <= 0 {
		cfg.ReadyMaxLag = DefaultReadyMaxLag
	}
	s := &Server{registry: registry, db: db, tokens: cfg.Tokens, cfg: cfg, log: log, metrics: newMetrics(registry, cfg.Outbox, cfg.Collectors),
		dispatcher: geo.NewDispatcher(cfg.Dispatch, cfg.ToleranceM).WithPublicURL(cfg.PublicURL)}
	s.dispatcher = s.dispatcher.WithLimits(&s.limits)
	s.engine = s.routes()
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

func (s *Server) routes() *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true
	if err := r.SetTrustedProxies(s.cfg.TrustedProxies); err != nil {
		panic("api: TrustedProxies: " + err.Error())
	}
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.Use(s.requestID, s.metrics.middleware, s.recovery, s.cors, s.gzipResponses, s.limitBody, s.authenticate)

	r.GET("/healthz", s.handle(s.healthz))
	r.GET("/readyz", s.handle(s.readyz))
	r.GET("/metrics", gin.WrapH(s.metrics.handler()))
	r.GET("/openapi.json", s.handle(s.openapi))
	r.GET("/problems/:slug", s.handle(s.problemDoc))

	v1 := router{s, r.Group("/v1", s.requireSnapshot)}
	v1.GET("/locate", endpoint{query: []param{pLon, pLat, pCRS, pAt}, plain: s.locatePlain}, s.locate)
	v1.POST("/locate", endpoint{}, s.locateBatch) // locate.go: its own one-pass decoder
	v1.GET("/grids", endpoint{query: append(read("village"), pCRS, pPrecision, pBBox, pAt)}, s.listGrids)
	v1.GET("/grids/:code", endpoint{query: []param{pCRS, pPrecision, pAt}}, s.getGrid)
	v1.GET("/villages", endpoint{query: []param{pAt}}, s.listVillages)
	v1.GET("/towns", endpoint{}, s.listTowns)
	v1.GET("/export", endpoint{query: append(read("format", "town"), pCRS)}, s.exportGeneration)
	v1.GET("/generations/:gen/export", endpoint{query: append(read("format", "town"), pCRS)}, s.exportGeneration)
	v1.GET("/generations", endpoint{needs: needHistory}, s.listGenerations)
	v1.GET("/grids/:code/history", endpoint{needs: needHistory, query: []param{pCRS, pPrecision}}, s.gridHistory)
	v1.with(s.require(geo.AccessDispatcher)).POST("/coverage", endpoint{}, withBody(s.coverage))

	dispatch := v1.with(s.require(geo.AccessDispatcher))
	dispatch.POST("/incidents", endpoint{needs: needIncidents}, withBody(s.createIncident))
	// A copy: an append to the shared incidentFilterParams would write into
	// its spare capacity, the same array for every Server in the process.
	dispatch.GET("/incidents", endpoint{needs: needIncidents, query: slices.Concat(incidentFilterParams, []param{pCursor, pLimit(1000)})}, s.listIncidents)
	caseWork := v1.with(s.requireCaseWork()) // login.go: dispatchers, and people within their scope
	caseWork.GET("/incidents/:number", endpoint{needs: needIncidents}, s.getIncident)
	caseWork.POST("/incidents/:number/events", endpoint{needs: needIncidents}, withBody(s.addIncidentEvent))
	s.photoRoutes(caseWork) // photos.go: photos that prove work done
	dispatch.GET("/stats", endpoint{needs: needIncidents, query: incidentFilterParams}, s.stats)

	s.channelRoutes(v1)      // channels.go: notification channels
	s.loginRoutes(v1)        // login.go, me.go: people's sign-in, sessions, their own incidents
	s.ratingRoutes(r, v1)    // ratings.go: residents' feedback (回访)
	s.peopleRoutes(v1)       // people.go: people, appointments, leave, rosters, staffing
	s.organizationRoutes(v1) // organizations.go: organizations, members, attachments
	s.structureRoutes(v1)    // structure.go: 片区 bodies (secretary, members) and work teams
	s.planRoutes(v1)         // plans.go: plans (drafts, validation, impact, apply), coverage report
	s.figureRoutes(v1)       // figures.go: the 考核 figures, CSV and the .xlsx 通报
	s.serviceItemRoutes(v1)  // serviceitems.go: the catalogue of service items and their time limits
	s.calendarRoutes(v1)     // calendar.go: the holiday calendar working days count on
	s.servicePointRoutes(v1) // servicepoints.go: service points, their duty rosters, who is on duty, the nearest open one
	s.orgKindRoutes(v1)      // orgkinds.go: the catalogue of organization kinds per town
	s.visitRoutes(v1)        // visits.go: the log of visits and meetings, and their counts
	s.partyRoutes(v1)        // party.go: party members, 党员小组, 联系户 links and their counts
	s.rosterFileRoutes(v1)   // teamrosters.go: the work-team roster import, the templates of every roster
	s.basemapRoutes(r, v1)   // basemaps.go: the console's base map, /v1/basemap and its tiles under /basemap

	s.ogcRoutes(r)     // ogc.go: OGC API – Features under /ogc
	s.tileRoutes(r)    // tiles.go: vector tiles and TileJSON under /tiles
	s.consoleRoutes(r) // console.go: the map console at /
	s.mobileRoutes(r)  // mobile.go: the work screen of grid leaders at /m
	s.open311Routes(r) // open311.go: Open311 GeoReport v2 under /open311/v2

	r.NoRoute(s.handle(s.open311Fallback(func(c *gin.Context) error {
		return problemf(TypeNoRoute, http.StatusNotFound, "no endpoint at %s; see /openapi.json", c.Request.URL.Path)
	})))
	r.NoMethod(s.handle(s.open311Fallback(func(c *gin.Context) error {
		return problemf(TypeMethodNotAllowed, http.StatusMethodNotAllowed, "%s is not allowed on %s (allowed: %s)",
			c.Request.Method, c.Request.URL.Path, c.Writer.Header().Get("Allow"))
	})))
	return r
}

const requestIDKey = "request_id"

// requestID keeps a caller's X-Request-Id (if sane) or makes one, and echoes
// it, so a problem response can be found in the log. A made id is this
// process's random prefix and a counter: unique without reading
// crypto/rand on every request.
func (s *Server) requestID(c *gin.Context) {
	id := requestHeader(c.Request, "X-Request-Id")
	if !saneRequestID(id) {
		id = nextRequestID()
	}
	// The request's keys (its id, the caller's role and name) go into a
	// map reused across requests: gin makes one per request on the first
	// Set, and every reader is done once the chain returns (a handler that
	// hands c to a goroutine must c.Copy() it, which copies the keys).
	keys := requestKeys.Get().(map[any]any)
	keys[requestIDKey] = id
	c.Keys = keys
	c.Writer.Header()["X-Request-Id"] = []string{id}
	c.Next()
	if len(keys) <= 8 { // the id, role, actor, town and the like; not a map grown by a handler
		clear(keys)
		requestKeys.Put(keys)
	}
}

var requestKeys = sync.Pool{New: func() any { return make(map[any]any, 8) }}

// saneRequestID reports whether a caller's id is kept: 1 to 64 printable
// ASCII characters, no spaces.
func saneRequestID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// requestIDPrefix is 12 random hex digits drawn once per process;
// requestIDSeq counts the ids made since.
var (
	requestIDPrefix = func() string {
		var b [6]byte
		rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}()
	requestIDSeq atomic.Uint64
)

// nextRequestID returns the prefix, a dash and the next count in hex: at
// most 12+1+16 characters.
func nextRequestID() string {
	var buf [32]byte
	b := append(buf[:0], requestIDPrefix...)
	b = append(b, '-')
	b = strconv.AppendUint(b, requestIDSeq.Add(1), 16)
	return string(b)
}

// limitBody caps every request body; reading past the cap fails with
// *http.MaxBytesError, which handlers turn into 413.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.Body != nil && c.Request.Body != http.NoBody { // a GET has nothing to cap
		limit := s.bodyLimit(c)
		if isLayerUpload(c) {
			limit = max(limit, s.cfg.MaxLayerBytes+multipartSlack)
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	}
	c.Next()
}

// requireSnapshot answers 503 until the first snapshot is loaded.
func (s *Server) requireSnapshot(c *gin.Context) {
	if s.registry.Load() == nil {
		s.writeProblem(c, problemf(TypeNotReady, http.StatusServiceUnavailable, "the grids are not loaded yet"))
		return
	}
	c.Next()
}

func (s *Server) problemDoc(c *gin.Context) error {
	typ := "/problems/" + c.Param("slug")
	doc, ok := problemDocs[typ]
	if !ok {
		return problemf(TypeNotFound, http.StatusNotFound, "no problem type %s", typ)
	}
	c.JSON(http.StatusOK, gin.H{"type": typ, "title": problemTitles[typ], "description": doc})
	return nil
}
