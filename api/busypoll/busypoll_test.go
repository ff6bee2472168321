package busypoll

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection: the server's,
// accepted through p's listener, and the client's.
func pair(t *testing.T, p *Poller) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pl := p.Listen(ln)
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = pl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

// exchange has client send msg and server read it whole. msg is of two
// bytes or more: one-byte reads are not judged (TestRead_oneByteReadsDoNotPoll).
func exchange(t *testing.T, server, client net.Conn, msg string) {
	t.Helper()
	if _, err := client.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(server, got); err != nil || string(got) != msg {
		t.Fatalf("read %q, %v; want %q", got, err, msg)
	}
}

// waitFor waits until cond holds, failing the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// readAsync reads once from c into a buffer of n bytes in a goroutine.
func readAsync(c net.Conn, n int) <-chan string {
	ch := make(chan string, 1)
	go func() {
		b := make([]byte, n)
		k, err := c.Read(b)
		if err != nil {
			ch <- "error: " + err.Error()
			return
		}
		ch <- string(b[:k])
	}()
	return ch
}

// TestRead_pollFindsData: after a quick exchange, the next read polls, and
// bytes written while it polls end the poll as "data" and are read whole.
func TestRead_pollFindsData(t *testing.T) {
	p := newPoller(time.Minute, 2)
	server, client := pair(t, p)
	exchange(t, server, client, "GET /1\r\n") // the first read never polls: nothing to judge the client by
	if st := p.Stats(); st.Polls != 0 {
		t.Fatalf("the first read polled: %+v", st)
	}
	got := readAsync(server, 64)
	waitFor(t, "the poll", p.polling.Load)
	if _, err := client.Write([]byte("GET /2\r\n")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "GET /2\r\n" {
		t.Fatalf("read %q", s)
	}
	if st := pollStats(p); st != (Stats{Polls: 1, Data: 1}) {
		t.Errorf("stats %+v, want one poll that found data", st)
	}
	if p.polling.Load() {
		t.Error("still polling after the poll ended")
	}
}

// TestRead_otherRequestEndsPoll: a poll ends as soon as another
// connection's request arrives, and its connection then waits in the
// network poller for its own bytes.
func TestRead_otherRequestEndsPoll(t *testing.T) {
	p := newPoller(time.Minute, 2)
	a, aClient := pair(t, p)
	b, bClient := pair(t, p)
	exchange(t, b, bClient, "b1")
	exchange(t, a, aClient, "a1")
	bNext := readAsync(b, 64) // a holds its request: b waits without polling
	waitFor(t, "b's read", func() bool { return !b.(*conn).inRequest.Load() })
	aNext := readAsync(a, 64) // now nobody holds a request: a polls
	waitFor(t, "a's poll", p.polling.Load)
	bClient.Write([]byte("b2")) // b's request arrives
	if s := <-bNext; s != "b2" {
		t.Fatalf("b read %q", s)
	}
	waitFor(t, "a's poll to end", func() bool { return !p.polling.Load() })
	if st := pollStats(p); st != (Stats{Polls: 1, Yielded: 1}) {
		t.Errorf("stats %+v, want one poll that yielded", st)
	}
	if _, err := aClient.Write([]byte("a2")); err != nil {
		t.Fatal(err)
	}
	if s := <-aNext; s != "a2" {
		t.Fatalf("a read %q after its poll yielded", s)
	}
}

// TestRead_noPollWhileAnotherRequestInHand: while another connection has
// a request in hand (its bytes read, its next read not begun), a read parks
// without polling.
func TestRead_noPollWhileAnotherRequestInHand(t *testing.T) {
	p := newPoller(time.Minute, 2)
	a, aClient := pair(t, p)
	b, bClient := pair(t, p)
	exchange(t, a, aClient, "a1")
	exchange(t, b, bClient, "b1") // b now holds its request
	aNext := readAsync(a, 64)
	time.Sleep(20 * time.Millisecond) // a's read has begun (or not yet): either way it must not poll
	if p.polling.Load() || p.Stats().Polls != 0 {
		t.Fatalf("a polled while b had a request in hand: %+v", p.Stats())
	}
	aClient.Write([]byte("a2"))
	if s := <-aNext; s != "a2" {
		t.Fatalf("a read %q", s)
	}
	if st := p.Stats(); st.Polls != 0 {
		t.Errorf("stats %+v, want no poll", st)
	}
	if got := p.inRequest.Load(); got != 2 {
		t.Errorf("%d connections counted with a request in hand, want 2", got)
	}
}

// TestRead_pollExpiresAndBacksOff: a poll that outlasts its budget ends as
// "expired", the read then waits for its bytes as usual, and the next reads
// skip polling 1, then 2, then 4 times, until a poll finds data.
func TestRead_pollExpiresAndBacksOff(t *testing.T) {
	p := newPoller(20*time.Millisecond, 2)
	server, client := pair(t, p)
	exchange(t, server, client, "x1")
	// Each round: a read whose poll (if it polls) expires, then bytes. The
	// client answers after the poll expired but within RepeatFactor budgets
	// of the read starting, so only the backoff keeps a read from polling.
	// Reads 1..9: poll (expires), skip 1, poll, skip 2, poll, skip 4.
	polled := []bool{true, false, true, false, false, true, false, false, false}
	var polls, want []int64
	for i, poll := range polled {
		before := p.Stats()
		got := readAsync(server, 8)
		if poll {
			waitFor(t, fmt.Sprintf("read %d's poll to expire", i+1), func() bool { return p.Stats().Expired > before.Expired })
		} else {
			time.Sleep(25 * time.Millisecond) // a poll, were there one, would expire
		}
		client.Write([]byte("y1"))
		if s := <-got; s != "y1" {
			t.Fatalf("read %q", s)
		}
		polls = append(polls, p.Stats().Polls)
		want = append(want, before.Polls)
		if poll {
			want[i]++
		}
	}
	if fmt.Sprint(polls) != fmt.Sprint(want) {
		t.Errorf("polls after each read %v, want %v", polls, want)
	}
	if st := p.Stats(); st.Expired != st.Polls || st.Data != 0 {
		t.Errorf("stats %+v, want every poll expired", st)
	}
}

// TestRead_deadlineEndsPoll: a poll ends at the connection's read deadline
// even with a longer budget, and the read reports the deadline as the net
// package does.
func TestRead_deadlineEndsPoll(t *testing.T) {
	p := newPoller(5*time.Second, 2)
	server, client := pair(t, p)
	exchange(t, server, client, "x1")
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err := server.Read(make([]byte, 8))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read: %v, want the deadline", err)
	}
	if took := time.Since(start); took > 2500*time.Millisecond {
		t.Errorf("the read took %v: the poll ran past the deadline", took)
	}
	if st := pollStats(p); st != (Stats{Polls: 1, Expired: 1}) {
		t.Errorf("stats %+v, want one poll that expired", st)
	}
	// No deadline again: the next read waits for its bytes.
	server.SetDeadline(time.Time{})
	got := readAsync(server, 8)
	client.Write([]byte("z1"))
	if s := <-got; s != "z1" {
		t.Fatalf("read %q", s)
	}
}

// TestRead_slowClientNotPolled: a connection whose last request came more
// than RepeatFactor budgets after its wait began parks without polling.
func TestRead_slowClientNotPolled(t *testing.T) {
	p := newPoller(time.Millisecond, 2)
	server, client := pair(t, p)
	exchange(t, server, client, "x1")
	got := readAsync(server, 8)
	waitFor(t, "the poll to expire", func() bool { return p.Stats().Expired == 1 })
	time.Sleep(20 * RepeatFactor * time.Millisecond) // the client is slow
	client.Write([]byte("y1"))
	if s := <-got; s != "y1" {
		t.Fatalf("read %q", s)
	}
	for i := range 3 { // whatever the backoff says, a slow client is not polled
		got = readAsync(server, 8)
		time.Sleep(20 * RepeatFactor * time.Millisecond)
		client.Write([]byte{'a' + byte(i), '1'})
		if s := <-got; s != string(rune('a'+i))+"1" {
			t.Fatalf("read %q", s)
		}
	}
	if st := p.Stats(); st.Polls != 1 {
		t.Errorf("stats %+v, want only the first read to poll", st)
	}
}

// TestRead_oneByteReadsDoNotPoll: a one-byte read (net/http's background
// read while a handler runs) parks at once.
func TestRead_oneByteReadsDoNotPoll(t *testing.T) {
	p := newPoller(time.Minute, 2)
	server, client := pair(t, p)
	exchange(t, server, client, "xy")
	got := readAsync(server, 1)
	time.Sleep(20 * time.Millisecond)
	if p.polling.Load() {
		t.Fatal("a one-byte read polls")
	}
	client.Write([]byte("z"))
	if s := <-got; s != "z" {
		t.Fatalf("read %q", s)
	}
	if st := p.Stats(); st.Polls != 0 {
		t.Errorf("stats %+v, want no poll", st)
	}
}

// TestRead_clientCloses: a close that arrives while polling ends the poll
// as "data" and the read returns io.EOF, as the net package's does.
func TestRead_clientCloses(t *testing.T) {
	p := newPoller(time.Minute, 2)
	server, client := pair(t, p)
	exchange(t, server, client, "x1")
	done := make(chan error, 1)
	go func() { _, err := server.Read(make([]byte, 8)); done <- err }()
	waitFor(t, "the poll", p.polling.Load)
	client.Close()
	if err := <-done; err != io.EOF {
		t.Fatalf("read: %v, want io.EOF", err)
	}
	if st := pollStats(p); st != (Stats{Polls: 1, Data: 1}) {
		t.Errorf("stats %+v", st)
	}
}

// TestClose_releasesRequest: a connection closed with a request in hand,
// even while its read returns, is counted out exactly once, so polling
// resumes for the others.
func TestClose_releasesRequest(t *testing.T) {
	p := newPoller(time.Minute, 2)
	for range 50 {
		server, client := pair(t, p)
		client.Write([]byte("abc"))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); server.Read(make([]byte, 8)) }()
		go func() { defer wg.Done(); server.Close() }()
		wg.Wait()
		server.Close()
	}
	if got := p.inRequest.Load(); got != 0 {
		t.Fatalf("%d closed connections still counted with a request in hand", got)
	}
	// The narrow case, made to happen: Close runs after a read returned
	// bytes and before the read counted its request.
	server, _ := pair(t, p)
	server.Close()
	server.(*conn).holdRequest()
	if got := p.inRequest.Load(); got != 0 {
		t.Fatalf("a connection closed before its request was counted is counted (%d)", got)
	}
}

// TestNew_off: a budget of 0, or one P, leaves the listener as it was.
func TestNew_off(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, p := range []*Poller{New(0), newPoller(DefaultBudget, 1), newPoller(-time.Second, 2)} {
		if p.Budget() != 0 || p.Listen(ln) != ln {
			t.Errorf("budget %v: polling is on", p.Budget())
		}
	}
	if p := newPoller(DefaultBudget, 2); p.Budget() != DefaultBudget || p.Listen(ln) == ln {
		t.Errorf("two Ps: polling is off")
	}
}

// TestHTTP_keepAlive: net/http over a polled listener, set up by
// Configure, answers concurrent requests on keep-alive connections, GETs and
// POSTs with bodies, exactly as over the plain listener; once they are idle
// no connection is counted with a request in hand.
func TestHTTP_keepAlive(t *testing.T) {
	p := newPoller(DefaultBudget, 2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(body))
	}), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	p.Configure(srv)
	go srv.Serve(p.Listen(ln))
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := "http://" + ln.Addr().String()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				var r *http.Response
				var err error
				want := fmt.Sprintf("GET /%d/%d 0", w, i)
				if i%3 == 0 {
					body := bytes.Repeat([]byte("z"), 10_000*(i%7))
					want = fmt.Sprintf("POST /%d/%d %d", w, i, len(body))
					r, err = client.Post(fmt.Sprintf("%s/%d/%d", url, w, i), "text/plain", bytes.NewReader(body))
				} else {
					r, err = client.Get(fmt.Sprintf("%s/%d/%d", url, w, i))
				}
				if err != nil {
					t.Error(err)
					return
				}
				got, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if string(got) != want {
					t.Errorf("got %q, want %q", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Every connection is idle now, waiting for a request: none is counted
	// with one in hand (were one, polling would stop for all).
	waitFor(t, "the idle connections to be counted out", func() bool { return p.inRequest.Load() == 0 })
	tr.CloseIdleConnections()
	srv.Close()
	// Every poll ends (a poll under way when the server closed, at its
	// budget), and in one of the three ways.
	waitFor(t, "the polls to end", func() bool {
		st := p.Stats()
		return !p.polling.Load() && st.Polls == st.Data+st.Expired+st.Yielded
	})
	t.Logf("stats %+v", p.Stats())
}

// pollStats is p's Stats without the InRequest gauge, for comparing the
// counts of polls.
func pollStats(p *Poller) Stats {
	st := p.Stats()
	st.InRequest = 0
	return st
}
