package geo

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// This file decides who is told what about an incident, and through which
// channel. The decisions are pure: the store writes the messages in the
// same transaction as the change that causes them (the outbox), and a
// delivery worker (geo/notify) sends them.

// MessageKind says what a message is about. The values are those of
// geo/notify's Kind, which renders them.
type MessageKind string

// The kinds of message.
const (
	MsgRouted        MessageKind = "routed"
	MsgReassigned    MessageKind = "reassigned"
	MsgEscalated     MessageKind = "escalated"
	MsgDueSoon       MessageKind = "due_soon"
	MsgOverdue       MessageKind = "overdue"
	MsgRatingRequest MessageKind = "rating_request"
	MsgLoginCode     MessageKind = "login_code"
	MsgTest          MessageKind = "test"
)

// MessageKinds lists the kinds a channel may subscribe to.
var MessageKinds = []MessageKind{MsgRouted, MsgReassigned, MsgEscalated, MsgDueSoon, MsgOverdue, MsgRatingRequest, MsgLoginCode, MsgTest}

// ChannelKind is the platform a channel delivers through.
type ChannelKind string

// Channel kinds: group robots of 企业微信, 钉钉 and 飞书, an SMS gateway, a
// signed webhook.
const (
	ChanWeCom    ChannelKind = "wecom"
	ChanDingTalk ChannelKind = "dingtalk"
	ChanFeishu   ChannelKind = "feishu"
	ChanSMS      ChannelKind = "sms"
	ChanWebhook  ChannelKind = "webhook"
)

// ChannelKinds lists the kinds.
var ChannelKinds = []ChannelKind{ChanWeCom, ChanDingTalk, ChanFeishu, ChanSMS, ChanWebhook}

// Channel is a configured delivery channel as routing sees it: what it
// hears of. Its platform settings and secret are the notify package's.
type Channel struct {
	ID   int64
	Name string
	Kind ChannelKind
	// VillageCode or GridCode limit the channel to incidents there (a
	// village's or a grid's group chat); both empty: the whole town.
	VillageCode string
	GridCode    string
	// Categories, Severities and Kinds limit it to those (empty: all).
	Categories []Category
	Severities []Severity
	Kinds      []MessageKind
	Enabled    bool
}

// hears reports whether c takes a message of kind about inc.
func (c *Channel) hears(kind MessageKind, inc *Incident) bool {
	if !c.Enabled || len(c.Kinds) > 0 && !slices.Contains(c.Kinds, kind) {
		return false
	}
	if kind == MsgLoginCode || kind == MsgTest {
		return c.Kind == ChanSMS || kind == MsgTest
	}
	if inc == nil {
		return false
	}
	if len(c.Categories) > 0 && !slices.Contains(c.Categories, inc.Category) ||
		len(c.Severities) > 0 && !slices.Contains(c.Severities, inc.Severity) {
		return false
	}
	if c.GridCode != "" && c.GridCode != inc.GridCode || c.VillageCode != "" && c.VillageCode != inc.VillageCode {
		return false
	}
	// The resident's rating request goes by SMS only: a group chat of
	// cadres is not where a resident is asked.
	return kind != MsgRatingRequest || c.Kind == ChanSMS
}

// Recipient is a person a message is for.
type Recipient struct {
	Name  string
	Phone string
	// Role says why: assignee, previous_assignee, co_notified, reporter.
	Role string
}

// OutboxMessage is one message of the outbox: to one person by SMS, or to
// a group (robot, webhook) naming the people concerned.
type OutboxMessage struct {
	// ID is stable across retries and restarts; the store assigns it.
	ID          string
	ChannelID   int64
	ChannelName string
	ChannelKind ChannelKind
	Kind        MessageKind
	Incident    string // the incident's number; empty for login codes and tests
	To          Recipient
	// Mention lists the mobiles a group message @-mentions.
	Mention []string
	Title   string
	Text    string
	Fields  map[string]string

	// Delivery, as the store reports it.
	Status    string // pending, sending, sent, dead
	Attempts  int
	LastError string
	CreatedAt time.Time
	SentAt    time.Time
	NextAt    time.Time
}

// Outbox statuses.
const (
	OutboxPending = "pending"
	OutboxSending = "sending"
	OutboxSent    = "sent"
	OutboxDead    = "dead"
)

// categoryNames are the categories as a grid leader reads them.
var categoryNames = map[Category]string{CatDispute: "矛盾纠纷", CatEnvironment: "环境卫生", CatSafety: "安全隐患",
	CatLivelihood: "民生诉求", CatCustoms: "移风易俗", CatLeftBehindChildren: "留守儿童", CatOther: "其他"}

// CategoryName is c in Chinese.
func CategoryName(c Category) string {
	if n, ok := categoryNames[c]; ok {
		return n
	}
	return string(c)
}

// Messages returns the messages that an event of kind on inc sends through
// channels, to the people who must hear of it:
//
//   - routed: the assignee, and the chairs of the co-notified
//     organizations (their group robots name them);
//   - reassigned, escalated, overdue (escalated by the escalator): the
//     new assignee, and the previous one, who is told the case has left
//     them;
//   - due_soon: the assignee;
//   - rating_request: the reporter, by SMS.
//
// An SMS channel sends one message per person with a mobile number; a
// group robot or webhook sends one message to the group that mentions
// them. snap supplies the organizations' chairs (nil: none); the link is
// incident's address for the recipient (may be empty); prev is the
// assignee before the change (reassigned, escalated).
func (d Dispatcher) Messages(channels []Channel, snap *Snapshot, inc *Incident, kind MessageKind, prev *Assignee, reason string) []OutboxMessage {
	var to []Recipient
	person := func(name, phone, role string) {
		if name == "" && phone == "" {
			return
		}
		for _, r := range to {
			if r.Phone == phone && r.Name == name {
				return
			}
		}
		to = append(to, Recipient{Name: name, Phone: phone, Role: role})
	}
	switch kind {
	case MsgRouted:
		person(inc.Assignee.Name, inc.Assignee.Phone, "assignee")
		for _, chair := range d.chairs(snap, inc) {
			person(chair.Name, chair.Phone, "co_notified")
		}
	case MsgReassigned, MsgEscalated, MsgOverdue:
		person(inc.Assignee.Name, inc.Assignee.Phone, "assignee")
		if prev != nil && prev.Name != inc.Assignee.Name {
			person(prev.Name, prev.Phone, "previous_assignee")
		}
	case MsgDueSoon:
		person(inc.Assignee.Name, inc.Assignee.Phone, "assignee")
	case MsgRatingRequest:
		if IsMobile(inc.ReporterPhone) {
			person(inc.ReporterName, inc.ReporterPhone, "reporter")
		}
	}
	if len(to) == 0 {
		return nil
	}
	fields := map[string]string{"number": inc.Number, "category": CategoryName(inc.Category),
		"severity": string(inc.Severity), "due": inc.DueAt.UTC().Format(time.RFC3339), "description": firstRunes(inc.Description, 200)}
	if g, ok := snap.gridName(inc.GridCode); ok {
		fields["grid"] = g
	} else if inc.GridCode != "" {
		fields["grid"] = inc.GridCode
	} else {
		fields["grid"] = "网格外"
	}
	if link := d.incidentLink(inc.Number); link != "" && kind != MsgRatingRequest {
		fields["link"] = link
	}
	if reason != "" {
		fields["reason"] = reason
	}
	if inc.Assignee.Name != "" {
		fields["assignee"] = inc.Assignee.Name
	}
	var out []OutboxMessage
	for i := range channels {
		c := &channels[i]
		if !c.hears(kind, inc) {
			continue
		}
		base := OutboxMessage{ChannelID: c.ID, ChannelName: c.Name, ChannelKind: c.Kind, Kind: kind, Incident: inc.Number, Fields: fields}
		if c.Kind == ChanSMS {
			for _, r := range to {
				if !IsMobile(r.Phone) {
					continue
				}
				m := base
				m.To = r
				out = append(out, m)
			}
			continue
		}
		m := base
		m.To = to[0]
		for _, r := range to {
			if IsMobile(r.Phone) {
				m.Mention = append(m.Mention, r.Phone)
			}
		}
		out = append(out, m)
	}
	return out
}

// chairs returns the chairs of the organizations co-notified about inc.
func (d Dispatcher) chairs(snap *Snapshot, inc *Incident) []Contact {
	if snap == nil || len(inc.CoNotified) == 0 {
		return nil
	}
	v, ok := snap.Village(inc.VillageCode)
	if !ok {
		return nil
	}
	var out []Contact
	for _, ref := range inc.CoNotified {
		for _, o := range v.Organizations {
			if o.Kind != ref.Kind || o.Name != ref.Name {
				continue
			}
			for _, m := range o.Members {
				if m.Role == MemberChair {
					out = append(out, m.Contact)
				}
			}
		}
	}
	return out
}

// gridName is the grid's name as a person reads it: village and grid.
func (s *Snapshot) gridName(code string) (string, bool) {
	if s == nil || code == "" {
		return "", false
	}
	g, ok := s.Grid(code)
	if !ok {
		return "", false
	}
	if v, ok := s.Village(g.VillageCode); ok {
		return v.Name + g.Name, true
	}
	return g.Name, true
}

// IsMobile reports whether phone is a mainland mobile number (11 digits,
// 13x–19x), the only kind an SMS or an @-mention reaches.
func IsMobile(phone string) bool {
	if len(phone) != 11 || phone[0] != '1' || phone[1] < '3' {
		return false
	}
	return !strings.ContainsFunc(phone, func(r rune) bool { return r < '0' || r > '9' })
}

// DeliveryPolicy is how the worker retries: exponential backoff from
// FirstRetry doubling up to MaxRetry, with jitter, and a dead letter after
// MaxAttempts.
type DeliveryPolicy struct {
	FirstRetry  time.Duration
	MaxRetry    time.Duration
	MaxAttempts int
	// Lease is how long a worker holds a message it is sending; a message
	// whose lease ran out (its worker died) is taken up again.
	Lease time.Duration
}

// DefaultDeliveryPolicy retries after 5 s, 10 s, … up to 10 min, and gives
// up after 8 attempts (about 20 minutes).
func DefaultDeliveryPolicy() DeliveryPolicy {
	return DeliveryPolicy{FirstRetry: 5 * time.Second, MaxRetry: 10 * time.Minute, MaxAttempts: 8, Lease: time.Minute}
}

// NextAttempt returns when to try again after attempts failed attempts,
// with jitter drawn from jitter (a number in [0, 1)): between half and the
// whole of the backoff, so that retries of a burst spread out. A
// retryAfter the receiver asked for is honoured when longer. dead is true
// when no attempt is left.
func (p DeliveryPolicy) NextAttempt(now time.Time, attempts int, retryAfter time.Duration, jitter float64) (next time.Time, dead bool) {
	if attempts >= p.MaxAttempts {
		return time.Time{}, true
	}
	backoff := p.FirstRetry
	for i := 1; i < attempts && backoff < p.MaxRetry; i++ {
		backoff *= 2
	}
	backoff = min(backoff, p.MaxRetry)
	wait := backoff/2 + time.Duration(jitter*float64(backoff/2))
	return now.Add(max(wait, retryAfter)), false
}

// OutboxStore keeps the outbox. Every method returns EUNAVAILABLE when the
// database cannot be reached.
type OutboxStore interface {
	// ClaimMessages leases up to limit messages due at now (pending, or
	// sending with an expired lease) to the caller until now+lease; two
	// workers never claim the same message at once.
	ClaimMessages(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// MessageSent records a delivery at at.
	MessageSent(ctx context.Context, id string, at time.Time) error
	// MessageFailed records a failed attempt: retried at next, or dead. A
	// deferred attempt (held back by a rate limit before reaching the
	// receiver) does not count against the attempts.
	MessageFailed(ctx context.Context, id string, errText string, next time.Time, dead, deferred bool) error
	// ReleaseMessages hands back, unsent, messages the caller leased and
	// whose lease has not run out at at: due at at, their attempt not
	// counted.
	ReleaseMessages(ctx context.Context, ids []string, at time.Time) error
	// IncidentMessages lists an incident's messages, oldest first.
	IncidentMessages(ctx context.Context, number string) ([]OutboxMessage, error)
	// EnqueueMessages writes messages outside an incident change (login
	// codes, tests).
	EnqueueMessages(ctx context.Context, msgs []OutboxMessage, at time.Time) error
	// OutboxCounts counts messages by channel kind and status, for metrics.
	OutboxCounts(ctx context.Context) (map[[2]string]int, error)
}

// ChannelRecord is a channel as stored: routing, the platform settings
// (JSON, without the secret) and the sealed secret.
type ChannelRecord struct {
	Channel
	Settings     json.RawMessage
	SecretSealed string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// ChannelStore keeps the channels. Secrets are stored sealed; the API
// never shows them.
type ChannelStore interface {
	// Channels lists every channel as routing sees it.
	Channels(ctx context.Context) ([]Channel, error)
	// ChannelRecords lists every channel with its settings and sealed
	// secret.
	ChannelRecords(ctx context.Context) ([]ChannelRecord, error)
	// CreateChannel stores a new channel; ECONFLICT when the name is taken.
	CreateChannel(ctx context.Context, c ChannelRecord, actor string, at time.Time) (*ChannelRecord, error)
	// UpdateChannel locks channel id, lets change edit it (an error writes
	// nothing) and stores it; ENOTFOUND if unknown, ECONFLICT for a taken
	// name.
	UpdateChannel(ctx context.Context, id int64, actor string, at time.Time, change func(*ChannelRecord) error) (*ChannelRecord, error)
}

// ChangeMessages returns the messages a change to inc sends: a
// reassignment or an escalation tells the new assignee and the previous
// one; closing an incident whose reporter left a mobile asks them for a
// rating (回访) by the link of ch.RatingToken. Other steps send nothing.
func (d Dispatcher) ChangeMessages(channels []Channel, snap *Snapshot, inc *Incident, ch IncidentChange) []OutboxMessage {
	after := afterChange(inc, ch)
	switch {
	case ch.Action == ActEscalate:
		return d.Messages(channels, snap, after, MsgEscalated, &inc.Assignee, ch.Note)
	case ch.Action == ActReassign:
		return d.Messages(channels, snap, after, MsgReassigned, &inc.Assignee, ch.Note)
	case ch.RatingToken != "":
		msgs := d.Messages(channels, snap, after, MsgRatingRequest, nil, "")
		if len(msgs) > 0 && d.publicURL != "" {
			msgs[0].Fields["link"] = d.publicURL + "/rate/" + ch.RatingToken
		}
		return msgs
	}
	return nil
}

// OverdueMessages returns the messages of an escalation the escalator
// makes because inc is overdue: kind overdue (so that channels that
// subscribe to missed deadlines hear of it), to the new assignee and the
// one who let it pass.
func (d Dispatcher) OverdueMessages(channels []Channel, snap *Snapshot, inc *Incident, ch IncidentChange) []OutboxMessage {
	return d.Messages(channels, snap, afterChange(inc, ch), MsgOverdue, &inc.Assignee, ch.Note)
}

// afterChange is inc as ch leaves it: status, assignee and due time.
func afterChange(inc *Incident, ch IncidentChange) *Incident {
	after := *inc
	after.Status = ch.To
	if ch.Assignee != nil {
		after.Assignee = *ch.Assignee
	}
	if !ch.DueAt.IsZero() {
		after.DueAt = ch.DueAt
	}
	return &after
}

// incidentLink is the address of an incident on the leaders' work screen,
// or "" without a public URL.
func (d Dispatcher) incidentLink(number string) string {
	if d.publicURL == "" {
		return ""
	}
	return d.publicURL + "/m/#/incidents/" + number
}

// firstRunes is s cut to n characters, with an ellipsis when cut: what the
// resident said, short enough for a message.
func firstRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}
