// Package notify delivers wangge's messages (an incident routed,
// reassigned, escalated, due soon or overdue; a request to rate; a login
// code; a test) through the channels an admin configures at run time: a
// 企业微信 (WeCom) group robot, a 钉钉 (DingTalk) custom robot, a 飞书
// (Feishu/Lark) custom bot, an SMS provider's HTTP API, or a signed
// webhook to any other system (12345 hotline platforms and the like).
//
// The package is pure Go over net/http. It does not queue or retry: the
// outbox worker calls Sender.Send once per attempt and decides from the
// *SendError (IsRetryable, RetryAfter) whether to try again later or to
// dead-letter the message. Error texts are safe to store and log: URLs are
// redacted (RedactURL) and the secret, header values and URL keys are
// scrubbed. Secrets are stored sealed (SealSecret, OpenSecret). The
// package notifytest has local receivers that check requests as each
// platform does, signatures included.
//
// # Text
//
// Render lays a message out from its Kind and Fields, Chinese first:
//
//	【网格通知】新案件 HY20261203-0001 已派给您：环境卫生，荷叶村第3网格，限 12月3日 14:00 前处理。详情 https://…
//
// Markdown uses only what all three robots render: bold, paragraphs,
// links. Texts are cut on a UTF-8 boundary and end with "…" when cut.
//
// # WeCom group robot (企业微信群机器人)
//
// POST JSON to the robot's address, https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY.
// There is no signature: the key in the URL is the credential.
// Text: {"msgtype":"text","text":{"content":…,"mentioned_mobile_list":[…]}},
// at most 2048 bytes; markdown: {"msgtype":"markdown","markdown":{"content":…}},
// at most 4096 bytes, and markdown cannot mention by mobile. The answer is
// HTTP 200 with {"errcode":0,"errmsg":"ok"}; a non-zero errcode is a
// failure: 45009 (over 20 messages a minute) and -1 (busy) are retried,
// 93000 (invalid webhook URL, i.e. key) and the others are permanent.
// See https://developer.work.weixin.qq.com/document/path/91770.
//
// # DingTalk custom robot (钉钉自定义机器人), 加签
//
// POST JSON to https://oapi.dingtalk.com/robot/send?access_token=TOKEN.
// With 加签 (Config.Secret, "SEC…"), every request adds
// &timestamp=T&sign=S to the URL, where T is the current time in
// milliseconds and
//
//	S = urlencode(base64(HmacSHA256(key = secret, message = T + "\n" + secret)))
//
// DingTalk refuses a timestamp more than an hour from its clock. Text:
// {"msgtype":"text","text":{"content":…},"at":{"atMobiles":[…],"isAtAll":false}};
// markdown: {"msgtype":"markdown","markdown":{"title":…,"text":…},"at":…}.
// A mention shows only if "@mobile" is also in the content, so Send appends
// it. The answer is {"errcode":0,"errmsg":"ok"}: 130101 (send too fast, 20 a
// minute) and -1 are retried; 310000 (sign not match, invalid timestamp,
// keywords not in content, IP not allowed), 300001 (token is not exist),
// 400102 (robot disabled), 460101 (message too long) and the others are
// permanent. See https://open.dingtalk.com/document/robots/custom-robot-access
// and https://open.dingtalk.com/document/robots/customize-robot-security-settings.
//
// # Feishu custom bot (飞书自定义机器人), 签名校验
//
// POST JSON to https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN (Lark:
// open.larksuite.com). With 签名校验 (Config.Secret) the body carries
// "timestamp" (seconds, as a string) and "sign":
//
//	sign = base64(HmacSHA256(key = timestamp + "\n" + secret, message = ""))
//
// Note the difference from DingTalk: the string to sign is the HMAC key and
// the message is empty. The timestamp must be within an hour. Text:
// {"timestamp":…,"sign":…,"msg_type":"text","content":{"text":…}};
// markdown is sent as an interactive card, {"msg_type":"interactive","card":
// {"header":{"title":{"tag":"plain_text","content":…},"template":"blue"},
// "elements":[{"tag":"markdown","content":…}]}}, because the rich-text
// "post" type renders no markdown. Mentions need an open_id, which wangge
// does not have, so none is made. The answer is {"code":0,"msg":"success"}
// (older versions: {"StatusCode":0}): 11232 (rate limited; 5 a second, 100
// a minute) is retried; 19021 (sign match fail or timestamp not within one
// hour), 19022 (IP not allowed), 19024 (keywords not found), 9499 (bad
// request) and the others are permanent. The body must stay under 20 KB.
// See https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot.
//
// # SMS gateway
//
// Every Chinese SMS provider has an HTTP API, each of its own shape, so the
// channel is a URL, a method (POST; PUT; or GET, which sends the filled-in
// template as the query), headers, and a body template with placeholders
// ({phone} {text} {id} {name} {number} {grid} {category} {due} {link}
// {title} {kind} {secret}). Values are escaped for the content type: JSON
// string escaping for application/json (so the template puts placeholders
// inside strings: {"mobile":"{phone}","content":"{text}"}), URL encoding
// for application/x-www-form-urlencoded, XML escaping for application/xml,
// none for text/plain. A 2xx answer is success, unless SuccessField and
// SuccessValue demand more (Alibaba Cloud's SendSms answers
// {"Code":"OK",…}). An API key belongs in Secret, used as {secret} in the
// template or a header, so that it is stored sealed.
//
// The text is cut to MaxRunes characters (default 300). One SMS holds 70
// characters when any is Chinese (160 in pure GSM 7-bit text); longer texts
// go as a concatenated long SMS of 67 characters per segment, billed per
// segment, so 300 characters are 5 segments. Providers add the registered
// signature (【…】) themselves. Send never waits for a rate limit: a
// second SMS to one number within PerNumberInterval (default 1 minute), or
// more than PerSecond (default 10) a second overall, fails at once with a
// retryable error whose RetryAfter says when to try again. A failed send
// gives its slot back.
//
// # Generic signed webhook
//
// POST application/json
//
//	{"id":…,"kind":…,"title":…,"text":…,"fields":{…},"recipient":{"name":…,"phone":…},"created_at":"2026-12-03T06:00:00Z"}
//
// with the headers X-Wangge-Id (the message ID), X-Wangge-Timestamp (unix
// seconds) and
//
//	X-Wangge-Signature: sha256=hex(HMAC-SHA256(key = secret, message = timestamp + "." + body))
//
// computed over the body bytes exactly as sent. A receiver checks it with
// VerifyWebhook (constant-time comparison, timestamps within 5 minutes
// either way) before decoding the body, and deduplicates on the body's id:
// the same message may arrive more than once. Any 2xx answer is success;
// 408, 425, 429 (honouring Retry-After) and 5xx are retried, other
// statuses are permanent.
package notify
