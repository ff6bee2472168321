package busypoll

import (
	"context"
	"errors"
	"net"
	"net/http"
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
// of microseconds that costs more wake-ups than the request itself. A
// server set up by Configure ends that read at once and watches with its
// own read only when the handler is still running WatchAfter later: a
// handler whose client went away is cancelled at most WatchAfter late, and
// a quick one is never watched.
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

// stash is what an ended watch read, which the connection's next read
// returns first: the first byte of a request sent while a handler ran (a
// pipelining client), or the error that said the client went away.
type stash struct {
	b   byte
	has bool
	err error
}

// Configure sets srv's ConnContext and ConnState hooks (calling any it had)
// so that the connections of p's listener watch for clients going away
// lazily (WatchAfter). Without it, net/http watches every request itself.
//
// What changes for handlers: a request whose client goes away within its
// first WatchAfter is cancelled then, not at once, and CloseNotify channels
// are never closed (the project uses the request's context).
func (p *Poller) Configure(srv *http.Server) {
	if p.budget == 0 {
		return // Listen wraps no connection
	}
	prevContext, prevState := srv.ConnContext, srv.ConnState
	srv.ConnContext = func(ctx context.Context, nc net.Conn) context.Context {
		if prevContext != nil {
			ctx = prevContext(ctx, nc)
		}
		return p.connContext(ctx, nc)
	}
	srv.ConnState = func(nc net.Conn, state http.ConnState) {
		p.connState(nc, state)
		if prevState != nil {
			prevState(nc, state)
		}
	}
}

// connContext gives each connection of p a context its watch cancels
// when the client goes away. net/http calls it before the connection's
// first read and before StateNew.
func (p *Poller) connContext(ctx context.Context, nc net.Conn) context.Context {
	c := unwrap(nc)
	if c == nil || c.p != p {
		return ctx
	}
	ctx, c.cancel = context.WithCancel(ctx)
	return ctx
}

// connState follows a connection through net/http's states, on the
// goroutine serving it: before each request (StateNew, then StateIdle
// after the previous one, whether the next comes from the socket or from
// net/http's buffer) the next one-byte read is net/http's background read,
// and a watch left from the request before ends; a hijacked connection is
// the handler's, read as it is.
func (p *Poller) connState(nc net.Conn, state http.ConnState) {
	c := unwrap(nc)
	if c == nil || c.p != p || c.cancel == nil {
		return
	}
	switch state {
	case http.StateNew:
		c.standInNext.Store(true)
	case http.StateIdle:
		c.endWatch()
		c.standInNext.Store(true)
	case http.StateHijacked:
		c.standInNext.Store(false)
		c.hijacked.Store(true)
		c.releaseRequest()
		c.endWatch()
	case http.StateClosed:
		c.disarmWatch()
	}
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

// standIn stands in for net/http's background read of the request being
// served: it arms the watch and says the read is over, with nothing read.
// It returns false, and the read is the socket's, for any other one-byte
// read.
func (c *conn) standIn() bool {
	if !c.standInNext.CompareAndSwap(true, false) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch != watchIdle || c.closed.Load() {
		// A watch armed or reading already: one is enough. A closed
		// connection: net/http's background read can start after Close
		// (body.Close's discard in finishRequest, or after a panic).
		return true
	}
	if d := c.deadline.Load(); d != 0 && d <= time.Now().UnixNano() {
		// net/http's background read came late, after the handler, while
		// net/http ends it with a past deadline: nothing to watch.
		return true
	}
	c.watch = watchArmed
	c.watching.Store(true)
	after := time.Duration(c.p.watchAfter.Load())
	c.armedUntil = time.Now().Add(after) // monotonic: a wall-clock step cannot hold the watch back
	if c.timer == nil {
		c.timer = time.AfterFunc(after, c.startWatch)
	} else {
		c.timer.Reset(after)
	}
	return true
}

// startWatch runs when a handler has run WatchAfter: it starts the read
// that watches for the client going away, unless the watch ended.
func (c *conn) startWatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch != watchArmed || time.Now().Before(c.armedUntil) {
		return // ended, or armed again since this timer fired: its Reset fires later
	}
	c.watch = watchReading
	c.watchDone = make(chan struct{})
	c.p.watches.Add(1)
	go c.watchRead(c.watchDone)
}

// watchRead reads one byte: the first of a pipelined request, or the
// client's close (or a reset), which cancels the connection's context. A
// read ended by a deadline leaves nothing.
func (c *conn) watchRead(done chan struct{}) {
	defer close(done)
	n, err := c.TCPConn.Read(c.watchByte[:])
	c.mu.Lock()
	switch {
	case n == 1:
		c.watchGot = true
	case errors.Is(err, os.ErrDeadlineExceeded):
		// endWatch's deadline, or net/http's while it ends its own
		// background read, or a handler's: none says the client went away.
	case err != nil:
		c.watchErr = err
	}
	gone := c.watchErr != nil
	c.mu.Unlock()
	if gone {
		c.cancel()
	}
}

// endWatch ends the watch, on the goroutine serving the connection once a
// handler is done: it stops the timer, or ends the watch's read, waits for
// it, and sets the socket's read deadline back to the one set last. What
// the read got is stashed for the next read.
func (c *conn) endWatch() {
	c.mu.Lock()
	switch c.watch {
	case watchIdle:
		c.mu.Unlock()
		return
	case watchArmed:
		c.timer.Stop() // if it fired already, startWatch finds the watch idle
		c.watch = watchIdle
		c.watching.Store(false)
		c.mu.Unlock()
		return
	}
	c.watchEnding = true
	c.TCPConn.SetReadDeadline(aLongTimeAgo)
	done := c.watchDone
	c.mu.Unlock()
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watch, c.watchEnding = watchIdle, false
	c.watching.Store(false)
	var restore time.Time
	if d := c.deadline.Load(); d != 0 {
		restore = time.Unix(0, d)
	}
	c.TCPConn.SetReadDeadline(restore)
	if c.watchGot || c.watchErr != nil {
		c.stash = stash{b: c.watchByte[0], has: c.watchGot, err: c.watchErr}
		c.watchGot, c.watchErr = false, nil
		c.stashed.Store(true)
	}
}

// disarmWatch stops an armed timer (the connection closes); a watch that
// is reading ends with the close.
func (c *conn) disarmWatch() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.watch == watchArmed {
		c.timer.Stop()
		c.watch = watchIdle
		c.watching.Store(false)
	}
}

// takeStash returns what an ended watch read, once: its byte (a request's
// first, so c holds a request again) or its error.
func (c *conn) takeStash(b []byte) (n int, err error, ok bool) {
	c.mu.Lock()
	st := c.stash
	c.stash = stash{}
	c.stashed.Store(false)
	c.mu.Unlock()
	switch {
	case st.has:
		b[0] = st.b
		if !c.hijacked.Load() {
			c.lastWait = 0
			c.holdRequest()
		}
		return 1, nil, true
	case st.err != nil:
		c.releaseRequest()
		return 0, st.err, true
	}
	return 0, nil, false
}

// misStoodIn: a read of c's own while a watch is armed or reading, before
// net/http is done with the request (StateIdle, StateHijacked), means the
// one-byte read the stand-in took was not net/http's background read but a
// read of the request's header (bufio filling the last byte of its buffer,
// under a line of 4095 bytes or more): end that watch, before this read
// reads beside it, and stand in for the next one-byte read, net/http's.
func (c *conn) misStoodIn() bool {
	if c.hijacked.Load() {
		return false
	}
	c.endWatch()
	c.standInNext.Store(true)
	return true // this read is not the one to stand in for
}
