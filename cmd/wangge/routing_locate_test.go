package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/townfile"
)

// `wangge locate` shows a leader on leave with until when and who covers,
// as GET /v1/locate does: the deputy while they are present.
func TestLocateCommand_showsLeave(t *testing.T) {
	ctx := context.Background()
	url := pgtest.ConnString(t)
	db, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	td, _ := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if _, err := db.ImportTown(ctx, td, "test", ""); err != nil {
		t.Fatal(err)
	}
	lon, lat, code := demoPoint(t)
	locate := func() string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := Run(ctx, []string{"locate", fmt.Sprint(lon), fmt.Sprint(lat), "--database-url", url}, &out, &errb); err != nil {
			t.Fatalf("wangge locate: %v\n%s", err, errb.String())
		}
		return out.String()
	}
	if out := locate(); strings.Contains(out, "on leave") {
		t.Fatalf("nobody is on leave yet:\n%s", out)
	}
	staff, err := db.GridStaffAt(ctx, code, time.Now())
	if err != nil || staff.Leader == nil || staff.Deputy == nil {
		t.Fatalf("grid %s: %+v, %v; want a leader and a deputy", code, staff, err)
	}
	from := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	until := from.Add(48 * time.Hour)
	if _, err := db.AddLeave(ctx, staff.Leader.Person.ID, geo.Leave{Period: geo.Period{From: from, To: until}}, "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	out := locate()
	want := fmt.Sprintf("leader    %s %s (on leave until %s; covered by deputy %s %s)", staff.Leader.Person.Name, staff.Leader.Person.Phone,
		until.Format(time.RFC3339), staff.Deputy.Person.Name, staff.Deputy.Person.Phone)
	if !strings.Contains(out, want+"\n") || !strings.Contains(out, fmt.Sprintf("deputy    %s %s\n", staff.Deputy.Person.Name, staff.Deputy.Person.Phone)) {
		t.Errorf("locate printed:\n%s\nwant the line\n%s", out, want)
	}
}
