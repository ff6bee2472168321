package busypoll

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// serveHTTP serves h over p's listener, with p.ConnContext unless
// noConnContext, and returns its address.
func serveHTTP(t *testing.T, p *Poller, h http.Handler, noConnContext bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	if !noConnContext {
		srv.ConnContext = p.ConnContext
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
// (no ConnContext).
func TestWatch_clientGoneCancelsHandler(t *testing.T) {
	for _, tt := range []struct {
		name          string
		request       string
		noConnContext bool
		watches       int64
	}{
		{"GET", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, 1},
		{"POST", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", false, 1},
		{"GET without ConnContext", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPoller(DefaultBudget, 2)
			started, ended := make(chan struct{}, 1), make(chan bool, 1)
			addr := serveHTTP(t, p, waitForCancel(started, ended), tt.noConnContext)
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
