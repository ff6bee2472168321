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

// CoverThen is who took grid g's new matters at at while a leader or
// deputy of st (the grid's seats as the store read them for at) was on
// leave: the fallback chain run at at over st's leader and deputy, with
// their leave then. Beyond the grid the chain reads this snapshot's seats,
// which hold for at only if the village's liaison leader is still st's:
// when the chain reaches the village or the town and the liaison leader
// has changed since, ok is false (who covered then is not known here; the
// incidents' history says whom each case went to). Nil and true when
// nobody was on leave or nobody at all was on duty.
func (s *Snapshot) CoverThen(g *GridRecord, st GridStaff, at time.Time) (cover *Assignee, ok bool) {
	seat := func(a *Assignment) *Contact {
		if a == nil {
			return nil
		}
		c := &Contact{Name: a.Person.Name, Phone: a.Person.Phone}
		if l, away := st.OnLeave[a.Person.ID]; away {
			c.Leave = []Period{l.Period}
		}
		return c
	}
	then := *g
	then.Leader, then.Deputy = seat(st.Leader), seat(st.Deputy)
	if !then.AnyAbsent(at) {
		return nil, true
	}
	a, found := s.Assign("", &then, LevelGrid, at)
	if !found {
		return nil, true
	}
	if a.Level > LevelGrid {
		var now *Contact
		if v, ok := s.Village(g.VillageCode); ok {
			now = v.LiaisonLeader
		}
		was := seat(st.LiaisonLeader)
		if (now == nil) != (was == nil) || (now != nil && (now.Name != was.Name || now.Phone != was.Phone)) {
			return nil, false
		}
	}
	return &a, true
}
