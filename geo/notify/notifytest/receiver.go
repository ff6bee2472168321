// Package notifytest runs local stand-ins for the platforms wangge's
// notify channels post to: a WeCom group robot, a DingTalk custom robot, a
// Feishu custom bot, an SMS gateway and a generic webhook receiver. Each is
// an httptest.Server that checks a request as the platform documents it
// (path, method, content type, JSON shape, content limits, signature and
// timestamp window), answers with the platform's own success and error
// bodies, and records every message it accepts.
//
// The signatures are verified by code written here, independently of
// package notify, so a test that passes shows that notify signs as the
// platform expects, not merely as notify itself verifies.
//
// A receiver can be told to fail: answer an HTTP status or a platform
// error code to the next n requests, hang until the client gives up, or
// answer after a delay.
package notifytest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Received is one message a receiver accepted.
type Received struct {
	// ID is the message ID where the platform carries one (webhook, SMS when
	// the template has {id}); "" for the group robots.
	ID string
	// Duplicate is set when an earlier accepted message had the same ID.
	Duplicate bool
	// Format is "text" or "markdown" (a Feishu interactive card counts as
	// markdown).
	Format string
	Title  string
	Text   string
	// Mentioned is the mobile numbers the message @-mentions (WeCom
	// mentioned_mobile_list, DingTalk at.atMobiles).
	Mentioned []string
	// Phone is the number an SMS is for, or the webhook's recipient.phone.
	Phone string
	// Name, Kind and Fields are the webhook's recipient.name, kind and
	// fields.
	Name   string
	Kind   string
	Fields map[string]string
	// Header and Body are the request as received.
	Header http.Header
	Body   []byte
	At     time.Time
}

// Receiver is a running stand-in for one platform. Its methods are safe
// for concurrent use; WaitFor must be called from the test's goroutine.
type Receiver struct {
	t        testing.TB
	srv      *httptest.Server
	url      string
	platform platform
	quit     chan struct{}

	mu       sync.Mutex
	received []Received
	seen     map[string]bool
	requests int
	refusals []string
	changed  chan struct{} // closed and replaced whenever a message is accepted
	faults   []reply
	hang     bool
	delay    time.Duration
	clock    func() time.Time
}

// platform is what differs between the receivers.
type platform interface {
	// check validates a request as the platform does. It returns the
	// message, or the platform's refusal.
	check(rx *Receiver, r *http.Request, body []byte) (Received, *refusal)
	// errorReply is the platform's answer for an error code.
	errorReply(code int, msg string) reply
	// okReply is the platform's answer when it accepts a message.
	okReply() reply
}

// reply is an HTTP answer.
type reply struct {
	status int
	body   []byte
}

// refusal is a request the platform refuses, with the reason recorded.
type refusal struct {
	reply
	reason string
}

// maxBody is how much of a request a receiver reads.
const maxBody = 1 << 20

func start(t testing.TB, path string, p platform) *Receiver {
	t.Helper()
	rx := &Receiver{
		t:        t,
		platform: p,
		quit:     make(chan struct{}),
		seen:     map[string]bool{},
		changed:  make(chan struct{}),
		clock:    time.Now,
	}
	rx.srv = httptest.NewServer(rx)
	rx.url = rx.srv.URL + path
	t.Cleanup(func() {
		close(rx.quit)
		rx.srv.Close()
	})
	return rx
}

// WebhookURL is the address to configure the channel with, key or token
// included.
func (rx *Receiver) WebhookURL() string { return rx.url }

// Received returns the messages accepted so far, in order.
func (rx *Receiver) Received() []Received {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	return append([]Received(nil), rx.received...)
}

// WaitFor waits until at least n messages were accepted and returns them.
// It fails the test when timeout passes first.
func (rx *Receiver) WaitFor(n int, timeout time.Duration) []Received {
	rx.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		rx.mu.Lock()
		if len(rx.received) >= n {
			got := append([]Received(nil), rx.received...)
			rx.mu.Unlock()
			return got
		}
		changed := rx.changed
		rx.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			rx.mu.Lock()
			got, refused := len(rx.received), append([]string(nil), rx.refusals...)
			rx.mu.Unlock()
			rx.t.Fatalf("waited %s for %d messages, got %d (refused: %q)", timeout, n, got, refused)
			return nil
		}
	}
}

// Requests returns how many requests arrived, accepted or not.
func (rx *Receiver) Requests() int {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	return rx.requests
}

// Refusals returns why each refused request was refused (e.g. "sign not
// match"), in order. Injected failures are not refusals.
func (rx *Receiver) Refusals() []string {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	return append([]string(nil), rx.refusals...)
}

// FailStatus answers the next n valid requests with the HTTP status and
// a short JSON body, instead of accepting them.
func (rx *Receiver) FailStatus(n, status int) {
	rx.FailReply(n, status, `{"error":"injected failure"}`)
}

// FailCode answers the next n valid requests with the platform's error
// body for code: {"errcode":code,"errmsg":msg} for WeCom and DingTalk,
// {"code":code,"msg":msg} for Feishu, {"Code":"code","Message":msg} for
// the SMS gateway, and HTTP status code with {"error":msg} for the
// webhook.
func (rx *Receiver) FailCode(n, code int, msg string) {
	rx.fail(n, rx.platform.errorReply(code, msg))
}

// FailReply answers the next n valid requests with status and body.
func (rx *Receiver) FailReply(n, status int, body string) {
	rx.fail(n, reply{status: status, body: []byte(body)})
}

func (rx *Receiver) fail(n int, r reply) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	for range n {
		rx.faults = append(rx.faults, r)
	}
}

// Hang makes the receiver, while on, answer nothing: each request waits
// until the client gives up (its context ends) or the test ends.
func (rx *Receiver) Hang(on bool) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	rx.hang = on
}

// Delay makes the receiver wait d before it handles each request.
func (rx *Receiver) Delay(d time.Duration) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	rx.delay = d
}

// SetClock sets the clock timestamps are checked against (time.Now by
// default).
func (rx *Receiver) SetClock(now func() time.Time) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	rx.clock = now
}

func (rx *Receiver) now() time.Time {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	return rx.clock()
}

// ServeHTTP handles one request: delay or hang if told to, check it as the
// platform would, answer an injected failure if one is queued, else record
// the message and answer success.
func (rx *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rx.mu.Lock()
	rx.requests++
	delay, hang := rx.delay, rx.hang
	rx.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		case <-rx.quit:
			return
		}
	}
	if hang {
		select {
		case <-r.Context().Done():
		case <-rx.quit:
		}
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return
	}
	msg, ref := rx.platform.check(rx, r, body)
	if ref != nil {
		rx.mu.Lock()
		rx.refusals = append(rx.refusals, ref.reason)
		rx.mu.Unlock()
		write(w, ref.reply)
		return
	}
	rx.mu.Lock()
	if len(rx.faults) > 0 {
		f := rx.faults[0]
		rx.faults = rx.faults[1:]
		rx.mu.Unlock()
		write(w, f)
		return
	}
	msg.Header = r.Header.Clone()
	msg.Body = body
	msg.At = rx.clock()
	if msg.ID != "" {
		msg.Duplicate = rx.seen[msg.ID]
		rx.seen[msg.ID] = true
	}
	rx.received = append(rx.received, msg)
	close(rx.changed)
	rx.changed = make(chan struct{})
	rx.mu.Unlock()
	write(w, rx.platform.okReply())
}

func write(w http.ResponseWriter, r reply) {
	if r.status < 100 || r.status > 999 {
		r.status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(r.status)
	w.Write(r.body)
}

// jsonReply encodes v as the body of an answer with status.
func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return reply{status: status, body: b}
}

// refuse is a refusal with the platform's error body.
func refuse(p platform, code int, msg string) *refusal {
	return &refusal{reply: p.errorReply(code, msg), reason: msg}
}

// randomToken returns n random bytes in hex, for keys and tokens.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
