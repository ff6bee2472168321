package main

import (
	"math/bits"
	"time"
)

// subBits sets the resolution of the histogram: each power of two is cut
// into 2^subBits buckets, so a quantile is off by at most 1/32 (3%).
const subBits = 5

// histBuckets covers durations up to 2^40 ns (18 minutes).
const histBuckets = (40 - subBits + 1) << subBits

// histogram records durations in log-linear buckets, like HdrHistogram:
// recording is a few instructions and allocates nothing, so the load
// generator's own cost stays negligible. It is not safe for concurrent
// use: each worker has one, merged at the end.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
}

// bucketOf returns the bucket of v nanoseconds.
func bucketOf(v uint64) int {
	e := bits.Len64(v) - subBits - 1
	if e <= 0 {
		return int(v) // 0..63 ns: one bucket per nanosecond
	}
	i := e<<subBits + int(v>>e)
	return min(i, histBuckets-1)
}

// bucketMid returns the middle of bucket i in nanoseconds.
func bucketMid(i int) float64 {
	if i < 2<<subBits {
		return float64(i)
	}
	e := i>>subBits - 1
	lo := uint64(i-e<<subBits) << e
	return float64(lo) + float64(uint64(1)<<e)/2
}

// record adds one duration.
func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(uint64(max(d, 0)))]++
	h.n++
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the duration below which a fraction q of the recorded
// durations fall (0 when nothing was recorded).
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > rank {
			return time.Duration(bucketMid(i))
		}
	}
	return time.Duration(bucketMid(histBuckets - 1))
}
