package notify

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Vectors computed independently (Python's hmac, hashlib, base64).
func TestSignatureVectors(t *testing.T) {
	at := time.Unix(1764741600, 0) // 2025-12-03 06:00:00 UTC

	ts, sign := dingTalkSign("SECthisisatestsecret0123456789abcdef", at)
	if ts != "1764741600000" || sign != "B8THsjsoj2FLy5SxEBmkxo+yTV1wyCSx6GmozFyHqDE=" {
		t.Errorf("dingTalkSign = %s %s", ts, sign)
	}
	ts, sign = feishuSign("feishu-test-secret", at)
	if ts != "1764741600" || sign != "UzsYDTI+MvSwiHZFIEMM1QqkvElKz0bCndmNkpeGheg=" {
		t.Errorf("feishuSign = %s %s", ts, sign)
	}
	if got := SignWebhook([]byte("whsec-0123456789abcdef"), 1764741600, []byte(`{"id":"m1"}`)); got != "sha256=e1a75b811f42baa9b52192c393fe702fbe95bc5ff89174058866c06c0fbf2b5c" {
		t.Errorf("SignWebhook = %s", got)
	}
}

// TestDingTalkSignIsURLEncoded: the sign's + / = are percent-encoded in the
// query, as DingTalk's "urlEncode" step demands; a raw + would reach the
// server as a space.
func TestDingTalkSignIsURLEncoded(t *testing.T) {
	var query string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	defer srv.Close()
	s, err := New(Config{Channel: ChannelDingTalk, URL: srv.URL + "/robot/send?access_token=98975521a1b2", Secret: "SECthisisatestsecret0123456789abcdef"},
		nil, func() time.Time { return time.Unix(1764741600, 0) })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), Message{Kind: KindTest}); err != nil {
		t.Fatal(err)
	}
	want := "access_token=98975521a1b2&sign=B8THsjsoj2FLy5SxEBmkxo%2ByTV1wyCSx6GmozFyHqDE%3D&timestamp=1764741600000"
	if query != want {
		t.Errorf("query = %s\nwant    %s", query, want)
	}
}

func TestVerifyWebhook(t *testing.T) {
	secret := []byte("whsec-0123456789abcdef")
	body := []byte(`{"id":"msg-1","kind":"routed","text":"新案件"}`)
	now := time.Unix(1764741600, 0)
	signed := func(at time.Time, body []byte) http.Header {
		h := http.Header{}
		h.Set(HeaderID, "msg-1")
		h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(HeaderSignature, SignWebhook(secret, at.Unix(), body))
		return h
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		secret []byte
		window time.Duration
		want   error
	}{
		{"fresh", signed(now, body), body, secret, 0, nil},
		{"4 minutes old", signed(now.Add(-4*time.Minute), body), body, secret, 0, nil},
		{"4 minutes ahead", signed(now.Add(4*time.Minute), body), body, secret, 0, nil},
		{"replayed after 6 minutes", signed(now.Add(-6*time.Minute), body), body, secret, 0, ErrWebhookStale},
		{"6 minutes ahead", signed(now.Add(6*time.Minute), body), body, secret, 0, ErrWebhookStale},
		{"replay inside a wider window", signed(now.Add(-6*time.Minute), body), body, secret, 10 * time.Minute, nil},
		{"tampered body", signed(now, body), []byte(`{"id":"msg-1","kind":"routed","text":"新案件!"}`), secret, 0, ErrWebhookSignature},
		{"wrong secret", signed(now, body), body, []byte("whsec-another-secret"), 0, ErrWebhookSignature},
		{"timestamp changed after signing", func() http.Header {
			h := signed(now, body)
			h.Set(HeaderTimestamp, strconv.FormatInt(now.Unix()+1, 10))
			return h
		}(), body, secret, 0, ErrWebhookSignature},
		{"no signature", func() http.Header { h := signed(now, body); h.Del(HeaderSignature); return h }(), body, secret, 0, ErrWebhookUnsigned},
		{"no timestamp", func() http.Header { h := signed(now, body); h.Del(HeaderTimestamp); return h }(), body, secret, 0, ErrWebhookUnsigned},
		{"timestamp with a plus", func() http.Header {
			h := signed(now, body)
			h.Set(HeaderTimestamp, "+"+h.Get(HeaderTimestamp))
			return h
		}(), body, secret, 0, ErrWebhookUnsigned},
		{"signature without sha256=", func() http.Header {
			h := signed(now, body)
			h.Set(HeaderSignature, strings.TrimPrefix(h.Get(HeaderSignature), "sha256="))
			return h
		}(), body, secret, 0, ErrWebhookUnsigned},
		{"signature truncated", func() http.Header {
			h := signed(now, body)
			h.Set(HeaderSignature, h.Get(HeaderSignature)[:40])
			return h
		}(), body, secret, 0, ErrWebhookUnsigned},
		{"signature upper-case hex", func() http.Header {
			h := signed(now, body)
			h.Set(HeaderSignature, "sha256="+strings.ToUpper(strings.TrimPrefix(h.Get(HeaderSignature), "sha256=")))
			return h
		}(), body, secret, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyWebhook(tc.secret, tc.header, tc.body, now, tc.window)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("VerifyWebhook = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestVerifyWebhookWithTheSender: what Send posts, VerifyWebhook accepts.
func TestVerifyWebhookWithTheSender(t *testing.T) {
	secret := "whsec-0123456789abcdef"
	errs := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			errs <- err
			return
		}
		errs <- VerifyWebhook([]byte(secret), r.Header, body, time.Now(), 0)
	}))
	defer srv.Close()
	s, err := New(Config{Channel: ChannelWebhook, URL: srv.URL, Secret: secret}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), Message{ID: "msg-9", Kind: KindTest}); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; err != nil {
		t.Errorf("VerifyWebhook of a sent request: %v", err)
	}
}
