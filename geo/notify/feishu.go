package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// feishuMax caps the content in bytes. Feishu refuses a body over 20 KB;
// the rest is left for the JSON around it.
const feishuMax = 18000

// feishuCodes are the codes of the custom bot API that wangge handles
// specially. Any other non-zero code in a 200 answer is permanent.
var feishuCodes = map[int]codeRule{
	11232: {retry: true, after: 10 * time.Second, what: "rate limited by Feishu (5 a second, 100 a minute per bot)"},
	9499:  {what: "Feishu refused the request as malformed (or over 20 KB)"},
	19001: {what: "the hook token is invalid or the bot was removed"},
	19021: {what: "the signature does not match, or the timestamp is more than an hour off"},
	19022: {what: "this address is not on the bot's IP allow-list"},
	19024: {what: "the message has none of the bot's keywords"},
}

// feishu posts to a 飞书 custom bot, signed when a secret is set.
type feishu struct{ *base }

type feishuText struct {
	Text string `json:"text"`
}

type feishuPlain struct {
	Tag     string `json:"tag"`
	Content string `json:"content"`
}

type feishuHeader struct {
	Title    feishuPlain `json:"title"`
	Template string      `json:"template"`
}

type feishuCard struct {
	Header   feishuHeader  `json:"header"`
	Elements []feishuPlain `json:"elements"`
}

type feishuRequest struct {
	Timestamp string      `json:"timestamp,omitempty"`
	Sign      string      `json:"sign,omitempty"`
	MsgType   string      `json:"msg_type"`
	Content   *feishuText `json:"content,omitempty"`
	Card      *feishuCard `json:"card,omitempty"`
}

// Send posts m as a text message, or for markdown as an interactive card:
// a header with the title (red for overdue and escalated, orange for due
// soon) and one markdown element with the body. Feishu mentions need the
// person's open_id, so the recipient is not mentioned.
func (s *feishu) Send(ctx context.Context, m Message) error {
	title, body := Render(m, s.cfg.Format)
	body = truncateBytes(body, feishuMax)
	var req feishuRequest
	if s.cfg.Format == FormatMarkdown {
		req.MsgType = "interactive"
		req.Card = &feishuCard{
			Header:   feishuHeader{Title: feishuPlain{Tag: "plain_text", Content: title}, Template: feishuColour(m.Kind)},
			Elements: []feishuPlain{{Tag: "markdown", Content: body}},
		}
	} else {
		req.MsgType = "text"
		req.Content = &feishuText{Text: body}
	}
	if s.cfg.Secret != "" {
		req.Timestamp, req.Sign = feishuSign(s.cfg.Secret, s.now())
	}
	a, err := s.do(ctx, http.MethodPost, s.cfg.URL, "application/json; charset=utf-8", marshal(req), nil)
	if err != nil {
		return err
	}
	// Current answers carry code and msg; older ones StatusCode and
	// StatusMessage (still sent alongside, for compatibility).
	var r struct {
		Code          *int   `json:"code"`
		Msg           string `json:"msg"`
		StatusCode    *int   `json:"StatusCode"`
		StatusMessage string `json:"StatusMessage"`
	}
	if err := json.Unmarshal(a.body, &r); err != nil || r.Code == nil && r.StatusCode == nil {
		if !a.ok() {
			return s.statusError(a, "", snippet(a.body))
		}
		return s.fail(true, a.status, "", 0, "unexpected answer: %s", snippet(a.body))
	}
	if r.Code != nil && *r.Code != 0 {
		return s.platformError(a, feishuCodes, *r.Code, r.Msg)
	}
	if r.Code == nil && *r.StatusCode != 0 {
		return s.platformError(a, feishuCodes, *r.StatusCode, r.StatusMessage)
	}
	if !a.ok() {
		return s.statusError(a, "", snippet(a.body))
	}
	return nil
}

// feishuSign computes Feishu's 签名校验: timestamp is t in seconds, sign is
// Base64(HmacSHA256(key=timestamp+"\n"+secret, message="")). Unlike
// DingTalk, the string to sign is the key and the message is empty.
func feishuSign(secret string, t time.Time) (timestamp, sign string) {
	timestamp = strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return timestamp, base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// feishuColour picks the card header's colour for a kind.
func feishuColour(k Kind) string {
	switch k {
	case KindOverdue, KindEscalated:
		return "red"
	case KindDueSoon:
		return "orange"
	}
	return "blue"
}
