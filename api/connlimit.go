package api

import (
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ReservedDescriptors is how many file descriptors the automatic total cap
// leaves for everything that is not a client connection: the database
// pool and its listener, log and data files, uploads being read, and the
// loopback reserve.
const ReservedDescriptors = 64

// LoopbackReserve is how many connections from loopback addresses
// (127.0.0.0/8, ::1) may be open beyond the total cap, so that a health
// check or an operator on the host still gets through while the cap is
// full. It is taken from ReservedDescriptors.
const LoopbackReserve = 16

// DefaultMaxConnsPerAddr is the default cap on connections from one
// client address.
const DefaultMaxConnsPerAddr = 256

// ConnLimits caps the connections a listener keeps open.
//
// The policy: a connection is accepted, its remote address read, and it is
// closed at once, before any byte is read, when its address already holds
// PerAddr connections, or when Total connections are open. Loopback
// addresses are counted like any other against PerAddr, but may go up to
// LoopbackReserve connections beyond Total. Closing is preferred to not
// accepting: a queue of unaccepted connections would hold the health check
// behind the flood. IPv6 addresses are counted by their /64 prefix, since
// one host usually owns a whole /64.
type ConnLimits struct {
	// Total caps all the open connections; 0 means DefaultMaxConns().
	Total int
	// PerAddr caps the connections from one address; 0 means no cap (for a
	// server behind a reverse proxy, whose address is every client's).
	PerAddr int
}

// DescriptorLimit returns the process's soft limit on open files
// (RLIMIT_NOFILE), which Go raises to the hard limit at start-up.
func DescriptorLimit() (int, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, err
	}
	return int(min(rl.Cur, math.MaxInt32)), nil
}

// DefaultMaxConns is the automatic total cap: the descriptor limit less
// ReservedDescriptors, or half the limit when that is smaller (a limit of
// 128 or less). It is 960 for the common limit of 1024.
func DefaultMaxConns() int {
	n, err := DescriptorLimit()
	if err != nil {
		return 1024 - ReservedDescriptors
	}
	return max(n-ReservedDescriptors, n/2, 1)
}

// LimitListener returns ln with lim enforced on every connection it
// accepts. Refusals are logged at most every ten seconds, with counts.
func LimitListener(ln net.Listener, lim ConnLimits, log *slog.Logger) *ConnLimitListener {
	if lim.Total <= 0 {
		lim.Total = DefaultMaxConns()
	}
	if log == nil {
		log = slog.Default()
	}
	return &ConnLimitListener{Listener: ln, lim: lim, log: log, perAddr: map[string]int{}}
}

// ConnLimitListener is a net.Listener that enforces ConnLimits.
type ConnLimitListener struct {
	net.Listener
	lim ConnLimits
	log *slog.Logger

	mu      sync.Mutex
	open    int            // connections open now
	perAddr map[string]int // by addrKey; entries at zero are deleted

	refusedAddr, refusedTotal atomic.Int64 // since the last log line
	lastLog                   atomic.Int64 // unix nanoseconds
}

// Accept returns the next connection within the limits, closing those
// over them.
func (l *ConnLimitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, loopback := addrKey(c.RemoteAddr())
		switch l.admit(key, loopback) {
		case admitted:
			return &limitedConn{Conn: c, l: l, key: key}, nil
		case overAddr:
			l.refusedAddr.Add(1)
		case overTotal:
			l.refusedTotal.Add(1)
		}
		c.Close()
		l.logRefusals(key)
	}
}

// Open returns how many connections are open in all, and from the address
// of addr (a "host" or "host:port").
func (l *ConnLimitListener) Open(addr string) (total, fromAddr int) {
	key, _ := addrKey(stringAddr(addr))
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.perAddr[key]
}

// admission is what admit decided.
type admission int

const (
	admitted admission = iota
	overAddr
	overTotal
)

// admit counts a new connection from key in, or says which cap it is over.
func (l *ConnLimitListener) admit(key string, loopback bool) admission {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lim.PerAddr > 0 && l.perAddr[key] >= l.lim.PerAddr {
		return overAddr
	}
	total := l.lim.Total
	if loopback {
		total += LoopbackReserve
	}
	if l.open >= total {
		return overTotal
	}
	l.open++
	l.perAddr[key]++
	return admitted
}

// release counts a closed connection from key out.
func (l *ConnLimitListener) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.perAddr[key]--; l.perAddr[key] <= 0 {
		delete(l.perAddr, key)
	}
}

// logRefusals logs the refusals counted since the last line, at most every
// ten seconds, so that a flood does not flood the log too.
func (l *ConnLimitListener) logRefusals(key string) {
	now := time.Now().UnixNano()
	last := l.lastLog.Load()
	if now-last < int64(10*time.Second) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("closed connections over the connection caps", "over_per_address", l.refusedAddr.Swap(0),
		"over_total", l.refusedTotal.Swap(0), "last_address", key, "per_address_cap", l.lim.PerAddr, "total_cap", l.lim.Total)
}

// limitedConn releases its slot once, on the first Close.
type limitedConn struct {
	net.Conn
	l    *ConnLimitListener
	key  string
	once sync.Once
}

// NetConn returns the connection c wraps (as crypto/tls's Conn does), for
// api/busypoll's connection hooks to find their own.
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.key) })
	return err
}

// addrKey returns the key a connection from addr is counted under (the IP,
// or the /64 prefix of an IPv6 address), and whether it is loopback.
func addrKey(addr net.Addr) (key string, loopback bool) {
	var ip net.IP
	switch a := addr.(type) {
	case *net.TCPAddr:
		ip = a.IP
	default:
		host, _, err := net.SplitHostPort(addr.String())
		if err != nil {
			host = addr.String()
		}
		ip = net.ParseIP(host)
	}
	if ip == nil {
		return addr.String(), false
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String(), v4.IsLoopback()
	}
	if ip.IsLoopback() {
		return ip.String(), true
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64", false
}

// stringAddr is a net.Addr given as text.
type stringAddr string

func (a stringAddr) Network() string { return "tcp" }
func (a stringAddr) String() string  { return string(a) }
