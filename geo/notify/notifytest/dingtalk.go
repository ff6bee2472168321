package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// DingTalk error codes the stand-in answers.
const (
	DingTalkSecurity     = 310000 // sign not match, invalid timestamp
	DingTalkBadToken     = 300001 // token is not exist
	DingTalkTooFast      = 130101 // send too fast, exceed 20 times per minute
	DingTalkTooLong      = 460101 // message too long, exceed 20000 bytes
	DingTalkMissingJSON  = 40035  // 缺少参数 json
	DingTalkNeedPost     = 43002  // 需要POST请求
	DingTalkBadMediaType = 43004  // 无效的HTTP HEADER Content-Type
)

// NewDingTalk starts a DingTalk custom robot. Its WebhookURL is
// …/robot/send?access_token=<random token>. With a secret (the "SEC…" of
// 加签) every request must carry timestamp (milliseconds, within an hour of
// the receiver's clock) and sign in the query; otherwise it is answered
// errcode 310000 with "invalid timestamp" or "sign not match", HTTP 200.
// An empty secret accepts unsigned requests (a robot secured by keywords).
func NewDingTalk(t testing.TB, secret string) *Receiver {
	t.Helper()
	p := &dingTalk{token: randomToken(32), secret: secret}
	return start(t, "/robot/send?access_token="+p.token, p)
}

type dingTalk struct{ token, secret string }

func (p *dingTalk) errorReply(code int, msg string) reply {
	return jsonReply(http.StatusOK, map[string]any{"errcode": code, "errmsg": msg})
}

func (p *dingTalk) okReply() reply {
	return jsonReply(http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok"})
}

func (p *dingTalk) check(rx *Receiver, r *http.Request, body []byte) (Received, *refusal) {
	if r.URL.Path != "/robot/send" {
		return Received{}, &refusal{reply: reply{http.StatusNotFound, []byte("404 page not found")}, reason: "no such path " + r.URL.Path}
	}
	if r.Method != http.MethodPost {
		return Received{}, refuse(p, DingTalkNeedPost, "需要POST请求")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return Received{}, refuse(p, DingTalkBadMediaType, "无效的HTTP HEADER Content-Type")
	}
	q := r.URL.Query()
	if q.Get("access_token") != p.token {
		return Received{}, refuse(p, DingTalkBadToken, "token is not exist")
	}
	if p.secret != "" {
		ms, err := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if err != nil {
			return Received{}, refuse(p, DingTalkSecurity, "invalid timestamp")
		}
		if d := rx.now().Sub(time.UnixMilli(ms)); d > time.Hour || d < -time.Hour {
			return Received{}, refuse(p, DingTalkSecurity, "invalid timestamp")
		}
		// Independent of notify: the string to sign is written out here, and
		// the query's sign has already been URL-decoded once by the server, as
		// DingTalk's has.
		h := hmac.New(sha256.New, []byte(p.secret))
		fmt.Fprintf(h, "%d\n%s", ms, p.secret)
		want := base64.StdEncoding.EncodeToString(h.Sum(nil))
		if subtle.ConstantTimeCompare([]byte(q.Get("sign")), []byte(want)) != 1 {
			return Received{}, refuse(p, DingTalkSecurity, "sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]")
		}
	}
	if len(body) > 20000 {
		return Received{}, refuse(p, DingTalkTooLong, "message too long, exceed 20000 bytes")
	}
	var req struct {
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
		Markdown *struct {
			Title string `json:"title"`
			Text  string `json:"text"`
		} `json:"markdown"`
		At struct {
			AtMobiles []string `json:"atMobiles"`
			IsAtAll   bool     `json:"isAtAll"`
		} `json:"at"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return Received{}, refuse(p, DingTalkMissingJSON, "缺少参数 json")
	}
	switch req.MsgType {
	case "text":
		if req.Text == nil || req.Text.Content == "" {
			return Received{}, refuse(p, DingTalkMissingJSON, "缺少参数 text.content")
		}
		return Received{Format: "text", Text: req.Text.Content, Mentioned: req.At.AtMobiles}, nil
	case "markdown":
		if req.Markdown == nil || req.Markdown.Title == "" || req.Markdown.Text == "" {
			return Received{}, refuse(p, DingTalkMissingJSON, "缺少参数 markdown.title 或 markdown.text")
		}
		return Received{Format: "markdown", Title: req.Markdown.Title, Text: req.Markdown.Text, Mentioned: req.At.AtMobiles}, nil
	}
	return Received{}, refuse(p, DingTalkMissingJSON, "不支持的 msgtype")
}
