package notifytest

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
)

// SMSGateway configures NewSMSGateway.
type SMSGateway struct {
	// Token, when set, must come as "Authorization: Bearer <Token>";
	// otherwise the gateway answers 401.
	Token string
	// PhoneField, TextField and IDField name the request's fields (default
	// phone, text, id).
	PhoneField, TextField, IDField string
}

// NewSMSGateway starts an SMS gateway in the style of the Chinese
// providers' HTTP APIs. Its WebhookURL is …/sms/send. It takes POST or PUT
// with a JSON object or a form body, or GET with the fields in the query,
// and answers HTTP 200 with {"Code":"OK","Message":"OK","BizId":…} as
// Alibaba Cloud's SendSms does, or with {"Code":"isv.MOBILE_NUMBER_ILLEGAL"}
// for a number that is not a mainland mobile and
// {"Code":"isv.INVALID_PARAMETERS"} for a missing field.
func NewSMSGateway(t testing.TB, opt SMSGateway) *Receiver {
	t.Helper()
	if opt.PhoneField == "" {
		opt.PhoneField = "phone"
	}
	if opt.TextField == "" {
		opt.TextField = "text"
	}
	if opt.IDField == "" {
		opt.IDField = "id"
	}
	return start(t, "/sms/send", &smsGateway{opt: opt})
}

type smsGateway struct {
	opt SMSGateway
	biz atomic.Int64
}

var mainlandMobile = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

func (p *smsGateway) errorReply(code int, msg string) reply {
	return jsonReply(http.StatusOK, map[string]any{"Code": strconv.Itoa(code), "Message": msg})
}

func (p *smsGateway) okReply() reply {
	return jsonReply(http.StatusOK, map[string]any{
		"Code": "OK", "Message": "OK", "BizId": fmt.Sprintf("%d^0", 900000+p.biz.Add(1)), "RequestId": randomToken(8),
	})
}

func (p *smsGateway) business(code, msg string) *refusal {
	return &refusal{reply: jsonReply(http.StatusOK, map[string]any{"Code": code, "Message": msg}), reason: code}
}

func (p *smsGateway) check(_ *Receiver, r *http.Request, body []byte) (Received, *refusal) {
	if r.URL.Path != "/sms/send" {
		return Received{}, &refusal{reply: reply{http.StatusNotFound, []byte(`{"Code":"NotFound"}`)}, reason: "no such path " + r.URL.Path}
	}
	if p.opt.Token != "" {
		want := "Bearer " + p.opt.Token
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
			return Received{}, &refusal{reply: jsonReply(http.StatusUnauthorized, map[string]any{"Code": "InvalidAccessKeyId", "Message": "Specified access key is not found."}), reason: "unauthorized"}
		}
	}
	fields := map[string]string{}
	switch r.Method {
	case http.MethodGet:
		for k, v := range r.URL.Query() {
			fields[k] = v[0]
		}
	case http.MethodPost, http.MethodPut:
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		switch {
		case err != nil:
			return Received{}, &refusal{reply: jsonReply(http.StatusUnsupportedMediaType, map[string]any{"Code": "UnsupportedMediaType"}), reason: "no content type"}
		case mt == "application/json":
			var obj map[string]any
			d := json.NewDecoder(bytes.NewReader(body))
			d.UseNumber()
			if err := d.Decode(&obj); err != nil || d.More() {
				return Received{}, p.business("isv.INVALID_PARAMETERS", "body is not a JSON object")
			}
			for k, v := range obj {
				if s, ok := v.(string); ok {
					fields[k] = s
				} else {
					fields[k] = fmt.Sprint(v)
				}
			}
		case mt == "application/x-www-form-urlencoded":
			q, err := url.ParseQuery(string(body))
			if err != nil {
				return Received{}, p.business("isv.INVALID_PARAMETERS", "body is not a form")
			}
			for k, v := range q {
				fields[k] = v[0]
			}
		default:
			return Received{}, &refusal{reply: jsonReply(http.StatusUnsupportedMediaType, map[string]any{"Code": "UnsupportedMediaType"}), reason: "content type " + mt}
		}
	default:
		return Received{}, &refusal{reply: jsonReply(http.StatusMethodNotAllowed, map[string]any{"Code": "MethodNotAllowed"}), reason: "method " + r.Method}
	}
	phone, text := fields[p.opt.PhoneField], fields[p.opt.TextField]
	if phone == "" || text == "" {
		return Received{}, p.business("isv.INVALID_PARAMETERS", "missing "+p.opt.PhoneField+" or "+p.opt.TextField)
	}
	if !mainlandMobile.MatchString(phone) {
		return Received{}, p.business("isv.MOBILE_NUMBER_ILLEGAL", "invalid mobile number")
	}
	return Received{ID: fields[p.opt.IDField], Format: "text", Text: text, Phone: phone}, nil
}
