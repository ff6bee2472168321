package notify

import "time"

// Kind says what a message is about. Render picks its template by Kind; a
// kind it does not know is sent as the message's own Text.
type Kind string

// The kinds of message wangge sends.
const (
	KindRouted        Kind = "routed"         // a new incident was routed to the recipient
	KindReassigned    Kind = "reassigned"     // an incident was moved to the recipient
	KindEscalated     Kind = "escalated"      // an incident was escalated to the recipient
	KindDueSoon       Kind = "due_soon"       // an incident of the recipient is about to be due
	KindOverdue       Kind = "overdue"        // an incident of the recipient is past due
	KindRatingRequest Kind = "rating_request" // the reporter is asked to rate the handling
	KindLoginCode     Kind = "login_code"     // a one-time sign-in code
	KindTest          Kind = "test"           // an admin tests a channel
)

// Field names that Render and the SMS body template read from
// Message.Fields. Other fields are carried (the generic webhook sends them
// all) but not rendered.
const (
	FieldNumber   = "number"   // incident number, e.g. HY20261203-0001
	FieldGrid     = "grid"     // grid name as a person reads it, e.g. 荷叶镇荷叶村第3网格
	FieldCategory = "category" // incident category in Chinese, e.g. 环境卫生
	FieldDue      = "due"      // due time, RFC 3339 (rendered in China Standard Time) or already-formatted text
	FieldLink     = "link"     // https link to the incident
	FieldReason   = "reason"   // why an incident was escalated or reassigned
	FieldCode     = "code"     // login_code: the one-time code
	FieldMinutes  = "minutes"  // login_code: how many minutes the code is valid
)

// Recipient is the person a message is for. Phone is a mainland mobile for
// SMS and for the @-mention of group robots; it may be empty for channels
// that address a group.
type Recipient struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
}

// Message is one notification as the outbox holds it.
type Message struct {
	// ID is stable across retries: receivers deduplicate on it.
	ID        string
	Kind      Kind
	Recipient Recipient
	// Title is a short Chinese title; Render makes one from Kind when empty.
	Title string
	// Text is plain Chinese text, used for kinds Render has no template for.
	Text string
	// Fields carries the facts the templates need (see the Field constants).
	Fields    map[string]string
	CreatedAt time.Time
}
