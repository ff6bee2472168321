package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// This file keeps which grids organization members serve
// (geo.MemberGridStore, migration 0028). Writes lock the organization's
// row first, as every organization write does. Snapshots do not hold
// these periods, so a write needs no NOTIFY.

var _ geo.MemberGridStore = (*DB)(nil)

// SetMemberGrids makes membership memberID of organization orgID serve
// exactly codes from from; see geo.MemberGridStore.
func (db *DB) SetMemberGrids(ctx context.Context, orgID, memberID int64, codes []string, from time.Time, actor string, now time.Time) ([]geo.MemberGrid, error) {
	var out []geo.MemberGrid
	now, from = pgTime(now), pgTime(from)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		org, err := orgGet(ctx, tx, orgID, time.Time{}, true)
		if err != nil {
			return err
		}
		m, err := orgMember(ctx, tx, orgID, memberID, true)
		if err != nil {
			return err
		}
		switch {
		case !m.To.IsZero() && !m.To.After(from):
			return geo.Errorf(geo.ECONFLICT, "membership %d ended at %s: it serves no grid from %s", memberID,
				m.To.Format(time.RFC3339), from.UTC().Format(time.RFC3339))
		case from.Before(m.From):
			return orgInvalid("from", "got %s, want a time from the membership's start %s", from.UTC().Format(time.RFC3339), m.From.Format(time.RFC3339))
		}
		if err := memberGridsCheck(ctx, tx, org, codes); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, q("org_member_grids_from"), memberID, from)
		before, err := appendRows(nil, rows, scanMemberGrid)
		if err != nil {
			return err
		}
		served := map[string]bool{}
		for _, p := range before {
			keep := slices.Contains(codes, p.GridCode)
			switch {
			case keep && !p.From.After(from) && p.To.Equal(m.To):
				served[p.GridCode] = true
			case !p.From.Before(from):
				return geo.Errorf(geo.ECONFLICT, "membership %d serves grid %s from %s, not before %s: nothing was changed",
					memberID, p.GridCode, p.From.Format(time.RFC3339), from.UTC().Format(time.RFC3339))
			default:
				if _, err := tx.Exec(ctx, q("org_member_grid_end"), p.ID, from); err != nil {
					return err
				}
			}
		}
		for _, code := range codes {
			if served[code] {
				continue
			}
			var id int64
			err := tx.QueryRow(ctx, q("org_member_grid_insert"), memberID, code, from, timeOrNil(m.To)).Scan(&id)
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23P01" && pgErr.ConstraintName == "member_grid_once" {
				return geo.Errorf(geo.ECONFLICT, "membership %d served grid %s in a period overlapping %s: nothing was changed",
					memberID, code, from.UTC().Format(time.RFC3339))
			} else if err != nil {
				return err
			}
		}
		rows, _ = tx.Query(ctx, q("org_member_grids"), memberID)
		if out, err = appendRows([]geo.MemberGrid{}, rows, scanMemberGrid); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "organization.member.grids", orgTarget(orgID), nil,
			map[string]any{"membership": memberID, "person": m.Person.ID, "grids": codes, "from": from}, "")
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// memberGridsCheck returns EINVALID, located at grids[i], for the first
// code that is not a current grid of org's town.
func memberGridsCheck(ctx context.Context, tx pgx.Tx, org *geo.Organization, codes []string) error {
	town := geo.TownCodeOf(org.VillageCode)
	for i, code := range codes {
		where := fmt.Sprintf("grids[%d]", i)
		if org.VillageCode != "" && geo.TownCodeOf(code) != town {
			return orgInvalid(where, "grid %s is of town %s, not of the organization's town %s", code, geo.TownCodeOf(code), town)
		}
		var current bool
		if err := tx.QueryRow(ctx, q("org_grid_current"), code).Scan(&current); err != nil {
			return err
		}
		if !current {
			return orgInvalid(where, "no current grid %s", code)
		}
	}
	return nil
}

// memberGridsEnd ends the grids membership memberID serves at to, as the
// membership ends; ECONFLICT when one starts at or after to.
func memberGridsEnd(ctx context.Context, tx pgx.Tx, memberID int64, to time.Time) error {
	var code string
	var starts time.Time
	err := tx.QueryRow(ctx, q("org_member_grid_starts_from"), memberID, to).Scan(&code, &starts)
	if err == nil {
		return geo.Errorf(geo.ECONFLICT, "membership %d cannot end at %s: it serves grid %s from %s; end it later or set its grids first",
			memberID, to.UTC().Format(time.RFC3339), code, starts.UTC().Format(time.RFC3339))
	} else if err != pgx.ErrNoRows {
		return err
	}
	_, err = tx.Exec(ctx, q("org_member_grids_end"), memberID, to)
	return err
}

// MemberGrids lists every period of membership memberID serving a grid.
// ENOTFOUND if there is no such membership.
func (db *DB) MemberGrids(ctx context.Context, orgID, memberID int64) ([]geo.MemberGrid, error) {
	var out []geo.MemberGrid
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := orgMember(ctx, tx, orgID, memberID, false); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, q("org_member_grids"), memberID)
		var err error
		out, err = appendRows([]geo.MemberGrid{}, rows, scanMemberGrid)
		return err
	})
	if err != nil {
		return nil, unavailable(err)
	}
	return out, nil
}

// GridMembers lists the members serving grid code at time at.
func (db *DB) GridMembers(ctx context.Context, code string, at time.Time) ([]geo.GridMember, error) {
	rows, _ := db.Pool.Query(ctx, q("org_grid_members_at"), code, at)
	out, err := appendRows([]geo.GridMember{}, rows, func(row pgx.Row) (geo.GridMember, error) {
		var g geo.GridMember
		var mTo, left, sTo *time.Time
		err := row.Scan(&g.Organization.ID, &g.Organization.Kind, &g.Organization.Name, &g.Organization.VillageCode,
			&g.Member.ID, &g.Member.Role, &g.Member.From, &mTo, &g.Member.Person.ID, &g.Member.Person.Name, &g.Member.Person.Phone, &left,
			&g.Serving.ID, &g.Serving.From, &sTo)
		g.Member.OrganizationID, g.Serving.MemberID, g.Serving.GridCode = g.Organization.ID, g.Member.ID, code
		g.Member.From, g.Member.To, g.Member.Person.EndedAt = g.Member.From.UTC(), utcOrZero(mTo), utcOrZero(left)
		g.Serving.From, g.Serving.To = g.Serving.From.UTC(), utcOrZero(sTo)
		return g, err
	})
	return out, unavailable(err)
}

// scanMemberGrid reads a row of org_member_grids or org_member_grids_from.
func scanMemberGrid(row pgx.Row) (geo.MemberGrid, error) {
	var g geo.MemberGrid
	var to *time.Time
	err := row.Scan(&g.ID, &g.MemberID, &g.GridCode, &g.From, &to)
	g.From, g.To = g.From.UTC(), utcOrZero(to)
	return g, err
}

func utcOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
