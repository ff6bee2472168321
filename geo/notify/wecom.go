package notify

import (
	"context"
	"net/http"
	"time"
)

// WeCom's content limits, in bytes of UTF-8.
const (
	weComTextMax     = 2048
	weComMarkdownMax = 4096
)

// weComCodes are the errcodes of the group robot API that wangge handles
// specially. Any other non-zero errcode in a 200 answer is permanent.
var weComCodes = map[int]codeRule{
	-1:    {retry: true, what: "WeCom is busy"},
	45009: {retry: true, after: time.Minute, what: "rate limited by WeCom (20 messages a minute per robot)"},
	93000: {what: "the webhook key is invalid or the robot was removed from its group"},
	40058: {what: "WeCom refused a parameter (content too long or malformed)"},
	44004: {what: "the message is empty"},
	40008: {what: "WeCom does not know the message type"},
}

// weCom posts to a 企业微信 group robot.
type weCom struct{ *base }

type weComText struct {
	Content             string   `json:"content"`
	MentionedMobileList []string `json:"mentioned_mobile_list,omitempty"`
}

type weComMarkdown struct {
	Content string `json:"content"`
}

type weComRequest struct {
	MsgType  string         `json:"msgtype"`
	Text     *weComText     `json:"text,omitempty"`
	Markdown *weComMarkdown `json:"markdown,omitempty"`
}

// Send posts m as text (mentioning the recipient's mobile, so that the
// group @-mentions them) or as markdown (which cannot mention by mobile).
func (s *weCom) Send(ctx context.Context, m Message) error {
	_, body := Render(m, s.cfg.Format)
	req := weComRequest{MsgType: "text"}
	if s.cfg.Format == FormatMarkdown {
		req.MsgType = "markdown"
		req.Markdown = &weComMarkdown{Content: truncateBytes(body, weComMarkdownMax)}
	} else {
		req.Text = &weComText{Content: truncateBytes(body, weComTextMax)}
		if p := mobile(m.Recipient.Phone); p != "" {
			req.Text.MentionedMobileList = []string{p}
		}
	}
	a, err := s.do(ctx, http.MethodPost, s.cfg.URL, "application/json", marshal(req), nil)
	if err != nil {
		return err
	}
	return s.errcodeAnswer(a, weComCodes)
}
