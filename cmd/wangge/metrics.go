package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"wangge/api/busypoll"
	"wangge/geo/pgstore"
)

// intakeCollector reports the database's intake batches on /metrics: how
// many incidents were written together (pgstore's group commit), so that
// an operator sees whether intake is batching under load (a mean batch
// near 1 at a high rate means each incident pays its own commit).
type intakeCollector struct{ db *pgstore.DB }

var (
	intakeBatchesDesc = prometheus.NewDesc("wangge_intake_batches_total",
		"Batches of incidents written in one transaction by this replica's intake.", nil, nil)
	intakeIncidentsDesc = prometheus.NewDesc("wangge_intake_incidents_total",
		"Intake requests written in batches by this replica (over wangge_intake_batches_total: the mean batch).", nil, nil)
	intakeBesideDesc = prometheus.NewDesc("wangge_intake_batches_beside_total",
		"Intake batches that started while another was being written.", nil, nil)
	intakeBusyDesc = prometheus.NewDesc("wangge_intake_batch_seconds_total",
		"Time the intake batches took, summed over the batches.", nil, nil)
)

func (c intakeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- intakeBatchesDesc
	ch <- intakeIncidentsDesc
	ch <- intakeBesideDesc
	ch <- intakeBusyDesc
}

func (c intakeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.db.IntakeStats()
	ch <- prometheus.MustNewConstMetric(intakeBatchesDesc, prometheus.CounterValue, float64(st.Batches))
	ch <- prometheus.MustNewConstMetric(intakeIncidentsDesc, prometheus.CounterValue, float64(st.Incidents))
	ch <- prometheus.MustNewConstMetric(intakeBesideDesc, prometheus.CounterValue, float64(st.Beside))
	ch <- prometheus.MustNewConstMetric(intakeBusyDesc, prometheus.CounterValue, st.Busy.Seconds())
}

// pollCollector reports how the polls of answered connections ended
// (api/busypoll): mostly "data" means clients that send their next request
// at once are answered without a wake-up; mostly "expired" means the polls
// cost CPU for nothing and --busy-poll could be 0.
type pollCollector struct{ p *busypoll.Poller }

var pollsDesc = prometheus.NewDesc("wangge_http_read_polls_total",
	"Polls of an answered connection for its next request, by how they ended: data (it came), expired (the budget passed), yielded (another connection's request came).",
	[]string{"outcome"}, nil)

var (
	watchesDesc = prometheus.NewDesc("wangge_http_watches_total",
		"Connections watched for their client going away because a handler ran longer than 5 ms.", nil, nil)
	inRequestDesc = prometheus.NewDesc("wangge_http_connections_in_request",
		"Connections with a request in hand now; while any is, no connection is polled.", nil, nil)
)

func (c pollCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pollsDesc
	ch <- watchesDesc
	ch <- inRequestDesc
}

func (c pollCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Stats()
	ch <- prometheus.MustNewConstMetric(watchesDesc, prometheus.CounterValue, float64(st.Watches))
	ch <- prometheus.MustNewConstMetric(inRequestDesc, prometheus.GaugeValue, float64(st.InRequest))
	ch <- prometheus.MustNewConstMetric(pollsDesc, prometheus.CounterValue, float64(st.Data), "data")
	ch <- prometheus.MustNewConstMetric(pollsDesc, prometheus.CounterValue, float64(st.Expired), "expired")
	ch <- prometheus.MustNewConstMetric(pollsDesc, prometheus.CounterValue, float64(st.Yielded), "yielded")
}
