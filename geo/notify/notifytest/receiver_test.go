package notifytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// post sends a raw request and returns the status and decoded JSON answer.
func post(t *testing.T, method, target, contentType, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	json.Unmarshal(b, &v)
	return resp.StatusCode, v
}

// TestReceiversRefuseMalformedRequests: each receiver answers a request
// the platform would refuse with the platform's error, and records nothing.
func TestReceiversRefuseMalformedRequests(t *testing.T) {
	const js = "application/json"
	for _, tc := range []struct {
		name        string
		start       func(t *testing.T) *Receiver
		method      string
		path        func(rx *Receiver) string
		contentType string
		body        string
		field       string // answer field holding the code
		want        float64
	}{
		{"wecom GET", wecomRx, "GET", same, "", "", "errcode", WeComNotPost},
		{"wecom text over 2048 bytes", wecomRx, "POST", same, js, `{"msgtype":"text","text":{"content":"` + strings.Repeat("网", 683) + `"}}`, "errcode", WeComBadParameter},
		{"wecom markdown over 4096 bytes", wecomRx, "POST", same, js, `{"msgtype":"markdown","markdown":{"content":"` + strings.Repeat("a", 4097) + `"}}`, "errcode", WeComBadParameter},
		{"wecom empty", wecomRx, "POST", same, js, `{"msgtype":"text","text":{"content":""}}`, "errcode", WeComEmpty},
		{"wecom unknown msgtype", wecomRx, "POST", same, js, `{"msgtype":"voice"}`, "errcode", WeComBadMsgType},
		{"dingtalk form body", dingRx, "POST", same, "application/x-www-form-urlencoded", `msgtype=text`, "errcode", DingTalkBadMediaType},
		{"dingtalk no sign", dingRx, "POST", same, js, `{"msgtype":"text","text":{"content":"x"}}`, "errcode", DingTalkSecurity},
		{"dingtalk raw + in sign", dingRx, "POST", func(rx *Receiver) string {
			// Find a timestamp whose sign has a +, which an unencoded query
			// turns into a space.
			for ms := time.Now().UnixMilli(); ; ms-- {
				ts := strconv.FormatInt(ms, 10)
				h := hmac.New(sha256.New, []byte("SECreceiver"))
				h.Write([]byte(ts + "\nSECreceiver"))
				if sign := base64.StdEncoding.EncodeToString(h.Sum(nil)); strings.Contains(sign, "+") {
					return rx.WebhookURL() + "&timestamp=" + ts + "&sign=" + sign // not URL-encoded
				}
			}
		}, js, `{"msgtype":"text","text":{"content":"x"}}`, "errcode", DingTalkSecurity},
		{"dingtalk markdown without title", dingRx, "POST", signedDing, js, `{"msgtype":"markdown","markdown":{"text":"x"}}`, "errcode", DingTalkMissingJSON},
		{"dingtalk over 20000 bytes", dingRx, "POST", signedDing, js, `{"msgtype":"text","text":{"content":"` + strings.Repeat("a", 20000) + `"}}`, "errcode", DingTalkTooLong},
		{"feishu wrong token", feishuRx, "POST", func(rx *Receiver) string { return rx.WebhookURL() + "x" }, js, `{"msg_type":"text","content":{"text":"x"}}`, "code", FeishuBadToken},
		{"feishu unsigned", feishuRx, "POST", same, js, `{"msg_type":"text","content":{"text":"x"}}`, "code", FeishuSignFail},
		{"feishu sign computed like DingTalk's", feishuRx, "POST", same, js, func() string {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			h := hmac.New(sha256.New, []byte("feishu-receiver"))
			h.Write([]byte(ts + "\nfeishu-receiver"))
			return `{"timestamp":"` + ts + `","sign":"` + base64.StdEncoding.EncodeToString(h.Sum(nil)) + `","msg_type":"text","content":{"text":"x"}}`
		}(), "code", FeishuSignFail},
		{"sms unknown number", smsRx, "POST", same, js, `{"phone":"0738-6812345","text":"x"}`, "Code", 0},
		{"webhook unsigned", hookRx, "POST", same, js, `{"id":"m"}`, "", 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rx := tc.start(t)
			status, answer := post(t, tc.method, tc.path(rx), tc.contentType, tc.body)
			switch {
			case tc.field == "":
				if status != int(tc.want) {
					t.Errorf("status %d, want %v", status, tc.want)
				}
			case tc.want == 0:
				if answer[tc.field] == "OK" || answer[tc.field] == nil {
					t.Errorf("answer %v, want a refusal in %s", answer, tc.field)
				}
			case answer[tc.field] != tc.want:
				t.Errorf("status %d answer %v, want %s %v", status, answer, tc.field, tc.want)
			}
			if len(rx.Received()) != 0 || len(rx.Refusals()) != 1 {
				t.Errorf("received %d, refused %q", len(rx.Received()), rx.Refusals())
			}
		})
	}
}

func wecomRx(t *testing.T) *Receiver  { return NewWeCom(t) }
func dingRx(t *testing.T) *Receiver   { return NewDingTalk(t, "SECreceiver") }
func feishuRx(t *testing.T) *Receiver { return NewFeishu(t, "feishu-receiver") }
func smsRx(t *testing.T) *Receiver    { return NewSMSGateway(t, SMSGateway{}) }
func hookRx(t *testing.T) *Receiver   { return NewWebhook(t, "whsec-0123456789abcdef") }
func same(rx *Receiver) string        { return rx.WebhookURL() }

func signedDing(rx *Receiver) string {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	h := hmac.New(sha256.New, []byte("SECreceiver"))
	h.Write([]byte(ts + "\nSECreceiver"))
	return rx.WebhookURL() + "&timestamp=" + ts + "&sign=" + url.QueryEscape(base64.StdEncoding.EncodeToString(h.Sum(nil)))
}

// TestWebhookReceiverAccepts checks the stand-in against a request signed
// by hand, and its duplicate detection.
func TestWebhookReceiverAccepts(t *testing.T) {
	rx := NewWebhook(t, "whsec-0123456789abcdef")
	body := `{"id":"m1","kind":"test","title":"测试消息","text":"收到","fields":{},"recipient":{"name":"","phone":""},"created_at":"2026-12-03T06:00:00Z"}`
	for range 2 {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		h := hmac.New(sha256.New, []byte("whsec-0123456789abcdef"))
		h.Write([]byte(ts + "." + body))
		req, _ := http.NewRequest("POST", rx.WebhookURL(), strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Wangge-Id", "m1")
		req.Header.Set("X-Wangge-Timestamp", ts)
		req.Header.Set("X-Wangge-Signature", "sha256="+hex.EncodeToString(h.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	got := rx.WaitFor(2, time.Second)
	if got[0].Text != "收到" || got[0].Duplicate || !got[1].Duplicate {
		t.Errorf("got %+v", got)
	}
}
