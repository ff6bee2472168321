package api

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/featurejson"
)

// maxIdempotencyKey bounds the Idempotency-Key header.
const maxIdempotencyKey = 200

// createIncident answers POST /v1/incidents: it routes the complaint from
// the snapshot in memory (grid, assignee, organizations to co-notify, due
// time) and stores it. A retry with the same Idempotency-Key and body
// returns the same incident (200); another body with that key is 422.
func (s *Server) createIncident(c *gin.Context, req *geo.IncidentRequest) error {
	key := strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	if len(key) > maxIdempotencyKey {
		return badParam("Idempotency-Key", "longer than %d characters", maxIdempotencyKey)
	}
	if geo.Source(req.Source) == geo.SourceOpen311 {
		// The record would claim an Open311 request that does not exist.
		return geo.Invalid(geo.Problem{Where: "source", Reason: fmt.Sprintf(
			"got %q: only Open311 (POST /open311/v2/requests.json) sets it; want one of %v", req.Source,
			slices.DeleteFunc(slices.Clone(geo.Sources), func(src geo.Source) bool { return src == geo.SourceOpen311 }))})
	}
	// The hash of the decoded request, so a retry that differs only in
	// spacing or member order is the same request.
	canonical, _ := json.Marshal(req)
	hash := sha256.Sum256(canonical)
	made := -1
	out, fresh, err := s.intakeCounted(c, *req, callerRole(c), callerName(c), key, hash[:], s.cfg.Now().UTC(), nil, &made)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !fresh {
		status = http.StatusOK
	}
	c.Header("Location", "/v1/incidents/"+out.Number)
	if fresh && made == 0 && s.cfg.Outbox != nil {
		// Written now with no message: the outbox holds none to show,
		// so it is not read again.
		body := s.incidentJSON(c, out, true)
		body.Messages = messagesJSON(nil, false)
		c.JSON(status, body)
		return nil
	}
	return s.sendIncident(c, status, out)
}

// intake is the one way a complaint becomes an incident, whichever
// door it came through (POST /v1/incidents, Open311): route req on the
// current snapshot at now, run before (if not nil: a door's own writes,
// after routing succeeded), then store the incident with its routing
// messages under key and hash, created by actor acting as role. It
// returns the incident and whether it was created now (false: a retry
// of the same key).
func (s *Server) intake(c *gin.Context, req geo.IncidentRequest, role geo.AccessRole, actor, key string, hash []byte,
	now time.Time, before func() error) (*geo.Incident, bool, error) {
	return s.intakeCounted(c, req, role, actor, key, hash, now, before, nil)
}

// intakeCounted is intake; when made is not nil it is set to how many
// messages the incident was stored with, when it was stored now.
func (s *Server) intakeCounted(c *gin.Context, req geo.IncidentRequest, role geo.AccessRole, actor, key string, hash []byte,
	now time.Time, before func() error, made *int) (*geo.Incident, bool, error) {
	snap := s.registry.Load()
	inc, err := s.dispatcher.Route(snap, req, now)
	if err != nil {
		return nil, false, err
	}
	if !callerTown(c).Covers(inc.TownCode) {
		return nil, false, s.outsideTown(c, "the incident's place", inc.TownCode)
	}
	channels, err := s.notificationChannels(c.Request.Context())
	if err != nil {
		return nil, false, err
	}
	if before != nil {
		if err := before(); err != nil {
			return nil, false, err
		}
	}
	inc.CreatedBy, inc.CreatedByRole = actor, geo.ActorRole(role, personScope(c), inc)
	return s.cfg.Incidents.CreateIncident(c.Request.Context(), inc, key, hash,
		func(inc *geo.Incident) []geo.OutboxMessage {
			msgs := s.dispatcher.Messages(channels, snap, inc, geo.MsgRouted, nil, "")
			if made != nil {
				*made = len(msgs)
			}
			return msgs
		})
}

// addIncidentEvent answers POST /v1/incidents/{number}/events: one step of
// the closed loop, decided by the dispatcher on the incident as locked in
// the store's transaction. Illegal transitions are 409 and change nothing.
func (s *Server) addIncidentEvent(c *gin.Context, req *geo.EventRequest) error {
	ev, err := geo.CheckEvent(*req, callerName(c))
	if err != nil {
		return err
	}
	channels, err := s.notificationChannels(c.Request.Context())
	if err != nil {
		return err
	}
	// An action a phone queued offline comes again after reconnecting:
	// the same Idempotency-Key and body are applied once.
	key := strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	if len(key) > maxIdempotencyKey {
		return badParam("Idempotency-Key", "longer than %d characters", maxIdempotencyKey)
	}
	canonical, _ := json.Marshal(req)
	hash := sha256.Sum256(canonical)
	now := s.cfg.Now().UTC()
	snap := s.registry.Load()
	out, err := s.cfg.Incidents.AddIncidentEvent(c.Request.Context(), c.Param("number"), callerName(c), key, hash[:], now,
		func(inc *geo.Incident) (geo.IncidentChange, error) {
			if err := s.personMay(c, inc, ev.Action); err != nil {
				return geo.IncidentChange{}, err
			}
			ch, err := s.dispatcher.Decide(snap, inc, ev, now)
			if err == nil {
				err = s.townMayChange(c, snap, ch) // auth.go: a town's token keeps to its town
			}
			if err == nil {
				// The role the caller acts in now: the record keeps it
				// as it was, whatever they hold later.
				ch.ActorRole = geo.ActorRole(callerRole(c), personScope(c), inc)
				ch.Messages = s.dispatcher.EventMessages(channels, snap, inc, ch)
			}
			return ch, err
		})
	if err != nil {
		return err
	}
	return s.sendIncident(c, http.StatusOK, out)
}

// sendIncident answers with an incident, its history and, where this
// server keeps an outbox, its messages with their delivery status.
func (s *Server) sendIncident(c *gin.Context, status int, inc *geo.Incident) error {
	out := s.incidentJSON(c, inc, true)
	if s.cfg.Outbox != nil {
		msgs, err := s.cfg.Outbox.IncidentMessages(c.Request.Context(), inc.Number)
		if err != nil {
			return err
		}
		out.Messages = messagesJSON(msgs, callerRole(c).SeesPersonalData())
	}
	c.JSON(status, out)
	return nil
}

// getIncident answers GET /v1/incidents/{number} with the history.
func (s *Server) getIncident(c *gin.Context) error {
	inc, err := s.cfg.Incidents.Incident(c.Request.Context(), c.Param("number"))
	if err != nil {
		return err
	}
	if err := s.personMay(c, inc, ""); err != nil {
		return err
	}
	return s.sendIncident(c, http.StatusOK, inc)
}

// incidentOut is an incident as sent.
type incidentOut struct {
	Number      string        `json:"number"`
	Status      geo.Status    `json:"status"`
	Category    geo.Category  `json:"category"`
	Severity    geo.Severity  `json:"severity"`
	Source      geo.Source    `json:"source"`
	Description string        `json:"description"`
	Reporter    *personJSON   `json:"reporter"`
	Location    *[2]float64   `json:"location"`
	Input       *inputJSON    `json:"input"`
	Grid        *incidentGrid `json:"grid"`
	Town        string        `json:"town"` // the 9-digit code of its town
	Assignee    *assigneeJSON `json:"assignee"`
	CoNotified  []orgJSON     `json:"co_notified"`
	ReportedAt  time.Time     `json:"reported_at"`
	ReceivedAt  time.Time     `json:"received_at"`
	DueAt       time.Time     `json:"due_at"`
	Overdue     bool          `json:"overdue"`
	ResolvedAt  *time.Time    `json:"resolved_at"`
	ClosedAt    *time.Time    `json:"closed_at"`
	CreatedBy   string        `json:"created_by"`
	// The record: the first time limit, escalations, completion (办结:
	// verified) and whether on time, the time spent past deadlines (at
	// the time of the answer), and why it was rejected or cancelled.
	FirstDueAt      time.Time  `json:"first_due_at"`
	EscalationCount int        `json:"escalation_count"`
	MaxLevel        geo.Level  `json:"max_level"`
	CompletedAt     *time.Time `json:"completed_at"`
	OnTime          *bool      `json:"on_time"`
	OverdueSeconds  int64      `json:"overdue_seconds"`
	MissedDeadlines int        `json:"missed_deadlines"`
	OutcomeReason   string     `json:"outcome_reason,omitempty"`
	// SuspendedAt is set while suspended (挂起); SuspendedSeconds sums
	// the suspensions that ended.
	SuspendedAt         *time.Time    `json:"suspended_at"`
	SuspendedSeconds    int64         `json:"suspended_seconds"`
	PossibleDuplicateOf *incidentLink `json:"possible_duplicate_of"`
	MergedInto          *incidentLink `json:"merged_into"`
	// Deadlines and Contacts are in the detail only.
	Deadlines []deadlineOut `json:"deadlines,omitempty"`
	Contacts  []contactOut  `json:"contacts,omitempty"`
	Events    []eventOut    `json:"events,omitempty"`
	// Messages are the notifications sent about the incident (detail
	// only, where the server keeps an outbox).
	Messages []messageOut `json:"messages,omitempty"`
}

// messageOut is one message of an incident with its delivery status.
type messageOut struct {
	ID        string     `json:"id"`
	Channel   string     `json:"channel"`
	Kind      string     `json:"channel_kind"`
	Message   string     `json:"kind"`
	Recipient personJSON `json:"recipient"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at"`
}

func messagesJSON(msgs []geo.OutboxMessage, personal bool) []messageOut {
	out := make([]messageOut, len(msgs))
	for i, m := range msgs {
		out[i] = messageOut{ID: m.ID, Channel: m.ChannelName, Kind: string(m.ChannelKind), Message: string(m.Kind),
			Recipient: personJSON{Name: m.To.Name}, Status: m.Status, Attempts: m.Attempts, LastError: m.LastError,
			CreatedAt: m.CreatedAt, SentAt: timePtr(m.SentAt)}
		if personal {
			out[i].Recipient.Phone = m.To.Phone
		}
	}
	return out
}

// incidentLink points at another incident.
type incidentLink struct {
	Number string `json:"number"`
	Href   string `json:"href"`
}

func linkTo(number string) *incidentLink {
	if number == "" {
		return nil
	}
	return &incidentLink{Number: number, Href: "/v1/incidents/" + number}
}

// deadlineOut is one time limit an incident was given.
type deadlineOut struct {
	Seq      int        `json:"seq"`
	Level    geo.Level  `json:"level"`
	DueAt    time.Time  `json:"due_at"`
	SetAt    time.Time  `json:"set_at"`
	SetBy    geo.Action `json:"set_by"`
	Missed   bool       `json:"missed"`
	MissedAt *time.Time `json:"missed_at"`
	EndedAt  *time.Time `json:"ended_at"`
}

// contactOut is the reporter of an incident merged into this one.
type contactOut struct {
	From     string     `json:"from"`
	Reporter personJSON `json:"reporter"`
	At       time.Time  `json:"at"`
}

type inputJSON struct {
	CRS string  `json:"crs"`
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

type incidentGrid struct {
	Code        string   `json:"code"`
	VillageCode string   `json:"village_code"`
	Match       string   `json:"match"`
	DistanceM   *float64 `json:"distance_m"`
	Generation  int64    `json:"generation"`
}

type assigneeJSON struct {
	Role   geo.Role  `json:"role"`
	Level  geo.Level `json:"level"`
	Name   string    `json:"name"`
	Phone  string    `json:"phone,omitempty"`
	Reason string    `json:"reason,omitempty"`
}

type eventOut struct {
	At        time.Time     `json:"at"`
	Actor     string        `json:"actor"`
	ActorRole string        `json:"actor_role,omitempty"`
	Action    geo.Action    `json:"action"`
	From      geo.Status    `json:"from,omitempty"`
	To        geo.Status    `json:"to"`
	Level     geo.Level     `json:"level"`
	Note      string        `json:"note,omitempty"`
	Assignee  *assigneeJSON `json:"assignee,omitempty"`
}

// incidentJSON renders inc for the caller: phones only for roles that see
// personal data (the dispatch endpoints already require such a role; the
// check stays here so that no future endpoint leaks them).
func (s *Server) incidentJSON(c *gin.Context, inc *geo.Incident, history bool) incidentOut {
	personal := callerRole(c).SeesPersonalData()
	assignee := func(a *geo.Assignee) *assigneeJSON {
		if a == nil || a.Name == "" {
			return nil
		}
		out := &assigneeJSON{Role: a.Role, Level: a.Level, Name: a.Name, Reason: a.Reason}
		if personal {
			out.Phone = a.Phone
		}
		return out
	}
	now := s.cfg.Now()
	out := incidentOut{Number: inc.Number, Status: inc.Status, Category: inc.Category, Severity: inc.Severity,
		Source: inc.Source, Description: inc.Description, Location: inc.Location, Town: inc.TownCode, Assignee: assignee(&inc.Assignee),
		CoNotified: []orgJSON{}, ReportedAt: inc.ReportedAt, ReceivedAt: inc.ReceivedAt, DueAt: inc.DueAt,
		Overdue: inc.Overdue(now), CreatedBy: inc.CreatedBy, ResolvedAt: timePtr(inc.ResolvedAt), ClosedAt: timePtr(inc.ClosedAt),
		FirstDueAt: inc.FirstDueAt, EscalationCount: inc.EscalationCount, MaxLevel: inc.MaxLevel,
		CompletedAt: timePtr(inc.CompletedAt), OnTime: inc.OnTime, OverdueSeconds: int64(inc.OverdueFor(now) / time.Second),
		MissedDeadlines: inc.MissedDeadlines(now), OutcomeReason: inc.OutcomeReason,
		SuspendedAt: timePtr(inc.SuspendedAt), SuspendedSeconds: inc.SuspendedSeconds,
		PossibleDuplicateOf: linkTo(inc.PossibleDuplicateOf), MergedInto: linkTo(inc.MergedInto)}
	if inc.ReporterName != "" || inc.ReporterPhone != "" {
		// A person signed in sees the reporter's phone of their own
		// incidents: they call the resident back.
		out.Reporter = contactJSON(&geo.Contact{Name: inc.ReporterName, Phone: inc.ReporterPhone}, personal || s.personSees(c, inc))
	}
	if inc.InputPoint != nil {
		out.Input = &inputJSON{CRS: inc.InputCRS, Lon: inc.InputPoint[0], Lat: inc.InputPoint[1]}
	}
	if inc.GridCode != "" || inc.Match == "outside" {
		out.Grid = &incidentGrid{Code: inc.GridCode, VillageCode: inc.VillageCode, Match: inc.Match, Generation: inc.Generation}
		if inc.Match == "nearest" {
			d := inc.DistanceM
			out.Grid.DistanceM = &d
		}
	}
	for _, o := range inc.CoNotified {
		out.CoNotified = append(out.CoNotified, orgJSON{Kind: string(o.Kind), Name: o.Name})
	}
	if history {
		for _, e := range inc.Events {
			out.Events = append(out.Events, eventOut{At: e.At, Actor: e.Actor, ActorRole: e.ActorRole, Action: e.Action, From: e.From, To: e.To,
				Level: e.Level, Note: e.Note, Assignee: assignee(e.Assignee)})
		}
		for _, d := range inc.Deadlines {
			out.Deadlines = append(out.Deadlines, deadlineOut{Seq: d.Seq, Level: d.Level, DueAt: d.DueAt, SetAt: d.SetAt, SetBy: d.SetBy,
				Missed: inc.Missed(d, now), MissedAt: timePtr(d.MissedAt), EndedAt: timePtr(d.EndedAt)})
		}
		for _, m := range inc.Contacts {
			// Like the reporter's: the phone for those who call back.
			out.Contacts = append(out.Contacts, contactOut{From: m.From, At: m.At,
				Reporter: *contactJSON(&geo.Contact{Name: m.ReporterName, Phone: m.ReporterPhone}, personal || s.personSees(c, inc))})
		}
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// listIncidents answers GET /v1/incidents with filters and a cursor;
// Accept: application/geo+json gives a FeatureCollection for maps.
func (s *Server) listIncidents(c *gin.Context) error {
	f, err := s.incidentFilter(c, s.cfg.Now())
	if err != nil {
		return err
	}
	if f.Limit, err = queryLimit(c, 50, 1000); err != nil {
		return err
	}
	if f.After, err = queryCursor(c); err != nil {
		return err
	}
	list, next, err := s.cfg.Incidents.ListIncidents(c.Request.Context(), f)
	if err != nil {
		return err
	}
	cursor := encodeCursor(next)
	if strings.Contains(c.GetHeader("Accept"), GeoJSONContentType) {
		b := []byte(`{"type":"FeatureCollection","features":[`)
		for i, inc := range list {
			if i > 0 {
				b = append(b, ',')
			}
			props, _ := json.Marshal(s.incidentJSON(c, inc, false))
			b = fmt.Appendf(b, `{"type":"Feature","id":%q,"geometry":`, inc.Number)
			if inc.Location != nil {
				b = featurejson.AppendPointGeometry(b, orb.Point(*inc.Location), featurejson.Exact)
			} else {
				b = append(b, "null"...)
			}
			b = append(b, `,"properties":`...)
			b = append(b, props...)
			b = append(b, '}')
		}
		b = append(b, `],"next_cursor":`...)
		nc, _ := json.Marshal(cursor)
		b = append(b, nc...)
		b = append(b, '}')
		c.Data(http.StatusOK, GeoJSONContentType, b)
		return nil
	}
	out := make([]incidentOut, len(list))
	for i, inc := range list {
		out[i] = s.incidentJSON(c, inc, false)
	}
	c.JSON(http.StatusOK, gin.H{"incidents": out, "next_cursor": cursor})
	return nil
}

// incidentFilter reads the scope parameters shared by the list and stats.
// category takes every code of the catalogue, inactive ones too: past
// incidents keep a category no longer offered.
func (s *Server) incidentFilter(c *gin.Context, now time.Time) (geo.IncidentFilter, error) {
	f := geo.IncidentFilter{GridCode: c.Query("grid"), VillageCode: c.Query("village"), Now: now}
	town, err := s.queryTown(c) // auth.go: ?town=, and a town's token sees its town only
	if err != nil {
		return f, err
	}
	f.TownCode = town
	if f.GridCode != "" && geo.ValidateGridCode(f.GridCode, "") != nil {
		return f, badParam("grid", "got %q, want a 15-digit grid code", truncate(f.GridCode))
	}
	if f.VillageCode != "" && geo.ValidateVillageCode(f.VillageCode) != nil {
		return f, badParam("village", "got %q, want a 12-digit village code", truncate(f.VillageCode))
	}
	if raw := c.Query("category"); raw != "" {
		if cats := s.limits.Categories(true); !slices.Contains(cats, geo.Category(raw)) {
			return f, badParam("category", "got %q, want one of %v", truncate(raw), cats)
		}
		f.Category = geo.Category(raw)
	}
	if raw := c.Query("status"); raw != "" {
		for _, st := range strings.Split(raw, ",") {
			if !slices.Contains(geo.Statuses, geo.Status(st)) {
				return f, badParam("status", "got %q, want a comma-separated list of %v", truncate(st), geo.Statuses)
			}
			f.Statuses = append(f.Statuses, geo.Status(st))
		}
	}
	if raw := c.Query("overdue"); raw != "" {
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return f, badParam("overdue", "got %q, want true or false", truncate(raw))
		}
		f.Overdue = v
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if raw := c.Query(p.name); raw != "" {
			t, ok := geo.ParseTime(raw)
			if !ok {
				return f, badParam(p.name, "got %q, want an RFC 3339 time or a date (YYYY-MM-DD, midnight China time)", truncate(raw))
			}
			*p.dst = t
		}
	}
	bbox, has, err := queryBBox(c)
	if err != nil {
		return f, err
	}
	if has {
		f.BBox = &[4]float64{bbox.Min[0], bbox.Min[1], bbox.Max[0], bbox.Max[1]}
	}
	return f, nil
}

// stats answers GET /v1/stats for the town, a village or a grid, and a
// time range: the figures a township reports ("2,350 accepted, 2,110
// completed").
func (s *Server) stats(c *gin.Context) error {
	f, err := s.incidentFilter(c, s.cfg.Now())
	if err != nil {
		return err
	}
	st, err := s.cfg.Incidents.IncidentStats(c.Request.Context(), f)
	if err != nil {
		return err
	}
	// Every known category, inactive ones too (the range can hold their
	// incidents), with zeros where none.
	byCat := map[geo.Category]geo.CategoryStats{}
	for _, cat := range s.limits.Categories(true) {
		byCat[cat] = st.ByCategory[cat]
	}
	c.JSON(http.StatusOK, gin.H{"scope": gin.H{"town": f.TownCode, "grid": f.GridCode, "village": f.VillageCode, "category": f.Category,
		"from": timePtr(f.From), "to": timePtr(f.To)},
		"received": st.Received, "closed": st.Closed, "completed": st.Completed, "completion_rate": st.CompletionRate,
		"median_hours_to_close": st.MedianHoursToClose, "p90_hours_to_close": st.P90HoursToClose,
		"overdue_now": st.OverdueNow, "by_category": byCat, "satisfaction": st.Satisfaction})
	return nil
}
