package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of the generic webhook.
const (
	HeaderID        = "X-Wangge-Id"        // the message ID, also in the body
	HeaderTimestamp = "X-Wangge-Timestamp" // unix seconds when the request was signed
	HeaderSignature = "X-Wangge-Signature" // sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
)

// DefaultWebhookWindow is how far a webhook timestamp may be from the
// receiver's clock, either way, when VerifyWebhook is given no window.
const DefaultWebhookWindow = 5 * time.Minute

// Errors of VerifyWebhook, wrapped with details.
var (
	ErrWebhookUnsigned  = errors.New("webhook: missing or malformed signature headers")
	ErrWebhookStale     = errors.New("webhook: timestamp outside the replay window")
	ErrWebhookSignature = errors.New("webhook: signature does not match")
)

// WebhookPayload is the JSON body of the generic webhook.
type WebhookPayload struct {
	ID        string            `json:"id"`
	Kind      Kind              `json:"kind"`
	Title     string            `json:"title"`
	Text      string            `json:"text"`
	Fields    map[string]string `json:"fields"`
	Recipient Recipient         `json:"recipient"`
	CreatedAt time.Time         `json:"created_at"`
}

// webhook posts a signed WebhookPayload to any receiver.
type webhook struct{ *base }

// Send posts m as a WebhookPayload, Text rendered in the channel's format,
// signed with the channel's secret. Any 2xx answer is success.
func (s *webhook) Send(ctx context.Context, m Message) error {
	if m.ID == "" {
		return s.fail(false, 0, "", 0, "the message has no ID; receivers deduplicate on it")
	}
	if badText(m.ID, false) != "" {
		return s.fail(false, 0, "", 0, "the message ID %q has control characters or invalid UTF-8", clip(m.ID))
	}
	title, text := Render(m, s.cfg.Format)
	fields := m.Fields
	if fields == nil {
		fields = map[string]string{}
	}
	body := marshal(WebhookPayload{
		ID:        m.ID,
		Kind:      m.Kind,
		Title:     title,
		Text:      text,
		Fields:    fields,
		Recipient: m.Recipient,
		CreatedAt: m.CreatedAt.UTC(),
	})
	ts := s.now().Unix()
	h := http.Header{}
	h.Set(HeaderID, m.ID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, SignWebhook([]byte(s.cfg.Secret), ts, body))
	a, err := s.do(ctx, http.MethodPost, s.cfg.URL, "application/json", body, h)
	if err != nil {
		return err
	}
	if !a.ok() {
		return s.statusError(a, "", snippet(a.body))
	}
	return nil
}

// SignWebhook returns the X-Wangge-Signature of body sent at timestamp
// (unix seconds): "sha256=" and the lower-case hex HMAC-SHA256, keyed with
// secret, of the decimal timestamp, a dot, and the body bytes exactly as
// sent.
func SignWebhook(secret []byte, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook checks a webhook request as a receiver gets it: h its
// headers, body its raw body (before any JSON decoding). It returns nil
// when X-Wangge-Signature matches secret, timestamp and body (compared in
// constant time) and X-Wangge-Timestamp is within window of now, either
// way (window <= 0 means DefaultWebhookWindow). The errors wrap
// ErrWebhookUnsigned, ErrWebhookStale or ErrWebhookSignature.
//
// A request replayed within the window passes: receivers deduplicate on
// the message ID of the (signed) body, not on the unsigned X-Wangge-Id.
func VerifyWebhook(secret []byte, h http.Header, body []byte, now time.Time, window time.Duration) error {
	if window <= 0 {
		window = DefaultWebhookWindow
	}
	tsText := h.Get(HeaderTimestamp)
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || tsText != strconv.FormatInt(ts, 10) {
		return fmt.Errorf("%w: %s is not unix seconds", ErrWebhookUnsigned, HeaderTimestamp)
	}
	hexSig, ok := strings.CutPrefix(h.Get(HeaderSignature), "sha256=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not sha256=<64 hex digits>", ErrWebhookUnsigned, HeaderSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > window || d < -window {
		return fmt.Errorf("%w: signed %s from now, window %s", ErrWebhookStale, d.Round(time.Second), window)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(tsText))
	mac.Write([]byte("."))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrWebhookSignature
	}
	return nil
}
