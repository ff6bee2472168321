package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wangge/geo"
)

// Sender delivers messages through one channel.
type Sender interface {
	// Send delivers m once. It returns nil when the platform accepted the
	// message, and a *SendError otherwise (IsRetryable tells the worker
	// whether to try again). Send never blocks on a rate limit: it fails
	// with a retryable error that says how long to wait. It is safe for
	// concurrent use.
	Send(ctx context.Context, m Message) error
}

// maxAnswer is how much of an answer is read; the rest is left unread.
const maxAnswer = 64 << 10

// userAgent is sent with every request unless a configured header sets one.
const userAgent = "wangge-notify/1"

// defaultClient does not follow redirects: a robot or gateway that
// redirects is misconfigured, and a redirected POST could carry the
// message elsewhere.
var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// New returns the Sender for c. It validates c (returning the *geo.Error of
// Validate) and applies the defaults. client nil means a client that does
// not follow redirects; now nil means time.Now (signatures and rate limits
// read it).
func New(c Config, client *http.Client, now func() time.Time) (Sender, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c = c.withDefaults()
	if client == nil {
		client = defaultClient
	}
	if now == nil {
		now = time.Now
	}
	b := &base{cfg: c, client: client, now: now, red: newRedactor(c), headers: http.Header{}}
	for k, v := range c.Headers {
		b.headers.Set(k, strings.ReplaceAll(v, "{secret}", c.Secret))
	}
	switch c.Channel {
	case ChannelWeCom:
		return &weCom{b}, nil
	case ChannelDingTalk:
		return newDingTalk(b)
	case ChannelFeishu:
		return &feishu{b}, nil
	case ChannelSMS:
		return newSMS(b)
	case ChannelWebhook:
		return &webhook{b}, nil
	}
	return nil, geo.Errorf(geo.EINVALID, "channel %q: want wecom, dingtalk, feishu, sms or webhook", clip(c.Channel))
}

// base is what every channel shares: the config, the HTTP client, the
// clock and the redactor.
type base struct {
	cfg     Config
	client  *http.Client
	now     func() time.Time
	red     *redactor
	headers http.Header // configured headers, {secret} filled in
}

// answer is an HTTP answer, its body read up to maxAnswer bytes.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a *answer) ok() bool { return a.status >= 200 && a.status < 300 }

// fail builds a *SendError whose text is scrubbed of the channel's
// credentials.
func (b *base) fail(retry bool, status int, code string, after time.Duration, format string, args ...any) *SendError {
	return &SendError{
		Channel:    b.cfg.Channel,
		Retryable:  retry,
		RetryAfter: after,
		Status:     status,
		Code:       b.red.clean(code),
		Msg:        b.red.clean(fmt.Sprintf(format, args...)),
	}
}

// do sends one request within the channel's timeout and reads the answer.
// A failure to get an answer is returned as a *SendError.
func (b *base) do(ctx context.Context, method, target, contentType string, body []byte, extra http.Header) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, b.fail(false, 0, "", 0, "cannot make a request to %s: %v", RedactURL(target), unwrapURLError(err))
	}
	req.Header.Set("User-Agent", userAgent)
	for k, vs := range b.headers {
		req.Header[k] = vs
	}
	for k, vs := range extra {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, b.transportError(ctx, method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		e := b.transportError(ctx, method, target, err)
		e.Status = resp.StatusCode
		e.Msg = b.red.clean("answer cut off: " + e.Msg)
		return nil, e
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// transportError classifies a request that got no (complete) answer:
// timeouts, cancellations and network errors are retryable, an untrusted
// TLS certificate is not.
func (b *base) transportError(ctx context.Context, method, target string, err error) *SendError {
	where := method + " " + RedactURL(target)
	inner := unwrapURLError(err)
	var ne net.Error
	var cert *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return b.fail(true, 0, "", 0, "%s: no answer in time (timeout %s or the caller's deadline): %v", where, b.cfg.Timeout, inner)
	case errors.Is(err, context.Canceled):
		return b.fail(true, 0, "", 0, "%s: canceled: %v", where, inner)
	case errors.As(err, &cert):
		return b.fail(false, 0, "", 0, "%s: the server's TLS certificate is not trusted: %v", where, inner)
	}
	return b.fail(true, 0, "", 0, "%s: %v", where, inner)
}

// unwrapURLError drops the *url.Error wrapper, whose text quotes the full
// URL with its key.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// statusError classifies a non-2xx answer (or a 2xx one whose body says it
// failed): 408, 425, 429 and 5xx are retryable, honouring Retry-After;
// 3xx and other 4xx are permanent.
func (b *base) statusError(a *answer, code, detail string) *SendError {
	s := a.status
	retry := s == http.StatusRequestTimeout || s == http.StatusTooEarly || s == http.StatusTooManyRequests || s >= 500
	var after time.Duration
	if retry {
		after = parseRetryAfter(a.header.Get("Retry-After"), b.now())
	}
	msg := http.StatusText(s)
	if msg == "" {
		msg = "unexpected status"
	}
	if s >= 300 && s < 400 {
		msg = "redirected to " + RedactURL(a.header.Get("Location")) + "; configure the final address"
	}
	if detail != "" {
		msg += ": " + detail
	}
	return b.fail(retry, s, code, after, "%s", msg)
}

// codeRule says how a platform's error code is handled.
type codeRule struct {
	retry bool
	after time.Duration
	what  string
}

// platformError classifies a platform's non-zero error code by table. An
// unknown code is permanent when the HTTP status was 2xx (the platform
// looked at the message and refused it), and classified by the status
// otherwise.
func (b *base) platformError(a *answer, table map[int]codeRule, code int, msg string) *SendError {
	c := strconv.Itoa(code)
	detail := truncateBytes(oneLine(msg), 200)
	rule, known := table[code]
	if !known {
		if !a.ok() {
			return b.statusError(a, c, detail)
		}
		rule.what = "refused"
	}
	if detail != "" {
		detail = ": " + detail
	}
	return b.fail(rule.retry, a.status, c, rule.after, "%s%s", rule.what, detail)
}

// errcodeAnswer reads the {"errcode":0,"errmsg":"ok"} answer of WeCom and
// DingTalk.
func (b *base) errcodeAnswer(a *answer, table map[int]codeRule) error {
	var r struct {
		Errcode *int   `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil || r.Errcode == nil {
		if !a.ok() {
			return b.statusError(a, "", snippet(a.body))
		}
		return b.fail(true, a.status, "", 0, "unexpected answer: %s", snippet(a.body))
	}
	if *r.Errcode != 0 {
		return b.platformError(a, table, *r.Errcode, r.Errmsg)
	}
	if !a.ok() {
		return b.statusError(a, "", snippet(a.body))
	}
	return nil
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date,
// capped at one hour. Anything else is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), time.Hour)
}

// snippet is the start of an answer's body for an error message: at most
// 200 bytes, one line.
func snippet(body []byte) string {
	s := strings.ToValidUTF8(string(body[:min(len(body), 256)]), "\uFFFD")
	return truncateBytes(oneLine(s), 200)
}

// marshal encodes v as JSON without HTML escaping (so that <font> and &
// reach the platform as written).
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("notify: cannot encode a request body: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// mobile returns phone as an 11-digit mainland mobile number, or "" when it
// is empty or not a mobile.
func mobile(phone string) string {
	p, err := geo.NormalizePhone(phone)
	if err != nil || len(p) != 11 || p[0] != '1' {
		return ""
	}
	return p
}

// maskPhone shows a phone number as 138****5678 for error messages.
func maskPhone(p string) string {
	r := []rune(clip(p))
	if len(r) < 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + "****" + string(r[len(r)-4:])
}
