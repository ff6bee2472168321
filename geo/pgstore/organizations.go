package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// This file keeps organizations (geo.OrganizationStore): every write locks
// the organization's row first, so that writes to one organization are
// serialised (ending it cannot race an attachment), checks, writes, audits
// and, when grids' organizations change, announces the change with NOTIFY,
// all in one transaction.

var _ geo.OrganizationStore = (*DB)(nil)

// CreateOrganization stores o and returns it as stored. EINVALID when the
// village is not in the town; ECONFLICT when the village already has an
// organization of that kind and name.
func (db *DB) CreateOrganization(ctx context.Context, o *geo.Organization, actor string, now time.Time) (*geo.Organization, error) {
	var out *geo.Organization
	now = pgTime(now)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if err := orgCheckVillage(ctx, tx, o.VillageCode); err != nil {
			return err
		}
		name, phone := orgContactCols(o.Contact)
		var id int64
		err := tx.QueryRow(ctx, q("org_insert"), string(o.Kind), o.Name, nullIfEmpty(o.VillageCode), name, phone, now).Scan(&id)
		if err != nil {
			return orgConstraintError(err, o)
		}
		if out, err = orgGet(ctx, tx, id, now, false); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "organization.create", orgTarget(id), nil, orgAudit(out), "")
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// Organization returns the organization with the grids it serves at time
// at. ENOTFOUND if unknown.
func (db *DB) Organization(ctx context.Context, id int64, at time.Time) (*geo.Organization, error) {
	var out *geo.Organization
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		out, err = orgGet(ctx, tx, id, at, false)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// Organizations lists the organizations f selects, by village, kind (in
// geo.OrgKinds order) and name, each with the grids it serves at f.At.
func (db *DB) Organizations(ctx context.Context, f geo.OrganizationFilter) ([]*geo.Organization, error) {
	var out []*geo.Organization
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q("org_list"), nullIfEmpty(string(f.Kind)), nullIfEmpty(f.VillageCode),
			nullIfEmpty(f.GridCode), nullIfEmpty(f.Status), f.At)
		if err != nil {
			return err
		}
		if out, err = appendRows(out, rows, scanOrg); err != nil {
			return err
		}
		return orgLoadGrids(ctx, tx, out, f.At)
	})
	if err != nil {
		return nil, unavailable(err)
	}
	slices.SortStableFunc(out, func(a, b *geo.Organization) int {
		if c := strings.Compare(a.VillageCode, b.VillageCode); c != 0 {
			return c
		}
		if c := a.Kind.Rank() - b.Kind.Rank(); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// UpdateOrganization applies u to the organization. Ending it ends every
// membership and attachment in force at that instant in the same
// transaction; reopening clears the end and restores neither.
// ENOTFOUND if unknown; EINVALID for an unknown village; ECONFLICT when the
// new kind and name are taken in the village, when ending an ended
// organization or reopening a working one, or when a membership or
// attachment starts at or after the end.
func (db *DB) UpdateOrganization(ctx context.Context, id int64, u geo.OrganizationUpdate, actor string, now time.Time) (*geo.Organization, error) {
	var out *geo.Organization
	now, u.End = pgTime(now), pgTime(u.End)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		before, err := orgGet(ctx, tx, id, now, true)
		if err != nil {
			return err
		}
		o := *before
		if u.Kind != nil {
			o.Kind = *u.Kind
		}
		if u.Name != nil {
			o.Name = *u.Name
		}
		if u.VillageCode != nil && *u.VillageCode != o.VillageCode {
			if err := orgCheckVillage(ctx, tx, *u.VillageCode); err != nil {
				return err
			}
			o.VillageCode = *u.VillageCode
		}
		if u.SetContact {
			o.Contact = u.Contact
		}
		action := "organization.update"
		switch {
		case u.Reopen && o.EndedAt.IsZero():
			return geo.Errorf(geo.ECONFLICT, "organization %d is working: there is nothing to reopen", id)
		case u.Reopen:
			o.EndedAt, action = time.Time{}, "organization.reopen"
		case !u.End.IsZero() && !o.EndedAt.IsZero():
			return geo.Errorf(geo.ECONFLICT, "organization %d already ended at %s", id, o.EndedAt.Format(time.RFC3339))
		case !u.End.IsZero():
			if err := orgEnd(ctx, tx, id, u.End); err != nil {
				return err
			}
			o.EndedAt, action = u.End, "organization.end"
		}
		name, phone := orgContactCols(o.Contact)
		if _, err := tx.Exec(ctx, q("org_update"), id, string(o.Kind), o.Name, nullIfEmpty(o.VillageCode), name, phone,
			timeOrNil(o.EndedAt)); err != nil {
			return orgConstraintError(err, &o)
		}
		if out, err = orgGet(ctx, tx, id, now, false); err != nil {
			return err
		}
		if err := audit(ctx, tx, now, actor, action, orgTarget(id), orgAudit(before), orgAudit(out), ""); err != nil {
			return err
		}
		if u.ChangesSnapshot() {
			return orgNotify(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// orgEnd ends the memberships and attachments of organization id at end,
// refusing when one starts at or after end.
func orgEnd(ctx context.Context, tx pgx.Tx, id int64, end time.Time) error {
	var what, ref string
	var starts time.Time
	err := tx.QueryRow(ctx, q("org_starts_from"), id, end).Scan(&what, &ref, &starts)
	if err == nil {
		return geo.Errorf(geo.ECONFLICT, "organization %d cannot end at %s: its %s %s starts at %s; end it earlier or detach that first",
			id, end.UTC().Format(time.RFC3339), what, ref, starts.UTC().Format(time.RFC3339))
	} else if err != pgx.ErrNoRows {
		return err
	}
	if _, err := tx.Exec(ctx, q("org_member_grids_end_all"), id, end); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, q("org_members_end"), id, end); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, q("org_attachments_end"), id, end)
	return err
}

// AddMember adds a membership to organization orgID. A member named by
// Name and Phone is the person of that name and phone who has not left,
// created if there is none. ENOTFOUND if the organization is unknown;
// EINVALID for an unknown person; ECONFLICT when the organization or the
// person has ended, the person is already a member in an overlapping
// period, or a chair is added while another chair holds office.
func (db *DB) AddMember(ctx context.Context, orgID int64, m geo.NewMember, actor string, now time.Time) (*geo.OrganizationMember, error) {
	var out *geo.OrganizationMember
	now, m.From = pgTime(now), pgTime(m.From)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		org, err := orgGet(ctx, tx, orgID, now, true)
		if err != nil {
			return err
		}
		if !org.EndedAt.IsZero() {
			return geo.Errorf(geo.ECONFLICT, "organization %d ended at %s: it takes no members", orgID, org.EndedAt.Format(time.RFC3339))
		}
		p, err := orgPerson(ctx, tx, m, actor, now)
		if err != nil {
			return err
		}
		var id int64
		err = tx.QueryRow(ctx, q("org_member_insert"), orgID, p.ID, string(m.Role), m.From).Scan(&id)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23P01" {
			switch pgErr.ConstraintName {
			case "member_once":
				return geo.Errorf(geo.ECONFLICT, "%s (person %d) is already a member of organization %d in a period overlapping %s",
					p.Name, p.ID, orgID, m.From.UTC().Format(time.RFC3339))
			case "one_chair_per_organization":
				return geo.Errorf(geo.ECONFLICT, "organization %d already has a chair at %s: end that membership first", orgID, m.From.UTC().Format(time.RFC3339))
			}
		}
		if err != nil {
			return err
		}
		if out, err = orgMember(ctx, tx, orgID, id, false); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "organization.member.add", orgTarget(orgID), nil,
			map[string]any{"membership": id, "person": p.ID, "name": p.Name, "role": m.Role, "from": m.From}, "")
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// orgPerson finds the person a new membership names, creating one named by
// name and phone if nobody of that name and phone is still in the town.
func orgPerson(ctx context.Context, tx pgx.Tx, m geo.NewMember, actor string, now time.Time) (geo.Person, error) {
	var p geo.Person
	var ended *time.Time
	if m.PersonID != 0 {
		err := tx.QueryRow(ctx, q("org_person_get"), m.PersonID).Scan(&p.ID, &p.Name, &p.Phone, &ended)
		if err == pgx.ErrNoRows {
			return p, &geo.Error{Code: geo.EINVALID, Message: fmt.Sprintf("person_id: no person %d", m.PersonID),
				Problems: []geo.Problem{{Where: "person_id", Reason: fmt.Sprintf("no person %d", m.PersonID)}}}
		} else if err != nil {
			return p, err
		}
		if ended != nil && !ended.After(m.From) {
			return p, geo.Errorf(geo.ECONFLICT, "%s (person %d) left at %s", p.Name, p.ID, ended.UTC().Format(time.RFC3339))
		}
		return p, nil
	}
	if _, err := tx.Exec(ctx, q("org_person_lock"), m.Name, m.Phone); err != nil {
		return p, err
	}
	err := tx.QueryRow(ctx, q("org_person_find"), m.Name, m.Phone).Scan(&p.ID, &p.Name, &p.Phone, &ended)
	if err == nil {
		return p, nil
	} else if err != pgx.ErrNoRows {
		return p, err
	}
	p = geo.Person{Name: m.Name, Phone: m.Phone}
	err = tx.QueryRow(ctx, q("org_person_insert"), m.Name, m.Phone, now).Scan(&p.ID)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "people_active_identity" {
		return p, geo.Errorf(geo.ECONFLICT, "%s (%s) was registered by a concurrent request: retry", m.Name, m.Phone)
	} else if err != nil {
		return p, err
	}
	return p, audit(ctx, tx, now, actor, "person.create", "person:"+strconv.FormatInt(p.ID, 10), nil,
		map[string]any{"name": p.Name, "phone": p.Phone}, "")
}

// EndMember ends membership memberID of organization orgID at to.
// ENOTFOUND if there is no such membership; EINVALID when to is not after
// its start; ECONFLICT when it has already ended.
func (db *DB) EndMember(ctx context.Context, orgID, memberID int64, to time.Time, actor string, now time.Time) (*geo.OrganizationMember, error) {
	var out *geo.OrganizationMember
	now, to = pgTime(now), pgTime(to)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := orgGet(ctx, tx, orgID, now, true); err != nil {
			return err
		}
		m, err := orgMember(ctx, tx, orgID, memberID, true)
		if err != nil {
			return err
		}
		if !m.To.IsZero() {
			return geo.Errorf(geo.ECONFLICT, "membership %d already ended at %s", memberID, m.To.Format(time.RFC3339))
		}
		if !to.After(m.From) {
			return orgInvalid("to", "got %s, want a time after the membership's start %s", to.UTC().Format(time.RFC3339), m.From.Format(time.RFC3339))
		}
		if err := memberGridsEnd(ctx, tx, memberID, to); err != nil { // organization_member_grids.go
			return err
		}
		if _, err := tx.Exec(ctx, q("org_member_end"), memberID, to); err != nil {
			return err
		}
		if out, err = orgMember(ctx, tx, orgID, memberID, false); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "organization.member.end", orgTarget(orgID),
			map[string]any{"membership": memberID, "person": m.Person.ID, "to": nil}, map[string]any{"membership": memberID, "person": m.Person.ID, "to": to}, "")
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// Members lists the memberships of organization orgID in force at time
// at, chairs first, then by name. ENOTFOUND if the organization is unknown.
func (db *DB) Members(ctx context.Context, orgID int64, at time.Time) ([]geo.OrganizationMember, error) {
	var out []geo.OrganizationMember
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := orgGet(ctx, tx, orgID, at, false); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, q("org_members_at"), orgID, at)
		if err != nil {
			return err
		}
		out, err = appendRows(out, rows, byValue(scanMember))
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// AttachGrids attaches organization orgID to every grid of codes from time
// from, all or none. ENOTFOUND if the organization is unknown; EINVALID when
// a grid is not current; ECONFLICT when the organization has ended or
// already serves one of the grids in an overlapping period.
func (db *DB) AttachGrids(ctx context.Context, orgID int64, codes []string, from time.Time, actor string, now time.Time) ([]geo.OrganizationGrid, error) {
	var out []geo.OrganizationGrid
	now, from = pgTime(now), pgTime(from)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		org, err := orgGet(ctx, tx, orgID, now, true)
		if err != nil {
			return err
		}
		if !org.EndedAt.IsZero() {
			return geo.Errorf(geo.ECONFLICT, "organization %d ended at %s: it serves no more grids", orgID, org.EndedAt.Format(time.RFC3339))
		}
		for i, code := range codes {
			var current bool
			if err := tx.QueryRow(ctx, q("org_grid_current"), code).Scan(&current); err != nil {
				return err
			}
			if !current {
				return orgInvalid(fmt.Sprintf("grids[%d]", i), "no current grid %s", code)
			}
			var id int64
			err := tx.QueryRow(ctx, q("org_attach"), orgID, code, from).Scan(&id)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23P01" && pgErr.ConstraintName == "attachment_once" {
				return geo.Errorf(geo.ECONFLICT, "organization %d already serves grid %s in a period overlapping %s: nothing was attached",
					orgID, code, from.UTC().Format(time.RFC3339))
			} else if err != nil {
				return err
			}
			out = append(out, geo.OrganizationGrid{ID: id, OrganizationID: orgID, GridCode: code, From: from})
		}
		if err := audit(ctx, tx, now, actor, "organization.attach", orgTarget(orgID), nil,
			map[string]any{"grids": codes, "from": from}, ""); err != nil {
			return err
		}
		return orgNotify(ctx, tx)
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// DetachGrid ends the open attachment of organization orgID to grid code at
// to. ENOTFOUND when there is none; EINVALID when to is not after its start.
func (db *DB) DetachGrid(ctx context.Context, orgID int64, code string, to time.Time, actor string, now time.Time) (*geo.OrganizationGrid, error) {
	var out *geo.OrganizationGrid
	now, to = pgTime(now), pgTime(to)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := orgGet(ctx, tx, orgID, now, true); err != nil {
			return err
		}
		a, err := scanAttachment(tx.QueryRow(ctx, q("org_attachment_open"), orgID, code))
		if err == pgx.ErrNoRows {
			return geo.Errorf(geo.ENOTFOUND, "organization %d has no open attachment to grid %s", orgID, code)
		} else if err != nil {
			return err
		}
		if !to.After(a.From) {
			return orgInvalid("to", "got %s, want a time after the attachment's start %s", to.UTC().Format(time.RFC3339), a.From.Format(time.RFC3339))
		}
		if _, err := tx.Exec(ctx, q("org_detach"), a.ID, to); err != nil {
			return err
		}
		a.To = to
		out = &a
		if err := audit(ctx, tx, now, actor, "organization.detach", orgTarget(orgID),
			map[string]any{"grid": code, "from": a.From, "to": nil}, map[string]any{"grid": code, "from": a.From, "to": a.To}, ""); err != nil {
			return err
		}
		return orgNotify(ctx, tx)
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// Attachments lists every attachment of organization orgID, past ones
// included, by grid code and start. ENOTFOUND if unknown.
func (db *DB) Attachments(ctx context.Context, orgID int64) ([]geo.OrganizationGrid, error) {
	var out []geo.OrganizationGrid
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := orgGet(ctx, tx, orgID, time.Time{}, false); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, q("org_attachments"), orgID)
		if err != nil {
			return err
		}
		out, err = appendRows(out, rows, scanAttachment)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// orgGet reads organization id with the grids it serves at time at
// (none when at is zero), locking its row when forUpdate is set.
// ENOTFOUND if unknown.
func orgGet(ctx context.Context, tx pgx.Tx, id int64, at time.Time, forUpdate bool) (*geo.Organization, error) {
	name := "org_get"
	if forUpdate {
		name = "org_lock"
	}
	o, err := scanOrg(tx.QueryRow(ctx, q(name), id))
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENOTFOUND, "no organization %d", id)
	} else if err != nil {
		return nil, err
	}
	if at.IsZero() {
		return o, nil
	}
	return o, orgLoadGrids(ctx, tx, []*geo.Organization{o}, at)
}

// orgLoadGrids fills in the attachments of orgs in force at time at.
func orgLoadGrids(ctx context.Context, tx pgx.Tx, orgs []*geo.Organization, at time.Time) error {
	if len(orgs) == 0 {
		return nil
	}
	byID := make(map[int64]*geo.Organization, len(orgs))
	ids := make([]int64, len(orgs))
	for i, o := range orgs {
		byID[o.ID], ids[i] = o, o.ID
		o.Grids = []geo.OrganizationGrid{}
	}
	rows, err := tx.Query(ctx, q("org_grids_at"), ids, at)
	if err != nil {
		return err
	}
	grids, err := appendRows(nil, rows, scanAttachment)
	if err != nil {
		return err
	}
	for _, a := range grids {
		o := byID[a.OrganizationID]
		o.Grids = append(o.Grids, a)
	}
	return nil
}

// orgMember reads membership id of organization orgID with its person,
// locking it when forUpdate is set. ENOTFOUND if there is none.
func orgMember(ctx context.Context, tx pgx.Tx, orgID, id int64, forUpdate bool) (*geo.OrganizationMember, error) {
	name := "org_member_get"
	if forUpdate {
		name = "org_member_lock"
	}
	m, err := scanMember(tx.QueryRow(ctx, q(name), id, orgID))
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENOTFOUND, "organization %d has no membership %d", orgID, id)
	}
	return m, err
}

// orgCheckVillage returns EINVALID unless code is a village of the town.
func orgCheckVillage(ctx context.Context, tx pgx.Tx, code string) error {
	var ok bool
	if err := tx.QueryRow(ctx, q("org_village_active"), code).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return orgInvalid("village", "no village %s in the town", code)
	}
	return nil
}

// orgNotify announces on the registry's channel, with the current
// generation, that the organizations of grids changed, so that every
// replica reloads its snapshot once the transaction commits.
func orgNotify(ctx context.Context, tx pgx.Tx) error {
	var gen int64
	if err := tx.QueryRow(ctx, q("generation_current")).Scan(&gen); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, q("notify"), strconv.FormatInt(gen, 10))
	return err
}

// orgConstraintError names the constraint an organization row broke.
func orgConstraintError(err error, o *geo.Organization) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "organization_name_unique" {
		return geo.Errorf(geo.ECONFLICT, "village %s already has a %s named %q (ended ones count: reopen it instead)", o.VillageCode, o.Kind, o.Name)
	}
	if errors.As(err, &pgErr) && pgErr.Code == "23503" && pgErr.ConstraintName == "organizations_kind_fkey" {
		return orgInvalid("kind", "got %q, not a kind of the town's catalogue (GET /v1/organization-kinds)", o.Kind)
	}
	return err
}

// orgInvalid is EINVALID for one field of the request.
func orgInvalid(where, format string, args ...any) *geo.Error {
	reason := fmt.Sprintf(format, args...)
	return &geo.Error{Code: geo.EINVALID, Message: where + ": " + reason, Problems: []geo.Problem{{Where: where, Reason: reason}}}
}

// pgTime is t in UTC, to the microsecond, as PostgreSQL keeps it, so that
// what a write returns equals what a later read gives.
func pgTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

func orgTarget(id int64) string { return "organization:" + strconv.FormatInt(id, 10) }

// orgAudit is what the audit log records of an organization.
func orgAudit(o *geo.Organization) map[string]any {
	name, phone := orgContactCols(o.Contact)
	m := map[string]any{"kind": o.Kind, "name": o.Name, "village": o.VillageCode, "contact": name, "contact_phone": phone}
	if !o.EndedAt.IsZero() {
		m["ended_at"] = o.EndedAt
	}
	return m
}

func orgContactCols(c *geo.Contact) (name, phone string) {
	if c == nil {
		return "", ""
	}
	return c.Name, c.Phone
}

// scanOrg reads a row of org_get, org_lock or org_list.
func scanOrg(row pgx.Row) (*geo.Organization, error) {
	o := &geo.Organization{}
	var name, phone string
	var ended *time.Time
	if err := row.Scan(&o.ID, &o.Kind, &o.Name, &o.VillageCode, &name, &phone, &o.CreatedAt, &ended); err != nil {
		return nil, err
	}
	o.CreatedAt = o.CreatedAt.UTC()
	if ended != nil {
		o.EndedAt = ended.UTC()
	}
	if name != "" || phone != "" {
		o.Contact = &geo.Contact{Name: name, Phone: phone}
	}
	return o, nil
}

// scanMember reads a row of org_member_get, org_member_lock or
// org_members_at.
func scanMember(row pgx.Row) (*geo.OrganizationMember, error) {
	m := &geo.OrganizationMember{}
	var to, left *time.Time
	if err := row.Scan(&m.ID, &m.OrganizationID, &m.Role, &m.From, &to, &m.Person.ID, &m.Person.Name, &m.Person.Phone, &left); err != nil {
		return nil, err
	}
	m.From = m.From.UTC()
	if to != nil {
		m.To = to.UTC()
	}
	if left != nil {
		m.Person.EndedAt = left.UTC()
	}
	return m, nil
}

// scanAttachment reads a row of org_attachment_open, org_grids_at or
// org_attachments.
func scanAttachment(row pgx.Row) (geo.OrganizationGrid, error) {
	var a geo.OrganizationGrid
	var to *time.Time
	if err := row.Scan(&a.ID, &a.OrganizationID, &a.GridCode, &a.From, &to); err != nil {
		return a, err
	}
	a.From = a.From.UTC()
	if to != nil {
		a.To = to.UTC()
	}
	return a, nil
}
