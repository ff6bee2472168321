package pgstore_test

import (
	"context"
	"testing"
	"time"

	"wangge/geo/pgstore"
)

// TestMigration_0018oneTownKeepsWorking writes a one-town database as the
// service wrote it before 0018 (the singleton town, its district "01", a
// grid, the duty desk, an incident in the grid and one outside it), applies
// 0018 and the migrations after it, and checks that everything now belongs
// to that town and loads as before.
func TestMigration_0018oneTownKeepsWorking(t *testing.T) {
	ctx := context.Background()
	conn, url := migrationDB(t, "m18")
	applyMigrations(t, conn, func(f string) bool { return f < "0018" })
	for _, stmt := range []string{
		`INSERT INTO town (code, name, outline) VALUES ('431321101', '荷叶镇', ST_Multi(ST_MakeEnvelope(112, 27, 112.02, 27.01, 4326)))`,
		`INSERT INTO districts (code, name) VALUES ('01', '东片')`,
		`INSERT INTO villages (code, name, district_code, outline) VALUES ('431321101201', '一村', '01', ST_Multi(ST_MakeEnvelope(112, 27, 112.02, 27.01, 4326)))`,
		`INSERT INTO generations (id, created_by) VALUES (1, 'cli')`,
		`INSERT INTO grids (code, name, village_code, geom, generation, valid_from)
		 VALUES ('431321101201001', '网格', '431321101201', ST_Multi(ST_MakeEnvelope(112, 27, 112.02, 27.01, 4326)), 1, now() - interval '1 day')`,
		`INSERT INTO people (name, phone) VALUES ('值班员', '07386812345')`,
		`INSERT INTO assignments (person_id, role, starts_at) SELECT id, 'duty_desk', now() - interval '1 day' FROM people`,
		`INSERT INTO incidents (category, severity, source, status, description, match, grid_code, village_code,
		     reported_at, received_at, due_at, created_by)
		 VALUES ('dispute', 'minor', 'walk_in', 'received', '吵架', 'inside', '431321101201001', '431321101201', now(), now(), now(), 'd'),
		        ('dispute', 'minor', 'walk_in', 'received', '吵架', 'outside', NULL, NULL, now(), now(), now(), 'd')`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	applyMigrations(t, conn, func(f string) bool { return f >= "0018" })
	for _, tt := range []struct{ query, want string }{
		{`SELECT string_agg(code, ',') FROM towns`, "431321101"},
		{`SELECT string_agg(town_code || '/' || code, ',') FROM districts`, "431321101/01"},
		{`SELECT string_agg(town_code, ',') FROM assignments WHERE role = 'duty_desk'`, "431321101"},
		{`SELECT string_agg(town_code, ',' ORDER BY id) FROM incidents`, "431321101,431321101"},
		{`SELECT string_agg(town_code, ',') FROM villages`, "431321101"},
	} {
		var got string
		if err := conn.QueryRow(ctx, tt.query).Scan(&got); err != nil || got != tt.want {
			t.Errorf("%s: got %q (%v), want %q", tt.query, got, err, tt.want)
		}
	}
	db, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	area, gen, err := db.LoadArea(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if gen != 1 || len(area.Towns) != 1 || area.Towns[0].DutyDesk == nil || area.Towns[0].DutyDesk.Name != "值班员" ||
		len(area.Towns[0].Districts) != 1 || len(area.Grids) != 1 {
		t.Errorf("loaded generation %d: %+v", gen, area.Towns)
	}
	if _, err := db.ImportTown(ctx, townAt("431321101", 112.00), "test", "after 0018"); err != nil {
		t.Fatalf("importing the town again after 0018: %v", err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM towns`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d towns after re-importing the one town (%v)", n, err)
	}
}
