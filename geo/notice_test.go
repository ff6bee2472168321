package geo_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

// TestMessages: who hears of what, through which channel.
func TestMessages(t *testing.T) {
	snap := oneGridTown(t, present, present, present, true)
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0).WithPublicURL("https://wg.example.cn/")
	channels := []geo.Channel{
		{ID: 1, Name: "短信", Kind: geo.ChanSMS, Enabled: true},
		{ID: 2, Name: "一村群", Kind: geo.ChanWeCom, VillageCode: "431321101201", Enabled: true},
		{ID: 3, Name: "二村群", Kind: geo.ChanWeCom, VillageCode: "431321101202", Enabled: true},
		{ID: 4, Name: "停用", Kind: geo.ChanWebhook, Enabled: false},
		{ID: 5, Name: "只管纠纷", Kind: geo.ChanDingTalk, Categories: []geo.Category{geo.CatDispute}, Enabled: true},
		{ID: 6, Name: "只要超期", Kind: geo.ChanFeishu, Kinds: []geo.MessageKind{geo.MsgOverdue}, Enabled: true},
		{ID: 7, Name: "网格群", Kind: geo.ChanWebhook, GridCode: "431321101201001", Enabled: true},
		{ID: 8, Name: "只要紧急", Kind: geo.ChanDingTalk, Severities: []geo.Severity{geo.SevUrgent}, Enabled: true},
	}
	inc := &geo.Incident{Number: "WG00000001", Description: strings.Repeat("垃圾", 150), Category: geo.CatEnvironment, Severity: geo.SevMajor, GridCode: "431321101201001",
		VillageCode: "431321101201", ReporterPhone: "13700001111", DueAt: dispatchNow,
		Assignee: geo.Assignee{Role: geo.RoleLeader, Name: "网格长", Phone: "13900000000"}}
	channelsOf := func(msgs []geo.OutboxMessage) []int64 {
		var ids []int64
		for _, m := range msgs {
			ids = append(ids, m.ChannelID)
		}
		return ids
	}

	routed := d.Messages(channels, snap, inc, geo.MsgRouted, nil, "")
	if got := channelsOf(routed); !slices.Equal(got, []int64{1, 2, 7}) {
		t.Errorf("routed through channels %v, want SMS, village 1's group and the grid's webhook", got)
	}
	for _, m := range routed {
		if m.Fields["link"] != "https://wg.example.cn/m/#/incidents/WG00000001" || m.Fields["category"] != "环境卫生" || m.Fields["grid"] != "一村网格1" {
			t.Errorf("fields %v", m.Fields)
		}
		if m.To.Phone != "13900000000" {
			t.Errorf("to %+v, want the leader", m.To)
		}
		if d := m.Fields["description"]; d != strings.Repeat("垃圾", 100)+"…" {
			t.Errorf("description %q, want the first 200 characters", d)
		}
	}
	if m := routed[1]; !slices.Equal(m.Mention, []string{"13900000000"}) {
		t.Errorf("group message mentions %v", m.Mention)
	}

	// A landline is not texted, but a group still hears of it.
	landline := *inc
	landline.Assignee = geo.Assignee{Role: geo.RoleDutyDesk, Name: "镇值班室", Phone: "0738-6812345"}
	if got := channelsOf(d.Messages(channels, snap, &landline, geo.MsgRouted, nil, "")); !slices.Equal(got, []int64{2, 7}) {
		t.Errorf("landline assignee: channels %v, want the groups only", got)
	}

	// An escalation tells the new assignee and the previous one.
	prev := inc.Assignee
	up := *inc
	up.Assignee = geo.Assignee{Role: geo.RoleLiaisonLeader, Level: geo.LevelVillage, Name: "联村组长", Phone: "13900000099"}
	var sms []string
	for _, m := range d.Messages(channels, snap, &up, geo.MsgEscalated, &prev, "超期") {
		if m.ChannelKind == geo.ChanSMS {
			sms = append(sms, m.To.Phone)
		}
		if m.Fields["reason"] != "超期" {
			t.Errorf("escalation without its reason: %v", m.Fields)
		}
	}
	if !slices.Equal(sms, []string{"13900000099", "13900000000"}) {
		t.Errorf("escalation SMS to %v", sms)
	}

	// The escalator's escalation of an overdue incident is of kind
	// overdue, so that a channel for missed deadlines hears of it.
	over := d.OverdueMessages(channels, snap, inc, geo.IncidentChange{Action: geo.ActEscalate, To: geo.StDispatched,
		Assignee: &up.Assignee, Note: "overdue since …"})
	sms = nil
	for _, m := range over {
		if m.Kind != geo.MsgOverdue {
			t.Errorf("escalator's message of kind %s", m.Kind)
		}
		if m.ChannelKind == geo.ChanSMS {
			sms = append(sms, m.To.Phone)
		}
	}
	if got := channelsOf(over); !slices.Contains(got, 6) || !slices.Equal(sms, []string{"13900000099", "13900000000"}) {
		t.Errorf("overdue escalation through %v, SMS to %v", got, sms)
	}

	// Only the subscribed kind reaches a channel limited to it; a rating
	// request goes by SMS only, to the reporter, without the leader's link.
	if got := channelsOf(d.Messages(channels, snap, inc, geo.MsgOverdue, nil, "")); !slices.Contains(got, 6) {
		t.Errorf("overdue through %v, want the overdue-only channel too", got)
	}
	rating := d.Messages(channels, snap, inc, geo.MsgRatingRequest, nil, "")
	if len(rating) != 1 || rating[0].ChannelKind != geo.ChanSMS || rating[0].To.Phone != "13700001111" || rating[0].Fields["link"] != "" {
		t.Errorf("rating request %+v", rating)
	}
	dispute := *inc
	dispute.Category = geo.CatDispute
	if got := channelsOf(d.Messages(channels, snap, &dispute, geo.MsgRouted, nil, "")); !slices.Contains(got, 5) {
		t.Errorf("dispute through %v, want the dispute channel", got)
	}
	urgent := *inc
	urgent.Severity = geo.SevUrgent
	if got := channelsOf(d.Messages(channels, snap, &urgent, geo.MsgRouted, nil, "")); !slices.Contains(got, 8) {
		t.Errorf("urgent through %v, want the urgent-only channel", got)
	}

	// Closing with a rating token links the rating page.
	ch := geo.IncidentChange{Action: geo.ActClose, To: geo.StClosed, RatingToken: "AAAAAAAAAAAAAAAAAAAAAA"}
	closing := *inc
	closing.Status = geo.StVerified
	msgs := d.ChangeMessages(channels, snap, &closing, ch)
	if len(msgs) != 1 || msgs[0].Fields["link"] != "https://wg.example.cn/rate/AAAAAAAAAAAAAAAAAAAAAA" {
		t.Errorf("closing: %+v", msgs)
	}
}

// TestDecide_ratingToken: closing an incident whose reporter left a
// mobile opens a rating request; a landline or no phone does not.
func TestDecide_ratingToken(t *testing.T) {
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	snap := oneGridTown(t, present, present, present, true)
	for _, c := range []struct {
		phone string
		want  bool
	}{{"13700001111", true}, {"0738-6812345", false}, {"", false}} {
		inc := &geo.Incident{Number: "WG1", Status: geo.StVerified, ReporterPhone: c.phone}
		ch, err := d.Decide(snap, inc, geo.Event{Action: geo.ActClose}, dispatchNow)
		if err != nil || (ch.RatingToken != "") != c.want {
			t.Errorf("phone %q: token %q, %v", c.phone, ch.RatingToken, err)
		}
	}
}

// TestDeliveryPolicy: backoff doubles within [half, whole], is capped,
// honours a longer Retry-After, and ends in a dead letter.
func TestDeliveryPolicy(t *testing.T) {
	p := geo.DeliveryPolicy{FirstRetry: 10 * time.Second, MaxRetry: time.Minute, MaxAttempts: 5}
	for _, c := range []struct {
		attempts   int
		jitter     float64
		retryAfter time.Duration
		want       time.Duration
		dead       bool
	}{
		{1, 0, 0, 5 * time.Second, false},
		{1, 0.999999, 0, 10 * time.Second, false},
		{2, 0, 0, 10 * time.Second, false},
		{3, 0.5, 0, 30 * time.Second, false},
		{4, 0, 0, 30 * time.Second, false}, // 80 s capped at 60 s
		{2, 0, 3 * time.Minute, 3 * time.Minute, false},
		{5, 0, 0, 0, true},
	} {
		next, dead := p.NextAttempt(dispatchNow, c.attempts, c.retryAfter, c.jitter)
		if dead != c.dead || !dead && next.Sub(dispatchNow).Round(time.Second) != c.want {
			t.Errorf("attempts %d jitter %v: wait %v dead %v, want %v %v", c.attempts, c.jitter, next.Sub(dispatchNow), dead, c.want, c.dead)
		}
	}
}

// TestRating: the answers and what they do.
func TestRating(t *testing.T) {
	closed := &geo.Incident{Status: geo.StClosed}
	ch, err := geo.RatingChange(closed, geo.RatingUnsatisfied, "没人来")
	if err != nil || ch.Action != geo.ActReopen || ch.To != geo.StReopened || ch.Note != "回访：不满意。没人来" {
		t.Errorf("unsatisfied: %+v %v", ch, err)
	}
	ch, _ = geo.RatingChange(closed, geo.RatingSatisfied, "")
	if ch.Action != geo.ActComment || ch.To != geo.StClosed {
		t.Errorf("satisfied: %+v", ch)
	}
	if _, _, err := (geo.RatingRequest{Rating: "good"}).Check(); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("bad rating: %v", err)
	}
	if a, b := geo.NewRatingToken(), geo.NewRatingToken(); len(a) != 22 || a == b {
		t.Errorf("tokens %q %q", a, b)
	}
}
