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

// This file keeps the catalogues of organization kinds (geo.OrgKindStore).
// Organizations' kinds are checked by the database (the foreign key
// organizations_kind_fkey), so that needs no cache. What snapshots hold of
// the catalogue is co-notification (co_notify, migration 0028): writes
// announce themselves on the registry's channel so that every replica
// reloads. An import checks its kinds against the town's catalogue before
// writing (importOrgProblems).

var _ geo.OrgKindStore = (*DB)(nil)

func scanOrgKind(r pgx.Row) (geo.OrgKindEntry, error) {
	var e geo.OrgKindEntry
	var code string
	var co []string
	err := r.Scan(&e.TownCode, &code, &e.NameZh, &e.Description, &e.Position, &e.InUse, &e.UpdatedAt, &e.UpdatedBy, &co)
	e.Code, e.CoNotify = geo.OrgKind(code), categories(co)
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
		if _, err := tx.Exec(ctx, q("org_kind_put"), e.TownCode, string(e.Code), e.NameZh, e.Description, e.Position, now, actor,
			categoryStrings(e.CoNotify)); err != nil {
			return err
		}
		out = e
		out.UpdatedAt, out.UpdatedBy = now, actor
		if err := audit(ctx, tx, now, actor, "organization_kind.put", orgKindTarget(e.TownCode, e.Code), beforeAudit, orgKindAudit(out), ""); err != nil {
			return err
		}
		return orgNotify(ctx, tx)
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
		if err := audit(ctx, tx, now, actor, "organization_kind.delete", orgKindTarget(town, code), orgKindAudit(before), nil, ""); err != nil {
			return err
		}
		return orgNotify(ctx, tx)
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
	return map[string]any{"town": e.TownCode, "code": e.Code, "name_zh": e.NameZh, "description": e.Description, "position": e.Position,
		"co_notify": e.CoNotify}
}

// categories converts a text[] column (NULL: nil) to categories.
func categories(in []string) []geo.Category {
	if in == nil {
		return nil
	}
	out := make([]geo.Category, len(in))
	for i, c := range in {
		out[i] = geo.Category(c)
	}
	return out
}

// categoryStrings converts categories to a text[] parameter, nil to NULL.
func categoryStrings(in []geo.Category) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, c := range in {
		out[i] = string(c)
	}
	return out
}

// loadOrgKindCoNotify gives each organization of td's grids whose kind's
// catalogue entry sets co-notification the categories it lists
// (geo.OrganizationRef.CoNotify). A grid's town is the first nine digits
// of its code.
func loadOrgKindCoNotify(ctx context.Context, tx pgx.Tx, td *geo.Area) error {
	set := map[[2]string]*[]geo.Category{}
	var town, code string
	var co []string
	rows, _ := tx.Query(ctx, q("org_kinds_co_notify"))
	if _, err := pgx.ForEachRow(rows, []any{&town, &code, &co}, func() error {
		c := categories(co)
		set[[2]string{town, code}] = &c
		return nil
	}); err != nil || len(set) == 0 {
		return err
	}
	for i := range td.Grids {
		g := &td.Grids[i]
		for j := range g.Organizations {
			if c, ok := set[[2]string{geo.TownCodeOf(g.Code), string(g.Organizations[j].Kind)}]; ok {
				g.Organizations[j].CoNotify = c
			}
		}
	}
	return nil
}

// importOrgProblems checks td's organizations before an import writes
// anything: their kinds against the town's catalogue (the seeded kinds for
// a town not yet held), locating each kind missing, such as one an admin
// deleted; and the grids members serve against td's grids. It locks the
// catalogue's rows, so no kind is deleted before the import commits.
// EINVALID lists every problem.
func importOrgProblems(ctx context.Context, tx pgx.Tx, td *geo.TownData) error {
	town := td.Town.Code
	known := map[geo.OrgKind]bool{}
	var held bool
	if err := tx.QueryRow(ctx, q("org_kinds_town_known"), town).Scan(&held); err != nil {
		return err
	}
	if held {
		var code string
		rows, _ := tx.Query(ctx, q("org_kinds_share"), town)
		if _, err := pgx.ForEachRow(rows, []any{&code}, func() error { known[geo.OrgKind(code)] = true; return nil }); err != nil {
			return err
		}
	} else {
		for _, k := range geo.SeededOrgKinds {
			known[k] = true
		}
	}
	var problems []geo.Problem
	bad := func(where string, k geo.OrgKind) {
		problems = append(problems, geo.Problem{Where: where + ": kind",
			Reason: fmt.Sprintf("%q is not a kind of town %s's catalogue (deleted by an admin?): add it back with PUT /v1/organization-kinds/%s, or change the file", k, town, k)})
	}
	// Where as the town files' reader says it (geo/townfile): the file,
	// the feature and its code, the organization.
	grids := make(map[string]bool, len(td.Grids))
	for _, g := range td.Grids {
		grids[g.Code] = true
	}
	for f, v := range td.Villages {
		for i, o := range v.Organizations {
			where := fmt.Sprintf("villages.geojson: feature %d (%s): organizations[%d]", f, v.Code, i)
			if !known[o.Kind] {
				bad(where, o.Kind)
			}
			for k, m := range o.Members {
				for j, code := range m.Grids {
					if !grids[code] || slices.Index(m.Grids, code) < j {
						problems = append(problems, geo.Problem{Where: fmt.Sprintf("%s: members[%d]: grids[%d]", where, k, j),
							Reason: fmt.Sprintf("%q: want a grid of %s, named once", code, "grids.geojson")})
					}
				}
			}
		}
	}
	for f, g := range td.Grids {
		for i, o := range g.Organizations {
			if !known[o.Kind] {
				bad(fmt.Sprintf("grids.geojson: feature %d (%s): organizations[%d]", f, g.Code, i), o.Kind)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &geo.Error{Code: geo.EINVALID, Problems: problems,
		Message: fmt.Sprintf("town %s: %d problems with its organizations (kinds, members' grids), nothing was imported", town, len(problems))}
}
