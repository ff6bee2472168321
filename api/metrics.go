package api

import (
	"context"
	"net/http"
	"strconv"
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
}

func newMetrics(registry *geo.Registry, ob geo.OutboxStore) *metrics {
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
	m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
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
