package busypoll

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveHTTP serves h over p's listener, configured by p.Configure unless
// stock (net/http's own background reads), and returns its address.
func serveHTTP(t *testing.T, p *Poller, h http.Handler, stock bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	if !stock {
		p.Configure(srv)
	}
	go srv.Serve(p.Listen(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// waitForCancel is a handler that reads its body, tells started, then
// waits up to 20 s for its context to end and tells ended whether it did.
func waitForCancel(started chan<- struct{}, ended chan<- bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		started <- struct{}{}
		select {
		case <-r.Context().Done():
			ended <- true
		case <-time.After(20 * time.Second):
			ended <- false
		}
	})
}

// TestWatch_clientGoneCancelsHandler: a client that goes away while a
// handler runs cancels the handler's context, after a GET and after a POST
// whose body the handler read, with the lazy watch as with net/http's own
// (stock).
func TestWatch_clientGoneCancelsHandler(t *testing.T) {
	for _, tt := range []struct {
		name    string
		request string
		stock   bool
		watches int64
	}{
		{"GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, 1},
		{"POST", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", false, 1},
		{"GET, stock", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPoller(DefaultBudget, 2)
			started, ended := make(chan struct{}, 1), make(chan bool, 1)
			addr := serveHTTP(t, p, waitForCancel(started, ended), tt.stock)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte(tt.request))
			<-started
			time.Sleep(2 * WatchAfter) // the client goes away after the watch began
			c.Close()
			if !<-ended {
				t.Fatal("the handler's context was not cancelled when its client went away")
			}
			if st := p.Stats(); st.Watches != tt.watches {
				t.Errorf("%d watches, want %d", st.Watches, tt.watches)
			}
		})
	}
}

// TestWatch_quickHandlersNotWatched: requests answered before WatchAfter
// are never watched, and a slow one is, once.
func TestWatch_quickHandlersNotWatched(t *testing.T) {
	p := newPoller(DefaultBudget, 2)
	p.watchAfter.Store(int64(time.Minute)) // no quick handler is that slow
	release := make(chan struct{})
	addr := serveHTTP(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		fmt.Fprint(w, r.URL.Path)
	}), false)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	get := func(path string) {
		t.Helper()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
		r, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		if string(body) != path {
			t.Fatalf("GET %s: %q", path, body)
		}
	}
	for i := range 200 {
		get(fmt.Sprintf("/%d", i))
	}
	if st := p.Stats(); st.Watches != 0 {
		t.Fatalf("%d watches of quick requests", st.Watches)
	}
	p.watchAfter.Store(int64(time.Millisecond))
	go func() {
		waitFor(t, "the slow request's watch", func() bool { return p.Stats().Watches == 1 })
		p.watchAfter.Store(int64(time.Minute)) // /after, quick, is not watched however loaded the machine
		close(release)
	}()
	get("/slow")
	get("/after")
	if st := p.Stats(); st.Watches != 1 {
		t.Errorf("%d watches, want the slow request's", st.Watches)
	}
}

// TestWatch_pipelinedRequest: a request that arrives while the previous
// one's handler runs, whose first byte the watch reads, is answered whole
// and in order.
func TestWatch_pipelinedRequest(t *testing.T) {
	p := newPoller(DefaultBudget, 2)
	p.watchAfter.Store(int64(time.Millisecond))
	watched := make(chan struct{})
	addr := serveHTTP(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			waitFor(t, "the watch", func() bool { return p.Stats().Watches == 1 })
			close(watched)
			time.Sleep(20 * time.Millisecond) // the watch reads the second request's first byte
		}
		fmt.Fprint(w, r.Method+" "+r.URL.Path)
	}), false)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET /first HTTP/1.1\r\nHost: x\r\n\r\n"))
	<-watched // the first request was read whole: the second comes while its handler runs
	c.Write([]byte("GET /second HTTP/1.1\r\nHost: x\r\n\r\n"))
	br := bufio.NewReader(c)
	for _, want := range []string{"GET /first", "GET /second"} {
		r, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || string(body) != want {
			t.Fatalf("answer %d %q, want %q", r.StatusCode, body, want)
		}
	}
}

// TestWatch_manyClients: concurrent clients with quick and slow handlers,
// GETs and POSTs, on keep-alive connections, under the race detector: every
// answer is the request's, and no handler of a client still there is
// cancelled.
func TestWatch_manyClients(t *testing.T) {
	p := newPoller(DefaultBudget, 2)
	p.watchAfter.Store(int64(time.Millisecond))
	addr := serveHTTP(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.HasSuffix(r.URL.Path, "/slow") {
			time.Sleep(3 * time.Millisecond)
		}
		if r.Context().Err() != nil {
			http.Error(w, "cancelled", 499)
			return
		}
		fmt.Fprintf(w, "%s %d", r.URL.Path, len(body))
	}), false)
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				path := fmt.Sprintf("/%d/%d", w, i)
				if i%4 == 0 {
					path += "/slow"
				}
				body := strings.Repeat("z", 3000*(i%3))
				req, _ := http.NewRequestWithContext(context.Background(), "POST", "http://"+addr+path, strings.NewReader(body))
				r, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				got, _ := io.ReadAll(r.Body)
				r.Body.Close()
				if want := fmt.Sprintf("%s %d", path, len(body)); r.StatusCode != 200 || string(got) != want {
					t.Errorf("%d %q, want %q", r.StatusCode, got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	if st := p.Stats(); st.Watches == 0 {
		t.Errorf("no slow handler was watched: %+v", st)
	}
}

// pipelineAnswers reads one answer per want from br, each the handler's
// "METHOD /path" (and whatever it adds), in order.
func pipelineAnswers(t *testing.T, br *bufio.Reader, want ...string) {
	t.Helper()
	for _, w := range want {
		r, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("want %q: %v", w, err)
		}
		body, _ := io.ReadAll(r.Body)
		if r.StatusCode != 200 || string(body) != w {
			t.Fatalf("answer %d %q, want %q", r.StatusCode, body, w)
		}
	}
}

// TestWatch_pipelinedFromTheBuffer: requests written at once, so that
// net/http reads the later ones from its buffer, not the socket: a watch
// armed for one request ends before the next (StateIdle), whichever way
// that one is read. /slow runs past WatchAfter, so a watch left running
// would read beside net/http's own one-byte read, reorder the next
// request's bytes, and cancel a live client's context; each answer says
// the method and path the server saw and whether its context was
// cancelled, and the connection stays open. Stock net/http alike.
func TestWatch_pipelinedFromTheBuffer(t *testing.T) {
	for _, stock := range []bool{false, true} {
		t.Run(fmt.Sprintf("stock=%v", stock), func(t *testing.T) {
			p := newPoller(DefaultBudget, 2)
			addr := serveHTTP(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/slow":
					time.Sleep(3 * WatchAfter)
				case "/late":
					time.Sleep(2 * WatchAfter)
					io.ReadAll(r.Body)
					time.Sleep(4 * WatchAfter) // the next request arrives meanwhile
				}
				fmt.Fprintf(w, "%s %s ctx=%v", r.Method, r.URL.Path, r.Context().Err())
			}), stock)
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(c)
			c.Write([]byte("GET /quick HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /check HTTP/1.1\r\nHost: x\r\n\r\n"))
			pipelineAnswers(t, br, "GET /quick ctx=<nil>", "GET /slow ctx=<nil>", "GET /check ctx=<nil>")
			c.Write([]byte("GET /quick HTTP/1.1\r\nHost: x\r\n\r\nPOST /late HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"))
			time.Sleep(3*WatchAfter + WatchAfter/2)
			c.Write([]byte("GET /third HTTP/1.1\r\nHost: x\r\n\r\n"))
			pipelineAnswers(t, br, "GET /quick ctx=<nil>", "POST /late ctx=<nil>", "GET /third ctx=<nil>")
		})
	}
}

// TestWatch_closedConnectionNotWatched: a "Connection: close" request
// answered at once is not watched after its connection closed.
func TestWatch_closedConnectionNotWatched(t *testing.T) {
	p := newPoller(DefaultBudget, 2)
	// Long enough that no quick handler is watched however loaded the
	// machine; a watch armed on a closed connection would still start.
	p.watchAfter.Store(int64(50 * time.Millisecond))
	addr := serveHTTP(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	}), false)
	for range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
		io.ReadAll(c)
		c.Close()
	}
	time.Sleep(150 * time.Millisecond)
	if st := p.Stats(); st.Watches != 0 {
		t.Errorf("%d watches of closed connections", st.Watches)
	}
}

// TestWatch_idleTimeoutAfterWatch: after a watched request the idle
// timeout still closes the connection (endWatch sets the deadline net/http
// set last back on the socket, not none).
func TestWatch_idleTimeoutAfterWatch(t *testing.T) {
	p := newPoller(DefaultBudget, 2)
	p.watchAfter.Store(int64(time.Millisecond))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond)
	}), IdleTimeout: 100 * time.Millisecond}
	p.Configure(srv)
	go srv.Serve(p.Listen(ln))
	defer srv.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	br := bufio.NewReader(c)
	if _, err := http.ReadResponse(br, nil); err != nil {
		t.Fatal(err)
	}
	if p.Stats().Watches != 1 {
		t.Fatalf("not watched: %+v", p.Stats())
	}
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: %v, want the server's close (IdleTimeout)", err)
	}
}

// TestWatch_hijackedOneByteReads: a handler that runs past WatchAfter,
// then hijacks the connection and reads it a byte at a time, gets the
// client's bytes in order (the watch read the first one), and its reads
// are the socket's (no stand-in).
func TestWatch_hijackedOneByteReads(t *testing.T) {
	p := newPoller(DefaultBudget, 2)
	p.watchAfter.Store(int64(time.Millisecond))
	got := make(chan string, 1)
	addr := serveHTTP(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // the watch runs; the client's stream comes
		nc, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			got <- err.Error()
			return
		}
		defer nc.Close()
		if brw.Reader.Buffered() != 0 {
			got <- "buffered"
			return
		}
		nc.SetReadDeadline(time.Now().Add(2 * time.Second))
		var s []byte
		for len(s) < 10 {
			var b [1]byte
			n, err := nc.Read(b[:])
			if err != nil {
				break
			}
			if n == 0 {
				got <- "a one-byte read of the hijacked connection read nothing"
				return
			}
			s = append(s, b[:n]...)
		}
		got <- string(s)
	}), false)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	time.Sleep(5 * time.Millisecond)
	c.Write([]byte("hello"))
	time.Sleep(30 * time.Millisecond) // after the hijack: one-byte reads of the handler's own
	c.Write([]byte("world"))
	if s := <-got; s != "helloworld" {
		t.Fatalf("the hijacked stream read %q, want \"helloworld\" (stats %+v)", s, p.Stats())
	}
	if got := p.inRequest.Load(); got != 0 {
		t.Errorf("the hijacked connection is counted with a request in hand (%d): polling would stop", got)
	}
}

// TestWatch_pastDeadlines: net/http's background read can come late, once
// the handler is done and net/http is ending it with a past deadline: the
// stand-in arms no watch then. And a watch whose read ends at a deadline it
// did not set (net/http's, or a handler's) does not take it for the client
// going away.
func TestWatch_pastDeadlines(t *testing.T) {
	p := newPoller(DefaultBudget, 2)
	p.watchAfter.Store(int64(time.Millisecond))
	server, client := pair(t, p)
	c := server.(*conn)
	ctx := p.connContext(context.Background(), server)
	p.connState(server, http.StateNew)
	exchange(t, server, client, "GET / HTTP/1.1\r\n\r\n")

	// Late: the deadline is already past when the one-byte read comes.
	server.SetReadDeadline(aLongTimeAgo)
	if n, err := server.Read(make([]byte, 1)); n != 0 || err != nil {
		t.Fatalf("the stand-in read %d, %v", n, err)
	}
	c.mu.Lock()
	state := c.watch
	c.mu.Unlock()
	if state != watchIdle {
		t.Fatalf("a watch was armed after the handler (state %d)", state)
	}
	server.SetReadDeadline(time.Time{})
	p.connState(server, http.StateIdle)

	// A deadline set while the watch reads.
	exchange(t, server, client, "GET / HTTP/1.1\r\n\r\n")
	if n, err := server.Read(make([]byte, 1)); n != 0 || err != nil {
		t.Fatalf("the stand-in read %d, %v", n, err)
	}
	waitFor(t, "the watch", func() bool { return p.Stats().Watches == 1 })
	server.SetReadDeadline(time.Now().Add(-time.Second))
	time.Sleep(20 * time.Millisecond)
	server.SetReadDeadline(time.Time{})
	p.connState(server, http.StateIdle)
	if ctx.Err() != nil {
		t.Fatal("a deadline cancelled the connection's context")
	}
	got := readAsync(server, 64) // nothing stashed: the next read is the client's
	client.Write([]byte("GET /next HTTP/1.1\r\n\r\n"))
	if s := <-got; s != "GET /next HTTP/1.1\r\n\r\n" {
		t.Fatalf("next read %q", s)
	}
}

// serveQuiet is serveHTTP with net/http's error log discarded (panics).
func serveQuiet(t *testing.T, p *Poller, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: log.New(io.Discard, "", 0)}
	p.Configure(srv)
	go srv.Serve(p.Listen(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestWatch_longHeaderLineSplitAt4095: a request line (or any header
// line) of which exactly 4095 bytes have arrived makes bufio.Reader.fill
// read b.buf[4095:4096], a ONE-byte read on the main path, between
// StateIdle/StateNew and net/http's background read. The stand-in takes it
// for the background read: it returns (0, nil) (bufio retries) and arms a
// watch while the header is still being read. The watch then starts
// (WatchAfter later) beside net/http's header reads: it can take one of the
// request's bytes (the request is corrupted, the byte is handed to the
// NEXT read at StateIdle), and a quick handler is counted as watched.
// net/http's own background read, which comes later, then reads the socket
// for real, beside the watch.
func TestWatch_longHeaderLineSplitAt4095(t *testing.T) {
	for _, stock := range []bool{false, true} {
		t.Run(fmt.Sprintf("stock=%v", stock), func(t *testing.T) { longHeaderLine(t, stock) })
	}
}

// longHeaderLine is TestWatch_longHeaderLineSplitAt4095 on a server
// configured by Configure or stock.
func longHeaderLine(t *testing.T, stock bool) {
	p := newPoller(DefaultBudget, 2)
	// Within the 25 ms the header takes to arrive, beyond what a quick
	// handler takes on a loaded machine.
	p.watchAfter.Store(int64(10 * time.Millisecond))
	addr := serveHTTP(t, p, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %d %s", r.Method, len(r.URL.Path), r.URL.Path[len(r.URL.Path)-20:])
	}), stock)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	head := "GET /" + strings.Repeat("a", 4095-len("GET /")) // 4095 bytes, no newline
	tail := "0123456789abcdefghij"                           // the path's last 20 bytes
	c.Write([]byte(head))
	time.Sleep(5 * time.Millisecond) // the stand-in is taken, the watch starts
	for i := range len(tail) {       // the rest of the line, a byte at a time
		c.Write([]byte{tail[i]})
		time.Sleep(time.Millisecond)
	}
	c.Write([]byte(" HTTP/1.1\r\nHost: x\r\n\r\n"))
	br := bufio.NewReader(c)
	r, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	want := fmt.Sprintf("GET %d %s", 4095-len("GET ")+len(tail), tail)
	if r.StatusCode != 200 || string(body) != want {
		t.Errorf("answer %d %q, want %q: the watch read beside the header's reads", r.StatusCode, body, want)
	}
	if st := p.Stats(); st.Watches != 0 {
		t.Errorf("%d watches for a request answered at once: a watch was armed while its header was read", st.Watches)
	}
	// The next request on the connection.
	c.Write([]byte("GET /" + strings.Repeat("b", 30) + " HTTP/1.1\r\nHost: x\r\n\r\n"))
	r, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("next request: %v", err)
	}
	body, _ = io.ReadAll(r.Body)
	if want := "GET 31 " + strings.Repeat("b", 20); r.StatusCode != 200 || string(body) != want {
		t.Errorf("next request: answer %d %q, want %q", r.StatusCode, body, want)
	}
}

// TestWatch_lateBackgroundReadAfterClose: net/http can start its
// background read AFTER finishRequest's abortPendingRead, when it reads a
// body the handler left (body.Close's early-close discard hits EOF and
// calls startBackgroundRead): on a handler's panic (serve's deferred
// reqBody.Close) and when the response said "Connection: close". Then it
// closes the connection at once; net/http's goroutine may run after Close,
// and the stand-in arms a watch on the closed connection (the recorded
// deadline is startBackgroundRead's zero). WatchAfter later a goroutine
// reads the closed socket and Watches counts it. GOMAXPROCS 1 makes the
// late goroutine deterministic; with 2 Ps it is a race.
func TestWatch_lateBackgroundReadAfterClose(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, tt := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"panic", func(w http.ResponseWriter, r *http.Request) { panic("boom") }},
		{"Connection: close", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "ok")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPoller(DefaultBudget, 2)
			p.watchAfter.Store(int64(50 * time.Millisecond)) // no quick handler is watched, even on a loaded machine
			addr := serveQuiet(t, p, tt.h)
			for range 5 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				c.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"))
				io.ReadAll(c)
				c.Close()
			}
			time.Sleep(150 * time.Millisecond) // a watch armed on a closed connection would have started
			if st := p.Stats(); st.Watches != 0 {
				t.Errorf("%d watches of closed connections (quick handlers)", st.Watches)
			}
		})
	}
}

// TestWatch_staleTimerStartsNextWatch: a timer that fired as a request
// ended (its startWatch waiting for c.mu while endWatch runs) finds the
// NEXT request's watch armed and starts it at once, not WatchAfter later.
// GOMAXPROCS 1 orders the goroutines; the test holds c.mu to stand for the
// serving goroutine holding it when the timer fires.
func TestWatch_staleTimerStartsNextWatch(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := newPoller(DefaultBudget, 2)
	p.watchAfter.Store(int64(time.Millisecond))
	server, client := pair(t, p)
	c := server.(*conn)
	p.connContext(t.Context(), server)
	p.connState(server, http.StateNew)
	exchange(t, server, client, "GET /1 HTTP/1.1\r\n\r\n")
	server.Read(make([]byte, 1)) // the stand-in: armed, 1 ms
	next := "GET /2 HTTP/1.1\r\n\r\n"
	client.Write([]byte(next)) // pipelined: request 2 is there before request 1 ends
	c.mu.Lock()                // the timer fires; its startWatch waits
	time.Sleep(5 * time.Millisecond)
	p.watchAfter.Store(int64(time.Minute)) // the next request's watch: a minute
	c.mu.Unlock()
	p.connState(server, http.StateIdle) // request 1 ends
	if _, err := io.ReadFull(server, make([]byte, len(next))); err != nil {
		t.Fatal(err)
	}
	server.Read(make([]byte, 1)) // request 2's stand-in: armed, a minute
	time.Sleep(10 * time.Millisecond)
	if st := p.Stats(); st.Watches != 0 {
		t.Errorf("%d watches: request 1's fired timer started request 2's watch a minute early", st.Watches)
	}
	p.connState(server, http.StateIdle)
}
