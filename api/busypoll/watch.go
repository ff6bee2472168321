package busypoll

import (
	"context"
	"errors"
	"net"
	"os"
	"time"
)

// WatchAfter is how long a handler runs before its connection is watched
// for the client going away.
//
// net/http watches every request: it starts a goroutine that reads one
// byte while the handler runs, so that a client's close cancels the
// request's context, and it stops that read (a past deadline, a wake-up,
// a wait) before reading the next request. For a request answered in tens
// of microseconds that costs more wake-ups than the request itself. With
// ConnContext set, a connection ends that read at once and starts its own
// only when the handler is still running WatchAfter later: a handler
// whose client went away is cancelled at most WatchAfter late, and a
// quick one is never watched.
const WatchAfter = 5 * time.Millisecond

// watchState is where a connection's watch is.
type watchState int

const (
	watchIdle    watchState = iota
	watchArmed              // the timer runs
	watchReading            // the watch's read runs
)

// aLongTimeAgo is a deadline that ends a read at once (net/http's own).
var aLongTimeAgo = time.Unix(1, 0)

// ConnContext is for http.Server.ConnContext. It gives each connection of
// p a context that the connection's watch cancels when its client goes
// away while a handler runs, and lets the connection watch lazily (see
// WatchAfter). Without it, net/http watches every request itself.
func (p *Poller) ConnContext(ctx context.Context, nc net.Conn) context.Context {
	c := unwrap(nc)
	if c == nil || c.p != p {
		return ctx
	}
	ctx, c.cancel = context.WithCancel(ctx)
	return ctx
}

// unwrap finds the connection of this package in nc, looking through
// wrappers that give theirs by NetConn (as crypto/tls's does).
func unwrap(nc net.Conn) *conn {
	for {
		switch v := nc.(type) {
		case *conn:
			return v
		case interface{ NetConn() net.Conn }:
			nc = v.NetConn()
		default:
			return nil
		}
	}
}

// backgroundRead stands in for net/http's one-byte read while a handler
// runs: it arms the watch and reports that the read is over, with nothing
// read. It returns false, and the read is the socket's, for any other
// one-byte read: one that is not the first of its request, or on a
// connection without ConnContext.
func (c *conn) backgroundRead() bool {
	if c.cancel == nil || !c.awaitingBackgroundRead.CompareAndSwap(true, false) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watch = watchArmed
	if c.timer == nil {
		c.timer = time.AfterFunc(time.Duration(c.p.watchAfter.Load()), c.startWatch)
	} else {
		c.timer.Reset(time.Duration(c.p.watchAfter.Load()))
	}
	return true
}

// startWatch runs when a handler has run WatchAfter: it starts the read
// that watches for the client going away, unless the handler is done.
func (c *conn) startWatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch != watchArmed {
		return
	}
	c.watch = watchReading
	c.watchDone = make(chan struct{})
	c.p.watches.Add(1)
	go c.watchRead(c.watchDone)
}

// watchRead reads one byte: the first of a pipelined request, kept for the
// next read, or the client's close (or a reset), which cancels the
// connection's context and is the next read's answer. A read ended by
// endWatch's deadline leaves nothing.
func (c *conn) watchRead(done chan struct{}) {
	defer close(done)
	n, err := c.TCPConn.Read(c.watchByte[:])
	c.mu.Lock()
	switch {
	case n == 1:
		c.watchGotByte = true
	case c.watchEnding && errors.Is(err, os.ErrDeadlineExceeded):
	default:
		c.watchErr = err
	}
	gone := c.watchErr != nil
	c.mu.Unlock()
	if gone {
		c.cancel()
	}
}

// endWatch ends the watch before a read of the next request (or of a
// request's body): it stops the timer, or ends the watch's read and waits
// for it. It returns what that read got, for the read to return first: a
// byte (n 1) or an error; ok is false when there is nothing.
func (c *conn) endWatch(b []byte) (n int, err error, ok bool) {
	c.mu.Lock()
	switch c.watch {
	case watchIdle:
		c.mu.Unlock()
		return 0, nil, false
	case watchArmed:
		c.timer.Stop() // if it fired already, startWatch finds the watch idle
		c.watch = watchIdle
		c.mu.Unlock()
		return 0, nil, false
	}
	c.watchEnding = true
	c.TCPConn.SetReadDeadline(aLongTimeAgo)
	done := c.watchDone
	c.mu.Unlock()
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watch, c.watchEnding = watchIdle, false
	var restore time.Time // the deadline the connection's user set last
	if d := c.deadline.Load(); d != 0 {
		restore = time.Unix(0, d)
	}
	c.TCPConn.SetReadDeadline(restore)
	switch {
	case c.watchGotByte:
		c.watchGotByte = false
		b[0] = c.watchByte[0]
		return 1, nil, true
	case c.watchErr != nil:
		return 0, c.watchErr, true // the client is gone: every read says so
	}
	return 0, nil, false
}
