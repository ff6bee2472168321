package pgstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/geo"
)

// CurrentGeneration returns the newest generation, or 0 when the database
// holds no town yet.
func (db *DB) CurrentGeneration(ctx context.Context) (int64, error) {
	var gen int64
	if err := db.Pool.QueryRow(ctx, q("generation_current")).Scan(&gen); err != nil {
		return 0, unavailable(err)
	}
	return gen, nil
}

// LoadArea reads every town with the grids of generation gen (0: the
// current one) and, on each grid, the leader, deputy and organizations in
// office at time at. It returns the generation read; ENOTFOUND when there
// is no town. Everything is read in one repeatable-read transaction, so a
// concurrent import is seen either wholly or not at all.
func (db *DB) LoadArea(ctx context.Context, gen int64, at time.Time) (*geo.Area, int64, error) {
	td := &geo.Area{}
	err := pgx.BeginTxFunc(ctx, db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if gen == 0 {
			if err := tx.QueryRow(ctx, q("generation_current")).Scan(&gen); err != nil {
				return err
			}
			if gen == 0 {
				return geo.Errorf(geo.ENOTFOUND, "the database holds no town yet: import one with `wangge import`")
			}
		}
		return loadArea(ctx, tx, td, gen, at)
	})
	if err != nil {
		return nil, 0, unavailable(err)
	}
	return td, gen, nil
}

// RegistryChangedSince reports whether a snapshot of generation gen
// loaded at since is out of date at now: a newer generation, or an
// appointment, attachment or membership dated to start or end in
// (since, now]. Writes announce themselves (NOTIFY); this finds what
// changes by the clock alone, so that a periodic reload runs only then.
func (db *DB) RegistryChangedSince(ctx context.Context, gen int64, since, now time.Time) (bool, error) {
	var changed bool
	err := db.Pool.QueryRow(ctx, q("registry_changed_since"), gen, since, now).Scan(&changed)
	return changed, unavailable(err)
}

func loadArea(ctx context.Context, tx pgx.Tx, td *geo.Area, gen int64, at time.Time) error {
	people := personContacts{}
	var t geo.Town
	var outline []byte
	var dutyID *int64
	var dutyName, dutyPhone *string
	rows, _ := tx.Query(ctx, q("towns_get"), at)
	if _, err := pgx.ForEachRow(rows, []any{&t.Code, &t.Name, &t.County, &t.Province, &t.Note, &outline,
		&dutyID, &dutyName, &dutyPhone}, func() error {
		var err error
		if t.Outline, err = decodeWKB(outline); err != nil {
			return err
		}
		t.DutyDesk = people.add(dutyID, dutyName, dutyPhone)
		td.Towns = append(td.Towns, t)
		return nil
	}); err != nil {
		return err
	}
	if len(td.Towns) == 0 {
		return geo.Errorf(geo.ENOTFOUND, "the database holds no town yet")
	}
	var town string
	var d geo.District
	rows, _ = tx.Query(ctx, q("districts_active"))
	if _, err := pgx.ForEachRow(rows, []any{&town, &d.Code, &d.Name}, func() error {
		// Towns are read in code order, and so are districts.
		for i := range td.Towns {
			if td.Towns[i].Code == town {
				td.Towns[i].Districts = append(td.Towns[i].Districts, d)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	var v geo.Village
	var raw []byte
	var lid *int64
	var ln, lp *string
	rows, _ = tx.Query(ctx, q("villages_active"), at)
	if _, err := pgx.ForEachRow(rows, []any{&v.Code, &v.Name, &v.DistrictCode, &raw, &lid, &ln, &lp}, func() error {
		var err error
		if v.Outline, err = decodeWKB(raw); err != nil {
			return err
		}
		v.LiaisonLeader = people.add(lid, ln, lp)
		td.Villages = append(td.Villages, v)
		return nil
	}); err != nil {
		return err
	}
	var g geo.GridRecord
	var validTo *time.Time
	var did *int64
	var dn, dp *string
	arena := wkbArena{chunk: wkbArenaChunk}
	rows, _ = tx.Query(ctx, q("grids_at_generation"), gen, at)
	if _, err := pgx.ForEachRow(rows, []any{&g.Code, &g.Name, &g.VillageCode, &g.Households, &g.Population, &raw,
		&g.Generation, &g.ValidFrom, &validTo, &lid, &ln, &lp, &did, &dn, &dp}, func() error {
		var err error
		if g.Geometry, err = arena.decode(raw); err != nil {
			return err
		}
		g.ValidTo = time.Time{}
		if validTo != nil {
			g.ValidTo = *validTo
		}
		g.Leader, g.Deputy = people.add(lid, ln, lp), people.add(did, dn, dp)
		td.Grids = append(td.Grids, g)
		return nil
	}); err != nil {
		return err
	}
	sortGridsByCode(td.Grids)
	var code string
	var o geo.OrganizationRef
	rows, _ = tx.Query(ctx, q("attachments_at"), at)
	_, err := pgx.ForEachRow(rows, []any{&code, &o.Kind, &o.Name}, func() error {
		// Grids are sorted by code: a binary search, not a map of a
		// million codes built for this loop.
		if i, ok := slices.BinarySearchFunc(td.Grids, code, func(g geo.GridRecord, c string) int { return strings.Compare(g.Code, c) }); ok {
			td.Grids[i].Organizations = append(td.Grids[i].Organizations, o)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range td.Grids {
		geo.SortOrganizationRefs(td.Grids[i].Organizations)
	}
	if err := loadOrgKindCoNotify(ctx, tx, td); err != nil { // orgkinds.go
		return err
	}
	if err := loadRosters(ctx, tx, td, at); err != nil {
		return err
	}
	if err := loadServicePoints(ctx, tx, td, at); err != nil { // servicepoints.go
		return err
	}
	if err := loadStructure(ctx, tx, td, people, at); err != nil { // structure.go
		return err
	}
	return people.loadLeaves(ctx, tx)
}

// sortGridsByCode sorts grids by code (byte order; codes are digits, so
// it is every collation's order), ties by position. It sorts positions and
// then moves each record once along the permutation's cycles, rather than
// swapping records of this size n log n times.
func sortGridsByCode(grids []geo.GridRecord) {
	idx := make([]int32, len(grids))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		if c := strings.Compare(grids[a].Code, grids[b].Code); c != 0 {
			return c
		}
		return int(a - b)
	})
	// grids[i] must become the old grids[idx[i]].
	for i := range idx {
		if idx[i] == int32(i) {
			continue
		}
		tmp := grids[i]
		j := int32(i)
		for {
			k := idx[j]
			idx[j] = j
			if k == int32(i) {
				grids[j] = tmp
				break
			}
			grids[j] = grids[k]
			j = k
		}
	}
}

// loadRosters fills each village's organizations with their members at at,
// and the grids each member serves then (what an export writes back).
func loadRosters(ctx context.Context, tx pgx.Tx, td *geo.Area, at time.Time) error {
	byVillage := map[string]int{}
	for i, v := range td.Villages {
		byVillage[v.Code] = i
	}
	var village, kind, name, mname, mphone, role string
	var grids []string
	rows, _ := tx.Query(ctx, q("rosters_at"), at)
	_, err := pgx.ForEachRow(rows, []any{&village, &kind, &name, &mname, &mphone, &role, &grids}, func() error {
		i, ok := byVillage[village]
		if !ok {
			return nil
		}
		v := &td.Villages[i]
		n := len(v.Organizations)
		if n == 0 || v.Organizations[n-1].Kind != geo.OrgKind(kind) || v.Organizations[n-1].Name != name {
			v.Organizations = append(v.Organizations, geo.OrganizationRoster{Kind: geo.OrgKind(kind), Name: name})
			n++
		}
		v.Organizations[n-1].Members = append(v.Organizations[n-1].Members,
			geo.RosterMember{Contact: geo.Contact{Name: mname, Phone: mphone}, Role: geo.MemberRole(role), Grids: slices.Clone(grids)})
		return nil
	})
	for i := range td.Villages {
		geo.SortRosters(td.Villages[i].Organizations)
	}
	return err
}

// personContacts collects the contacts made while loading, by person, so
// that their leave periods can be filled in with one query.
type personContacts map[int64][]*geo.Contact

// add returns the contact of a person row (nil when the role is vacant).
func (pc personContacts) add(id *int64, name, phone *string) *geo.Contact {
	if id == nil || name == nil {
		return nil
	}
	c := &geo.Contact{Name: *name}
	if phone != nil {
		c.Phone = *phone
	}
	pc[*id] = append(pc[*id], c)
	return c
}

func (pc personContacts) loadLeaves(ctx context.Context, tx pgx.Tx) error {
	ids := make([]int64, 0, len(pc))
	for id := range pc {
		ids = append(ids, id)
	}
	var id int64
	var p geo.Period
	rows, _ := tx.Query(ctx, q("leaves_of"), ids)
	_, err := pgx.ForEachRow(rows, []any{&id, &p.From, &p.To}, func() error {
		p.From, p.To = p.From.UTC(), p.To.UTC()
		for _, c := range pc[id] {
			c.Leave = append(c.Leave, p)
		}
		return nil
	})
	return err
}
