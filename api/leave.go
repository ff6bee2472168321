package api

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/gin-gonic/gin"

	"wangge/geo"
)

// staffJSON is a grid's leader or deputy as the views a dispatcher routes
// from show them (locate, grid detail, coverage): the person and, while
// they are on leave, until when and who covers. Present people encode as
// personJSON does.
type staffJSON struct {
	personJSON
	OnLeave *onLeaveJSON `json:"on_leave,omitempty"`
}

// onLeaveJSON is an absence (geo.Absence): covered_by is whom a new
// matter of the grid goes to meanwhile, null when nobody at all is on
// duty.
type onLeaveJSON struct {
	From      time.Time     `json:"from"`
	Until     time.Time     `json:"until"`
	CoveredBy *assigneeJSON `json:"covered_by"`
}

// staffOut renders c, who holds a role on grid g, with their leave at at
// (zero: leave is not shown); phones only when personal.
func staffOut(snap *geo.Snapshot, g *geo.GridRecord, c *geo.Contact, personal bool, at time.Time) *staffJSON {
	p := contactJSON(c, personal)
	if p == nil {
		return nil
	}
	out := &staffJSON{personJSON: *p}
	if at.IsZero() {
		return out
	}
	if a := snap.Absence(g, c, at); a != nil {
		out.OnLeave = &onLeaveJSON{From: a.From.UTC(), Until: a.Until.UTC()}
		if cb := a.CoveredBy; cb != nil {
			out.OnLeave.CoveredBy = &assigneeJSON{Role: cb.Role, Level: cb.Level, Name: cb.Name, Reason: cb.Reason}
			if personal {
				out.OnLeave.CoveredBy.Phone = cb.Phone
			}
		}
	}
	return out
}

// routingJSONAt renders the members of what GET /v1/locate says of grid g
// (the grid, its leader and deputy, its organizations) with leave as at at. At zero it
// leaves leave out: those bytes are rendered once per snapshot
// (render.go) and serve every grid whose leader and deputy are present.
func routingJSONAt(snap *geo.Snapshot, g *geo.GridRecord, personal bool, at time.Time) []byte {
	b, _ := json.Marshal(struct {
		Grid          gridRefJSON `json:"grid"`
		Leader        *staffJSON  `json:"leader"`
		Deputy        *staffJSON  `json:"deputy"`
		Organizations []orgJSON   `json:"organizations"`
	}{gridRef(snap, g), staffOut(snap, g, g.Leader, personal, at), staffOut(snap, g, g.Deputy, personal, at), orgsJSON(g)})
	return b[1 : len(b)-1] // the members, without the braces
}

// leaveTime is the moment leave is shown as of: at= when the request asks
// about the past, else now.
func (s *Server) leaveTime(c *gin.Context) time.Time {
	if at, ok, err := queryAt(c); err == nil && ok {
		return at
	}
	return s.cfg.Now().UTC()
}

// leaveTag fingerprints who of g's leader and deputy is away at at, until
// when, and who covers, for ETags: an answer changes when leave starts or
// ends, though the snapshot does not.
func leaveTag(snap *geo.Snapshot, g *geo.GridRecord, at time.Time) string {
	if !g.AnyAbsent(at) {
		return "present"
	}
	h := fnv.New64a()
	for _, c := range []*geo.Contact{g.Leader, g.Deputy} {
		if a := snap.Absence(g, c, at); a != nil {
			fmt.Fprintf(h, "%d|", a.Until.UnixNano())
			if a.CoveredBy != nil {
				fmt.Fprintf(h, "%s|%s|%s|", a.CoveredBy.Role, a.CoveredBy.Name, a.CoveredBy.Phone)
			}
		}
		h.Write([]byte{0})
	}
	return fmt.Sprintf("away%x", h.Sum64())
}
