package notify

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wangge/geo"
)

// Channel is the kind of a delivery channel.
type Channel string

// The channels.
const (
	ChannelWeCom    Channel = "wecom"    // 企业微信 group robot
	ChannelDingTalk Channel = "dingtalk" // 钉钉 custom robot, optionally with 加签
	ChannelFeishu   Channel = "feishu"   // 飞书 custom bot, optionally with 签名校验
	ChannelSMS      Channel = "sms"      // an SMS provider's HTTP API
	ChannelWebhook  Channel = "webhook"  // a signed JSON POST to any system (12345 hotline platforms, …)
)

// Defaults applied by New to zero fields.
const (
	DefaultTimeout           = 10 * time.Second
	DefaultMaxRunes          = 300
	DefaultPerNumberInterval = time.Minute
	DefaultPerSecond         = 10
	DefaultSMSContentType    = "application/json; charset=utf-8"
)

// Config is one channel as an admin configures it. The zero value of every
// optional field takes the default New applies.
//
// Secret is the only field that may hold a credential: the database keeps it
// sealed (SealSecret), and an SMS API key belongs there too, used in the body
// template as {secret} or in a header value as {secret}. Secret is left out
// of JSON and of String.
type Config struct {
	Channel Channel `json:"channel"`
	// URL is where messages are posted: the robot's webhook address (with its
	// key or access_token), the SMS provider's endpoint, or the receiver's URL.
	URL string `json:"url"`
	// Secret signs requests: DingTalk 加签 (starts with SEC; empty when the
	// robot uses keywords or an IP allow-list), Feishu 签名校验 (empty when
	// unsigned), the generic webhook (required, at least 16 characters). SMS
	// may use it as {secret}. WeCom robots do not sign.
	Secret string `json:"-"`
	// Format is "text" (default) or "markdown". SMS is always text.
	Format string `json:"format,omitempty"`
	// Method is POST (default). SMS may use PUT, or GET with the rendered
	// body template sent as the URL query.
	Method string `json:"method,omitempty"`
	// Headers are added to every request. A value may contain {secret}. The
	// headers the channel sets itself (Content-Type, X-Wangge-*) are refused.
	Headers map[string]string `json:"headers,omitempty"`
	// BodyTemplate is the SMS request body with placeholders such as {phone}
	// and {text}; values are escaped for ContentType. Empty: a JSON or form
	// body with phone, text and id.
	BodyTemplate string `json:"body_template,omitempty"`
	// ContentType of the SMS body: application/json (default, values
	// JSON-escaped), application/x-www-form-urlencoded (values URL-encoded),
	// application/xml (values XML-escaped) or text/plain (values as is).
	ContentType string `json:"content_type,omitempty"`
	// SuccessField and SuccessValue, for SMS, name a field of the JSON answer
	// (dots for nesting, e.g. "Code" or "result.code") and the value it must
	// have for a 2xx answer to count as sent, e.g. "Code" = "OK".
	SuccessField string `json:"success_field,omitempty"`
	SuccessValue string `json:"success_value,omitempty"`
	// MaxRunes caps the SMS text in characters (default 300). One SMS holds
	// 70 Chinese characters; a longer text is sent as a long SMS of 67
	// characters per segment, so 300 characters cost 5 segments.
	MaxRunes int `json:"max_runes,omitempty"`
	// PerNumberInterval is the least time between two SMS to one number
	// (default 1 minute; negative: no limit).
	PerNumberInterval time.Duration `json:"per_number_interval,omitempty"`
	// PerSecond caps the SMS sent per second over all numbers (default 10;
	// negative: no limit).
	PerSecond int `json:"per_second,omitempty"`
	// Timeout bounds one request (default 10 s, at most 2 minutes).
	Timeout time.Duration `json:"timeout,omitempty"`
}

// String describes the channel without its secret: the kind and the
// redacted URL.
func (c Config) String() string {
	return string(c.Channel) + " " + RedactURL(c.URL)
}

// reservedHeaders are set by the channels themselves.
var reservedHeaders = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Host": true,
	"Transfer-Encoding": true, "Connection": true, "Te": true, "Trailer": true, "Upgrade": true,
}

// Validate checks c as an admin wrote it. It returns a *geo.Error with code
// EINVALID and one Problem per defect, Where naming the field (url, secret,
// headers[X-Name], body_template, …); the reasons never quote the secret,
// a header value or a URL's key.
func (c Config) Validate() error {
	var ps []geo.Problem
	add := func(where, format string, args ...any) {
		ps = append(ps, geo.Problem{Where: where, Reason: fmt.Sprintf(format, args...)})
	}
	sms := c.Channel == ChannelSMS

	switch c.Channel {
	case ChannelWeCom, ChannelDingTalk, ChannelFeishu, ChannelSMS, ChannelWebhook:
	case "":
		add("channel", "missing; want wecom, dingtalk, feishu, sms or webhook")
	default:
		add("channel", "got %q, want wecom, dingtalk, feishu, sms or webhook", clip(c.Channel))
	}

	if reason := checkURL(c.Channel, c.URL); reason != "" {
		add("url", "%s", reason)
	}

	if reason := badText(c.Secret, false); reason != "" {
		add("secret", "%s", reason)
	} else {
		switch c.Channel {
		case ChannelWeCom:
			if c.Secret != "" {
				add("secret", "WeCom group robots do not sign requests; leave it empty (the key is part of the URL)")
			}
		case ChannelDingTalk:
			if c.Secret != "" && !strings.HasPrefix(c.Secret, "SEC") {
				add("secret", "want the robot's 加签 secret, which starts with SEC (or empty for a robot secured by keywords or IP)")
			}
		case ChannelWebhook:
			if c.Secret == "" {
				add("secret", "missing; the webhook signs every request with it")
			} else if len(c.Secret) < 16 {
				add("secret", "too short: want at least 16 characters")
			}
		}
	}

	switch c.Format {
	case "", FormatText:
	case FormatMarkdown:
		if sms {
			add("format", "SMS is plain text; want text or empty")
		}
	default:
		add("format", "got %q, want text or markdown", clip(c.Format))
	}

	switch m := strings.ToUpper(c.Method); {
	case m == "" || m == http.MethodPost:
	case sms && (m == http.MethodPut || m == http.MethodGet):
	case sms:
		add("method", "got %q, want POST, PUT or GET", clip(c.Method))
	default:
		add("method", "got %q, want POST (or empty)", clip(c.Method))
	}

	names := make([]string, 0, len(c.Headers))
	for n := range c.Headers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		where := "headers[" + clip(n) + "]"
		switch canon := http.CanonicalHeaderKey(n); {
		case !isToken(n):
			add(where, "a header name is a token: letters, digits and !#$%%&'*+-.^_`|~, no spaces or colons")
		case reservedHeaders[canon] || strings.HasPrefix(canon, "X-Wangge-"):
			add(where, "set by the channel itself; remove it")
		}
		if reason := badText(c.Headers[n], false); reason != "" {
			add(where, "value %s", reason)
		} else if c.Secret == "" && strings.Contains(c.Headers[n], "{secret}") {
			add("secret", "missing; %s uses {secret}", where)
		}
	}

	esc := escapeJSON
	if c.ContentType != "" {
		if !sms {
			add("content_type", "only sms takes a content type")
		} else if reason := badText(c.ContentType, false); reason != "" {
			add("content_type", "%s", reason)
		} else if e, err := escaperFor(c.ContentType); err != nil {
			add("content_type", "%v", err)
		} else {
			esc = e
		}
	}
	if sms && strings.EqualFold(c.Method, http.MethodGet) {
		// A GET sends the filled-in template as the URL query.
		if c.ContentType != "" && esc != escapeForm {
			add("content_type", "a GET sends the body template as the URL query; want application/x-www-form-urlencoded or empty")
		}
		esc = escapeForm
	}
	if c.BodyTemplate != "" && !sms {
		add("body_template", "only sms takes a body template")
	} else if sms {
		if reason := badText(c.BodyTemplate, true); reason != "" {
			add("body_template", "%s", reason)
		} else if len(c.BodyTemplate) > maxTemplate {
			add("body_template", "too long: %d bytes, want at most %d", len(c.BodyTemplate), maxTemplate)
		} else if c.BodyTemplate == "" && defaultTemplate(esc) == "" {
			add("body_template", "missing; there is no default body for %s", clip(c.ContentType))
		} else if c.BodyTemplate != "" {
			if t, err := parseTemplate(c.BodyTemplate); err != nil {
				add("body_template", "%v", err)
			} else if err := checkRendered(t.render(sampleValues(), esc), esc); err != nil {
				add("body_template", "%v", err)
			} else if !t.uses("phone") && !t.uses("text") {
				add("body_template", "uses neither {phone} nor {text}; want both")
			} else if t.uses("secret") && c.Secret == "" {
				add("secret", "missing; body_template uses {secret}")
			}
		}
	}

	if (c.SuccessField != "" || c.SuccessValue != "") && !sms {
		add("success_field", "only sms checks a success field")
	} else if c.SuccessField == "" && c.SuccessValue != "" {
		add("success_field", "missing; success_value %q needs the field it is compared with", clip(c.SuccessValue))
	} else if c.SuccessField != "" {
		if reason := badText(c.SuccessField, false); reason != "" {
			add("success_field", "%s", reason)
		} else if strings.Contains("."+c.SuccessField+".", "..") {
			add("success_field", "got %q, want a field name or a dotted path such as result.code", clip(c.SuccessField))
		}
		if reason := badText(c.SuccessValue, false); reason != "" {
			add("success_value", "%s", reason)
		} else if c.SuccessValue == "" {
			add("success_value", "missing; want the value success_field has on success, e.g. OK or 0")
		}
	}

	if c.MaxRunes != 0 && (!sms || c.MaxRunes < 20 || c.MaxRunes > 1000) {
		if !sms {
			add("max_runes", "only sms caps the text")
		} else {
			add("max_runes", "got %d, want 0 (default %d) or 20..1000", c.MaxRunes, DefaultMaxRunes)
		}
	}
	if c.PerNumberInterval != 0 && (!sms || c.PerNumberInterval > 24*time.Hour) {
		if !sms {
			add("per_number_interval", "only sms limits the rate per number")
		} else {
			add("per_number_interval", "got %s, want at most 24h (0 for the default %s, negative for no limit)", c.PerNumberInterval, DefaultPerNumberInterval)
		}
	}
	if c.PerSecond != 0 && (!sms || c.PerSecond > 1000) {
		if !sms {
			add("per_second", "only sms limits the rate per second")
		} else {
			add("per_second", "got %d, want at most 1000 (0 for the default %d, negative for no limit)", c.PerSecond, DefaultPerSecond)
		}
	}
	if c.Timeout < 0 || c.Timeout > 2*time.Minute {
		add("timeout", "got %s, want 0 (default %s) up to 2m", c.Timeout, DefaultTimeout)
	}

	if len(ps) == 0 {
		return nil
	}
	return &geo.Error{Code: geo.EINVALID, Message: "invalid notification channel", Problems: ps}
}

// withDefaults returns c with every zero optional field set to its default
// and the method upper-cased. c must be valid.
// SendTimeout is how long one Send through a channel of c may take.
func (c Config) SendTimeout() time.Duration { return c.withDefaults().Timeout }

func (c Config) withDefaults() Config {
	if c.Format == "" {
		c.Format = FormatText
	}
	c.Method = strings.ToUpper(c.Method)
	if c.Method == "" {
		c.Method = http.MethodPost
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Channel == ChannelSMS {
		if c.ContentType == "" && c.Method == http.MethodGet {
			c.ContentType = "application/x-www-form-urlencoded"
		} else if c.ContentType == "" {
			c.ContentType = DefaultSMSContentType
		}
		if c.BodyTemplate == "" {
			esc, _ := escaperFor(c.ContentType)
			c.BodyTemplate = defaultTemplate(esc)
		}
		if c.MaxRunes == 0 {
			c.MaxRunes = DefaultMaxRunes
		}
		if c.PerNumberInterval == 0 {
			c.PerNumberInterval = DefaultPerNumberInterval
		}
		if c.PerSecond == 0 {
			c.PerSecond = DefaultPerSecond
		}
	}
	return c
}

// checkURL returns why raw is not a usable address for the channel, or "".
// It quotes the URL only redacted.
func checkURL(ch Channel, raw string) string {
	if raw == "" {
		return "missing; want the http or https address to post to"
	}
	if reason := badText(raw, false); reason != "" {
		return reason
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "cannot be parsed as a URL; want an http or https URL"
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" || u.Opaque != "" {
		return fmt.Sprintf("got %q, want an http or https URL", RedactURL(raw))
	}
	if u.User != nil {
		return "has a user name or password in it; put credentials in secret or a header instead"
	}
	if u.Hostname() == "" {
		return fmt.Sprintf("got %q, want a URL with a host", RedactURL(raw))
	}
	q := u.Query()
	switch ch {
	case ChannelWeCom:
		if q.Get("key") == "" {
			return "want the robot's webhook address with its key: https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
		}
	case ChannelDingTalk:
		if q.Get("access_token") == "" {
			return "want the robot's webhook address with its access_token: https://oapi.dingtalk.com/robot/send?access_token=…"
		}
		if q.Has("timestamp") || q.Has("sign") {
			return "has timestamp or sign in it; they are computed for every message, remove them"
		}
	case ChannelFeishu:
		i := strings.Index(u.Path, "/hook/")
		if i < 0 || strings.Trim(u.Path[i+len("/hook/"):], "/") == "" {
			return "want the bot's webhook address: https://open.feishu.cn/open-apis/bot/v2/hook/…"
		}
	}
	return ""
}

// badText returns why s is unfit for a configuration field, or "": invalid
// UTF-8, or a control character (tabs are allowed, and newlines when
// newlines is set). It never quotes s.
func badText(s string, newlines bool) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	for i, r := range s {
		if r == '\t' || newlines && (r == '\n' || r == '\r') {
			continue
		}
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == '\u2028' || r == '\u2029' {
			return fmt.Sprintf("has a control character (U+%04X) at byte %d", r, i)
		}
	}
	return ""
}

// isToken reports whether s is an HTTP token (RFC 9110 §5.6.2), the form
// of a header name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// clip shortens a value quoted in a message to 64 bytes, on a UTF-8
// boundary, and replaces invalid bytes and control characters with U+FFFD.
func clip[S ~string](s S) string {
	t := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, strings.ToValidUTF8(string(s), "\uFFFD"))
	return truncateBytes(t, 64)
}
