package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Feishu error codes the stand-in answers.
const (
	FeishuBadRequest  = 9499  // Bad Request (malformed, or over 20 KB)
	FeishuBadToken    = 19001 // param invalid: incoming webhook access token invalid
	FeishuSignFail    = 19021 // sign match fail or timestamp is not within one hour from current time
	FeishuRateLimited = 11232 // frequency limited
)

// NewFeishu starts a Feishu custom bot. Its WebhookURL is
// …/open-apis/bot/v2/hook/<random token>. With a secret (签名校验) every
// body must carry "timestamp" (seconds, a string, within an hour) and
// "sign"; otherwise it is answered code 19021, HTTP 200. An empty secret
// accepts unsigned requests.
func NewFeishu(t testing.TB, secret string) *Receiver {
	t.Helper()
	p := &feishu{token: randomToken(16), secret: secret}
	return start(t, "/open-apis/bot/v2/hook/"+p.token, p)
}

type feishu struct{ token, secret string }

func (p *feishu) errorReply(code int, msg string) reply {
	return jsonReply(http.StatusOK, map[string]any{"code": code, "msg": msg, "data": map[string]any{}})
}

func (p *feishu) okReply() reply {
	return jsonReply(http.StatusOK, map[string]any{
		"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": map[string]any{}, "msg": "success",
	})
}

func (p *feishu) check(rx *Receiver, r *http.Request, body []byte) (Received, *refusal) {
	token, ok := strings.CutPrefix(r.URL.Path, "/open-apis/bot/v2/hook/")
	if !ok {
		return Received{}, &refusal{reply: reply{http.StatusNotFound, []byte("404 page not found")}, reason: "no such path " + r.URL.Path}
	}
	if r.Method != http.MethodPost {
		return Received{}, refuse(p, FeishuBadRequest, "Bad Request")
	}
	if token != p.token {
		return Received{}, refuse(p, FeishuBadToken, "param invalid: incoming webhook access token invalid")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return Received{}, refuse(p, FeishuBadRequest, "Bad Request")
	}
	if len(body) > 20<<10 {
		return Received{}, refuse(p, FeishuBadRequest, "Bad Request")
	}
	type element struct {
		Tag     string `json:"tag"`
		Content string `json:"content"`
		Text    *struct {
			Tag     string `json:"tag"`
			Content string `json:"content"`
		} `json:"text"`
	}
	var req struct {
		Timestamp string `json:"timestamp"`
		Sign      string `json:"sign"`
		MsgType   string `json:"msg_type"`
		Content   *struct {
			Text string `json:"text"`
		} `json:"content"`
		Card *struct {
			Header struct {
				Title struct {
					Content string `json:"content"`
				} `json:"title"`
			} `json:"header"`
			Elements []element `json:"elements"`
		} `json:"card"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return Received{}, refuse(p, FeishuBadRequest, "Bad Request")
	}
	if p.secret != "" {
		const fail = "sign match fail or timestamp is not within one hour from current time"
		sec, err := strconv.ParseInt(req.Timestamp, 10, 64)
		if err != nil {
			return Received{}, refuse(p, FeishuSignFail, fail)
		}
		if d := rx.now().Sub(time.Unix(sec, 0)); d > time.Hour || d < -time.Hour {
			return Received{}, refuse(p, FeishuSignFail, fail)
		}
		// Independent of notify: timestamp + "\n" + secret is the HMAC key,
		// and the message is empty.
		h := hmac.New(sha256.New, []byte(req.Timestamp+"\n"+p.secret))
		got, err := base64.StdEncoding.DecodeString(req.Sign)
		if err != nil || !hmac.Equal(got, h.Sum(nil)) {
			return Received{}, refuse(p, FeishuSignFail, fail)
		}
	}
	switch req.MsgType {
	case "text":
		if req.Content == nil || req.Content.Text == "" {
			return Received{}, refuse(p, FeishuBadRequest, "Bad Request")
		}
		return Received{Format: "text", Text: req.Content.Text}, nil
	case "interactive":
		if req.Card == nil || len(req.Card.Elements) == 0 {
			return Received{}, refuse(p, FeishuBadRequest, "Bad Request")
		}
		var parts []string
		for _, e := range req.Card.Elements {
			switch {
			case e.Tag == "markdown":
				parts = append(parts, e.Content)
			case e.Tag == "div" && e.Text != nil:
				parts = append(parts, e.Text.Content)
			}
		}
		return Received{Format: "markdown", Title: req.Card.Header.Title.Content, Text: strings.Join(parts, "\n")}, nil
	}
	return Received{}, refuse(p, FeishuBadRequest, "Bad Request")
}
