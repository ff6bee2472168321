package main

import (
	"context"
	"fmt"
	"time"

	"github.com/paulmach/orb"
)

// batchPoints is the number of points in one POST /v1/locate (the API's
// maximum).
const batchPoints = 10_000

// ioSlack is how long after the end of a load a read may still take
// before the connection's deadline fails it.
const ioSlack = 30 * time.Second

// httpLoad describes one HTTP load: each worker has its own keep-alive
// connection and sends requests in turn.
type httpLoad struct {
	addr     string
	workers  int
	warmup   time.Duration
	duration time.Duration
	// requests are sent in turn, each worker starting at its own offset.
	requests [][]byte
	// items is the number of items one request handles (points).
	items int
	// accept says whether a status is a valid answer.
	accept func(status int) bool
}

// statusCounts counts answers by status; each worker has its own.
type statusCounts map[int]int64

// run dials the connections, runs the load and returns the result with
// the statuses seen (warm-up included).
func (l httpLoad) run(ctx context.Context) (*loadResult, statusCounts, error) {
	deadline := time.Now().Add(l.warmup + l.duration + ioSlack)
	conns := make([]*rawConn, l.workers)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	counts := make([]statusCounts, l.workers)
	ops := make([]op, l.workers)
	for w := range ops {
		c, err := dialRaw(l.addr, deadline)
		if err != nil {
			return nil, nil, err
		}
		conns[w], counts[w] = c, statusCounts{}
		ops[w] = l.worker(c, w, counts[w])
	}
	res, err := runLoad(ctx, ops, l.warmup, l.duration)
	if err != nil {
		return nil, nil, err
	}
	total := statusCounts{}
	for _, m := range counts {
		for s, n := range m {
			total[s] += n
		}
	}
	return res, total, nil
}

// worker returns the op of worker w on connection c.
func (l httpLoad) worker(c *rawConn, w int, counts statusCounts) op {
	next := w * len(l.requests) / l.workers
	return func() (int, error) {
		req := l.requests[next%len(l.requests)]
		next++
		status, _, err := c.do(req)
		if err != nil {
			return 0, err
		}
		counts[status]++
		if !l.accept(status) {
			return 0, fmt.Errorf("unexpected status %d for %.80q", status, req)
		}
		return l.items, nil
	}
}

// statusIs accepts the given statuses.
func statusIs(ok ...int) func(int) bool {
	return func(s int) bool {
		for _, o := range ok {
			if s == o {
				return true
			}
		}
		return false
	}
}

// locateGET measures GET /v1/locate over the points: 200, or 404 for a
// point outside the coverage.
func locateGET(ctx context.Context, addr string, pts []orb.Point, workers int, warmup, d time.Duration) (*loadResult, statusCounts, error) {
	l := httpLoad{addr: addr, workers: workers, warmup: warmup, duration: d,
		requests: locateRequests(pts), items: 1, accept: statusIs(200, 404)}
	return l.run(ctx)
}

// locatePOST measures POST /v1/locate with batchPoints points per request,
// cycling through 8 prebuilt bodies.
func locatePOST(ctx context.Context, addr string, pts []orb.Point, workers int, warmup, d time.Duration) (*loadResult, error) {
	reqs := make([][]byte, 8)
	for i := range reqs {
		reqs[i] = postJSONRequest("/v1/locate", batchBody(window(pts, i*batchPoints, batchPoints)))
	}
	l := httpLoad{addr: addr, workers: workers, warmup: warmup, duration: d,
		requests: reqs, items: batchPoints, accept: statusIs(200)}
	res, _, err := l.run(ctx)
	return res, err
}

// gridsCold measures full-town GET /v1/grids without If-None-Match: the
// whole FeatureCollection every time.
func gridsCold(ctx context.Context, addr string, workers int, warmup, d time.Duration) (*loadResult, error) {
	l := httpLoad{addr: addr, workers: workers, warmup: warmup, duration: d,
		requests: [][]byte{getRequest("/v1/grids")}, items: 1, accept: statusIs(200)}
	res, _, err := l.run(ctx)
	return res, err
}

// gridsWarm measures GET /v1/grids revalidated with the ETag: 304 each time.
func gridsWarm(ctx context.Context, addr string, workers int, warmup, d time.Duration) (*loadResult, error) {
	etag, _, err := gridsETag(addr)
	if err != nil {
		return nil, err
	}
	l := httpLoad{addr: addr, workers: workers, warmup: warmup, duration: d,
		requests: [][]byte{getRequest("/v1/grids", "If-None-Match: "+etag)}, items: 1, accept: statusIs(304)}
	res, _, err := l.run(ctx)
	return res, err
}

// gridsETag fetches the full town once and returns its ETag and size.
func gridsETag(addr string) (etag string, size int, err error) {
	c, err := dialRaw(addr, time.Now().Add(ioSlack))
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	c.wantETag = true
	status, size, err := c.do(getRequest("/v1/grids"))
	switch {
	case err != nil:
		return "", 0, err
	case status != 200 || len(c.etag) == 0:
		return "", 0, fmt.Errorf("GET /v1/grids: status %d, ETag %q", status, c.etag)
	}
	return string(c.etag), size, nil
}
