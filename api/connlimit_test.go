package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"wangge/api/busypoll"
)

// TestConnLimits_admit walks the caps through a sequence of connections
// opening and closing; each step names what it shows.
func TestConnLimits_admit(t *testing.T) {
	const remote, other, local = "203.0.113.7", "198.51.100.1", "127.0.0.1"
	l := LimitListener(nil, ConnLimits{Total: 4, PerAddr: 2}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	steps := []struct {
		name     string
		key      string
		loopback bool
		release  bool
		want     admission
	}{
		{"first from remote", remote, false, false, admitted},
		{"second from remote: at its cap", remote, false, false, admitted},
		{"third from remote: over the per-address cap", remote, false, false, overAddr},
		{"another address is not held back by remote", other, false, false, admitted},
		{"another address up to its own cap; total now 4", other, false, false, admitted},
		{"a third address: over the total", "192.0.2.9", false, false, overTotal},
		{"loopback beyond the total: the reserve", local, true, false, admitted},
		{"loopback is still capped per address", local, true, false, admitted},
		{"third from loopback: over the per-address cap", local, true, false, overAddr},
		{"remote closes one", remote, false, true, 0},
		{"total still counts loopback's reserve: over", "192.0.2.9", false, false, overTotal},
		{"loopback closes one", local, true, true, 0},
		{"loopback closes the other; total 3", local, true, true, 0},
		{"room again under the total", "192.0.2.9", false, false, admitted},
		{"remote back under its cap, but the total is full", remote, false, false, overTotal},
	}
	for _, s := range steps {
		if s.release {
			l.release(s.key)
			continue
		}
		if got := l.admit(s.key, s.loopback); got != s.want {
			t.Errorf("%s: admit(%s) = %d, want %d", s.name, s.key, got, s.want)
		}
	}
}

// TestConnLimits_addrKey: the key a connection is counted under.
func TestConnLimits_addrKey(t *testing.T) {
	for _, c := range []struct {
		name, addr, key string
		loopback        bool
	}{
		{"IPv4", "203.0.113.7:5000", "203.0.113.7", false},
		{"IPv4 loopback, not the usual one", "127.0.0.2:5000", "127.0.0.2", true},
		{"IPv4-mapped IPv6 counts as IPv4", "[::ffff:203.0.113.7]:5000", "203.0.113.7", false},
		{"IPv6 counts by /64", "[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64", false},
		{"another IPv6 in the same /64", "[2001:db8:1:2:bbbb::9]:443", "2001:db8:1:2::/64", false},
		{"IPv6 loopback", "[::1]:443", "::1", true},
	} {
		a, err := net.ResolveTCPAddr("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if key, lo := addrKey(a); key != c.key || lo != c.loopback {
			t.Errorf("%s: addrKey(%s) = %q, %v; want %q, %v", c.name, c.addr, key, lo, c.key, c.loopback)
		}
	}
}

// TestConnLimits_listener: over a real socket, with a per-address cap of
// 3, a fourth connection from 127.0.0.1 is closed unanswered while
// 127.0.0.2 is still accepted; closing one frees its slot.
func TestConnLimits_listener(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := LimitListener(tcp, ConnLimits{PerAddr: 3}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer l.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", tcp.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	take := func(what string) net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was not accepted", what)
			return nil
		}
	}
	var held []net.Conn
	for range 3 {
		dial("127.0.0.1")
		held = append(held, take("a connection under the cap"))
	}
	over := dial("127.0.0.1")
	over.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := over.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Error("the fourth connection from 127.0.0.1 was left open, want it closed")
	}
	dial("127.0.0.2")
	held = append(held, take("a connection from 127.0.0.2"))
	if total, from := l.Open("127.0.0.1"); total != 4 || from != 3 {
		t.Errorf("open: %d in all, %d from 127.0.0.1; want 4 and 3", total, from)
	}

	held[0].Close()
	held[0].Close() // a second Close releases nothing more
	dial("127.0.0.1")
	take("a connection after one was closed")
	if total, from := l.Open("127.0.0.1"); total != 4 || from != 3 {
		t.Errorf("after one closed and one more came: %d in all, %d from 127.0.0.1; want 4 and 3", total, from)
	}
}

// TestLimitListener_busypollFindsItsConn: the hooks api/busypoll's
// Configure sets find their connection inside the limit's wrapper
// (NetConn), so that `wangge serve`, which wraps the polled listener in the
// limits, watches lazily.
func TestLimitListener_busypollFindsItsConn(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := busypoll.New(busypoll.DefaultBudget)
	if p.Budget() == 0 {
		t.Fatal("polling is off (GOMAXPROCS 1?): the listener would not wrap its connections")
	}
	ln := LimitListener(p.Listen(tcp), ConnLimits{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var srv http.Server
	p.Configure(&srv)
	parent := context.Background()
	if ctx := srv.ConnContext(parent, c); ctx == parent {
		t.Error("ConnContext did not find the polled connection inside the limited one")
	}
}
