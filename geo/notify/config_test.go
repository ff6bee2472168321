package notify

import (
	"errors"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

const (
	testWeComURL    = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
	testDingTalkURL = "https://oapi.dingtalk.com/robot/send?access_token=98975521a1b23c02cdd1a9a08c69511ddf5fa9d2"
	testFeishuURL   = "https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f86fd"
	testDingSecret  = "SECthisisatestsecret0123456789abcdef"
	testHookSecret  = "whsec-0123456789abcdef"
)

func TestValidateAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
	}{
		{"wecom", Config{Channel: ChannelWeCom, URL: testWeComURL}},
		{"wecom markdown", Config{Channel: ChannelWeCom, URL: testWeComURL, Format: FormatMarkdown}},
		{"dingtalk signed", Config{Channel: ChannelDingTalk, URL: testDingTalkURL, Secret: testDingSecret}},
		{"dingtalk by keywords", Config{Channel: ChannelDingTalk, URL: testDingTalkURL}},
		{"feishu signed", Config{Channel: ChannelFeishu, URL: testFeishuURL, Secret: "feishu-test-secret"}},
		{"lark unsigned", Config{Channel: ChannelFeishu, URL: "https://open.larksuite.com/open-apis/bot/v2/hook/abc"}},
		{"webhook", Config{Channel: ChannelWebhook, URL: "http://12345.example.gov.cn/notify", Secret: testHookSecret, Headers: map[string]string{"X-Source": "wangge"}}},
		{"sms defaults", Config{Channel: ChannelSMS, URL: "https://sms.example.com/send"}},
		{"sms form", Config{Channel: ChannelSMS, URL: "https://sms.example.com/send", ContentType: "application/x-www-form-urlencoded", BodyTemplate: "mobile={phone}&content={text}&key={secret}", Secret: "k-123456"}},
		{"sms get", Config{Channel: ChannelSMS, URL: "https://sms.example.com/send?account=wg", Method: "get"}},
		{"sms xml", Config{Channel: ChannelSMS, URL: "https://sms.example.com/ws", ContentType: "text/xml; charset=utf-8", BodyTemplate: "<sms><to>{phone}</to><msg>{text}</msg></sms>"}},
		{"sms plain", Config{Channel: ChannelSMS, URL: "https://sms.example.com/send", ContentType: "text/plain", BodyTemplate: "{phone}\n{text}"}},
		{"sms json with nested object and success field", Config{
			Channel: ChannelSMS, URL: "https://sms.example.com/send", Method: "PUT",
			BodyTemplate: "{\n  \"to\": \"{phone}\",\n  \"params\": {\"text\": \"{text}\", \"due\": \"{due}\"}\n}",
			SuccessField: "result.code", SuccessValue: "0",
			Headers: map[string]string{"Authorization": "Bearer {secret}"}, Secret: "token-abc",
			MaxRunes: 70, PerNumberInterval: -1, PerSecond: -1, Timeout: 30 * time.Second,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

func TestValidateRefuses(t *testing.T) {
	sms := func(c Config) Config { c.Channel = ChannelSMS; c.URL = "https://sms.example.com/send"; return c }
	for _, tc := range []struct {
		name   string
		c      Config
		where  string
		reason string // part of the reason, "" for any
	}{
		{"no channel", Config{URL: testWeComURL}, "channel", "missing"},
		{"unknown channel", Config{Channel: "email", URL: testWeComURL}, "channel", `got "email"`},
		{"no url", Config{Channel: ChannelWeCom}, "url", "missing"},
		{"ftp url", Config{Channel: ChannelWebhook, URL: "ftp://x", Secret: testHookSecret}, "url", `got "ftp://x", want an http or https URL`},
		{"url without host", Config{Channel: ChannelWebhook, URL: "http:///notify", Secret: testHookSecret}, "url", "want a URL with a host"},
		{"relative url", Config{Channel: ChannelWebhook, URL: "/notify", Secret: testHookSecret}, "url", "want an http or https URL"},
		{"url with password", Config{Channel: ChannelWebhook, URL: "https://admin:hunter22@example.com/n", Secret: testHookSecret}, "url", "user name or password"},
		{"url with newline", Config{Channel: ChannelWebhook, URL: "https://example.com/n\nX-Evil: 1", Secret: testHookSecret}, "url", "control character"},
		{"url with invalid UTF-8", Config{Channel: ChannelWebhook, URL: "https://example.com/\xff", Secret: testHookSecret}, "url", "UTF-8"},
		{"wecom url without key", Config{Channel: ChannelWeCom, URL: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"}, "url", "with its key"},
		{"dingtalk url without token", Config{Channel: ChannelDingTalk, URL: "https://oapi.dingtalk.com/robot/send"}, "url", "access_token"},
		{"dingtalk url with a sign", Config{Channel: ChannelDingTalk, URL: testDingTalkURL + "&timestamp=1&sign=x"}, "url", "remove them"},
		{"feishu url without hook", Config{Channel: ChannelFeishu, URL: "https://open.feishu.cn/open-apis/bot/v2/"}, "url", "webhook address"},
		{"wecom with a secret", Config{Channel: ChannelWeCom, URL: testWeComURL, Secret: "x"}, "secret", "do not sign"},
		{"dingtalk secret not SEC", Config{Channel: ChannelDingTalk, URL: testDingTalkURL, Secret: "98975521a1b23c02"}, "secret", "starts with SEC"},
		{"webhook without secret", Config{Channel: ChannelWebhook, URL: "https://example.com/n"}, "secret", "missing"},
		{"webhook short secret", Config{Channel: ChannelWebhook, URL: "https://example.com/n", Secret: "short"}, "secret", "at least 16"},
		{"secret with a newline", Config{Channel: ChannelFeishu, URL: testFeishuURL, Secret: "abc\ndef"}, "secret", "control character"},
		{"unknown format", Config{Channel: ChannelWeCom, URL: testWeComURL, Format: "html"}, "format", `got "html"`},
		{"sms markdown", sms(Config{Format: FormatMarkdown}), "format", "plain text"},
		{"webhook DELETE", Config{Channel: ChannelWebhook, URL: "https://example.com/n", Secret: testHookSecret, Method: "DELETE"}, "method", "want POST"},
		{"sms PATCH", sms(Config{Method: "PATCH"}), "method", "POST, PUT or GET"},
		{"header name with a space", Config{Channel: ChannelWeCom, URL: testWeComURL, Headers: map[string]string{"Bad Header": "1"}}, "headers[Bad Header]", "token"},
		{"header name with a colon", Config{Channel: ChannelWeCom, URL: testWeComURL, Headers: map[string]string{"X-Api:Key": "1"}}, "headers[X-Api:Key]", "token"},
		{"header value with CRLF", Config{Channel: ChannelWeCom, URL: testWeComURL, Headers: map[string]string{"X-Token": "a\r\nX-Evil: 1"}}, "headers[X-Token]", "control character"},
		{"reserved header", Config{Channel: ChannelWebhook, URL: "https://example.com/n", Secret: testHookSecret, Headers: map[string]string{"content-type": "text/plain"}}, "headers[content-type]", "set by the channel"},
		{"wangge header", Config{Channel: ChannelWebhook, URL: "https://example.com/n", Secret: testHookSecret, Headers: map[string]string{"X-Wangge-Signature": "x"}}, "headers[X-Wangge-Signature]", "set by the channel"},
		{"template on a robot", Config{Channel: ChannelWeCom, URL: testWeComURL, BodyTemplate: "{text}"}, "body_template", "only sms"},
		{"unknown placeholder", sms(Config{BodyTemplate: `{"phone":"{phone}","text":"{nmuber}"}`}), "body_template", "unknown placeholder {nmuber}"},
		{"placeholder outside a JSON string", sms(Config{BodyTemplate: `{"phone":{phone},"text":"{text}"}`}), "body_template", "not valid JSON"},
		{"template not JSON", sms(Config{BodyTemplate: `phone={phone}&text={text}`}), "body_template", "not valid JSON"},
		{"template without phone or text", sms(Config{BodyTemplate: `{"id":"{id}"}`}), "body_template", "neither {phone} nor {text}"},
		{"xml template not well-formed", sms(Config{ContentType: "application/xml", BodyTemplate: "<sms><to>{phone}</sms>"}), "body_template", "XML"},
		{"plain text without template", sms(Config{ContentType: "text/plain"}), "body_template", "no default body"},
		{"unknown content type", sms(Config{ContentType: "application/pdf"}), "content_type", "want application/json"},
		{"bad content type", sms(Config{ContentType: ";;"}), "content_type", "media type"},
		{"content type on a webhook", Config{Channel: ChannelWebhook, URL: "https://example.com/n", Secret: testHookSecret, ContentType: "application/json"}, "content_type", "only sms"},
		{"GET with a JSON body", sms(Config{Method: "GET", ContentType: "application/json"}), "content_type", "URL query"},
		{"success value without field", sms(Config{SuccessValue: "OK"}), "success_field", "missing"},
		{"success field without value", sms(Config{SuccessField: "Code"}), "success_value", "missing"},
		{"success field with empty segment", sms(Config{SuccessField: "result..code", SuccessValue: "0"}), "success_field", "dotted path"},
		{"success field on a robot", Config{Channel: ChannelWeCom, URL: testWeComURL, SuccessField: "errcode", SuccessValue: "0"}, "success_field", "only sms"},
		{"success value invalid UTF-8", sms(Config{SuccessField: "Code", SuccessValue: "\xffOK"}), "success_value", "UTF-8"},
		{"header uses a missing secret", sms(Config{Headers: map[string]string{"Authorization": "Bearer {secret}"}}), "secret", "headers[Authorization] uses {secret}"},
		{"template uses a missing secret", sms(Config{BodyTemplate: `{"key":"{secret}","phone":"{phone}","text":"{text}"}`}), "secret", "body_template uses {secret}"},
		{"max runes too small", sms(Config{MaxRunes: 5}), "max_runes", "20..1000"},
		{"max runes on a robot", Config{Channel: ChannelWeCom, URL: testWeComURL, MaxRunes: 100}, "max_runes", "only sms"},
		{"per number interval too long", sms(Config{PerNumberInterval: 48 * time.Hour}), "per_number_interval", "at most 24h"},
		{"per second too high", sms(Config{PerSecond: 5000}), "per_second", "at most 1000"},
		{"per second on a webhook", Config{Channel: ChannelWebhook, URL: "https://example.com/n", Secret: testHookSecret, PerSecond: 1}, "per_second", "only sms"},
		{"negative timeout", Config{Channel: ChannelWeCom, URL: testWeComURL, Timeout: -time.Second}, "timeout", "up to 2m"},
		{"timeout too long", Config{Channel: ChannelWeCom, URL: testWeComURL, Timeout: 10 * time.Minute}, "timeout", "up to 2m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate()
			var ge *geo.Error
			if !errors.As(err, &ge) {
				t.Fatalf("Validate = %v, want a *geo.Error", err)
			}
			if ge.Code != geo.EINVALID {
				t.Errorf("code = %q, want %q", ge.Code, geo.EINVALID)
			}
			found := false
			for _, p := range ge.Problems {
				if p.Where == tc.where && strings.Contains(p.Reason, tc.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems = %+v, want one at %q saying %q", ge.Problems, tc.where, tc.reason)
			}
			if _, err := New(tc.c, nil, nil); err == nil {
				t.Errorf("New accepted the config")
			}
		})
	}
}

// TestValidateNeverQuotesSecrets checks that no reason quotes a secret, a
// password, a header value or a URL's key, whatever is wrong.
func TestValidateNeverQuotesSecrets(t *testing.T) {
	for _, c := range []Config{
		{Channel: ChannelWeCom, URL: "gopher://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SUPERSECRETKEY-123", Secret: "SUPERSECRETKEY-123"},
		{Channel: ChannelDingTalk, URL: "ftp://oapi.dingtalk.com/robot/send?access_token=SUPERSECRETKEY-123", Secret: "SUPERSECRETKEY-123\n"},
		{Channel: ChannelFeishu, URL: "https://open.feishu.cn/open-apis/bot/v2/hook/SUPERSECRETKEY-123\x00"},
		{Channel: ChannelWebhook, URL: "https://u:SUPERSECRETKEY-123@example.com/n", Secret: "SUPERSECRETKEY-123\x7f"},
		{Channel: ChannelSMS, URL: "https://sms.example.com/send", Headers: map[string]string{"Authorization": "Bearer SUPERSECRETKEY-123\r\n", "X-Key": "SUPERSECRETKEY-123"}, Format: "html"},
	} {
		err := c.Validate()
		if err == nil {
			t.Fatalf("%v: Validate accepted it", c)
		}
		var ge *geo.Error
		errors.As(err, &ge)
		text := err.Error()
		for _, p := range ge.Problems {
			text += " | " + p.Where + ": " + p.Reason
		}
		if strings.Contains(text, "SUPERSECRETKEY") {
			t.Errorf("the error quotes the secret: %s", text)
		}
		if strings.Contains(c.String(), "SUPERSECRETKEY") {
			t.Errorf("Config.String quotes the secret: %s", c.String())
		}
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	c := Config{Channel: ChannelSMS, URL: "ftp://x", Format: "html", MaxRunes: 1, Timeout: -1, Headers: map[string]string{"A B": "1"}}
	var ge *geo.Error
	if !errors.As(c.Validate(), &ge) {
		t.Fatal("want a *geo.Error")
	}
	var got []string
	for _, p := range ge.Problems {
		got = append(got, p.Where)
	}
	want := []string{"url", "format", "headers[A B]", "max_runes", "timeout"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("problems at %v, want %v", got, want)
	}
}

func TestWithDefaults(t *testing.T) {
	c := Config{Channel: ChannelSMS, URL: "https://sms.example.com/send"}.withDefaults()
	if c.Format != FormatText || c.Method != "POST" || c.ContentType != DefaultSMSContentType ||
		c.MaxRunes != DefaultMaxRunes || c.PerNumberInterval != DefaultPerNumberInterval ||
		c.PerSecond != DefaultPerSecond || c.Timeout != DefaultTimeout || c.BodyTemplate == "" {
		t.Errorf("defaults = %+v", c)
	}
	g := Config{Channel: ChannelSMS, URL: "https://sms.example.com/send", Method: "get"}.withDefaults()
	if g.Method != "GET" || g.ContentType != "application/x-www-form-urlencoded" || g.BodyTemplate != "phone={phone}&text={text}&id={id}" {
		t.Errorf("GET defaults = %q %q %q", g.Method, g.ContentType, g.BodyTemplate)
	}
}
