package pgstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/pgstore/pgtest"
)

// TestAppoint_backDatedBeforeHolder: an appointment back-dated before the
// current leader's start is refused with a message saying so and naming
// both dates, not "another appointment was recorded meanwhile".
func TestAppoint_backDatedBeforeHolder(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	if _, err := db.ImportTown(ctx, smallTown(), "test", ""); err != nil {
		t.Fatal(err)
	}
	const grid = "431321101201001"
	now := time.Now().UTC().Add(time.Minute).Truncate(time.Second) // after the import
	if _, err := db.Appoint(ctx, geo.Appointment{Role: geo.RoleLeader, GridCode: grid, Name: "张三", Phone: "13900000201", From: now}, "test", now); err != nil {
		t.Fatal(err)
	}
	earlier := now.AddDate(0, -2, 0)
	_, err := db.Appoint(ctx, geo.Appointment{Role: geo.RoleLeader, GridCode: grid, Name: "李四", Phone: "13900000202", From: earlier}, "test", now.Add(time.Minute))
	msg := geo.ErrorMessage(err)
	if geo.ErrorCode(err) != geo.ECONFLICT || strings.Contains(msg, "meanwhile") ||
		!strings.Contains(msg, earlier.Format(time.DateOnly)) || !strings.Contains(msg, now.Format(time.DateOnly)) || !strings.Contains(msg, "张三") {
		t.Errorf("back-dated appointment: got %v, want a conflict naming %s, 张三 and %s", err, earlier.Format(time.DateOnly), now.Format(time.DateOnly))
	}
}
