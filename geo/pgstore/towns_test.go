package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/gridindex"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// townAt is smallTown with another code, west edge, duty desk and leaders:
// two villages of two grids, 0.04° wide, from x0 east.
func townAt(code string, x0 float64) *geo.TownData {
	td := smallTown()
	shift := func(m orb.MultiPolygon) orb.MultiPolygon {
		out := orb.MultiPolygon{}
		for _, p := range m {
			var poly orb.Polygon
			for _, r := range p {
				ring := make(orb.Ring, len(r))
				for i, pt := range r {
					ring[i] = orb.Point{pt[0] - 112.00 + x0, pt[1]}
				}
				poly = append(poly, ring)
			}
			out = append(out, poly)
		}
		return out
	}
	td.Town.Code, td.Town.Name = code, "测试镇"+code[6:]
	td.Town.Outline = shift(td.Town.Outline)
	td.Town.DutyDesk = &geo.Contact{Name: "值班室" + code[6:], Phone: "0738681" + code[5:9]}
	for i := range td.Villages {
		v := &td.Villages[i]
		v.Code = code + v.Code[9:]
		v.Outline = shift(v.Outline)
	}
	for i := range td.Grids {
		g := &td.Grids[i]
		g.VillageCode = code + g.VillageCode[9:]
		g.Code = code + g.Code[9:]
		g.Geometry = shift(g.Geometry)
		g.Leader = &geo.Contact{Name: "曾" + g.Code[6:], Phone: "139" + g.Code[7:15]}
		g.Organizations = []geo.OrganizationRef{{Kind: geo.OrgMediation, Name: "调解会" + g.VillageCode}}
	}
	return td
}

// importTwoTowns imports towns 431321101 (112.00–112.04) and 431321102
// (112.04–112.08), which share the border x = 112.04.
func importTwoTowns(t *testing.T) (*pgstore.DB, context.Context) {
	t.Helper()
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	if _, err := db.ImportTown(ctx, townAt("431321101", 112.00), "test", "town A"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportTown(ctx, townAt("431321102", 112.04), "test", "town B"); err != nil {
		t.Fatal(err)
	}
	return db, ctx
}

func TestTowns_twoTownsLocateAcrossTheirBorder(t *testing.T) {
	db, ctx := importTwoTowns(t)
	now := time.Now()
	area, gen, err := db.LoadArea(ctx, 0, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(area.Towns) != 2 || len(area.Villages) != 4 || len(area.Grids) != 8 {
		t.Fatalf("loaded %d towns, %d villages, %d grids; want 2, 4, 8", len(area.Towns), len(area.Villages), len(area.Grids))
	}
	snap, err := geo.NewSnapshot(gen, area, now)
	if err != nil {
		t.Fatal(err)
	}
	// One index answers for both towns.
	for _, tt := range []struct {
		p    orb.Point
		grid string
	}{{orb.Point{112.005, 27.005}, "431321101201001"}, {orb.Point{112.075, 27.005}, "431321102202002"}} {
		loc, ok := snap.Locate(tt.p, geo.DefaultToleranceM)
		if !ok || loc.Grid.Code != tt.grid || loc.Match != gridindex.Inside {
			t.Errorf("locate %v: got %+v, want %s inside", tt.p, loc, tt.grid)
		}
	}
	// On the towns' shared border: the boundary rule, across towns.
	loc, ok := snap.Locate(orb.Point{112.04, 27.005}, geo.DefaultToleranceM)
	if !ok || loc.Match != gridindex.Boundary || loc.Grid.Code != "431321101202002" ||
		len(loc.Also) != 1 || loc.Also[0] != "431321102201001" {
		t.Errorf("the shared border: got match %s grid %v also %v; want boundary, 431321101202002, [431321102201001]",
			loc.Match, loc.Grid, loc.Also)
	}
	// Each town keeps its own duty desk and districts.
	for _, tt := range []struct {
		p    [2]float64
		desk string
	}{{[2]float64{111.99, 27.02}, "值班室101"}, {[2]float64{112.09, 27.02}, "值班室102"}} {
		town := snap.TownCodeAt(nil, &tt.p, "")
		a, ok := snap.Assign(town, nil, geo.LevelGrid, now)
		if !ok || a.Role != geo.RoleDutyDesk || a.Name != tt.desk {
			t.Errorf("outside coverage at %v (town %s): got %+v, want duty desk %s", tt.p, town, a, tt.desk)
		}
	}
	for _, v := range snap.Villages {
		if d, ok := snap.VillageDistrict(&v); !ok || d.Name != "东片" {
			t.Errorf("village %s: district %+v, %v", v.Code, d, ok)
		}
	}
	if w := snap.Whole(); w.Code != "431321" || len(w.Outline) != 2 {
		t.Errorf("the whole: code %q, %d polygons; want 431321 and both outlines", w.Code, len(w.Outline))
	}
	// Exporting one town gives back that town alone.
	b, ok := area.TownData("431321102")
	if !ok || b.Town.Code != "431321102" || len(b.Villages) != 2 || len(b.Grids) != 4 || b.Town.DutyDesk == nil {
		t.Fatalf("town B's data: %+v", b)
	}
}

func TestTowns_reimportingOneTownLeavesTheOtherAlone(t *testing.T) {
	db, ctx := importTwoTowns(t)
	before := gridRows(t, db, ctx)
	a := townAt("431321101", 112.00)
	a.Grids[0].Name = "改名网格"
	a.Town.DutyDesk = &geo.Contact{Name: "新值班室", Phone: "07386819999"}
	gen, err := db.ImportTown(ctx, a, "test", "rename a grid of A")
	if err != nil {
		t.Fatal(err)
	}
	after := gridRows(t, db, ctx)
	for code, row := range before {
		switch {
		case strings.HasPrefix(code, "431321102") && after[code] != row:
			t.Errorf("town B's grid %s changed: %v → %v", code, row, after[code])
		case code == a.Grids[0].Code && after[code] == row:
			t.Errorf("town A's renamed grid %s kept its version %v", code, row)
		}
	}
	var town string
	if err := db.Pool.QueryRow(ctx, "SELECT town_code FROM generations WHERE id = $1", gen).Scan(&town); err != nil || town != "431321101" {
		t.Errorf("generation %d: town %q (%v), want 431321101", gen, town, err)
	}
	area, _, err := db.LoadArea(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	desks := map[string]string{}
	for _, tw := range area.Towns {
		if tw.DutyDesk != nil {
			desks[tw.Code] = tw.DutyDesk.Name
		}
	}
	if desks["431321101"] != "新值班室" || desks["431321102"] != "值班室102" {
		t.Errorf("duty desks after re-importing A: %v", desks)
	}
	// Districts are numbered within a town: both towns keep their "01".
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM districts WHERE code = '01' AND retired_at IS NULL").Scan(&n); err != nil || n != 2 {
		t.Errorf("active districts 01: %d (%v), want 2", n, err)
	}
}

// gridRows maps each current grid code to its row id and generation.
func gridRows(t *testing.T, db *pgstore.DB, ctx context.Context) map[string][2]int64 {
	t.Helper()
	rows, err := db.Pool.Query(ctx, "SELECT code, id, generation FROM grids WHERE retired_generation IS NULL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][2]int64{}
	for rows.Next() {
		var code string
		var id, gen int64
		if err := rows.Scan(&code, &id, &gen); err != nil {
			t.Fatal(err)
		}
		out[code] = [2]int64{id, gen}
	}
	return out
}

func TestTowns_bordersAreChecked(t *testing.T) {
	db, ctx := importTwoTowns(t)
	before := gridRows(t, db, ctx)
	for _, tt := range []struct {
		name string
		td   *geo.TownData
		want string
	}{
		// Town C drawn 0.0005° (about 50 m) into town B.
		{"overlap", townAt("431321103", 112.0795), "overlaps town 431321102"},
		// Town C drawn 0.3 m east of town B's edge: a digitising gap.
		{"gap", townAt("431321103", 112.08+0.3/111320.0), "gap of"},
		// A village of town B's code in town C's file.
		{"codes", func() *geo.TownData {
			td := townAt("431321103", 112.08)
			td.Villages[0].Code = "431321102209"
			return td
		}(), "is not under town 431321103"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.ImportTown(ctx, tt.td, "test", "")
			var ge *geo.Error
			if !errors.As(err, &ge) || ge.Code != geo.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			found := false
			for _, p := range ge.Problems {
				found = found || strings.Contains(p.Reason, tt.want)
			}
			if !found {
				t.Errorf("problems %+v: none says %q", ge.Problems, tt.want)
			}
		})
	}
	// Town C exactly against town B's edge is accepted; so are towns that
	// do not touch at all (a far town of the same county).
	if _, err := db.ImportTowns(ctx, []*geo.TownData{townAt("431321103", 112.08), townAt("431321104", 112.30)}, "test", ""); err != nil {
		t.Fatalf("adjacent and distant towns refused: %v", err)
	}
	after := gridRows(t, db, ctx)
	for code, row := range before {
		if after[code] != row {
			t.Errorf("grid %s changed by the other towns' imports: %v → %v", code, row, after[code])
		}
	}
	if len(after) != 16 {
		t.Errorf("%d current grids, want 16", len(after))
	}
}

func TestTowns_importOfSeveralIsAllOrNothing(t *testing.T) {
	db, ctx := importTwoTowns(t)
	bad := townAt("431321104", 112.0795) // overlaps town B
	_, err := db.ImportTowns(ctx, []*geo.TownData{townAt("431321103", 112.30), bad}, "test", "")
	var ge *geo.Error
	if !errors.As(err, &ge) || ge.Code != geo.EINVALID || !strings.Contains(ge.Message, "431321104") {
		t.Fatalf("got %v, want EINVALID naming town 431321104", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM towns").Scan(&n); err != nil || n != 2 {
		t.Errorf("%d towns after a refused import of two (%v), want the 2 before", n, err)
	}
}

// TestTowns_reimportReroutesAndHandsOver re-imports a town whose grids
// 001 and 002 of the first village moved their shared edge and whose grid
// 003 has a new leader: the open incident whose location changed grid
// follows it (a reroute event), the new leader's predecessor hands over,
// and the other town's incident is not touched.
func TestTowns_reimportReroutesAndHandsOver(t *testing.T) {
	db, ctx := importTwoTowns(t)
	at := db.Now()
	e := newRoutingEnv(t, db, at)
	moved := e.intake(112.0095, 27.005, at)  // grid ...201001 now, ...201002 after the edge moves west
	stays := e.intake(112.0150, 27.005, at)  // grid ...201002, before and after
	handed := e.intake(112.0250, 27.005, at) // grid ...202001, whose leader the file replaces
	other := e.intake(112.0450, 27.005, at)  // town B
	a := townAt("431321101", 112.00)
	a.Grids[0].Geometry = rect(112.00, 27.00, 112.009, 27.01)
	a.Grids[1].Geometry = rect(112.009, 27.00, 112.02, 27.01)
	a.Grids[2].Leader = &geo.Contact{Name: "新网格长", Phone: "13907380999"}
	if _, err := db.ImportTown(ctx, a, "test", "redrawn"); err != nil {
		t.Fatal(err)
	}
	got := e.incident(moved.Number)
	if got.GridCode != "431321101201002" || got.Events[len(got.Events)-1].Action != geo.ActReroute {
		t.Errorf("the incident whose location changed grid: grid %s, last event %s; want 431321101201002 after a reroute",
			got.GridCode, got.Events[len(got.Events)-1].Action)
	}
	if got := e.incident(stays.Number); len(got.Events) != len(stays.Events) || got.GridCode != stays.GridCode {
		t.Errorf("an incident the import does not concern: %d events (was %d), grid %s", len(got.Events), len(stays.Events), got.GridCode)
	}
	if got := e.incident(handed.Number); got.Assignee.Name != "新网格长" || got.Events[len(got.Events)-1].Action != geo.ActHandover {
		t.Errorf("the replaced leader's incident: assignee %s, last event %s; want 新网格长 after a handover",
			got.Assignee.Name, got.Events[len(got.Events)-1].Action)
	}
	if got := e.incident(other.Number); len(got.Events) != len(other.Events) {
		t.Errorf("town B's incident changed by town A's import: %d events, was %d", len(got.Events), len(other.Events))
	}
}

func TestRegistryChangedSince(t *testing.T) {
	db, ctx := importTwoTowns(t)
	_, gen, err := db.LoadArea(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	loaded := time.Now()
	changed := func(gen int64, now time.Time) bool {
		t.Helper()
		c, err := db.RegistryChangedSince(ctx, gen, loaded, now)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if changed(gen, loaded.Add(time.Hour)) {
		t.Error("nothing dated after the load, yet changed")
	}
	if !changed(gen-1, loaded) {
		t.Error("a newer generation than the snapshot's, yet unchanged")
	}
	// A leader appointed from tomorrow: the snapshot is stale once
	// tomorrow comes, not before.
	start := loaded.Add(24 * time.Hour)
	if _, err := db.Appoint(ctx, geo.Appointment{Role: geo.RoleLeader, GridCode: "431321102201001", Name: "明日网格长",
		Phone: "13907381234", From: start}, "test", loaded); err != nil {
		t.Fatal(err)
	}
	if changed(gen, start.Add(-time.Minute)) || !changed(gen, start.Add(time.Minute)) {
		t.Errorf("an appointment from %s: changed before %v, after %v; want false, true",
			start, changed(gen, start.Add(-time.Minute)), changed(gen, start.Add(time.Minute)))
	}
}
