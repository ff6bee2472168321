// Package busypoll spares a server's connections the wake-ups that cost
// more than a quick request itself: it polls a connection for a few tens of
// microseconds after it has answered, before the connection's goroutine
// parks in Go's network poller, and on a server set up by Configure it
// watches for a client going away only when a handler runs longer than
// WatchAfter (watch.go), where net/http watches every request.
//
// Why: a client that sends its next request as soon as it has read an
// answer (a dispatcher's script, a proxy with one busy connection, a load
// test) otherwise finds the server asleep. The goroutine parks, its thread
// and then its CPU go idle, and on a virtual machine waking an idle vCPU
// takes tens of microseconds, more than the request's own work
// (BENCHMARKS.md, "The single point at one connection"). Linux's
// SO_BUSY_POLL does the same in the kernel, for network devices only, not
// for loopback or a reverse proxy's local connection.
//
// The rules that keep a poll from costing anyone else:
//
//   - One connection polls at a time, and only while no other connection
//     has a request in hand: the server has nothing else to do. A poll ends
//     as soon as another connection's request arrives.
//   - Between looks the thread yields its CPU (sched_yield) to any other
//     runnable thread, such as PostgreSQL on the same machine: a poll keeps
//     an idle CPU awake, it does not take a busy one.
//   - A connection polls only when its previous request came within
//     RepeatFactor budgets of its wait starting: an idle keep-alive
//     connection parks at once. After a poll that expired (a client farther
//     away than the budget) it skips the next reads' polls, 1, 2, 4, … up
//     to MaxSkip of them, until a poll finds data again.
//   - A poll never outlasts its budget or the connection's read deadline.
//   - One-byte reads never poll: they are net/http's background read,
//     which waits while a handler runs (or, after Configure, which ends at
//     once and leaves the waiting to the lazy watch).
//   - With GOMAXPROCS 1 there is no polling: the poll would hold the only P.
//
// A poll only watches for bytes (a one-byte MSG_PEEK); the read itself, its
// errors and deadlines are the net package's.
package busypoll

import (
	"context"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultBudget is how long a connection is polled at most, by default:
// above a quick client's turn-around on loopback or a LAN (20–40 µs), below
// what a parked connection costs to wake on a virtual machine.
const DefaultBudget = 50 * time.Microsecond

// MaxBudget is the longest budget worth setting (cmd/wangge's --busy-poll
// stops at it): past it, parking is cheaper than polling on any machine.
const MaxBudget = time.Millisecond

// RepeatFactor: a connection polls only when its last read waited at most
// this many budgets for its first byte.
const RepeatFactor = 5

// MaxSkip is the most reads a connection skips polling after polls that
// expired: a client that is never quick enough costs one poll in MaxSkip+1
// reads.
const MaxSkip = 64

// Poller is one server's polling state: which of its connections have a
// request in hand, whether one is polling, and what polls came to.
type Poller struct {
	budget     time.Duration // 0: never poll
	watchAfter atomic.Int64  // WatchAfter, in nanoseconds; tests change it

	inRequest atomic.Int32 // connections between a request's first bytes and their next read
	polling   atomic.Bool  // one connection is polling

	polls, data, expired, yielded atomic.Int64
	watches                       atomic.Int64
}

// Stats counts polls by how they ended.
type Stats struct {
	// Polls begun. Every poll ends in exactly one of the three below.
	Polls int64
	// Data: the client's bytes (or its close) came while polling.
	Data int64
	// Expired: the budget or the read deadline passed first.
	Expired int64
	// Yielded: another connection's request arrived first.
	Yielded int64
	// Watches of a connection for its client going away, started because a
	// handler ran longer than WatchAfter (see Configure).
	Watches int64
	// InRequest: connections with a request in hand now. While any is, no
	// connection polls.
	InRequest int64
}

// New returns a Poller that polls each connection for at most budget; 0
// turns polling off, and so does GOMAXPROCS 1.
func New(budget time.Duration) *Poller {
	return newPoller(budget, runtime.GOMAXPROCS(0))
}

func newPoller(budget time.Duration, procs int) *Poller {
	if procs < 2 || !supported || budget < 0 {
		budget = 0
	}
	p := &Poller{budget: budget}
	p.watchAfter.Store(int64(WatchAfter))
	return p
}

// Budget returns how long a connection is polled at most; 0 when polling
// is off.
func (p *Poller) Budget() time.Duration { return p.budget }

// Stats returns the counts of polls since New.
func (p *Poller) Stats() Stats {
	return Stats{Polls: p.polls.Load(), Data: p.data.Load(), Expired: p.expired.Load(), Yielded: p.yielded.Load(),
		Watches: p.watches.Load(), InRequest: int64(p.inRequest.Load())}
}

// Listen returns ln, whose TCP connections p polls (and watches lazily,
// after Configure). Other connections, and every connection when polling
// is off, are ln's own.
func (p *Poller) Listen(ln net.Listener) net.Listener {
	if p.budget == 0 {
		return ln
	}
	return &listener{Listener: ln, p: p}
}

type listener struct {
	net.Listener
	p *Poller
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c, nil
	}
	pc := &conn{TCPConn: tc, p: l.p, raw: raw, lastWait: time.Duration(1<<63 - 1)}
	pc.pollFD = pc.poll
	return pc, nil
}

// conn is a TCP connection that polls before its reads park. Its reads come
// from one goroutine at a time (net/http's), which alone uses lastWait and
// the poll's fields; Close and the deadlines may come from any goroutine.
type conn struct {
	*net.TCPConn
	p   *Poller
	raw syscall.RawConn

	inRequest atomic.Bool  // counted in p.inRequest
	closed    atomic.Bool  // Close was called
	deadline  atomic.Int64 // the read deadline, Unix nanoseconds; 0: none

	lastWait time.Duration // how long the last read waited for its first bytes
	skip     int           // reads left that do not poll, after polls that expired
	backoff  int           // what skip is set to after the next expired poll

	// The poll's end and outcome, passed to and from poll through
	// raw.Control (pollFD is the method value, made once per connection).
	pollEnd int64
	outcome *atomic.Int64 // one of p.data, p.expired, p.yielded
	peek    [1]byte
	pollFD  func(fd uintptr)

	// The watch for the client going away while a handler runs, in place of
	// net/http's background read (watch.go). cancel is set by Configure's
	// ConnContext before the first read, and nil without it.
	cancel      context.CancelFunc
	standInNext atomic.Bool // the next one-byte read is net/http's background read: stand in for it
	hijacked    atomic.Bool // the handler took the connection (StateHijacked)
	stashed     atomic.Bool // stash holds what an ended watch read, for the next read
	watching    atomic.Bool // watch is not watchIdle
	mu          sync.Mutex  // guards the watch's fields below, and the socket's read deadline
	watch       watchState
	timer       *time.Timer
	watchDone   chan struct{} // closed when the watch's read returned
	watchEnding bool          // endWatch set the past deadline
	armedUntil  time.Time     // when the armed watch is due: an earlier timer's late startWatch leaves it
	watchByte   [1]byte
	watchGot    bool  // the watch read watchByte
	watchErr    error // the watch's read failed (the client went away)
	stash       stash
}

// Read reads like the TCP connection's, after polling for the first bytes
// when the rules of the package allow. What an ended watch read comes first.
func (c *conn) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return c.TCPConn.Read(b)
	}
	// net/http reads nothing while it waits for its background read: a
	// read while a watch is armed or reading means the stand-in took one of
	// the request's own reads (misStoodIn). The watch ends first, so that
	// what it read is stashed and comes first.
	mis := c.watching.Load() && c.misStoodIn()
	if c.stashed.Load() {
		if n, err, ok := c.takeStash(b); ok {
			return n, err
		}
	}
	if len(b) == 1 {
		if !mis && c.standIn() {
			return 0, nil
		}
		return c.TCPConn.Read(b)
	}
	if c.hijacked.Load() {
		return c.TCPConn.Read(b)
	}
	c.releaseRequest()
	start := time.Now()
	if c.skip > 0 {
		c.skip--
	} else if c.lastWait <= RepeatFactor*c.p.budget {
		c.pollOnce(start)
	}
	n, err := c.TCPConn.Read(b)
	if n > 0 {
		c.lastWait = time.Since(start)
		c.holdRequest()
	} else {
		c.lastWait = time.Duration(1<<63 - 1)
	}
	return n, err
}

// pollOnce polls c's socket until bytes come, the budget or the read
// deadline passes, or another connection's request arrives, unless another
// connection has a request in hand or is polling.
func (c *conn) pollOnce(start time.Time) {
	p := c.p
	// GOMAXPROCS is read here, not only in New: the runtime may lower it
	// when the container's CPU limit changes, and with one P the poll would
	// hold it.
	if p.inRequest.Load() > 0 || runtime.GOMAXPROCS(0) < 2 || !p.polling.CompareAndSwap(false, true) {
		return
	}
	defer p.polling.Store(false)
	end := start.Add(p.budget).UnixNano()
	if d := c.deadline.Load(); d != 0 && d < end {
		end = d
	}
	c.pollEnd, c.outcome = end, &p.expired
	p.polls.Add(1)
	if err := c.raw.Control(c.pollFD); err != nil {
		c.outcome = &p.expired // closed: the read reports it
	}
	c.outcome.Add(1)
	switch c.outcome {
	case &p.data:
		c.backoff = 0
	case &p.expired:
		c.backoff = min(max(2*c.backoff, 1), MaxSkip)
		c.skip = c.backoff
	}
}

// holdRequest counts c among the connections with a request in hand.
func (c *conn) holdRequest() {
	if c.inRequest.CompareAndSwap(false, true) {
		c.p.inRequest.Add(1)
		// Close ran between the read and the count: take it back, once.
		if c.closed.Load() {
			c.releaseRequest()
		}
	}
}

// releaseRequest counts c out, once.
func (c *conn) releaseRequest() {
	if c.inRequest.CompareAndSwap(true, false) {
		c.p.inRequest.Add(-1)
	}
}

func (c *conn) Close() error {
	c.closed.Store(true)
	c.releaseRequest()
	c.disarmWatch() // a watch that is reading ends with the close
	err := c.TCPConn.Close()
	if c.cancel != nil {
		c.cancel()
	}
	return err
}

func (c *conn) SetDeadline(t time.Time) error {
	if err := c.TCPConn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

// SetReadDeadline records t, for the polls and for endWatch, which sets it
// on the socket itself once a watch's read it is ending is over.
func (c *conn) SetReadDeadline(t time.Time) error {
	var d int64
	if !t.IsZero() {
		d = max(t.UnixNano(), 1)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline.Store(d)
	if c.watchEnding {
		return nil
	}
	return c.TCPConn.SetReadDeadline(t)
}
