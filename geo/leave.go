package geo

import "time"

// Absence is what a dispatcher must know of a person away on leave: since
// and until when, and who takes the grid's new matters meanwhile.
type Absence struct {
	// From and Until bound the leave in force; leave periods that follow
	// one another without a gap are one absence, so Until is when the
	// person is back.
	From, Until time.Time
	// CoveredBy is whom the fallback chain routes a new matter of the grid
	// to at that moment (Snapshot.Assign at the grid level): the deputy, the
	// village liaison leader or the town duty desk. Nil when nobody at all
	// is on duty.
	CoveredBy *Assignee
}

// LeaveAt returns the leave of c in force at t, extended over the periods
// that follow it without a gap; ok is false when c is present at t (a nil
// contact is never on leave).
func (c *Contact) LeaveAt(t time.Time) (p Period, ok bool) {
	if c == nil {
		return Period{}, false
	}
	for _, l := range c.Leave {
		if l.Contains(t) {
			p, ok = l, true
			break
		}
	}
	for extended := ok; extended; {
		extended = false
		for _, l := range c.Leave {
			if l.From.Equal(p.To) {
				p.To, extended = l.To, true
			}
		}
	}
	return p, ok
}

// Absence returns, for c holding a role on grid g (its leader or deputy),
// their leave at t and who covers; nil when c is present. Every view that
// shows a grid's people (locate, grid detail, coverage, the CLI) asks this
// one question, so they cannot disagree with each other or with routing.
func (s *Snapshot) Absence(g *GridRecord, c *Contact, t time.Time) *Absence {
	p, ok := c.LeaveAt(t)
	if !ok {
		return nil
	}
	a := &Absence{From: p.From, Until: p.To}
	if cover, ok := s.Assign("", g, LevelGrid, t); ok {
		a.CoveredBy = &cover
	}
	return a
}

// AnyAbsent reports whether the leader or the deputy of g is on leave at
// t: views answered from bytes rendered once per snapshot render g anew
// when it is.
func (g *GridRecord) AnyAbsent(t time.Time) bool {
	return g.Leader.OnLeave(t) || g.Deputy.OnLeave(t)
}
