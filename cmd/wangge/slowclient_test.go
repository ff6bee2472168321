package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"wangge/geo/pgstore/pgtest"
)

// loopbackClient is an HTTP client whose connections leave from ip, one of
// the 127.0.0.0/8 addresses Linux delivers to this host. Keep-alive is off,
// so that each request tests the listener's caps afresh.
func loopbackClient(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}}
}

// slowRequest is the head of the attack: a POST that declares a megabyte
// and sends 11 bytes of it.
const slowRequest = "POST /v1/locate HTTP/1.1\r\nHost: wangge\r\nContent-Type: application/json\r\n" +
	"Content-Length: 1000000\r\n\r\n{\"points\":["

// TestSlowClients_connCaps: 2,000 connections from 127.0.0.1 each send
// the head of a POST declaring a megabyte and 11 bytes of its body, then
// hang (the body deadline is set to a minute here, so that they hold what
// they get for the whole test). With a per-address cap of 100, exactly 100
// are held and the other 1,900 are closed at once; another client, from
// 127.0.0.2, is answered meanwhile, while a new one from 127.0.0.1 is
// refused. Once the slow clients go, 127.0.0.1 is answered again.
func TestSlowClients_connCaps(t *testing.T) {
	const slow, perAddr = 2000, 100
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir = pgtest.ConnString(t), ""
	cfg.MaxConnsPerAddr = perAddr
	cfg.BodyTimeout = time.Minute
	s := startServer(t, cfg)
	lon, lat, code := demoPoint(t)
	target := fmt.Sprintf("http://%s/v1/locate?lon=%v&lat=%v", s.main.Addr, lon, lat)

	conns := make([]net.Conn, slow)
	t.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		dialErr error
		next    = make(chan int)
	)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, Timeout: 10 * time.Second}
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := d.Dial("tcp", s.main.Addr)
				if err != nil {
					mu.Lock()
					dialErr = err
					mu.Unlock()
					continue
				}
				conns[i] = c
				// A refused connection may already be closed: the write
				// can fail, which is what the caps are for.
				c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				io.WriteString(c, slowRequest)
			}
		}()
	}
	for i := range slow {
		next <- i
	}
	close(next)
	wg.Wait()
	if dialErr != nil {
		t.Fatalf("dialing the slow clients: %v", dialErr)
	}

	// While they hang, a client from another address is answered.
	res, err := loopbackClient("127.0.0.2").Get(target)
	if err != nil {
		t.Fatalf("GET /v1/locate from 127.0.0.2 while %d slow clients hang: %v", slow, err)
	}
	var got locateAnswer
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || json.Unmarshal(body, &got) != nil || got.Grid.Code != code {
		t.Fatalf("GET /v1/locate from 127.0.0.2: %d %s, want 200 and grid %s", res.StatusCode, body, code)
	}
	// A new client from the slow clients' address is over its cap.
	if res, err := loopbackClient("127.0.0.1").Get(target); err == nil {
		res.Body.Close()
		t.Errorf("GET /v1/locate from 127.0.0.1 with %d of its connections open: %s, want the connection closed", perAddr, res.Status)
	}

	// Exactly the cap is held: those still wait for their body; the rest
	// were closed without an answer.
	// Each waits for a byte in its own goroutine: once a deadline has
	// passed, Read reports it without looking at the connection.
	var held, closed, answered int
	deadline := time.Now().Add(3 * time.Second)
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(deadline)
			n, err := c.Read(make([]byte, 1))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case n > 0:
				answered++
			case errors.Is(err, os.ErrDeadlineExceeded):
				held++
			default:
				closed++
			}
		}()
	}
	wg.Wait()
	if answered > 0 {
		t.Errorf("%d slow clients got an answer while their body was still due", answered)
	}
	if held != perAddr || closed != slow-perAddr {
		t.Errorf("%d slow connections held and %d closed, want %d held (the per-address cap) and %d closed", held, closed, perAddr, slow-perAddr)
	}

	// Once they go, their address is served again.
	for _, c := range conns {
		c.Close()
	}
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		res, err := loopbackClient("127.0.0.1").Get(target)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("127.0.0.1 still refused 10 s after its slow clients left: %v", err)
		}
	}
}

// TestSlowClients_bodyDeadline: with a 1 s grace and a rate of 1 KiB/s, a
// body that trickles at 50 B/s is cut with 408 problem+json, declared or
// chunked; headers that trickle are cut at the header timeout; and a body
// sent at 2 KiB/s, which takes three times the grace, goes through, since
// the deadline scales with the body.
func TestSlowClients_bodyDeadline(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DatabaseURL, cfg.DataDir = pgtest.ConnString(t), ""
	cfg.HeaderTimeout = time.Second
	cfg.BodyTimeout = time.Second
	cfg.BodyMinRate = 1024
	s := startServer(t, cfg)
	lon, lat, code := demoPoint(t)

	// send writes head, then the pieces of body every interval, and reads
	// the answer; it stops sending once the server answers or hangs up.
	send := func(t *testing.T, head string, pieces []string, interval time.Duration) (*http.Response, string) {
		t.Helper()
		c, err := net.Dial("tcp", s.main.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		go func() {
			if _, err := io.WriteString(c, head); err != nil {
				return
			}
			for _, p := range pieces {
				select {
				case <-ctx.Done():
					return
				case <-time.After(interval):
				}
				if _, err := io.WriteString(c, p); err != nil {
					return
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res, string(b)
	}
	want408 := func(t *testing.T, res *http.Response, body string) {
		t.Helper()
		var p struct {
			Type   string
			Status int
		}
		if res.StatusCode != http.StatusRequestTimeout || res.Header.Get("Content-Type") != "application/problem+json" ||
			json.Unmarshal([]byte(body), &p) != nil || p.Type != "/problems/request-timeout" || p.Status != 408 {
			t.Fatalf("%s %s %s, want 408 problem+json of type /problems/request-timeout", res.Status, res.Header.Get("Content-Type"), body)
		}
		if !res.Close {
			t.Errorf("the connection is kept open after a body was cut (Connection: %q)", res.Header.Get("Connection"))
		}
	}
	trickle := make([]string, 100) // 1,000 bytes at 50 B/s: 20 s if never cut
	for i := range trickle {
		trickle[i] = "          "
	}

	t.Run("declared body trickling at 50 B/s", func(t *testing.T) {
		head := "POST /v1/locate HTTP/1.1\r\nHost: wangge\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"points\":["
		res, body := send(t, head, trickle, 200*time.Millisecond)
		want408(t, res, body)
	})
	t.Run("chunked body trickling at 50 B/s", func(t *testing.T) {
		chunks := make([]string, len(trickle))
		for i, p := range trickle {
			chunks[i] = fmt.Sprintf("%x\r\n%s\r\n", len(p), p)
		}
		head := "POST /v1/locate HTTP/1.1\r\nHost: wangge\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
		res, body := send(t, head, chunks, 200*time.Millisecond)
		want408(t, res, body)
	})
	t.Run("headers trickling", func(t *testing.T) {
		c, err := net.Dial("tcp", s.main.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /v1/locate HTTP/1.1\r\nHost: wangge\r\n")
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if n, err := c.Read(make([]byte, 512)); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("a request whose headers never end was still open after 30 s (header timeout 1 s)")
		} else if n > 0 {
			t.Logf("answered before closing (%d bytes)", n)
		}
	})
	t.Run("body at twice the rate, longer than the grace", func(t *testing.T) {
		body := fmt.Sprintf(`{"points":[[%v,%v]]}`, lon, lat)
		body += strings.Repeat(" ", 6144-len(body))
		var pieces []string
		for i := 0; i < len(body); i += 512 {
			pieces = append(pieces, body[i:min(i+512, len(body))])
		}
		head := fmt.Sprintf("POST /v1/locate HTTP/1.1\r\nHost: wangge\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
		start := time.Now()
		res, got := send(t, head, pieces, 250*time.Millisecond)
		if res.StatusCode != 200 || !strings.Contains(got, `"grid":"`+code+`"`) {
			t.Fatalf("%s %s, want 200 locating the point in %s", res.Status, got, code)
		}
		if took := time.Since(start); took < 2*time.Second {
			t.Errorf("the body took %v to send, want more than twice the grace for the test to mean anything", took)
		}
	})
}
