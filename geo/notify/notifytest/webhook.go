package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// NewWebhook starts a receiver of wangge's generic signed webhook. Its
// WebhookURL is …/hooks/wangge. It takes POST application/json whose
// X-Wangge-Signature is sha256=hex(HMAC-SHA256(secret, timestamp + "." +
// body)) with X-Wangge-Timestamp within 5 minutes of its clock, and whose
// body's id equals X-Wangge-Id. A bad or missing signature is answered 401,
// a stale timestamp 401, a malformed body 400, each with {"error":…}.
func NewWebhook(t testing.TB, secret string) *Receiver {
	t.Helper()
	return start(t, "/hooks/wangge", &webhookReceiver{secret: []byte(secret)})
}

type webhookReceiver struct{ secret []byte }

// errorReply answers HTTP status code (500 when code is not a status).
func (p *webhookReceiver) errorReply(code int, msg string) reply {
	if code < 200 || code > 599 {
		code = http.StatusInternalServerError
	}
	return jsonReply(code, map[string]any{"error": msg})
}

func (p *webhookReceiver) okReply() reply {
	return jsonReply(http.StatusOK, map[string]any{"ok": true})
}

func (p *webhookReceiver) check(rx *Receiver, r *http.Request, body []byte) (Received, *refusal) {
	if r.URL.Path != "/hooks/wangge" {
		return Received{}, refuse(p, http.StatusNotFound, "no such path "+r.URL.Path)
	}
	if r.Method != http.MethodPost {
		return Received{}, refuse(p, http.StatusMethodNotAllowed, "method "+r.Method)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return Received{}, refuse(p, http.StatusUnsupportedMediaType, "want application/json")
	}
	ts := r.Header.Get("X-Wangge-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return Received{}, refuse(p, http.StatusUnauthorized, "missing timestamp")
	}
	if d := rx.now().Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return Received{}, refuse(p, http.StatusUnauthorized, "stale timestamp")
	}
	// Independent of notify.VerifyWebhook: the signed string is built whole
	// and the hex compared as text.
	h := hmac.New(sha256.New, p.secret)
	h.Write([]byte(ts + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(h.Sum(nil))
	got := strings.ToLower(r.Header.Get("X-Wangge-Signature"))
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return Received{}, refuse(p, http.StatusUnauthorized, "bad signature")
	}
	var msg struct {
		ID        string            `json:"id"`
		Kind      string            `json:"kind"`
		Title     string            `json:"title"`
		Text      string            `json:"text"`
		Fields    map[string]string `json:"fields"`
		Recipient struct {
			Name  string `json:"name"`
			Phone string `json:"phone"`
		} `json:"recipient"`
		CreatedAt string `json:"created_at"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return Received{}, refuse(p, http.StatusBadRequest, "body: "+err.Error())
	}
	switch {
	case msg.ID == "" || msg.ID != r.Header.Get("X-Wangge-Id"):
		return Received{}, refuse(p, http.StatusBadRequest, "id missing or not the X-Wangge-Id")
	case msg.Kind == "" || msg.Text == "":
		return Received{}, refuse(p, http.StatusBadRequest, "kind or text missing")
	}
	if _, err := time.Parse(time.RFC3339, msg.CreatedAt); err != nil {
		return Received{}, refuse(p, http.StatusBadRequest, "created_at is not RFC 3339")
	}
	return Received{
		ID: msg.ID, Kind: msg.Kind, Format: "text", Title: msg.Title, Text: msg.Text, Fields: msg.Fields,
		Name: msg.Recipient.Name, Phone: msg.Recipient.Phone,
	}, nil
}
