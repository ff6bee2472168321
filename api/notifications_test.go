package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/notify"
	"wangge/geo/notify/notifytest"
	"wangge/geo/outbox"
)

// notifyEnv is a dispatch env with an outbox, the five kinds of channel
// pointed at local receivers that check signatures as the platforms do,
// and a delivery worker.
type notifyEnv struct {
	*dispatchEnv
	key                                   []byte
	wecom, dingtalk, feishu, sms, webhook *notifytest.Receiver
	worker                                *outbox.Worker
}

const (
	dingSecret    = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
	feishuSecret  = "feishu-signing-secret-0123"
	webhookSecret = "webhook-hmac-secret-0123456789"
)

func newNotifyEnv(t *testing.T) *notifyEnv {
	t.Helper()
	e := newOutboxEnv(t)
	e.wecom = notifytest.NewWeCom(t)
	e.dingtalk = notifytest.NewDingTalk(t, dingSecret)
	e.feishu = notifytest.NewFeishu(t, feishuSecret)
	e.sms = notifytest.NewSMSGateway(t, notifytest.SMSGateway{Token: "sms-token"})
	e.webhook = notifytest.NewWebhook(t, webhookSecret)
	for _, ch := range []map[string]any{
		{"name": "一村网格群", "kind": "wecom", "url": e.wecom.WebhookURL(), "village": "431321101201"},
		{"name": "镇钉钉群", "kind": "dingtalk", "url": e.dingtalk.WebhookURL(), "secret": dingSecret, "format": "markdown"},
		{"name": "镇飞书群", "kind": "feishu", "url": e.feishu.WebhookURL(), "secret": feishuSecret},
		{"name": "短信", "kind": "sms", "url": e.sms.WebhookURL(), "headers": map[string]string{"Authorization": "Bearer {secret}"},
			"secret": "sms-token", "per_number_seconds": -1},
		{"name": "12345平台", "kind": "webhook", "url": e.webhook.WebhookURL(), "secret": webhookSecret},
	} {
		var out struct {
			ID        int64
			HasSecret bool `json:"has_secret"`
			URL       string
		}
		if code := e.do(geo.AccessAdmin, "POST", "/v1/channels", ch, &out); code != 201 {
			t.Fatalf("channel %s: %d", ch["name"], code)
		}
		if s, ok := ch["secret"].(string); ok && (!out.HasSecret || strings.Contains(out.URL, s)) {
			t.Errorf("channel %s: has_secret %v, url %s", ch["name"], out.HasSecret, out.URL)
		}
	}
	e.worker = &outbox.Worker{Store: e.db, Key: e.key, Batch: 50, Parallel: 4,
		Policy: geo.DeliveryPolicy{FirstRetry: 10 * time.Millisecond, MaxRetry: 40 * time.Millisecond, MaxAttempts: 4, Lease: time.Minute}}
	return e
}

// deliver runs worker rounds until the outbox has nothing due (or 60 s:
// a bound on waiting, not a speed; under -race on a loaded machine 10 s
// was once too little).
func (e *notifyEnv) deliver(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		n, err := e.worker.Round(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			var due int
			if err := e.db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')").Scan(&due); err != nil {
				t.Fatal(err)
			}
			if due == 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Fatal("the outbox did not drain")
}

type messageAnswer struct {
	ID        string
	Channel   string
	Kind      string
	Recipient struct{ Name, Phone string }
	Status    string
	Attempts  int
	LastError string `json:"last_error"`
}

func (e *notifyEnv) messages(t *testing.T, number string) []messageAnswer {
	t.Helper()
	var out struct{ Messages []messageAnswer }
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+number, nil, &out); code != 200 {
		t.Fatalf("GET incident: %d", code)
	}
	return out.Messages
}

// TestNotifications_reachEveryChannel: a routed incident reaches the grid
// leader through every channel, with the platform's signature, in Chinese;
// the incident shows each message as sent.
func TestNotifications_reachEveryChannel(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t)
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "environment", "urgent"), &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	e.deliver(t)
	leaderPhone := "13900000001"
	for _, c := range []struct {
		name string
		rx   *notifytest.Receiver
	}{{"wecom", e.wecom}, {"dingtalk", e.dingtalk}, {"feishu", e.feishu}, {"sms", e.sms}, {"webhook", e.webhook}} {
		got := c.rx.Received()
		if len(got) != 1 {
			t.Errorf("%s: %d messages, refusals %v", c.name, len(got), c.rx.Refusals())
			continue
		}
		m := got[0]
		if !strings.Contains(m.Text, inc.Number) || !strings.Contains(m.Text, "环境卫生") {
			t.Errorf("%s: text %q lacks the number or the category", c.name, m.Text)
		}
		if !strings.Contains(m.Text, "https://wangge.example.cn/m/#/incidents/"+inc.Number) && c.name != "sms" {
			t.Errorf("%s: text %q lacks the link", c.name, m.Text)
		}
		switch c.name {
		case "wecom", "dingtalk":
			if c.name == "wecom" && !slices.Contains(m.Mentioned, leaderPhone) {
				t.Errorf("%s: mentions %v, want the leader %s", c.name, m.Mentioned, leaderPhone)
			}
		case "sms":
			if m.Phone != leaderPhone || m.ID == "" {
				t.Errorf("sms to %q id %q, want the leader", m.Phone, m.ID)
			}
		case "webhook":
			if m.Kind != "routed" || m.Phone != leaderPhone || m.Fields["number"] != inc.Number || m.ID == "" {
				t.Errorf("webhook: kind %q phone %q fields %v id %q", m.Kind, m.Phone, m.Fields, m.ID)
			}
		}
	}
	msgs := e.messages(t, inc.Number)
	if len(msgs) != 5 {
		t.Fatalf("incident shows %d messages, want 5: %+v", len(msgs), msgs)
	}
	for _, m := range msgs {
		if m.Status != "sent" || m.Attempts != 1 || m.Recipient.Name != "网格长1" {
			t.Errorf("message %+v", m)
		}
	}
	// An incident of village 2 does not reach village 1's group.
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(5), "safety", "minor"), &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	e.deliver(t)
	if n := len(e.wecom.Received()); n != 1 {
		t.Errorf("village 1's group got %d messages, want still 1", n)
	}
	if n := len(e.dingtalk.Received()); n != 2 {
		t.Errorf("the town's group got %d messages, want 2", n)
	}
}

// TestNotifications_reassignEscalateAndRating: a reassignment tells the
// new and the previous assignee; closing asks the reporter for a rating
// by SMS only.
func TestNotifications_reassignEscalateAndRating(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t)
	var inc incidentAnswer
	req := newIncident(centre(1), "dispute", "major")
	req["reporter_phone"] = "13700001111"
	req["reporter_name"] = "李四"
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", req, &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	e.deliver(t)
	before := len(e.sms.Received())
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+inc.Number+"/events",
		map[string]any{"action": "escalate", "note": "村里调解不成"}, nil); code != 200 {
		t.Fatalf("escalate: %d", code)
	}
	e.deliver(t)
	var to []string
	for _, m := range e.sms.Received()[before:] {
		to = append(to, m.Phone)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"13900000001", "13900000100"}) {
		t.Errorf("escalation SMS to %v, want the liaison leader and the previous leader", to)
	}
	for _, step := range []string{"accept", "resolve", "verify", "close"} {
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents/"+inc.Number+"/events", map[string]any{"action": step, "note": "处理"}, nil); code != 200 {
			t.Fatalf("%s: %d", step, code)
		}
	}
	e.deliver(t)
	last := e.sms.Received()[len(e.sms.Received())-1]
	if last.Phone != "13700001111" || !strings.Contains(last.Text, inc.Number) {
		t.Errorf("last SMS %+v, want the rating request to the reporter", last)
	}
	for _, m := range e.wecom.Received() {
		if strings.Contains(m.Text, "满意") {
			t.Errorf("a group robot got the rating request: %q", m.Text)
		}
	}

	// The resident answers through the link: 不满意 reopens the case.
	token := regexp.MustCompile(`/rate/([A-Za-z0-9_-]{22})`).FindStringSubmatch(last.Text)
	if token == nil {
		t.Fatalf("no rating link in %q", last.Text)
	}
	page := e.srv
	rec := httptest.NewRecorder()
	page.ServeHTTP(rec, httptest.NewRequest("GET", "/rate/"+token[1], nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "不满意") {
		t.Errorf("rating page: %d", rec.Code)
	}
	if code := e.do("", "POST", "/v1/ratings/"+token[1], map[string]any{"rating": "so-so"}, nil); code != 400 {
		t.Errorf("a bad rating: %d, want 400", code)
	}
	var rated struct{ Status string }
	if code := e.do("", "POST", "/v1/ratings/"+token[1], map[string]any{"rating": "unsatisfied", "comment": "没人来"}, &rated); code != 200 || rated.Status != "reopened" {
		t.Errorf("unsatisfied: %d %+v, want the incident reopened", code, rated)
	}
	if code := e.do("", "POST", "/v1/ratings/"+token[1], map[string]any{"rating": "satisfied"}, nil); code != 409 {
		t.Errorf("rated twice: %d, want 409", code)
	}
	if code := e.do("", "POST", "/v1/ratings/AAAAAAAAAAAAAAAAAAAAAA", map[string]any{"rating": "satisfied"}, nil); code != 404 {
		t.Errorf("unknown link: %d, want 404", code)
	}
	var detail struct {
		Events []struct{ Actor, Action, Note string }
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents/"+inc.Number, nil, &detail)
	if ev := detail.Events[len(detail.Events)-1]; ev.Actor != "resident" || ev.Action != "reopen" || !strings.Contains(ev.Note, "不满意") {
		t.Errorf("last event %+v", ev)
	}
	var stats struct {
		Satisfaction struct {
			Requested, Rated, Unsatisfied int
			Rate                          *float64
		}
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/stats", nil, &stats); code != 200 || stats.Satisfaction.Requested != 1 ||
		stats.Satisfaction.Rated != 1 || stats.Satisfaction.Unsatisfied != 1 || stats.Satisfaction.Rate == nil || *stats.Satisfaction.Rate != 0 {
		t.Errorf("stats satisfaction %+v", stats.Satisfaction)
	}
}

// TestNotifications_faults: a receiver that answers 500 is retried until
// it takes the message; one that never does is dead-lettered after the
// policy's attempts; a hanging receiver does not slow intake, and every
// message ends delivered under its one id.
func TestNotifications_faults(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t)
	e.webhook.FailStatus(2, 500)
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "urgent"), &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	e.deliver(t)
	for _, m := range e.messages(t, inc.Number) {
		want := 1
		if m.Channel == "12345平台" {
			want = 3
		}
		if m.Status != "sent" || m.Attempts != want {
			t.Errorf("%s: %s after %d attempts, want sent after %d", m.Channel, m.Status, m.Attempts, want)
		}
	}

	e.feishu.FailStatus(4, 503)
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(2), "safety", "urgent"), &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	e.deliver(t)
	for _, m := range e.messages(t, inc.Number) {
		if m.Channel == "镇飞书群" && (m.Status != "dead" || m.Attempts != 4 || !strings.Contains(m.LastError, "503")) {
			t.Errorf("feishu: %+v, want dead after 4 attempts naming the 503", m)
		}
	}

	// A hanging receiver: the worker is stuck on it, intake goes on.
	e.sms.Hang(true)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.worker.Run(ctx) }()
	var numbers []string
	for i := range 20 {
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1+i%3), "environment", "minor"), &inc); code != 201 {
			t.Fatalf("intake %d while a receiver hangs: %d", i, code)
		}
		numbers = append(numbers, inc.Number)
	}
	e.sms.Hang(false)
	cancel()
	wg.Wait()
	e.deliver(t)
	ids := map[string]bool{}
	for _, n := range numbers {
		for _, m := range e.messages(t, n) {
			if m.Status != "sent" {
				t.Errorf("%s %s: %s (%s)", n, m.Channel, m.Status, m.LastError)
			}
			ids[m.ID] = true
		}
	}
	for _, m := range e.webhook.Received() {
		if m.Duplicate {
			t.Errorf("webhook got %s twice", m.ID)
		}
	}
	if len(ids) != 20*5 {
		t.Errorf("%d distinct message ids for 20 incidents on 5 channels", len(ids))
	}
}

// TestChannels_badInputAndSecrets: bad channel settings are 400s naming
// the field, and no GET shows a secret.
func TestChannels_badInputAndSecrets(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t)
	for _, c := range []struct {
		body  map[string]any
		where string
	}{
		{map[string]any{"name": "x", "kind": "wecom", "url": "ftp://qyapi.weixin.qq.com/x"}, "url"},
		{map[string]any{"name": "x", "kind": "wecom", "url": "not a url"}, "url"},
		{map[string]any{"name": "x", "kind": "webhook", "url": "https://example.cn/hook"}, "secret"},
		{map[string]any{"name": "x", "kind": "pager", "url": "https://example.cn/hook"}, "kind"},
		{map[string]any{"name": "x", "kind": "wecom", "url": e.wecom.WebhookURL(), "village": "431321101299"}, "village"},
		{map[string]any{"name": "x", "kind": "sms", "url": "https://example.cn/sms", "body_template": `{"to":"{nobody}"}`}, "body_template"},
	} {
		var p struct{ Errors []struct{ Where string } }
		if code := e.do(geo.AccessAdmin, "POST", "/v1/channels", c.body, &p); code != 400 || len(p.Errors) == 0 || p.Errors[0].Where != c.where {
			t.Errorf("%v: %d %+v, want 400 at %s", c.body, code, p, c.where)
		}
	}
	var list struct{ Channels []map[string]any }
	if code := e.do(geo.AccessAdmin, "GET", "/v1/channels", nil, &list); code != 200 || len(list.Channels) != 5 {
		t.Fatalf("list: %d %d", code, len(list.Channels))
	}
	body := fmt.Sprint(list)
	for _, s := range []string{dingSecret, feishuSecret, webhookSecret, "sms-token"} {
		if strings.Contains(body, s) {
			t.Errorf("GET /v1/channels shows a secret")
		}
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/v1/channels", nil, nil); code != 403 {
		t.Errorf("a dispatcher lists channels: %d", code)
	}
}

// TestNotifications_dueSoonOnce: an incident due within the reminder's
// window reminds its assignee once per time limit, through the outbox.
func TestNotifications_dueSoonOnce(t *testing.T) {
	t.Parallel()
	e := newNotifyEnv(t)
	var inc incidentAnswer
	if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1), "safety", "urgent"), &inc); code != 201 {
		t.Fatalf("intake: %d", code)
	}
	e.deliver(t)
	before := len(e.webhook.Received())
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	channels, err := e.db.Channels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	remind := func(inc *geo.Incident) []geo.OutboxMessage {
		return d.Messages(channels, e.snap, inc, geo.MsgDueSoon, nil, "")
	}
	for round, want := range []int{1, 0} { // the second round finds it reminded
		n, err := e.db.RemindDueSoon(context.Background(), e.clock(), 3*time.Hour, 100, remind)
		if err != nil || n != want {
			t.Fatalf("round %d: reminded %d, %v; want %d", round, n, err, want)
		}
	}
	e.deliver(t)
	got := e.webhook.Received()[before:]
	if len(got) != 1 || got[0].Kind != "due_soon" || got[0].Fields["number"] != inc.Number || got[0].Phone != "13900000001" {
		t.Errorf("webhook got %+v, want one due_soon reminder to the leader", got)
	}
}

// newOutboxEnv is a dispatch env serving the outbox and channels, with no
// channel and no worker yet.
func newOutboxEnv(t *testing.T) *notifyEnv {
	t.Helper()
	e := &notifyEnv{dispatchEnv: newDispatchEnv(t, dispatchTown()), key: notify.DeriveKey("test key")}
	e.serve(api.Config{Outbox: e.db, Channels: e.db, Ratings: e.db, SecretKey: e.key, PublicURL: "https://wangge.example.cn"})
	return e
}

// TestNotifications_leaseCoversEverySend: two delivery workers (two
// replicas) on one outbox, and a slow receiver that holds each batch up:
// 20 messages at 0.4 s each, one at a time, under a 5 s lease. A message
// is sent only while its lease covers the send (the channel's 1 s timeout
// and some slack); the rest of the batch is handed back unsent, without
// spending an attempt. Before, the last messages of a batch were sent
// after their lease had run out, when the other worker had leased and sent
// them too.
func TestNotifications_leaseCoversEverySend(t *testing.T) {
	t.Parallel()
	e := newOutboxEnv(t)
	slow := notifytest.NewWebhook(t, webhookSecret)
	slow.Delay(400 * time.Millisecond)
	if code := e.do(geo.AccessAdmin, "POST", "/v1/channels", map[string]any{"name": "慢平台", "kind": "webhook",
		"url": slow.WebhookURL(), "secret": webhookSecret, "timeout_seconds": 1}, nil); code != 201 {
		t.Fatalf("channel: %d", code)
	}
	var numbers []string
	for i := range 20 {
		var inc incidentAnswer
		if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", newIncident(centre(1+i%3), "environment", "minor"), &inc); code != 201 {
			t.Fatalf("intake %d: %d", i, code)
		}
		numbers = append(numbers, inc.Number)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		w := &outbox.Worker{Store: e.db, Key: e.key, Batch: 20, Parallel: 1, Poll: 50 * time.Millisecond,
			Policy: geo.DeliveryPolicy{FirstRetry: time.Second, MaxRetry: time.Second, MaxAttempts: 4, Lease: 5 * time.Second}}
		wg.Add(1)
		go func() { defer wg.Done(); w.Run(ctx) }()
	}
	got := slow.WaitFor(20, 60*time.Second)
	time.Sleep(2 * time.Second) // a second copy of the last ones would arrive by now
	cancel()
	wg.Wait()
	ids := map[string]bool{}
	for _, m := range slow.Received() {
		if m.Duplicate {
			t.Errorf("%s received twice", m.ID)
		}
		ids[m.ID] = true
	}
	if len(got) < 20 || len(ids) != 20 {
		t.Fatalf("%d messages received, %d distinct; want 20", len(slow.Received()), len(ids))
	}
	for _, n := range numbers {
		for _, m := range e.messages(t, n) {
			if m.Status != "sent" || m.Attempts != 1 {
				t.Errorf("%s: %s after %d attempts, want sent after 1 (%s)", n, m.Status, m.Attempts, m.LastError)
			}
		}
	}
}
