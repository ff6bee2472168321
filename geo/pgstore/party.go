package pgstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// This file keeps party members and their 联系户 links (geo.PartyStore).
// Membership of a 党员小组 is kept by the organizations (kind
// party_group); nothing here changes what routing reads, so no NOTIFY.

var _ geo.PartyStore = (*DB)(nil)

// PutPartyMember sets a person's party attribute with its audit entry.
func (db *DB) PutPartyMember(ctx context.Context, m geo.PartyMember, actor string, now time.Time) (geo.PartyMember, error) {
	now = pgTime(now)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, q("party_person"), m.PersonID).Scan(&ok); err != nil {
			return err
		} else if !ok {
			return geo.Errorf(geo.ENOTFOUND, "no person %d", m.PersonID)
		}
		var joined *string
		if !m.JoinedOn.IsZero() {
			d := m.JoinedOn.In(chinaTime).Format(time.DateOnly)
			joined = &d
		}
		if _, err := tx.Exec(ctx, q("party_member_put"), m.PersonID, m.Member, joined, now, actor); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "party_member.put", personTarget(m.PersonID), nil,
			map[string]any{"member": m.Member, "joined_on": joined}, "")
	})
	if err != nil {
		return geo.PartyMember{}, unavailable(err)
	}
	return db.PartyMember(ctx, m.PersonID, now)
}

// chinaTime is the zone a joining date is a date in.
var chinaTime = time.FixedZone("CST", 8*3600)

// PartyMember returns a person's party attribute with groups and links at
// at; ENOTFOUND when none was ever set.
func (db *DB) PartyMember(ctx context.Context, person int64, at time.Time) (geo.PartyMember, error) {
	m := geo.PartyMember{PersonID: person, Groups: []geo.OrganizationRef{}, Links: []geo.PartyLink{}}
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var joined *string
		err := tx.QueryRow(ctx, q("party_member_get"), person).Scan(&m.Member, &joined, &m.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return geo.Errorf(geo.ENOTFOUND, "person %d has no party record", person)
		} else if err != nil {
			return err
		}
		if joined != nil {
			m.JoinedOn, _ = time.ParseInLocation(time.DateOnly, *joined, chinaTime)
		}
		rows, _ := tx.Query(ctx, q("party_member_groups"), person, at)
		var kind, name string
		if _, err := pgx.ForEachRow(rows, []any{&kind, &name}, func() error {
			m.Groups = append(m.Groups, geo.OrganizationRef{Kind: geo.OrgKind(kind), Name: name})
			return nil
		}); err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, q("party_member_links"), person, at)
		m.Links, err = appendRows(m.Links, rows, scanPartyLink)
		return err
	})
	if err != nil {
		return geo.PartyMember{}, unavailable(err)
	}
	return m, nil
}

func scanPartyLink(r pgx.Row) (geo.PartyLink, error) {
	var l geo.PartyLink
	var to *time.Time
	err := r.Scan(&l.ID, &l.PersonID, &l.GridCode, &l.Households, &l.From, &to)
	if to != nil {
		l.To = *to
	}
	return l, err
}

// AddPartyLink stores l: EINVALID naming person unless the person is a
// party member; ECONFLICT when they are linked to that grid then already.
func (db *DB) AddPartyLink(ctx context.Context, l geo.PartyLink, actor string, now time.Time) (geo.PartyLink, error) {
	now = pgTime(now)
	l.From = pgTime(l.From)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, q("party_link_insert"), l.PersonID, l.GridCode, l.Households, l.From).Scan(&l.ID)
		if errors.Is(err, pgx.ErrNoRows) {
			return orgInvalid("person", "person %d is not a party member (PUT /v1/people/%d/party)", l.PersonID, l.PersonID)
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "party_link.create", "party_link:"+strconv.FormatInt(l.ID, 10), nil,
			map[string]any{"person": l.PersonID, "grid": l.GridCode, "households": l.Households, "from": l.From}, "")
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23P01" && pgErr.ConstraintName == "party_link_once" {
		return geo.PartyLink{}, geo.Errorf(geo.ECONFLICT, "person %d is linked to grid %s then already: end that link first", l.PersonID, l.GridCode)
	}
	if err != nil {
		return geo.PartyLink{}, unavailable(err)
	}
	return l, nil
}

// EndPartyLink ends link id at to.
func (db *DB) EndPartyLink(ctx context.Context, id int64, to time.Time, actor string, now time.Time) (geo.PartyLink, error) {
	now, to = pgTime(now), pgTime(to)
	var l geo.PartyLink
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		var err error
		l, err = scanPartyLink(tx.QueryRow(ctx, q("party_link_end"), id, to))
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, q("party_link_exists"), id).Scan(&exists); err != nil {
				return err
			} else if !exists {
				return geo.Errorf(geo.ENOTFOUND, "no party link %d", id)
			}
			return orgInvalid("to", "link %d has ended already, or starts after %s", id, to.Format(time.RFC3339))
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "party_link.end", "party_link:"+strconv.FormatInt(id, 10), nil, map[string]any{"to": to}, "")
	})
	if err != nil {
		return geo.PartyLink{}, unavailable(err)
	}
	return l, nil
}

// PartyCounts counts by grid or village in town ("" every town) at at.
func (db *DB) PartyCounts(ctx context.Context, town, by string, at time.Time) ([]geo.PartyCount, error) {
	rows, _ := db.Pool.Query(ctx, q("party_counts"), nullIfEmpty(town), at, by)
	out, err := appendRows([]geo.PartyCount{}, rows, func(r pgx.Row) (geo.PartyCount, error) {
		var c geo.PartyCount
		err := r.Scan(&c.Code, &c.Members, &c.Groups, &c.LinkedMembers, &c.LinkedHouseholds)
		return c, err
	})
	return out, unavailable(err)
}
