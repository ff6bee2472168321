package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// op performs one operation (a request, a query) and returns how many
// items it handled: 1 for a single lookup, 10,000 for a batch.
type op func() (items int, err error)

// maxOpsPerWorker bounds every load loop in count as well as in time.
const maxOpsPerWorker = 1 << 32

// loadResult is what one timed load measured, over the recorded window
// only (warm-up excluded).
type loadResult struct {
	Workers int
	Ops     int64
	Items   int64
	Elapsed time.Duration
	Latency histogram
}

// opsPerSec is the rate of operations.
func (r *loadResult) opsPerSec() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// itemsPerSec is the rate of items (points located).
func (r *loadResult) itemsPerSec() float64 { return float64(r.Items) / r.Elapsed.Seconds() }

// workerResult is one worker's share of a loadResult.
type workerResult struct {
	ops, items int64
	last       time.Time // end of the last recorded operation
	hist       histogram
	err        error
}

// runLoad runs ops concurrently, one worker each: first for warmup without
// recording, then for d, recording each operation's latency. An operation
// counts when it starts inside the recorded window; the window ends when the
// last such operation ends. The first error stops every worker and is
// returned, as is ctx's error when ctx ends early.
func runLoad(ctx context.Context, ops []op, warmup, d time.Duration) (*loadResult, error) {
	var stop atomic.Bool
	watchDone := make(chan struct{})
	defer close(watchDone)
	go func() {
		select {
		case <-ctx.Done():
			stop.Store(true)
		case <-watchDone:
		}
	}()

	from := time.Now().Add(warmup)
	until := from.Add(d)
	results := make([]workerResult, len(ops))
	var wg sync.WaitGroup
	for i, o := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = work(o, from, until, &stop)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	total := &loadResult{Workers: len(ops)}
	last := from
	for i := range results {
		w := &results[i]
		if w.err != nil {
			return nil, w.err
		}
		total.Ops += w.ops
		total.Items += w.items
		total.Latency.merge(&w.hist)
		if w.last.After(last) {
			last = w.last
		}
	}
	total.Elapsed = last.Sub(from)
	return total, nil
}

// work is one worker's loop, bounded by until and by maxOpsPerWorker.
func work(o op, from, until time.Time, stop *atomic.Bool) (w workerResult) {
	for range maxOpsPerWorker {
		t0 := time.Now()
		if !t0.Before(until) || stop.Load() {
			return w
		}
		items, err := o()
		t1 := time.Now()
		if err != nil {
			stop.Store(true)
			w.err = err
			return w
		}
		if !t0.Before(from) {
			w.hist.record(t1.Sub(t0))
			w.ops++
			w.items += int64(items)
			w.last = t1
		}
	}
	return w
}
