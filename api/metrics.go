package api

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"wangge/geo"
)

// metrics are the Prometheus metrics of one server, in a registry of its
// own (no globals: two servers in one test binary do not collide).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	located  *prometheus.CounterVec
	// deliveries counts this replica's delivery attempts by channel kind
	// and outcome (sent, retry, dead, deferred).
	deliveries *prometheus.CounterVec

	// counters, observers and locatedBy cache the children of requests,
	// duration and located by their labels, so that a request costs a map
	// read and no label hashing.
	counters  childCache[requestLabels, prometheus.Counter]
	observers childCache[string, prometheus.Observer]
	locatedBy childCache[string, prometheus.Counter]
}

// requestLabels are the labels of wangge_http_requests_total.
type requestLabels struct {
	route, method string
	status        int
}

// maxCachedChildren bounds each cache (methods are the caller's to choose);
// past it, children are looked up as before.
const maxCachedChildren = 4096

func newMetrics(registry *geo.Registry, ob geo.OutboxStore, more []prometheus.Collector) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wangge_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wangge_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"route"}),
		located: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wangge_located_points_total", Help: "Points located, by match kind (inside, boundary, nearest, outside).",
		}, []string{"match"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wangge_message_deliveries_total", Help: "Delivery attempts of this replica's outbox worker, by channel kind and outcome (sent, retry, dead, deferred).",
		}, []string{"channel", "outcome"}),
	}
	snapValue := func(f func(*geo.Snapshot) float64) func() float64 {
		return func() float64 {
			if s := registry.Load(); s != nil {
				return f(s)
			}
			return 0
		}
	}
	if ob != nil {
		m.reg.MustRegister(outboxCollector{ob})
	}
	m.reg.MustRegister(more...)
	m.reg.MustRegister(m.requests, m.duration, m.located, m.deliveries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wangge_generation", Help: "Generation of the grids in memory."},
			snapValue(func(s *geo.Snapshot) float64 { return float64(s.Generation) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "wangge_grids", Help: "Grids in the snapshot in memory."},
			snapValue(func(s *geo.Snapshot) float64 { return float64(len(s.Grids)) })),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// middleware counts requests by route template (not raw path, which would
// let callers create unbounded label values).
func (m *metrics) middleware(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	k := requestLabels{route, c.Request.Method, c.Writer.Status()}
	m.counters.get(k, func() prometheus.Counter {
		return m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status))
	}).Inc()
	m.observers.get(route, func() prometheus.Observer { return m.duration.WithLabelValues(route) }).
		Observe(time.Since(start).Seconds())
}

// childCache is a copy-on-write map of metric children, read without a
// lock; a child is created (and shown by /metrics) on first use, as with
// WithLabelValues.
type childCache[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex // serialises the copies
}

// get returns the child for k, made by newChild on a miss.
func (cc *childCache[K, V]) get(k K, newChild func() V) V {
	if p := cc.m.Load(); p != nil {
		if v, ok := (*p)[k]; ok {
			return v
		}
	}
	v := newChild()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	old := cc.m.Load()
	n := 0
	if old != nil {
		n = len(*old)
	}
	if n >= maxCachedChildren {
		return v
	}
	next := make(map[K]V, n+1)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	next[k] = v
	cc.m.Store(&next)
	return v
}

// locatedCounter returns the child of located for a match kind.
func (m *metrics) locatedCounter(match string) prometheus.Counter {
	return m.locatedBy.get(match, func() prometheus.Counter { return m.located.WithLabelValues(match) })
}

// CountDelivery counts one outcome of the delivery worker (outbox.Worker's
// Observe).
func (s *Server) CountDelivery(kind geo.ChannelKind, outcome string) {
	s.metrics.deliveries.WithLabelValues(string(kind), outcome).Inc()
}

// outboxCollector reports the outbox's messages by channel kind and status
// as the database holds them (shared by all replicas), read when /metrics
// is scraped; nothing while the database is down.
type outboxCollector struct{ store geo.OutboxStore }

var outboxDesc = prometheus.NewDesc("wangge_outbox_messages", "Messages in the outbox by channel kind and status (pending, sending, sent, dead).",
	[]string{"channel", "status"}, nil)

func (o outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDesc }

func (o outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := o.store.OutboxCounts(ctx)
	if err != nil {
		return
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n), k[0], k[1])
	}
}
