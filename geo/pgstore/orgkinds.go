package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"wangge/geo"
)

// This file keeps the catalogues of organization kinds (geo.OrgKindStore).
// Nothing is cached: organizations' kinds are checked by the database (the
// foreign key organizations_kind_fkey), so a change needs no reload or
// NOTIFY; every replica sees it at the next write.

var _ geo.OrgKindStore = (*DB)(nil)

func scanOrgKind(r pgx.Row) (geo.OrgKindEntry, error) {
	var e geo.OrgKindEntry
	var code string
	err := r.Scan(&e.TownCode, &code, &e.NameZh, &e.Description, &e.Position, &e.InUse, &e.UpdatedAt, &e.UpdatedBy)
	e.Code = geo.OrgKind(code)
	return e, err
}

// OrgKinds lists town's catalogue by position, then code.
func (db *DB) OrgKinds(ctx context.Context, town string) ([]geo.OrgKindEntry, error) {
	rows, _ := db.Pool.Query(ctx, q("org_kinds_list"), town)
	out, err := appendRows([]geo.OrgKindEntry{}, rows, scanOrgKind)
	return out, unavailable(err)
}

// PutOrgKind creates or changes a kind of e.TownCode's catalogue, with its
// audit entry, in one transaction.
func (db *DB) PutOrgKind(ctx context.Context, e geo.OrgKindEntry, actor string, now time.Time) (geo.OrgKindEntry, bool, error) {
	now = pgTime(now)
	created := false
	var out geo.OrgKindEntry
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		before, err := scanOrgKind(tx.QueryRow(ctx, q("org_kind_lock"), e.TownCode, string(e.Code)))
		var beforeAudit any
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			created = true
		case err != nil:
			return err
		default:
			beforeAudit = orgKindAudit(before)
		}
		if _, err := tx.Exec(ctx, q("org_kind_put"), e.TownCode, string(e.Code), e.NameZh, e.Description, e.Position, now, actor); err != nil {
			return err
		}
		out = e
		out.UpdatedAt, out.UpdatedBy = now, actor
		return audit(ctx, tx, now, actor, "organization_kind.put", orgKindTarget(e.TownCode, e.Code), beforeAudit, orgKindAudit(out), "")
	})
	if err != nil {
		return geo.OrgKindEntry{}, false, unavailable(err)
	}
	return out, created, nil
}

// DeleteOrgKind removes a kind of town's catalogue: ENOTFOUND if there is
// none, ECONFLICT while an organization of the town has it.
func (db *DB) DeleteOrgKind(ctx context.Context, town string, code geo.OrgKind, actor string, now time.Time) error {
	now = pgTime(now)
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		before, err := scanOrgKind(tx.QueryRow(ctx, q("org_kind_lock"), town, string(code)))
		if errors.Is(err, pgx.ErrNoRows) {
			return geo.Errorf(geo.ENOTFOUND, "town %s has no organization kind %q", town, code)
		} else if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, q("org_kind_delete"), town, string(code)); err != nil {
			return err
		}
		return audit(ctx, tx, now, actor, "organization_kind.delete", orgKindTarget(town, code), orgKindAudit(before), nil, "")
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" && pgErr.ConstraintName == "organizations_kind_fkey" {
		return geo.Errorf(geo.ECONFLICT, "organizations of town %s have kind %q (ended ones too): it stays in the catalogue", town, code)
	}
	return unavailable(err)
}

// OrgKindKnown reports whether some town's catalogue (town's, when not
// "") holds code.
func (db *DB) OrgKindKnown(ctx context.Context, town string, code geo.OrgKind) (bool, error) {
	var ok bool
	err := db.Pool.QueryRow(ctx, q("org_kind_known"), nullIfEmpty(town), string(code)).Scan(&ok)
	return ok, unavailable(err)
}

func orgKindTarget(town string, code geo.OrgKind) string {
	return "organization_kind:" + town + "/" + string(code)
}

func orgKindAudit(e geo.OrgKindEntry) map[string]any {
	return map[string]any{"town": e.TownCode, "code": e.Code, "name_zh": e.NameZh, "description": e.Description, "position": e.Position}
}
