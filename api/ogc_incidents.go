package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
)

// This file serves the incidents as an OGC API – Features collection,
// read through the incident store's listing on every request.

// ogcMaxIncidents bounds the incidents one items request reads from the
// database before filter, sortby and paging apply in memory: more is a 400
// that asks to narrow the request (datetime, bbox, status, grid_code).
const ogcMaxIncidents = 50_000

// ogcIncidentsDescription is the collection's description: it states the
// access policy.
const ogcIncidentsDescription = "The incidents (complaints) routed to the grids: location (Point, null when the " +
	"complaint came with a grid code only), status, category, severity, grid, assignee and times. " +
	"Who sees them: dispatchers and admins see every incident (a token limited to a town: that town's); a person signed in (a grid leader, a deputy, a " +
	"village liaison leader, an organization's chair) sees the incidents of their own scope, as on GET /v1/me; " +
	"anonymous callers and viewer or planner tokens do not see this collection at all (401/403), because where a " +
	"complaint was made and what it is about can say who made it. No role gets personal data here: no reporter's " +
	"name or phone, no description (residents' free text can name people), no phone numbers; those stay in " +
	"GET /v1/incidents/{number} for the roles that need them. The id is the incident number. datetime selects on " +
	"received_at (an instant matches exactly; an interval includes both ends). The status, category, grid_code and " +
	"village_code parameters, datetime and bbox are answered by the database; filter (CQL2) and sortby in memory, " +
	"over at most 50000 incidents per request."

// ogcIncidents is the incidents collection.
var ogcIncidents = &ogcCollection{
	id: "incidents", title: "Incidents (事件)", need: geo.AccessDispatcher, persons: true, geometry: "Point",
	instant: "received_at", description: ogcIncidentsDescription, categories: "category",
	fields: []ogcField{
		{"number", ogcString, "incident number"},
		{"status", ogcString, "where it is in the closed loop"},
		{"category", ogcString, "what it is about"},
		{"severity", ogcString, "sets its time limit"},
		{"source", ogcString, "how it arrived"},
		{"grid_code", ogcString, "15-digit code of the grid it was routed to (null outside coverage)"},
		{"village_code", ogcString, "12-digit code of the grid's village"},
		{"match", ogcString, "how its location was routed: inside, boundary, nearest, code or outside"},
		{"generation", ogcInteger, "the grid generation it was routed with"},
		{"level", ogcInteger, "how far up it has gone: 0 grid, 1 village, 2 town"},
		{"assignee_role", ogcString, "the assignee's role: leader, deputy, liaison_leader or duty_desk"},
		{"assignee_name", ogcString, "the assignee's name (staff, not the reporter)"},
		{"reported_at", ogcTimestamp, "when the resident reported it"},
		{"received_at", ogcTimestamp, "when it was received (datetime selects on it)"},
		{"due_at", ogcTimestamp, "when it is due"},
		{"resolved_at", ogcTimestamp, "when it was resolved (null until then)"},
		{"closed_at", ogcTimestamp, "when it was closed (null until then)"},
		{"overdue", ogcBoolean, "open past its due time now"},
	},
	enums: map[string][]string{
		"status":   stringsOf(geo.Statuses),
		"severity": stringsOf(geo.Severities),
		"source":   stringsOf(geo.Sources),
		"match":    {"inside", "boundary", "nearest", "code", "outside"},
	},
}

// stringsOf converts a list of string-typed values.
func stringsOf[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// ogcIncidentProperties are the properties of an incident feature: no
// personal data (see ogcIncidentsDescription).
type ogcIncidentProperties struct {
	Number       string     `json:"number"`
	Status       string     `json:"status"`
	Category     string     `json:"category"`
	Severity     string     `json:"severity"`
	Source       string     `json:"source"`
	GridCode     *string    `json:"grid_code"`
	VillageCode  *string    `json:"village_code"`
	Match        string     `json:"match"`
	Generation   int64      `json:"generation"`
	Level        int        `json:"level"`
	AssigneeRole *string    `json:"assignee_role"`
	AssigneeName *string    `json:"assignee_name"`
	ReportedAt   time.Time  `json:"reported_at"`
	ReceivedAt   time.Time  `json:"received_at"`
	DueAt        time.Time  `json:"due_at"`
	ResolvedAt   *time.Time `json:"resolved_at"`
	ClosedAt     *time.Time `json:"closed_at"`
	Overdue      bool       `json:"overdue"`
}

// ogcIncidentItem makes the feature of an incident at now.
func ogcIncidentItem(inc *geo.Incident, now time.Time) ogcItem {
	strOrNil := func(s string) (*string, any) {
		if s == "" {
			return nil, nil
		}
		return &s, s
	}
	timeOrNil := func(t time.Time) (*time.Time, any) {
		if t.IsZero() {
			return nil, nil
		}
		t = t.UTC()
		return &t, t
	}
	p := ogcIncidentProperties{Number: inc.Number, Status: string(inc.Status), Category: string(inc.Category),
		Severity: string(inc.Severity), Source: string(inc.Source), Match: inc.Match, Generation: inc.Generation,
		Level: int(inc.Assignee.Level), ReportedAt: inc.ReportedAt.UTC(), ReceivedAt: inc.ReceivedAt.UTC(),
		DueAt: inc.DueAt.UTC(), Overdue: inc.Overdue(now)}
	var grid, village, role, name, resolved, closed any
	p.GridCode, grid = strOrNil(inc.GridCode)
	p.VillageCode, village = strOrNil(inc.VillageCode)
	p.AssigneeRole, role = strOrNil(string(inc.Assignee.Role))
	p.AssigneeName, name = strOrNil(inc.Assignee.Name)
	p.ResolvedAt, resolved = timeOrNil(inc.ResolvedAt)
	p.ClosedAt, closed = timeOrNil(inc.ClosedAt)
	it := ogcItem{id: inc.Number, validFrom: p.ReceivedAt, props: ogcProps(inc.Number, p),
		values: []any{p.Number, p.Status, p.Category, p.Severity, p.Source, grid, village, p.Match, int(p.Generation),
			p.Level, role, name, p.ReportedAt, p.ReceivedAt, p.DueAt, resolved, closed, p.Overdue}}
	if inc.Location != nil {
		it.geom = orb.Point(*inc.Location)
		it.bound = it.geom.Bound()
	}
	it.feature = ogcFeature(it.id, it.geom, it.props, crsCRS84)
	return it
}

// ogcIncidentScope returns what a person signed in holds (nil for other
// callers, who reach here only with a role that sees every incident).
func (s *Server) ogcIncidentScope(c *gin.Context) (*geo.PersonScope, error) {
	if _, ok := sessionClaims(c); !ok {
		return nil, nil
	}
	if s.cfg.Logins == nil {
		return nil, problemf(TypeForbidden, http.StatusForbidden, "sessions are not available on this server")
	}
	if err := s.loadScope(c); err != nil {
		return nil, err
	}
	return personScope(c), nil
}

// ogcIncidentLayer reads the incidents an items request may select: the
// property parameters, datetime and bbox go to the database; a person
// signed in keeps only the incidents of their scope.
func (s *Server) ogcIncidentLayer(c *gin.Context, q ogcQuery) (*ogcLayer, error) {
	scope, err := s.ogcIncidentScope(c)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	f := geo.IncidentFilter{Now: now, Limit: 1000, TownCode: string(callerTown(c))} // a town's token: its town only
	for _, flt := range q.filters {
		switch q.col.fields[flt.field].name {
		case "status":
			f.Statuses = []geo.Status{geo.Status(flt.s)}
		case "category":
			f.Category = geo.Category(flt.s)
		case "grid_code":
			f.GridCode = flt.s
		case "village_code":
			f.VillageCode = flt.s
		}
	}
	if tr := q.datetime; tr != nil {
		f.From = tr.start
		if !tr.end.IsZero() {
			// The store's range ends before To; PostgreSQL keeps
			// microseconds, so one more includes the end itself.
			f.To = tr.end.Add(time.Microsecond)
		}
	}
	if b := q.bbox; b != nil {
		f.BBox = &[4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
	}
	l := &ogcLayer{at: map[string]int{}}
	for read := 0; ; {
		list, next, err := s.cfg.Incidents.ListIncidents(c.Request.Context(), f)
		if err != nil {
			return nil, err
		}
		read += len(list)
		if read > ogcMaxIncidents {
			return nil, badParam("limit", "more than %d incidents match before filter and paging: "+
				"narrow the request with datetime, bbox, status, category or grid_code", ogcMaxIncidents)
		}
		for _, inc := range list {
			if scope == nil || scope.Sees(inc) {
				l.add(ogcIncidentItem(inc, now))
			}
		}
		if next == 0 {
			return l, nil
		}
		f.After = next
	}
}

// ogcIncident reads one incident, if the caller may see it: 404 when it
// does not exist, 403 when a person signed in does not hold it.
func (s *Server) ogcIncident(c *gin.Context, number string) (*ogcItem, error) {
	scope, err := s.ogcIncidentScope(c)
	if err != nil {
		return nil, err
	}
	inc, err := s.cfg.Incidents.Incident(c.Request.Context(), number)
	if err != nil {
		return nil, err
	}
	if err := s.townMay(c, inc); err != nil {
		return nil, err
	}
	if scope != nil {
		if err := scope.MayAct(inc, ""); err != nil {
			return nil, err
		}
	}
	it := ogcIncidentItem(inc, s.cfg.Now())
	return &it, nil
}
