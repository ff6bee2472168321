package notify

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// SendError is how Send fails. Every error Send returns is a *SendError
// whose text is safe to store and log: URLs in it are redacted and the
// channel's secret, header values and URL keys are scrubbed from it.
type SendError struct {
	Channel Channel
	// Retryable is true when sending the same message later may succeed: a
	// timeout, a refused or reset connection, HTTP 408, 425, 429 or 5xx, a
	// platform's rate-limit or busy code, a local rate limit. It is false for
	// what only a person can fix: another 4xx, a platform code that says the
	// key, the signature or the message is wrong, a recipient without a
	// usable phone number.
	Retryable bool
	// RetryAfter, when not zero, is how long to wait before retrying: from a
	// Retry-After header, a platform's per-minute limit, or the local rate
	// limit.
	RetryAfter time.Duration
	// Status is the HTTP status of the answer, 0 when there was none.
	Status int
	// Code is the platform's error code (errcode, code, or the SMS success
	// field's value), "" when there was none.
	Code string
	// Msg says what happened.
	Msg string
}

func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("notify ")
	b.WriteString(string(e.Channel))
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d: ", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, "code %s: ", e.Code)
	}
	b.WriteString(e.Msg)
	switch {
	case e.Retryable && e.RetryAfter > 0:
		fmt.Fprintf(&b, " (retryable, retry after %s)", e.RetryAfter.Round(time.Millisecond))
	case e.Retryable:
		b.WriteString(" (retryable)")
	default:
		b.WriteString(" (permanent)")
	}
	return b.String()
}

// IsRetryable reports whether sending again later may succeed. A
// *SendError says so itself; any other non-nil error counts as retryable,
// so that an unforeseen failure is retried and, after the worker's last
// attempt, dead-lettered rather than dropped.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.Retryable
	}
	return true
}

// IsPermanent reports whether err is a failure that retrying cannot fix.
func IsPermanent(err error) bool {
	return err != nil && !IsRetryable(err)
}

// RetryAfter returns the wait err asks for before a retry, 0 when it asks
// for none.
func RetryAfter(err error) time.Duration {
	var se *SendError
	if errors.As(err, &se) {
		return se.RetryAfter
	}
	return 0
}

// RedactURL returns raw with everything that may be a credential replaced
// by ***: user name and password, every query value (a WeCom key, a
// DingTalk access_token and sign), and every path segment of 16 bytes or
// more but its first 4 (a Feishu hook token). The fragment is dropped. A
// URL that cannot be parsed is returned as "(unparseable URL)".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme + ":")
	}
	if u.Opaque != "" {
		b.WriteString("***")
		return b.String()
	}
	if u.Host != "" || u.User != nil {
		b.WriteString("//")
		if u.User != nil {
			b.WriteString("***@")
		}
		b.WriteString(u.Host)
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, s := range segs {
		if len(s) >= 16 {
			if p := s[:4]; !strings.Contains(p, "%") {
				segs[i] = p + "***"
			} else {
				segs[i] = "***"
			}
		}
	}
	b.WriteString(strings.Join(segs, "/"))
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?")
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			b.WriteString("***")
			return b.String()
		}
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteString("&")
			}
			b.WriteString(url.QueryEscape(k) + "=***")
		}
	}
	return b.String()
}

// redactor scrubs a channel's credentials from error text.
type redactor struct {
	words []string // longest first
}

// newRedactor collects what must never appear in an error of channel c:
// the secret, header values and their words, URL query values and long
// path segments, user name and password.
func newRedactor(c Config) *redactor {
	seen := map[string]bool{}
	var words []string
	add := func(s string, min int) {
		if len(s) >= min && !seen[s] {
			seen[s] = true
			words = append(words, s)
			if e := url.QueryEscape(s); e != s && !seen[e] {
				seen[e] = true
				words = append(words, e)
			}
		}
	}
	add(c.Secret, 4)
	for _, v := range c.Headers {
		v = strings.ReplaceAll(v, "{secret}", c.Secret)
		add(v, 8)
		for _, w := range strings.Fields(v) {
			add(w, 8)
		}
	}
	if u, err := url.Parse(c.URL); err == nil {
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v, 8)
			}
		}
		for _, s := range strings.Split(u.Path, "/") {
			add(s, 16)
		}
		if u.User != nil {
			add(u.User.Username(), 4)
			if p, ok := u.User.Password(); ok {
				add(p, 4)
			}
		}
	}
	sort.Slice(words, func(i, j int) bool { return len(words[i]) > len(words[j]) })
	return &redactor{words: words}
}

func (r *redactor) clean(s string) string {
	for _, w := range r.words {
		s = strings.ReplaceAll(s, w, "***")
	}
	return s
}
