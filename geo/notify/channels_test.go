package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wangge/geo/notify"
	"wangge/geo/notify/notifytest"
)

const (
	dingSecret   = "SECthisisatestsecret0123456789abcdef"
	feishuSecret = "feishu-test-secret-7f3a"
	hookSecret   = "whsec-0123456789abcdef"
	smsToken     = "sms-token-5b1e9c0d"
	leaderPhone  = "13807381234"
)

// routed is a routed incident for 李建国, grid leader of 荷叶村第3网格.
func routed(id string) notify.Message {
	return notify.Message{
		ID:        id,
		Kind:      notify.KindRouted,
		Recipient: notify.Recipient{Name: "李建国", Phone: leaderPhone},
		Fields: map[string]string{
			notify.FieldNumber:   "HY20261203-0001",
			notify.FieldGrid:     "荷叶镇荷叶村第3网格",
			notify.FieldCategory: "环境卫生",
			notify.FieldDue:      "2026-12-03T06:00:00Z",
			notify.FieldLink:     "https://wangge.example.cn/i/HY20261203-0001",
		},
		CreatedAt: time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC),
	}
}

// channel starts a receiver and the config of a sender that reaches it.
type channel struct {
	name    string
	formats []string
	start   func(t *testing.T) (*notifytest.Receiver, notify.Config)
	secrets []string // must never appear in an error
}

func channels() []channel {
	both := []string{notify.FormatText, notify.FormatMarkdown}
	return []channel{
		{"wecom", both, func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewWeCom(t)
			return rx, notify.Config{Channel: notify.ChannelWeCom, URL: rx.WebhookURL()}
		}, nil},
		{"dingtalk signed", both, func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewDingTalk(t, dingSecret)
			return rx, notify.Config{Channel: notify.ChannelDingTalk, URL: rx.WebhookURL(), Secret: dingSecret}
		}, []string{dingSecret}},
		{"dingtalk unsigned", both, func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewDingTalk(t, "")
			return rx, notify.Config{Channel: notify.ChannelDingTalk, URL: rx.WebhookURL()}
		}, nil},
		{"feishu signed", both, func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewFeishu(t, feishuSecret)
			return rx, notify.Config{Channel: notify.ChannelFeishu, URL: rx.WebhookURL(), Secret: feishuSecret}
		}, []string{feishuSecret}},
		{"feishu unsigned", both, func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewFeishu(t, "")
			return rx, notify.Config{Channel: notify.ChannelFeishu, URL: rx.WebhookURL()}
		}, nil},
		{"sms", []string{notify.FormatText}, func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewSMSGateway(t, notifytest.SMSGateway{Token: smsToken})
			return rx, notify.Config{Channel: notify.ChannelSMS, URL: rx.WebhookURL(), Secret: smsToken,
				Headers: map[string]string{"Authorization": "Bearer {secret}"}, SuccessField: "Code", SuccessValue: "OK"}
		}, []string{smsToken}},
		{"webhook", both, func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewWebhook(t, hookSecret)
			return rx, notify.Config{Channel: notify.ChannelWebhook, URL: rx.WebhookURL(), Secret: hookSecret}
		}, []string{hookSecret}},
	}
}

func newSender(t *testing.T, c notify.Config, now func() time.Time) notify.Sender {
	t.Helper()
	s, err := notify.New(c, nil, now)
	if err != nil {
		t.Fatalf("New(%v): %v", c, err)
	}
	return s
}

// assertClean fails when err's text contains a secret or any key or token
// of the receiver's URL.
func assertClean(t *testing.T, err error, rxURL string, secrets []string) {
	t.Helper()
	if err == nil {
		return
	}
	words := append([]string(nil), secrets...)
	u, _ := url.Parse(rxURL)
	for _, vs := range u.Query() {
		words = append(words, vs...)
	}
	words = append(words, u.Path[strings.LastIndex(u.Path, "/")+1:])
	for _, w := range words {
		if len(w) >= 8 && strings.Contains(err.Error(), w) {
			t.Errorf("error %q contains the credential %q", err, w)
		}
	}
}

func TestChannelsDeliver(t *testing.T) {
	for _, ch := range channels() {
		for _, format := range ch.formats {
			t.Run(ch.name+"/"+format, func(t *testing.T) {
				rx, c := ch.start(t)
				c.Format = format
				m := routed("msg-0001")
				if err := newSender(t, c, nil).Send(context.Background(), m); err != nil {
					t.Fatalf("Send: %v", err)
				}
				got := rx.WaitFor(1, 5*time.Second)[0]
				title, body := notify.Render(m, format)
				want := body
				switch {
				case ch.name == "dingtalk signed" || ch.name == "dingtalk unsigned":
					if format == notify.FormatMarkdown {
						want += "\n\n@" + leaderPhone
					} else {
						want += "\n@" + leaderPhone
					}
					if !slices.Equal(got.Mentioned, []string{leaderPhone}) {
						t.Errorf("mentioned %v, want %s", got.Mentioned, leaderPhone)
					}
				case ch.name == "wecom" && format == notify.FormatText:
					if !slices.Equal(got.Mentioned, []string{leaderPhone}) {
						t.Errorf("mentioned %v, want %s", got.Mentioned, leaderPhone)
					}
				case ch.name == "sms":
					if got.Phone != leaderPhone || got.ID != "msg-0001" {
						t.Errorf("sms to %q id %q, want %s msg-0001", got.Phone, got.ID, leaderPhone)
					}
				case ch.name == "webhook":
					if got.ID != "msg-0001" || got.Kind != "routed" || got.Phone != leaderPhone || got.Name != "李建国" ||
						got.Fields[notify.FieldNumber] != "HY20261203-0001" || got.Title != title {
						t.Errorf("webhook got %+v", got)
					}
				}
				if got.Text != want {
					t.Errorf("text =\n%q\nwant\n%q", got.Text, want)
				}
				if ch.name != "webhook" && got.Format != format {
					t.Errorf("format %q, want %q", got.Format, format)
				}
				if (strings.HasPrefix(ch.name, "feishu") || strings.HasPrefix(ch.name, "dingtalk")) && format == notify.FormatMarkdown && got.Title != title {
					t.Errorf("title %q, want %q", got.Title, title)
				}
				for _, s := range []string{"HY20261203-0001", "荷叶镇荷叶村第3网格", "环境卫生", "12月3日 14:00"} {
					if !strings.Contains(got.Text, s) {
						t.Errorf("text %q lacks %q", got.Text, s)
					}
				}
			})
		}
	}
}

// TestChannelsRefuseWrongCredentials: the receiver refuses a request signed
// with another secret (or sent with another key), as the platform would,
// and Send reports a permanent error that quotes neither secret.
func TestChannelsRefuseWrongCredentials(t *testing.T) {
	twoHoursAgo := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	tenMinutesAhead := func() time.Time { return time.Now().Add(10 * time.Minute) }
	for _, tc := range []struct {
		name    string
		start   func(t *testing.T) (*notifytest.Receiver, notify.Config)
		now     func() time.Time
		code    string
		refusal string
		secrets []string
	}{
		{"wecom wrong key", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewWeCom(t)
			u, _ := url.Parse(rx.WebhookURL())
			u.RawQuery = "key=0000aaaa-1111-2222-3333-444455556666"
			return rx, notify.Config{Channel: notify.ChannelWeCom, URL: u.String()}
		}, nil, "93000", "invalid webhook url", []string{"0000aaaa-1111-2222-3333-444455556666"}},
		{"dingtalk wrong secret", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewDingTalk(t, dingSecret)
			return rx, notify.Config{Channel: notify.ChannelDingTalk, URL: rx.WebhookURL(), Secret: "SECanotherSecretThatIsWrong000000"}
		}, nil, "310000", "sign not match", []string{dingSecret, "SECanotherSecretThatIsWrong000000"}},
		{"dingtalk unsigned to a signing robot", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewDingTalk(t, dingSecret)
			return rx, notify.Config{Channel: notify.ChannelDingTalk, URL: rx.WebhookURL()}
		}, nil, "310000", "invalid timestamp", []string{dingSecret}},
		{"dingtalk clock two hours behind", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewDingTalk(t, dingSecret)
			return rx, notify.Config{Channel: notify.ChannelDingTalk, URL: rx.WebhookURL(), Secret: dingSecret}
		}, twoHoursAgo, "310000", "invalid timestamp", []string{dingSecret}},
		{"dingtalk wrong token", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewDingTalk(t, "")
			return rx, notify.Config{Channel: notify.ChannelDingTalk, URL: strings.Split(rx.WebhookURL(), "?")[0] + "?access_token=ffffffffffffffffffff"}
		}, nil, "300001", "token is not exist", []string{"ffffffffffffffffffff"}},
		{"feishu wrong secret", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewFeishu(t, feishuSecret)
			return rx, notify.Config{Channel: notify.ChannelFeishu, URL: rx.WebhookURL(), Secret: "another-feishu-secret"}
		}, nil, "19021", "sign match fail", []string{feishuSecret, "another-feishu-secret"}},
		{"feishu clock two hours behind", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewFeishu(t, feishuSecret)
			return rx, notify.Config{Channel: notify.ChannelFeishu, URL: rx.WebhookURL(), Secret: feishuSecret}
		}, twoHoursAgo, "19021", "sign match fail", []string{feishuSecret}},
		{"sms wrong token", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewSMSGateway(t, notifytest.SMSGateway{Token: smsToken})
			return rx, notify.Config{Channel: notify.ChannelSMS, URL: rx.WebhookURL(), Secret: "sms-token-wrong-123",
				Headers: map[string]string{"Authorization": "Bearer {secret}"}}
		}, nil, "", "unauthorized", []string{smsToken, "sms-token-wrong-123"}},
		{"webhook wrong secret", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewWebhook(t, hookSecret)
			return rx, notify.Config{Channel: notify.ChannelWebhook, URL: rx.WebhookURL(), Secret: "whsec-this-is-the-wrong-one"}
		}, nil, "", "bad signature", []string{hookSecret, "whsec-this-is-the-wrong-one"}},
		{"webhook clock ten minutes ahead", func(t *testing.T) (*notifytest.Receiver, notify.Config) {
			rx := notifytest.NewWebhook(t, hookSecret)
			return rx, notify.Config{Channel: notify.ChannelWebhook, URL: rx.WebhookURL(), Secret: hookSecret}
		}, tenMinutesAhead, "", "stale timestamp", []string{hookSecret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx, c := tc.start(t)
			err := newSender(t, c, tc.now).Send(context.Background(), routed("msg-0002"))
			var se *notify.SendError
			if !errors.As(err, &se) {
				t.Fatalf("Send = %v, want a *SendError", err)
			}
			if !notify.IsPermanent(err) {
				t.Errorf("Send = %v, want a permanent error", err)
			}
			if se.Code != tc.code {
				t.Errorf("code %q, want %q (%v)", se.Code, tc.code, err)
			}
			if refused := rx.Refusals(); len(refused) != 1 || !strings.Contains(refused[0], tc.refusal) {
				t.Errorf("receiver refusals %q, want one saying %q", refused, tc.refusal)
			}
			if len(rx.Received()) != 0 {
				t.Errorf("the receiver accepted the message")
			}
			assertClean(t, err, rx.WebhookURL(), tc.secrets)
			assertClean(t, err, c.URL, nil)
		})
	}
}

// TestChannelsRetry: a receiver that fails with 500, hangs past the
// deadline, or is too slow for the timeout gives a retryable error, and
// the next attempt of the same message succeeds.
func TestChannelsRetry(t *testing.T) {
	for _, ch := range channels() {
		t.Run(ch.name+"/500", func(t *testing.T) {
			rx, c := ch.start(t)
			s := newSender(t, c, nil)
			rx.FailStatus(1, http.StatusInternalServerError)
			err := s.Send(context.Background(), routed("msg-0003"))
			var se *notify.SendError
			if !errors.As(err, &se) || !se.Retryable || se.Status != 500 {
				t.Fatalf("Send = %v, want retryable HTTP 500", err)
			}
			assertClean(t, err, rx.WebhookURL(), ch.secrets)
			// The retry comes at once: a failed SMS gave its per-number slot back.
			if err := s.Send(context.Background(), routed("msg-0003")); err != nil {
				t.Fatalf("retry: %v", err)
			}
			if got := rx.WaitFor(1, 5*time.Second); len(got) != 1 {
				t.Errorf("received %d", len(got))
			}
		})
		t.Run(ch.name+"/hang", func(t *testing.T) {
			rx, c := ch.start(t)
			s := newSender(t, c, nil)
			rx.Hang(true)
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := s.Send(ctx, routed("msg-0004"))
			if !notify.IsRetryable(err) {
				t.Fatalf("Send = %v, want retryable", err)
			}
			if !strings.Contains(err.Error(), "no answer in time") {
				t.Errorf("error %q does not say it timed out", err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("Send took %s after a 150ms deadline", el)
			}
			assertClean(t, err, rx.WebhookURL(), ch.secrets)
			rx.Hang(false)
			if err := s.Send(context.Background(), routed("msg-0004")); err != nil {
				t.Fatalf("retry: %v", err)
			}
		})
	}
	t.Run("slow receiver and the channel timeout", func(t *testing.T) {
		rx := notifytest.NewWeCom(t)
		rx.Delay(2 * time.Second)
		s := newSender(t, notify.Config{Channel: notify.ChannelWeCom, URL: rx.WebhookURL(), Timeout: 100 * time.Millisecond}, nil)
		start := time.Now()
		err := s.Send(context.Background(), routed("msg-0005"))
		if !notify.IsRetryable(err) || time.Since(start) > time.Second {
			t.Fatalf("Send = %v after %s, want retryable within the 100ms timeout", err, time.Since(start))
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		u := srv.URL + "/cgi-bin/webhook/send?key=0123456789abcdef0123"
		srv.Close()
		err := newSender(t, notify.Config{Channel: notify.ChannelWeCom, URL: u}, nil).Send(context.Background(), routed("msg-0006"))
		if !notify.IsRetryable(err) {
			t.Fatalf("Send = %v, want retryable", err)
		}
		assertClean(t, err, u, nil)
	})
}

// TestPlatformCodes: each platform's error codes are classified, rate
// limits retryable with a wait, configuration errors permanent.
func TestPlatformCodes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		start     func(t *testing.T) (*notifytest.Receiver, notify.Config)
		code      int
		retryable bool
		after     time.Duration
	}{
		{"wecom rate limit", weCom, 45009, true, time.Minute},
		{"wecom busy", weCom, -1, true, 0},
		{"wecom content too long", weCom, 40058, false, 0},
		{"wecom unknown code", weCom, 12345, false, 0},
		{"dingtalk send too fast", dingTalk, 130101, true, time.Minute},
		{"dingtalk keywords", dingTalk, 310000, false, 0},
		{"dingtalk robot disabled", dingTalk, 400102, false, 0},
		{"feishu rate limit", feiShu, 11232, true, 10 * time.Second},
		{"feishu keywords", feiShu, 19024, false, 0},
		{"webhook 429", webHook, 429, true, 0},
		{"webhook 408", webHook, 408, true, 0},
		{"webhook 503", webHook, 503, true, 0},
		{"webhook 404", webHook, 404, false, 0},
		{"webhook 410", webHook, 410, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx, c := tc.start(t)
			rx.FailCode(1, tc.code, "injected")
			err := newSender(t, c, nil).Send(context.Background(), routed("msg-0007"))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if notify.IsRetryable(err) != tc.retryable || notify.RetryAfter(err) != tc.after {
				t.Errorf("Send = %v: retryable %v after %s, want %v after %s", err, notify.IsRetryable(err), notify.RetryAfter(err), tc.retryable, tc.after)
			}
		})
	}
}

func weCom(t *testing.T) (*notifytest.Receiver, notify.Config) {
	rx := notifytest.NewWeCom(t)
	return rx, notify.Config{Channel: notify.ChannelWeCom, URL: rx.WebhookURL()}
}

func dingTalk(t *testing.T) (*notifytest.Receiver, notify.Config) {
	rx := notifytest.NewDingTalk(t, dingSecret)
	return rx, notify.Config{Channel: notify.ChannelDingTalk, URL: rx.WebhookURL(), Secret: dingSecret}
}

func feiShu(t *testing.T) (*notifytest.Receiver, notify.Config) {
	rx := notifytest.NewFeishu(t, feishuSecret)
	return rx, notify.Config{Channel: notify.ChannelFeishu, URL: rx.WebhookURL(), Secret: feishuSecret}
}

func webHook(t *testing.T) (*notifytest.Receiver, notify.Config) {
	rx := notifytest.NewWebhook(t, hookSecret)
	return rx, notify.Config{Channel: notify.ChannelWebhook, URL: rx.WebhookURL(), Secret: hookSecret}
}

// TestLongMessagesFitEachPlatform: a very long text is cut to each
// platform's limit, on a character boundary, and accepted.
func TestLongMessagesFitEachPlatform(t *testing.T) {
	long := notify.Message{ID: "msg-long", Kind: "notice", Title: "长消息", Text: strings.Repeat("居民反映楼道堆放杂物，存在消防隐患。", 800)}
	for _, ch := range channels() {
		for _, format := range ch.formats {
			t.Run(ch.name+"/"+format, func(t *testing.T) {
				rx, c := ch.start(t)
				c.Format = format
				long.Recipient = notify.Recipient{Phone: leaderPhone}
				if err := newSender(t, c, nil).Send(context.Background(), long); err != nil {
					t.Fatalf("Send: %v", err)
				}
				got := rx.WaitFor(1, 5*time.Second)[0]
				if ch.name != "webhook" && !strings.Contains(got.Text, "…") {
					t.Errorf("text of %d bytes was not cut", len(got.Text))
				}
				if strings.ContainsRune(got.Text, '\uFFFD') {
					t.Errorf("text was cut inside a character")
				}
			})
		}
	}
}

// TestConcurrentSends sends from many goroutines at once (run with -race).
func TestConcurrentSends(t *testing.T) {
	rx := notifytest.NewWebhook(t, hookSecret)
	s := newSender(t, notify.Config{Channel: notify.ChannelWebhook, URL: rx.WebhookURL(), Secret: hookSecret}, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			errs <- s.Send(context.Background(), routed("msg-c"+string(rune('a'+i))))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := rx.WaitFor(20, 5*time.Second); len(got) != 20 {
		t.Errorf("received %d, want 20", len(got))
	}
}

// TestWebhookDuplicates: the same message sent twice (a retry after a lost
// answer) arrives twice with one ID; the receiver sees it is a duplicate.
func TestWebhookDuplicates(t *testing.T) {
	rx, c := webHook(t)
	s := newSender(t, c, nil)
	for range 2 {
		if err := s.Send(context.Background(), routed("msg-dup")); err != nil {
			t.Fatal(err)
		}
	}
	got := rx.WaitFor(2, 5*time.Second)
	if got[0].Duplicate || !got[1].Duplicate || got[0].ID != got[1].ID {
		t.Errorf("duplicates: %v %v", got[0].Duplicate, got[1].Duplicate)
	}
	if err := s.Send(context.Background(), notify.Message{Kind: notify.KindTest}); !notify.IsPermanent(err) {
		t.Errorf("a message without an ID: %v, want permanent", err)
	}
}
