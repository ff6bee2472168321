package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sms sends through an SMS provider's HTTP API: the body template filled
// in and escaped for the content type, rate-limited per number and
// overall.
type sms struct {
	*base
	tmpl *bodyTemplate
	esc  escaper
	lim  *limiter
}

func newSMS(b *base) (Sender, error) {
	esc, err := escaperFor(b.cfg.ContentType)
	if err != nil { // Validate checked it already
		return nil, b.fail(false, 0, "", 0, "content_type: %v", err)
	}
	t, err := parseTemplate(b.cfg.BodyTemplate)
	if err != nil {
		return nil, b.fail(false, 0, "", 0, "body_template: %v", err)
	}
	return &sms{base: b, tmpl: t, esc: esc, lim: newLimiter(b.cfg.PerNumberInterval, b.cfg.PerSecond)}, nil
}

// Send texts m to the recipient's mobile. The text is Render's plain text
// cut to MaxRunes characters. A recipient without a mainland mobile number
// is a permanent failure; a rate limit a retryable one with RetryAfter
// set. Success is a 2xx answer whose SuccessField, when configured, has
// SuccessValue. The phone number appears in errors masked (138****5678).
func (s *sms) Send(ctx context.Context, m Message) error {
	phone := mobile(m.Recipient.Phone)
	if phone == "" {
		return s.fail(false, 0, "", 0, "the recipient %s has no mainland mobile number (got %q)", clip(oneLine(m.Recipient.Name)), maskPhone(m.Recipient.Phone))
	}
	err := s.send(ctx, m, phone)
	var se *SendError
	if errors.As(err, &se) {
		se.Msg = strings.ReplaceAll(se.Msg, phone, maskPhone(phone))
	}
	return err
}

func (s *sms) send(ctx context.Context, m Message, phone string) error {
	title, text := Render(m, FormatText)
	field := func(k string) string { return oneLine(m.Fields[k]) }
	values := map[string]string{
		"id":       m.ID,
		"phone":    phone,
		"name":     oneLine(m.Recipient.Name),
		"text":     truncateRunes(text, s.cfg.MaxRunes),
		"title":    title,
		"kind":     string(m.Kind),
		"number":   field(FieldNumber),
		"grid":     field(FieldGrid),
		"category": field(FieldCategory),
		"due":      formatDue(field(FieldDue)),
		"link":     field(FieldLink),
		"secret":   s.cfg.Secret,
	}
	undo, wait, which := s.lim.reserve(phone, s.now())
	if undo == nil {
		limit := strconv.Itoa(s.cfg.PerSecond) + " SMS a second"
		if which == "per number" {
			limit = "one SMS per " + s.cfg.PerNumberInterval.String() + " to " + maskPhone(phone)
		}
		return s.fail(true, 0, "", wait, "rate limited (%s), retry after %s", limit, roundWait(wait))
	}
	body := s.tmpl.render(values, s.esc)
	target, contentType := s.cfg.URL, s.cfg.ContentType
	if s.cfg.Method == http.MethodGet {
		target, _, _ = strings.Cut(target, "#")
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + string(body)
		body, contentType = nil, ""
	}
	a, err := s.do(ctx, s.cfg.Method, target, contentType, body, nil)
	if err != nil {
		undo()
		return err
	}
	if !a.ok() {
		undo()
		return s.statusError(a, "", snippet(a.body))
	}
	if s.cfg.SuccessField == "" {
		return nil
	}
	got, found := jsonField(a.body, s.cfg.SuccessField)
	if !found {
		undo()
		return s.fail(false, a.status, "", 0, "the answer has no %s (want %q): %s", s.cfg.SuccessField, s.cfg.SuccessValue, snippet(a.body))
	}
	if got != s.cfg.SuccessValue {
		undo()
		return s.fail(false, a.status, clip(got), 0, "the gateway refused: %s is %q, want %q: %s", s.cfg.SuccessField, clip(got), s.cfg.SuccessValue, snippet(a.body))
	}
	return nil
}

// jsonField finds the dotted path in a JSON object and returns its value
// as text: a string as is, a number as written, true, false, null, or an
// object or array as compact JSON.
func jsonField(body []byte, path string) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", false
	}
	for _, k := range strings.Split(path, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if v, ok = obj[k]; !ok {
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case nil:
		return "null", true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// roundWait shows a wait as whole seconds rounded up, or milliseconds
// below a second.
func roundWait(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return (d + time.Second - 1).Truncate(time.Second)
}
