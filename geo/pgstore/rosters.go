package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// errRosterRollback ends the transaction of a dry run, or of a roster with
// errors, without writing anything.
var errRosterRollback = errors.New("roster: roll back")

// rosterRefs is what rows are resolved against: the current grids and
// villages, the organizations that work, and the people who have not left.
type rosterRefs struct {
	grids        map[string]rosterGrid   // by code
	gridsByName  map[string][]rosterGrid // by name
	villages     map[string]string       // code → name
	villageCodes map[string][]string     // name → codes
	orgs         map[[2]string]geo.Organization
	people       map[[2]string]int64   // (name, phone) → id
	peopleByName map[string][]rosterID // name → people
}

type rosterGrid struct{ code, name, village string }

type rosterID struct {
	id    int64
	phone string
}

// rosterPlan is a row resolved: the appointment it asks for.
type rosterPlan struct {
	res *geo.RosterRowResult
	a   geo.Appointment
}

// group is the (role, scope) a row fills.
func (p *rosterPlan) group() string { return string(p.a.Role) + "@" + p.a.Target() }

// ImportRoster resolves rows against the database, works out what they
// change as of now by doing it in one transaction, and commits only when
// apply is true and no row has an error.
func (db *DB) ImportRoster(ctx context.Context, rows []geo.RosterRow, apply bool, actor string, now time.Time) (*geo.RosterReport, error) {
	now = usec(now)
	var report *geo.RosterReport
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, q("roster_lock")); err != nil {
			return err
		}
		refs, err := loadRosterRefs(ctx, tx)
		if err != nil {
			return err
		}
		report = &geo.RosterReport{Rows: make([]geo.RosterRowResult, len(rows))}
		plans := make([]*rosterPlan, len(rows))
		for i, row := range rows {
			plans[i] = refs.resolve(row, &report.Rows[i], now)
		}
		checkRosterFile(plans)
		if err := runRoster(ctx, tx, plans, report, now); err != nil {
			return err
		}
		if !apply || report.Errors() > 0 {
			return errRosterRollback
		}
		if err := auditRoster(ctx, tx, report, actor, now); err != nil {
			return err
		}
		// The open incidents of the holders it ended go to their successors.
		if _, err := handOverEnded(ctx, db, tx, rosterEnded(report), actor, now, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, q("people_notify")); err != nil {
			return err
		}
		report.Applied = true
		return nil
	})
	if errors.Is(err, errRosterRollback) {
		err = nil
	}
	if err != nil {
		return nil, unavailable(peopleConflict(err))
	}
	if !report.Applied {
		// The ids of people created in a rolled-back transaction mean
		// nothing.
		for i := range report.Rows {
			if slices.Contains(report.Rows[i].Changes, geo.ChangeNewPerson) {
				report.Rows[i].PersonID = 0
			}
		}
	}
	return report, nil
}

func loadRosterRefs(ctx context.Context, tx pgx.Tx) (*rosterRefs, error) {
	r := &rosterRefs{grids: map[string]rosterGrid{}, gridsByName: map[string][]rosterGrid{}, villages: map[string]string{},
		villageCodes: map[string][]string{}, orgs: map[[2]string]geo.Organization{}, people: map[[2]string]int64{},
		peopleByName: map[string][]rosterID{}}
	var g rosterGrid
	rows, _ := tx.Query(ctx, q("roster_grids"))
	if _, err := pgx.ForEachRow(rows, []any{&g.code, &g.name, &g.village}, func() error {
		r.grids[g.code] = g
		r.gridsByName[g.name] = append(r.gridsByName[g.name], g)
		return nil
	}); err != nil {
		return nil, err
	}
	var code, name string
	rows, _ = tx.Query(ctx, q("roster_villages"))
	if _, err := pgx.ForEachRow(rows, []any{&code, &name}, func() error {
		r.villages[code] = name
		r.villageCodes[name] = append(r.villageCodes[name], code)
		return nil
	}); err != nil {
		return nil, err
	}
	var o geo.Organization
	rows, _ = tx.Query(ctx, q("roster_organizations"))
	if _, err := pgx.ForEachRow(rows, []any{&o.ID, &o.Kind, &o.Name, &o.VillageCode}, func() error {
		r.orgs[[2]string{o.VillageCode, o.Name}] = geo.Organization{ID: o.ID, Kind: o.Kind, Name: o.Name, VillageCode: o.VillageCode}
		return nil
	}); err != nil {
		return nil, err
	}
	var id int64
	var phone string
	rows, _ = tx.Query(ctx, q("people_active"))
	_, err := pgx.ForEachRow(rows, []any{&id, &name, &phone}, func() error {
		r.people[[2]string{name, phone}] = id
		r.peopleByName[name] = append(r.peopleByName[name], rosterID{id, phone})
		return nil
	})
	return r, err
}

// resolve checks one row's cells and resolves its grid, village, role and
// organization; errors go to res, and a row with errors plans nothing.
func (r *rosterRefs) resolve(row geo.RosterRow, res *geo.RosterRowResult, now time.Time) *rosterPlan {
	res.Line = row.Line
	fail := func(f geo.RosterField, format string, args ...any) {
		res.Errors = append(res.Errors, geo.RosterError{Field: f, Reason: fmt.Sprintf(format, args...)})
	}
	v := func(f geo.RosterField) string { return strings.TrimSpace(row.Values[f]) }
	p := &rosterPlan{res: res, a: geo.Appointment{From: now}}

	np := geo.NewPerson{Name: v(geo.RosterName), Phone: v(geo.RosterPhone)}
	res.Name = geo.CleanName(np.Name)
	if err := np.Check(); err != nil {
		field := geo.RosterPhone
		if strings.HasPrefix(geo.ErrorMessage(err), "name") {
			field = geo.RosterName
		}
		fail(field, "%s", geo.ErrorMessage(err))
	}
	p.a.Name, p.a.Phone = np.Name, np.Phone

	rawRole := v(geo.RosterRole)
	role, ok := geo.RosterRoles[strings.ToLower(rawRole)]
	switch {
	case rawRole == "":
		fail(geo.RosterRole, "required: 网格长, 副网格长, 网格员 or 联村工作组组长")
	case !ok:
		fail(geo.RosterRole, "%q: want 网格长, 副网格长, 网格员 or 联村工作组组长", rawRole)
	}
	p.a.Role, res.Role = role, role

	village := ""
	if raw := v(geo.RosterVillage); raw != "" {
		if _, ok := r.villages[raw]; ok {
			village = raw
		} else if codes := r.villageCodes[raw]; len(codes) == 1 {
			village = codes[0]
		} else if len(codes) > 1 {
			fail(geo.RosterVillage, "%q names %d villages (%s): give the 12-digit village code", raw, len(codes), strings.Join(codes, ", "))
		} else {
			fail(geo.RosterVillage, "unknown village %q: want a village of the town, by name or 12-digit code", raw)
		}
	}
	var grid *rosterGrid
	code, gname := v(geo.RosterGridCode), v(geo.RosterGridName)
	switch {
	case code != "":
		if g, ok := r.grids[code]; ok {
			grid = &g
			if gname != "" && gname != g.name {
				res.Notes = append(res.Notes, fmt.Sprintf("网格名称 %q differs from the name of grid %s, %q: the code wins", gname, code, g.name))
			}
		} else if geo.ValidateGridCode(code, "") != nil {
			fail(geo.RosterGridCode, "%q: want a 15-digit grid code", code)
		} else {
			fail(geo.RosterGridCode, "unknown grid %s: it is not a current grid of the town", code)
		}
	case gname != "":
		var found []rosterGrid
		for _, g := range r.gridsByName[gname] {
			if village == "" || g.village == village {
				found = append(found, g)
			}
		}
		switch {
		case len(found) == 1:
			grid = &found[0]
		case len(found) == 0 && village != "":
			fail(geo.RosterGridName, "unknown grid %q in village %s", gname, r.villages[village])
		case len(found) == 0:
			fail(geo.RosterGridName, "unknown grid %q", gname)
		default:
			var in []string
			for _, g := range found {
				in = append(in, r.villages[g.village])
			}
			fail(geo.RosterGridName, "grid name %q is used in %d villages (%s): add the 村(社区) column or use 网格编码", gname, len(found), strings.Join(in, ", "))
		}
	}
	if grid != nil && village != "" && grid.village != village {
		fail(geo.RosterVillage, "grid %s is in %s, not in %s", grid.code, r.villages[grid.village], r.villages[village])
	}
	switch {
	case role == geo.RoleLiaisonLeader:
		if village == "" && grid != nil {
			village = grid.village
		}
		if village == "" && len(res.Errors) == 0 {
			fail(geo.RosterVillage, "required for 联村工作组组长: the village (or a grid of it)")
		}
		p.a.VillageCode, res.VillageCode = village, village
	case role != "":
		if grid == nil && code == "" && gname == "" {
			fail(geo.RosterGridCode, "required: 网格编码 or 网格名称")
		}
		if grid != nil {
			p.a.GridCode, res.GridCode = grid.code, grid.code
			village = grid.village
		}
	}

	if org := v(geo.RosterOrganization); org != "" {
		if o, ok := r.orgs[[2]string{village, org}]; ok {
			res.Organization = &o
		} else if o, ok := r.orgs[[2]string{"", org}]; ok {
			res.Organization = &o
		} else {
			res.Notes = append(res.Notes, fmt.Sprintf("organization %q is not an organization of %s that works: not resolved", org, r.villageLabel(village)))
		}
	}
	if len(res.Errors) > 0 {
		return p
	}
	if id, ok := r.people[[2]string{np.Name, np.Phone}]; ok {
		res.PersonID = id
	} else {
		for _, other := range r.peopleByName[np.Name] {
			res.Notes = append(res.Notes, fmt.Sprintf("%s (person %d) has another phone: this row registers a new person; if it is the same person, change their phone first (PATCH /v1/people/%d)",
				np.Name, other.id, other.id))
		}
	}
	return p
}

func (r *rosterRefs) villageLabel(code string) string {
	if name, ok := r.villages[code]; ok {
		return name
	}
	return "the town"
}

// checkRosterFile finds what is wrong across rows: the same row twice, two
// holders of a single-holder role, one person as both leader and deputy
// of a grid. The later row gets the error and names the earlier one.
func checkRosterFile(plans []*rosterPlan) {
	seen := map[string]*rosterPlan{}   // person + group
	holder := map[string]*rosterPlan{} // single-holder group
	gridRole := map[string]*rosterPlan{}
	for _, p := range plans {
		if len(p.res.Errors) > 0 {
			continue
		}
		who := p.a.Name + "/" + p.a.Phone
		g := p.group()
		fail := func(format string, args ...any) {
			p.res.Errors = append(p.res.Errors, geo.RosterError{Reason: fmt.Sprintf(format, args...)})
		}
		if first, ok := seen[who+"|"+g]; ok {
			fail("duplicate of row %d (%s, %s)", first.res.Line, p.a.Name, p.a.Role)
			continue
		}
		seen[who+"|"+g] = p
		if p.a.Role.SingleHolder() {
			if first, ok := holder[g]; ok {
				fail("row %d already names %s as %s of %s: there is one at a time", first.res.Line, first.a.Name, p.a.Role, p.a.Target())
				continue
			}
			holder[g] = p
		}
		if other := otherGridRole(p.a.Role); other != "" {
			key := who + "|" + p.a.GridCode
			if first, ok := gridRole[key]; ok && first.a.Role == other {
				fail("row %d makes %s the %s of grid %s: a grid's leader is not also its deputy", first.res.Line, p.a.Name, other, p.a.GridCode)
				continue
			}
			gridRole[key] = p
		}
	}
}

// runRoster makes the appointments of the rows without errors, in file
// order, then ends the members the roster no longer lists on the grids
// whose members it names. A refusal found before writing becomes the row's
// error; a refusal by the database aborts the whole import.
func runRoster(ctx context.Context, tx pgx.Tx, plans []*rosterPlan, report *geo.RosterReport, now time.Time) error {
	listed := map[string]map[int64]bool{} // member group → person ids
	broken := map[string]bool{}           // groups with a row in error
	for _, p := range plans {
		if len(p.res.Errors) > 0 {
			broken[p.group()] = true
			continue
		}
		res, err := appoint(ctx, tx, p.a, now)
		var refused *geo.Error
		if errors.As(err, &refused) {
			p.res.Errors = append(p.res.Errors, geo.RosterError{Field: geo.RosterRole, Reason: refused.Message})
			broken[p.group()] = true
			continue
		} else if err != nil {
			return err
		}
		p.res.PersonID = res.Assignment.Person.ID
		switch {
		case res.Unchanged:
			p.res.Changes = append(p.res.Changes, geo.ChangeUnchanged)
		default:
			if res.PersonCreated {
				p.res.Changes = append(p.res.Changes, geo.ChangeNewPerson)
			}
			p.res.Changes = append(p.res.Changes, geo.ChangeNewAppointment)
		}
		if len(res.Ended) > 0 {
			p.res.Changes = append(p.res.Changes, geo.ChangeEnded)
			p.res.Ended = res.Ended
		}
		if p.a.Role == geo.RoleMember {
			if listed[p.group()] == nil {
				listed[p.group()] = map[int64]bool{}
			}
			listed[p.group()][res.Assignment.Person.ID] = true
		}
	}
	var groups []string
	for g := range listed {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	for _, g := range groups {
		if broken[g] {
			continue
		}
		grid := strings.TrimPrefix(g, string(geo.RoleMember)+"@grid:")
		members, err := collectAssignments(tx.Query(ctx, q("holders_lock"), geo.RoleMember, grid, nil, now, int64(0), nil))
		if err != nil {
			return err
		}
		for _, m := range members {
			if listed[g][m.Person.ID] {
				continue
			}
			if !m.From.Before(now) {
				return geo.Errorf(geo.ECONFLICT, "%s became a member of grid %s at this very instant: retry the roster", m.Person.Name, grid)
			}
			if _, err := tx.Exec(ctx, q("assignment_end"), m.ID, now); err != nil {
				return err
			}
			m.To = now
			report.Ended = append(report.Ended, m)
		}
	}
	return nil
}

// auditRoster records every change of an applied roster, and a summary.
func auditRoster(ctx context.Context, tx pgx.Tx, report *geo.RosterReport, actor string, now time.Time) error {
	counts := map[string]int{}
	for _, row := range report.Rows {
		for _, c := range row.Changes {
			counts[c]++
		}
		if !slices.Contains(row.Changes, geo.ChangeNewAppointment) {
			continue
		}
		target := (&geo.Appointment{GridCode: row.GridCode, VillageCode: row.VillageCode}).Target()
		ended := make([]map[string]any, len(row.Ended))
		for i, e := range row.Ended {
			ended[i] = map[string]any{"person": e.Person.ID, "name": e.Person.Name, "role": e.Role}
		}
		if err := audit(ctx, tx, now, actor, "roster.appoint", target, map[string]any{"ended": ended},
			map[string]any{"row": row.Line, "role": row.Role, "person": row.PersonID, "name": row.Name,
				"person_created": slices.Contains(row.Changes, geo.ChangeNewPerson)}, ""); err != nil {
			return err
		}
	}
	for _, e := range report.Ended {
		if err := audit(ctx, tx, now, actor, "roster.end", "grid:"+e.GridCode,
			map[string]any{"assignment": e.ID, "person": e.Person.ID, "name": e.Person.Name, "role": e.Role}, nil, ""); err != nil {
			return err
		}
	}
	counts["unlisted_ended"] = len(report.Ended)
	return audit(ctx, tx, now, actor, "roster.apply", "roster", nil, map[string]any{"rows": len(report.Rows), "changes": counts}, "")
}
