package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"wangge/geo/notify"
	"wangge/geo/notify/notifytest"
)

// awkward is a description with everything a body syntax must escape.
const awkward = "居民说：\"楼道里堆满杂物\" & 'a=b' <消防通道> \\ 堵塞\n请尽快处理\t100%"

// clock is a settable fake clock for rate limits.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)} }

func notice(id, phone, text string) notify.Message {
	return notify.Message{ID: id, Kind: "notice", Title: "通知", Text: text, Recipient: notify.Recipient{Name: `李"建国"&`, Phone: phone}}
}

// capture is a gateway that records the raw requests and answers 200 {}.
type capture struct {
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.reqs = append(c.reqs, r)
	c.body = append(c.body, b)
	c.mu.Unlock()
	w.Write([]byte(`{}`))
}

func (c *capture) last(t *testing.T) (*http.Request, []byte) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.reqs) == 0 {
		t.Fatal("no request")
	}
	return c.reqs[len(c.reqs)-1], c.body[len(c.body)-1]
}

func TestSMSEscaping(t *testing.T) {
	for _, tc := range []struct {
		name        string
		contentType string
		method      string
		template    string
		decode      func(t *testing.T, r *http.Request, body []byte) (phone, text, name string)
		raw         []string // substrings the raw body or query must contain
	}{
		{
			name:     "json",
			template: `{"PhoneNumbers":"{phone}","TemplateParam":{"text":"{text}","who":"{name}"},"OutId":"{id}"}`,
			decode: func(t *testing.T, _ *http.Request, body []byte) (string, string, string) {
				var v struct {
					PhoneNumbers  string
					TemplateParam struct{ Text, Who string }
				}
				if err := json.Unmarshal(body, &v); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				return v.PhoneNumbers, v.TemplateParam.Text, v.TemplateParam.Who
			},
			raw: []string{`\"楼道里堆满杂物\"`, `\n请尽快处理`, `\\ 堵塞`, `& 'a=b' <消防通道>`},
		},
		{
			name:        "form",
			contentType: "application/x-www-form-urlencoded",
			template:    "mobile={phone}&content={text}&who={name}",
			decode: func(t *testing.T, _ *http.Request, body []byte) (string, string, string) {
				q, err := url.ParseQuery(string(body))
				if err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				if len(q) != 3 {
					t.Errorf("form has %d fields, want 3: %s", len(q), body)
				}
				return q.Get("mobile"), q.Get("content"), q.Get("who")
			},
			raw: []string{"%26", "a%3Db", "%0A", "100%25"},
		},
		{
			name:     "get query",
			method:   "GET",
			template: "mobile={phone}&content={text}&who={name}",
			decode: func(t *testing.T, r *http.Request, body []byte) (string, string, string) {
				if r.Method != "GET" || len(body) != 0 || r.Header.Get("Content-Type") != "" {
					t.Errorf("got %s with %d bytes of %q", r.Method, len(body), r.Header.Get("Content-Type"))
				}
				q := r.URL.Query()
				if q.Get("account") != "wg" {
					t.Errorf("the URL's own query was lost: %s", r.URL.RawQuery)
				}
				return q.Get("mobile"), q.Get("content"), q.Get("who")
			},
		},
		{
			name:        "xml",
			contentType: "application/xml; charset=utf-8",
			template:    `<sms to="{phone}"><text>{text}</text><who>{name}</who></sms>`,
			decode: func(t *testing.T, _ *http.Request, body []byte) (string, string, string) {
				var v struct {
					To   string `xml:"to,attr"`
					Text string `xml:"text"`
					Who  string `xml:"who"`
				}
				if err := xml.Unmarshal(body, &v); err != nil {
					t.Fatalf("body %s: %v", body, err)
				}
				return v.To, v.Text, v.Who
			},
			raw: []string{"&amp;", "&lt;消防通道&gt;", "&#34;楼道里堆满杂物&#34;"},
		},
		{
			name:        "plain text",
			contentType: "text/plain; charset=utf-8",
			template:    "{phone}|{name}|{text}",
			decode: func(t *testing.T, _ *http.Request, body []byte) (string, string, string) {
				parts := strings.SplitN(string(body), "|", 3)
				return parts[0], parts[2], parts[1]
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := &capture{}
			srv := httptest.NewServer(gw)
			defer srv.Close()
			s := newSender(t, notify.Config{Channel: notify.ChannelSMS, URL: srv.URL + "/send?account=wg", Method: tc.method,
				ContentType: tc.contentType, BodyTemplate: tc.template}, nil)
			m := notice("msg-e1", leaderPhone, awkward)
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r, body := gw.last(t)
			phone, text, name := tc.decode(t, r, body)
			_, want := notify.Render(m, notify.FormatText)
			if phone != leaderPhone || text != want || name != `李"建国"&` {
				t.Errorf("gateway got phone %q text %q name %q,\nwant %q %q %q", phone, text, name, leaderPhone, want, `李"建国"&`)
			}
			raw := string(body) + r.URL.RawQuery
			for _, s := range tc.raw {
				if !strings.Contains(raw, s) {
					t.Errorf("raw request lacks %q:\n%s", s, raw)
				}
			}
			if tc.contentType != "" && !strings.HasPrefix(r.Header.Get("Content-Type"), strings.Split(tc.contentType, ";")[0]) {
				t.Errorf("Content-Type %q, want %q", r.Header.Get("Content-Type"), tc.contentType)
			}
		})
	}
}

func TestSMSTruncation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxRunes int
		text     string
		want     int // runes received
	}{
		{"default 300", 0, strings.Repeat("网格", 400), 300},
		{"one segment", 70, strings.Repeat("网格", 400), 70},
		{"mixed scripts cut on a rune", 67, strings.Repeat("a网😀", 100), 67},
		{"short text untouched", 70, "路灯坏了", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx := notifytest.NewSMSGateway(t, notifytest.SMSGateway{})
			s := newSender(t, notify.Config{Channel: notify.ChannelSMS, URL: rx.WebhookURL(), MaxRunes: tc.maxRunes}, nil)
			if err := s.Send(context.Background(), notice("msg-t", leaderPhone, tc.text)); err != nil {
				t.Fatal(err)
			}
			got := rx.WaitFor(1, 5*time.Second)[0].Text
			if n := utf8.RuneCountInString(got); n != tc.want || !utf8.ValidString(got) || strings.ContainsRune(got, '\uFFFD') {
				t.Errorf("got %d runes (valid %v), want %d: %q", n, utf8.ValidString(got), tc.want, got)
			}
			if cut := tc.want < utf8.RuneCountInString(tc.text); cut != strings.HasSuffix(got, "…") {
				t.Errorf("cut %v but ellipsis %v", cut, strings.HasSuffix(got, "…"))
			}
		})
	}
}

func TestSMSRateLimitPerNumber(t *testing.T) {
	rx := notifytest.NewSMSGateway(t, notifytest.SMSGateway{})
	clk := newClock()
	s := newSender(t, notify.Config{Channel: notify.ChannelSMS, URL: rx.WebhookURL()}, clk.now)
	ctx := context.Background()
	if err := s.Send(ctx, notice("m1", leaderPhone, "第一条")); err != nil {
		t.Fatal(err)
	}
	clk.advance(20 * time.Second)
	err := s.Send(ctx, notice("m2", leaderPhone, "第二条"))
	var se *notify.SendError
	if !errors.As(err, &se) || !se.Retryable || se.RetryAfter != 40*time.Second {
		t.Fatalf("second SMS within a minute: %v, want retryable after 40s", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "rate limited") || !strings.Contains(msg, "retry after 40s") ||
		!strings.Contains(msg, "138****1234") || strings.Contains(msg, leaderPhone) {
		t.Errorf("error %q: want rate limited, retry after 40s, the number masked", msg)
	}
	if err := s.Send(ctx, notice("m3", "13907385678", "别人的")); err != nil {
		t.Errorf("another number is not limited: %v", err)
	}
	clk.advance(40 * time.Second)
	if err := s.Send(ctx, notice("m2", leaderPhone, "第二条")); err != nil {
		t.Errorf("after the interval: %v", err)
	}
	if n := rx.Requests(); n != 3 {
		t.Errorf("gateway got %d requests, want 3 (the limited one never left)", n)
	}
}

func TestSMSRateLimitPerSecond(t *testing.T) {
	rx := notifytest.NewSMSGateway(t, notifytest.SMSGateway{})
	clk := newClock()
	s := newSender(t, notify.Config{Channel: notify.ChannelSMS, URL: rx.WebhookURL(), PerSecond: 2, PerNumberInterval: -1}, clk.now)
	ctx := context.Background()
	for i, phone := range []string{"13807380001", "13807380002"} {
		if err := s.Send(ctx, notice("m", phone, "x")); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	err := s.Send(ctx, notice("m", "13807380003", "x"))
	if !notify.IsRetryable(err) || notify.RetryAfter(err) != 500*time.Millisecond || !strings.Contains(err.Error(), "2 SMS a second") {
		t.Fatalf("third in one second: %v, want retryable after 500ms", err)
	}
	clk.advance(500 * time.Millisecond)
	if err := s.Send(ctx, notice("m", "13807380003", "x")); err != nil {
		t.Errorf("after 500ms: %v", err)
	}
	// No per-number limit: the same number again, a second later.
	clk.advance(time.Second)
	if err := s.Send(ctx, notice("m", "13807380001", "x")); err != nil {
		t.Errorf("same number without per-number limit: %v", err)
	}
}

func TestSMSFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("gateway refuses in its body", func(t *testing.T) {
		rx := notifytest.NewSMSGateway(t, notifytest.SMSGateway{})
		s := newSender(t, notify.Config{Channel: notify.ChannelSMS, URL: rx.WebhookURL(), SuccessField: "Code", SuccessValue: "OK"}, nil)
		rx.FailReply(1, 200, `{"Code":"isv.AMOUNT_NOT_ENOUGH","Message":"账户余额不足"}`)
		err := s.Send(ctx, notice("m", leaderPhone, "x"))
		var se *notify.SendError
		if !errors.As(err, &se) || se.Retryable || se.Code != "isv.AMOUNT_NOT_ENOUGH" {
			t.Fatalf("Send = %v, want permanent with code isv.AMOUNT_NOT_ENOUGH", err)
		}
		if strings.Contains(err.Error(), leaderPhone) {
			t.Errorf("error %q shows the phone number", err)
		}
		if err := s.Send(ctx, notice("m", leaderPhone, "x")); err != nil {
			t.Errorf("a refused SMS gives its per-number slot back: %v", err)
		}
	})
	t.Run("gateway refuses the number", func(t *testing.T) {
		rx := notifytest.NewSMSGateway(t, notifytest.SMSGateway{})
		s := newSender(t, notify.Config{Channel: notify.ChannelSMS, URL: rx.WebhookURL(), SuccessField: "Code", SuccessValue: "OK",
			BodyTemplate: `{"phone":"1{phone}","text":"{text}"}`}, nil)
		err := s.Send(ctx, notice("m", leaderPhone, "x"))
		if !notify.IsPermanent(err) || !strings.Contains(err.Error(), "MOBILE_NUMBER_ILLEGAL") {
			t.Fatalf("Send = %v, want permanent MOBILE_NUMBER_ILLEGAL", err)
		}
	})
	t.Run("answer without the success field", func(t *testing.T) {
		rx := notifytest.NewSMSGateway(t, notifytest.SMSGateway{})
		s := newSender(t, notify.Config{Channel: notify.ChannelSMS, URL: rx.WebhookURL(), SuccessField: "result.code", SuccessValue: "0"}, nil)
		if err := s.Send(ctx, notice("m", leaderPhone, "x")); !notify.IsPermanent(err) || !strings.Contains(err.Error(), "has no result.code") {
			t.Fatalf("Send = %v, want permanent", err)
		}
	})
	for _, phone := range []string{"", "0738-6812345", "12345", "+1 415 555 0100"} {
		t.Run("no mobile "+phone, func(t *testing.T) {
			rx := notifytest.NewSMSGateway(t, notifytest.SMSGateway{})
			s := newSender(t, notify.Config{Channel: notify.ChannelSMS, URL: rx.WebhookURL()}, nil)
			err := s.Send(ctx, notice("m", phone, "x"))
			if !notify.IsPermanent(err) || rx.Requests() != 0 {
				t.Fatalf("Send = %v with %d requests, want permanent and none", err, rx.Requests())
			}
			if phone != "" && len(phone) > 6 && strings.Contains(err.Error(), phone) {
				t.Errorf("error %q shows the phone number", err)
			}
		})
	}
	t.Run("secret in the template stays out of errors", func(t *testing.T) {
		gw := &capture{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusBadRequest)
			w.Write(append([]byte("bad request: "), b...)) // echoes the request, key included
			gw.mu.Lock()
			gw.body = append(gw.body, b)
			gw.mu.Unlock()
		}))
		defer srv.Close()
		s := newSender(t, notify.Config{Channel: notify.ChannelSMS, URL: srv.URL, ContentType: "application/x-www-form-urlencoded",
			BodyTemplate: "apikey={secret}&mobile={phone}&text={text}", Secret: "k+9/secret=key"}, nil)
		err := s.Send(ctx, notice("m", leaderPhone, "x"))
		if !notify.IsPermanent(err) {
			t.Fatalf("Send = %v, want permanent (400)", err)
		}
		if !bytes.Contains(gw.body[0], []byte("apikey=k%2B9%2Fsecret%3Dkey")) {
			t.Errorf("gateway got %s, want the encoded key", gw.body[0])
		}
		if strings.Contains(err.Error(), "k+9/secret=key") || strings.Contains(err.Error(), "k%2B9%2Fsecret%3Dkey") || strings.Contains(err.Error(), leaderPhone) {
			t.Errorf("error %q shows the key or the phone", err)
		}
	})
}
