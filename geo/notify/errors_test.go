package notify

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
			"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=***"},
		{"https://oapi.dingtalk.com/robot/send?access_token=9897&timestamp=1764741600000&sign=B8TH%2By",
			"https://oapi.dingtalk.com/robot/send?access_token=***&sign=***&timestamp=***"},
		{"https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f86fd",
			"https://open.feishu.cn/open-apis/bot/v2/hook/5e3d***"},
		{"https://admin:hunter2@sms.example.com:8443/send#frag", "https://***@sms.example.com:8443/send"},
		{"http://12345.example.gov.cn/notify", "http://12345.example.gov.cn/notify"},
		{"ftp://x", "ftp://x"},
		{"mailto:someone@example.com", "mailto:***"},
		{"https://x/%zz", "(unparseable URL)"},
		{"https://x/send?a=1;b", "https://x/send?***"},
		{"", ""},
	} {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSendErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    SendError
		want string
	}{
		{SendError{Channel: ChannelWeCom, Retryable: true, RetryAfter: time.Minute, Status: 200, Code: "45009", Msg: "rate limited"},
			"notify wecom: HTTP 200: code 45009: rate limited (retryable, retry after 1m0s)"},
		{SendError{Channel: ChannelWebhook, Status: 404, Msg: "Not Found"}, "notify webhook: HTTP 404: Not Found (permanent)"},
		{SendError{Channel: ChannelSMS, Retryable: true, Msg: "connection refused"}, "notify sms: connection refused (retryable)"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	if !IsRetryable(errors.New("something unforeseen")) || IsRetryable(nil) || IsPermanent(nil) {
		t.Error("IsRetryable: an unknown error is retryable, nil is neither")
	}
	wrapped := fmt.Errorf("outbox: %w", &SendError{Retryable: true, RetryAfter: time.Second})
	if !IsRetryable(wrapped) || RetryAfter(wrapped) != time.Second {
		t.Error("a wrapped SendError is not seen through")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-3", 0},
		{"99999", time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestAnswers covers answers that are not the platform's usual ones.
func TestAnswers(t *testing.T) {
	const key = "693a91f6-7aoc-4bc4-97a0-0ec2sifa5aaa"
	for _, tc := range []struct {
		name      string
		handler   http.HandlerFunc
		retryable bool
		after     time.Duration
		status    int
		say       string
	}{
		{"503 with Retry-After", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(503)
		}, true, 7 * time.Second, 503, "Service Unavailable"},
		{"429", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(429) }, true, 0, 429, "Too Many Requests"},
		{"redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://elsewhere.example.com/hook/"+key+"?key="+key, http.StatusFound)
		}, false, 0, 302, "redirected to https://elsewhere.example.com/hook/693a***?key=***"},
		{"200 with HTML", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>维护中</html>")) }, true, 0, 200, "unexpected answer: <html>维护中</html>"},
		{"400 with an errcode WeCom does not document", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			w.Write([]byte(`{"errcode":77777,"errmsg":"odd"}`))
		}, false, 0, 400, "Bad Request: odd"},
		{"502 with an unknown errcode", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			w.Write([]byte(`{"errcode":77777,"errmsg":"gateway"}`))
		}, true, 0, 502, "Bad Gateway: gateway"},
		{"answer over 64 KiB is not read past", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"errcode":0,"errmsg":"` + strings.Repeat("x", maxAnswer) + `"}`))
			w.(http.Flusher).Flush()
			<-r.Context().Done() // a client reading on would wait here until its timeout
		}, true, 0, 200, "unexpected answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			s, err := New(Config{Channel: ChannelWeCom, URL: srv.URL + "/cgi-bin/webhook/send?key=" + key, Timeout: 5 * time.Second}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = s.Send(t.Context(), Message{Kind: KindTest})
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send = %v", err)
			}
			if se.Retryable != tc.retryable || se.RetryAfter != tc.after || se.Status != tc.status || !strings.Contains(se.Msg, tc.say) {
				t.Errorf("Send = %v; want retryable %v after %s, HTTP %d, saying %q", err, tc.retryable, tc.after, tc.status, tc.say)
			}
			if strings.Contains(err.Error(), key) {
				t.Errorf("error %q contains the key", err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("Send took %s", el)
			}
		})
	}
}

func TestUntrustedCertificateIsPermanent(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	s, err := New(Config{Channel: ChannelWebhook, URL: srv.URL + "/hook", Secret: "whsec-0123456789abcdef"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), Message{ID: "m", Kind: KindTest})
	if !IsPermanent(err) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Send = %v, want a permanent certificate error", err)
	}
}

func TestRedactorScrubsHeadersAndSecret(t *testing.T) {
	c := Config{
		Channel: ChannelSMS,
		URL:     "https://u:pa55word@sms.example.com/v1/5e3d587e-d78e-4a07-bd07-265f269f86fd/send?apikey=abcdef123456&x=1",
		Secret:  "s3cr3t+/=",
		Headers: map[string]string{"Authorization": "Bearer {secret}", "X-App": "appid-98765432"},
	}
	r := newRedactor(c)
	msg := r.clean("saw Bearer s3cr3t+/= and s3cr3t%2B%2F%3D, appid-98765432, abcdef123456, pa55word, 5e3d587e-d78e-4a07-bd07-265f269f86fd, x=1")
	for _, w := range []string{"s3cr3t", "appid-98765432", "abcdef123456", "pa55word", "5e3d587e-d78e"} {
		if strings.Contains(msg, w) {
			t.Errorf("%q survived: %s", w, msg)
		}
	}
	if !strings.Contains(msg, "x=1") {
		t.Errorf("short values are left alone: %s", msg)
	}
}
