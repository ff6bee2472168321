package pgstore_test

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wangge/migrations"
)

// TestMigration_0013backfill applies the migrations before 0013 to an
// empty database, writes incidents as the service wrote them then — one
// escalated twice and verified, one closed after a reject without a
// reason, one open — and checks what 0013 makes of them: the first due
// time no later than the first escalation, both escalations counted, only
// the verified one completed (and late), the deadlines, and the level of
// each old event from the assignee it left.
func TestMigration_0013backfill(t *testing.T) {
	ctx := context.Background()
	conn, _ := migrationDB(t, "m13")
	applyMigrations(t, conn, func(f string) bool { return f < "0013" })
	files, _ := fs.Glob(migrations.FS, "0013_*.sql")
	m13 := files[0]

	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	h := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }
	insert := func(status string, level int, due time.Time, closed *time.Time) int64 {
		var id int64
		if err := conn.QueryRow(ctx, `INSERT INTO incidents (category, severity, source, status, description, match, level,
			assignee_role, assignee_name, reported_at, received_at, due_at, closed_at, created_by)
			VALUES ('dispute', 'urgent', 'walk_in', $1, '吵架', 'outside', $2, 'duty_desk', '值班室', $3, $3, $4, $5, 'd') RETURNING id`,
			status, level, t0, due, closed).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	event := func(id int64, at time.Time, action, from, to, note, role string) {
		var r *string
		if role != "" {
			r = &role
		}
		if _, err := conn.Exec(ctx, `INSERT INTO incident_events (incident_id, at, actor, action, from_status, to_status, note, assignee_role)
			VALUES ($1, $2, 'd', $3, nullif($4, ''), $5, $6, $7)`, id, at, action, from, to, note, r); err != nil {
			t.Fatal(err)
		}
	}
	// Escalated at hours 3 and 6 (each escalation overwrote due_at),
	// verified at hour 8, closed at 9.
	closedAt := func(n float64) *time.Time { t := h(n); return &t }
	esc := insert("closed", 2, h(10), closedAt(9))
	event(esc, h(0), "receive", "", "received", "", "")
	event(esc, h(0), "dispatch", "received", "dispatched", "", "leader")
	event(esc, h(3), "escalate", "dispatched", "dispatched", "", "liaison_leader")
	event(esc, h(6), "escalate", "dispatched", "dispatched", "", "duty_desk")
	event(esc, h(7), "accept", "dispatched", "accepted", "", "")
	event(esc, h(7.5), "resolve", "accepted", "resolved", "", "")
	event(esc, h(8), "verify", "resolved", "verified", "", "")
	event(esc, h(9), "close", "verified", "closed", "", "")
	// Rejected without a reason, then closed: the gaming sequence.
	gamed := insert("closed", 0, h(2), closedAt(1))
	event(gamed, h(0), "receive", "", "received", "", "")
	event(gamed, h(0.5), "reject", "dispatched", "rejected", "", "")
	event(gamed, h(1), "close", "rejected", "closed", "", "")
	open := insert("dispatched", 0, h(2), nil)
	event(open, h(0), "receive", "", "received", "", "")

	sql, _ := fs.ReadFile(migrations.FS, m13)
	if _, err := conn.Exec(ctx, string(sql)); err != nil {
		t.Fatalf("%s: %v", m13, err)
	}

	type row struct {
		firstDue              time.Time
		escalations, maxLevel int
		completed             *time.Time
		onTime                *bool
		overdue               int64
	}
	get := func(id int64) row {
		var r row
		if err := conn.QueryRow(ctx, `SELECT first_due_at, escalation_count, max_level, completed_at, on_time, overdue_seconds
			FROM incidents WHERE id = $1`, id).Scan(&r.firstDue, &r.escalations, &r.maxLevel, &r.completed, &r.onTime, &r.overdue); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := get(esc); !r.firstDue.Equal(h(3)) || r.escalations != 2 || r.maxLevel != 2 || r.completed == nil || !r.completed.Equal(h(8)) ||
		r.onTime == nil || *r.onTime || r.overdue != 0 {
		t.Errorf("escalated twice: %+v (completed %v, on time %v)", r, r.completed, r.onTime)
	}
	if r := get(gamed); r.completed != nil || r.onTime != nil || r.escalations != 0 {
		t.Errorf("closed after a reject: %+v, want not completed", r)
	}
	if r := get(open); !r.firstDue.Equal(h(2)) || r.completed != nil || r.onTime != nil {
		t.Errorf("open: %+v", r)
	}

	var deadlines []string
	rows, _ := conn.Query(ctx, `SELECT incident_id, seq, level, due_at, missed_at IS NOT NULL, ended_at IS NOT NULL
		FROM incident_deadlines ORDER BY incident_id, seq`)
	var id int64
	var seq, level int
	var due time.Time
	var missed, ended bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &seq, &level, &due, &missed, &ended}, func() error {
		deadlines = append(deadlines, fmt.Sprintf("%d/%d L%d due+%gh missed=%v ended=%v", id, seq, level, due.Sub(t0).Hours(), missed, ended))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("%d/1 L0 due+3h missed=true ended=true", esc),
		fmt.Sprintf("%d/2 L2 due+10h missed=false ended=true", esc),
		fmt.Sprintf("%d/1 L0 due+2h missed=false ended=true", gamed),
		fmt.Sprintf("%d/1 L0 due+2h missed=false ended=false", open),
	}
	if strings.Join(deadlines, "\n") != strings.Join(want, "\n") {
		t.Errorf("deadlines\n%s\nwant\n%s", strings.Join(deadlines, "\n"), strings.Join(want, "\n"))
	}

	rows, _ = conn.Query(ctx, `SELECT level FROM incident_events WHERE incident_id = $1 ORDER BY id`, esc)
	levels, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(levels) != "[0 0 1 2 2 2 2 2]" {
		t.Errorf("event levels %v, want [0 0 1 2 2 2 2 2]", levels)
	}
}
