package notify

import (
	"sync"
	"time"
)

// limiter enforces the SMS rate limits without blocking: a least interval
// between two messages to one number, and a token bucket over all numbers
// that holds at most one second's worth of messages.
type limiter struct {
	interval  time.Duration // per number; <= 0: none
	perSecond int           // over all numbers; <= 0: none

	mu     sync.Mutex
	last   map[string]time.Time
	tokens float64
	filled time.Time // when tokens was last brought up to date
}

func newLimiter(interval time.Duration, perSecond int) *limiter {
	return &limiter{interval: interval, perSecond: perSecond, last: map[string]time.Time{}, tokens: float64(perSecond)}
}

// sweepAt is the size of the per-number map beyond which stale entries
// are dropped.
const sweepAt = 4096

// reserve takes a slot for one message to number at now. When a limit is
// hit it takes nothing and returns how long to wait and which limit it
// was ("per number" or "per second"). Otherwise it returns undo, which
// gives the slot back when the message could not be sent.
func (l *limiter) reserve(number string, now time.Time) (undo func(), wait time.Duration, which string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev, had := l.last[number]
	if l.interval > 0 && had {
		if next := prev.Add(l.interval); now.Before(next) {
			return nil, next.Sub(now), "per number"
		}
	}
	if l.perSecond > 0 {
		if l.filled.IsZero() {
			l.filled = now
		}
		if el := now.Sub(l.filled); el > 0 {
			l.tokens = min(float64(l.perSecond), l.tokens+el.Seconds()*float64(l.perSecond))
			l.filled = now
		}
		if l.tokens < 1 {
			need := (1 - l.tokens) / float64(l.perSecond)
			return nil, max(time.Duration(need*float64(time.Second)), time.Millisecond), "per second"
		}
		l.tokens--
	}
	if l.interval > 0 {
		if len(l.last) >= sweepAt {
			for n, t := range l.last {
				if now.Sub(t) >= l.interval {
					delete(l.last, n)
				}
			}
		}
		l.last[number] = now
	}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.interval > 0 && l.last[number].Equal(now) {
			if had {
				l.last[number] = prev
			} else {
				delete(l.last, number)
			}
		}
		if l.perSecond > 0 {
			l.tokens = min(float64(l.perSecond), l.tokens+1)
		}
	}, 0, ""
}
