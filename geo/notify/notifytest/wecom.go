package notifytest

import (
	"encoding/json"
	"net/http"
	"testing"
)

// WeCom error codes the stand-in answers.
const (
	WeComInvalidKey   = 93000 // invalid webhook url (the key)
	WeComRateLimited  = 45009 // api freq out of limit
	WeComBadParameter = 40058 // e.g. text.content exceed max length 2048
	WeComEmpty        = 44004 // empty content
	WeComBadMsgType   = 40008 // invalid message type
	WeComNotPost      = 44002 // the API takes POST only
)

// NewWeCom starts a WeCom group robot. Its WebhookURL is
// …/cgi-bin/webhook/send?key=<random key>; a request with another key is
// answered errcode 93000 as WeCom does, with HTTP 200.
func NewWeCom(t testing.TB) *Receiver {
	t.Helper()
	p := &weCom{key: randomToken(18)}
	return start(t, "/cgi-bin/webhook/send?key="+p.key, p)
}

type weCom struct{ key string }

func (p *weCom) errorReply(code int, msg string) reply {
	return jsonReply(http.StatusOK, map[string]any{"errcode": code, "errmsg": msg})
}

func (p *weCom) okReply() reply {
	return jsonReply(http.StatusOK, map[string]any{"errcode": 0, "errmsg": "ok"})
}

func (p *weCom) check(_ *Receiver, r *http.Request, body []byte) (Received, *refusal) {
	if r.URL.Path != "/cgi-bin/webhook/send" {
		return Received{}, &refusal{reply: reply{http.StatusNotFound, []byte("404 page not found")}, reason: "no such path " + r.URL.Path}
	}
	if r.Method != http.MethodPost {
		return Received{}, refuse(p, WeComNotPost, "api only support post method")
	}
	if r.URL.Query().Get("key") != p.key {
		return Received{}, refuse(p, WeComInvalidKey, "invalid webhook url, hint: [local stand-in]")
	}
	var req struct {
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content             string   `json:"content"`
			MentionedList       []string `json:"mentioned_list"`
			MentionedMobileList []string `json:"mentioned_mobile_list"`
		} `json:"text"`
		Markdown *struct {
			Content string `json:"content"`
		} `json:"markdown"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return Received{}, refuse(p, WeComBadParameter, "invalid Request Parameter: "+err.Error())
	}
	switch req.MsgType {
	case "text":
		switch {
		case req.Text == nil || req.Text.Content == "":
			return Received{}, refuse(p, WeComEmpty, "empty content")
		case len(req.Text.Content) > 2048:
			return Received{}, refuse(p, WeComBadParameter, "text.content exceed max length 2048")
		}
		return Received{Format: "text", Text: req.Text.Content, Mentioned: req.Text.MentionedMobileList}, nil
	case "markdown":
		switch {
		case req.Markdown == nil || req.Markdown.Content == "":
			return Received{}, refuse(p, WeComEmpty, "empty content")
		case len(req.Markdown.Content) > 4096:
			return Received{}, refuse(p, WeComBadParameter, "markdown.content exceed max length 4096")
		}
		return Received{Format: "markdown", Text: req.Markdown.Content}, nil
	}
	return Received{}, refuse(p, WeComBadMsgType, "invalid message type")
}
