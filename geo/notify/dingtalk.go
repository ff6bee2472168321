package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// dingTalkMax caps the content in bytes. DingTalk refuses a body over
// 20000 bytes (errcode 460101); the rest is left for the JSON around it.
const dingTalkMax = 18000

// dingTalkCodes are the errcodes of the custom robot API that wangge handles
// specially. Any other non-zero errcode in a 200 answer is permanent.
var dingTalkCodes = map[int]codeRule{
	-1:     {retry: true, what: "DingTalk is busy"},
	130101: {retry: true, after: time.Minute, what: "rate limited by DingTalk (20 messages a minute per robot)"},
	310000: {what: "DingTalk's security check failed (sign, timestamp, keywords or IP allow-list)"},
	300001: {what: "the access_token is invalid or the robot was removed"},
	400102: {what: "the robot is disabled"},
	460101: {what: "the message is too long"},
}

// dingTalk posts to a 钉钉 custom robot, signed when a secret is set.
type dingTalk struct {
	*base
	u *url.URL
}

func newDingTalk(b *base) (Sender, error) {
	u, err := url.Parse(b.cfg.URL)
	if err != nil { // Validate parsed it already
		return nil, b.fail(false, 0, "", 0, "url: %v", err)
	}
	return &dingTalk{base: b, u: u}, nil
}

type dingTalkText struct {
	Content string `json:"content"`
}

type dingTalkMarkdown struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type dingTalkAt struct {
	AtMobiles []string `json:"atMobiles,omitempty"`
	IsAtAll   bool     `json:"isAtAll"`
}

type dingTalkRequest struct {
	MsgType  string            `json:"msgtype"`
	Text     *dingTalkText     `json:"text,omitempty"`
	Markdown *dingTalkMarkdown `json:"markdown,omitempty"`
	At       dingTalkAt        `json:"at"`
}

// Send posts m as text or markdown. The recipient's mobile goes into
// at.atMobiles and, as DingTalk requires for the mention to show, as
// "@138…" into the content.
func (s *dingTalk) Send(ctx context.Context, m Message) error {
	title, body := Render(m, s.cfg.Format)
	body = truncateBytes(body, dingTalkMax)
	req := dingTalkRequest{MsgType: "text"}
	if p := mobile(m.Recipient.Phone); p != "" {
		req.At.AtMobiles = []string{p}
		if s.cfg.Format == FormatMarkdown {
			body += "\n\n@" + p
		} else {
			body += "\n@" + p
		}
	}
	if s.cfg.Format == FormatMarkdown {
		req.MsgType = "markdown"
		req.Markdown = &dingTalkMarkdown{Title: title, Text: body}
	} else {
		req.Text = &dingTalkText{Content: body}
	}
	target := s.cfg.URL
	if s.cfg.Secret != "" {
		ts, sign := dingTalkSign(s.cfg.Secret, s.now())
		u := *s.u
		q := u.Query()
		q.Set("timestamp", ts)
		q.Set("sign", sign)
		u.RawQuery = q.Encode()
		target = u.String()
	}
	a, err := s.do(ctx, http.MethodPost, target, "application/json", marshal(req), nil)
	if err != nil {
		return err
	}
	return s.errcodeAnswer(a, dingTalkCodes)
}

// dingTalkSign computes DingTalk's 加签: timestamp is t in milliseconds,
// sign is Base64(HmacSHA256(key=secret, timestamp+"\n"+secret)). The caller
// URL-encodes sign when it puts it in the query.
func dingTalkSign(secret string, t time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(t.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp + "\n" + secret))
	return timestamp, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
