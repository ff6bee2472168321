package geo_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"wangge/geo"
)

// recordProblems returns where each problem of an EINVALID error is.
func recordProblems(err error) []string {
	var ge *geo.Error
	if !errors.As(err, &ge) || ge.Code != geo.EINVALID {
		return nil
	}
	var where []string
	for _, p := range ge.Problems {
		where = append(where, p.Where)
	}
	return where
}

// TestCheckEvent_reasons: the steps that end, stop or change a case say
// why; a correction says what; fields go only with their action.
func TestCheckEvent_reasons(t *testing.T) {
	lon, lat := 112.005, 27.005
	for _, c := range []struct {
		name string
		req  geo.EventRequest
		want string // "" for accepted
	}{
		{"reject without a reason", geo.EventRequest{Action: "reject"}, "note"},
		{"reject with blanks", geo.EventRequest{Action: "reject", Note: " \t "}, "note"},
		{"reject with a reason", geo.EventRequest{Action: "reject", Note: "不属于本镇管辖"}, ""},
		{"cancel without a reason", geo.EventRequest{Action: "cancel"}, "note"},
		{"cancel with a reason", geo.EventRequest{Action: "cancel", Note: "来电人撤回"}, ""},
		{"suspend without a reason", geo.EventRequest{Action: "suspend"}, "note"},
		{"suspend with a reason", geo.EventRequest{Action: "suspend", Note: "等待司法鉴定"}, ""},
		{"resume needs no reason", geo.EventRequest{Action: "resume"}, ""},
		{"correct without a reason", geo.EventRequest{Action: "correct", Category: "dispute"}, "note"},
		{"correct with nothing to correct", geo.EventRequest{Action: "correct", Note: "录错了"}, "category"},
		{"correct the category", geo.EventRequest{Action: "correct", Note: "录错了", Category: "dispute"}, ""},
		{"correct the location", geo.EventRequest{Action: "correct", Note: "录错了", Lon: &lon, Lat: &lat}, ""},
		{"correct with lon only", geo.EventRequest{Action: "correct", Note: "录错了", Lon: &lon}, "lon"},
		{"correct with a location and a grid", geo.EventRequest{Action: "correct", Note: "x", Lon: &lon, Lat: &lat, Grid: "431321101201001"}, "grid"},
		{"category without correct", geo.EventRequest{Action: "comment", Category: "dispute"}, "category"},
		{"location without correct", geo.EventRequest{Action: "accept", Lon: &lon, Lat: &lat}, "lon"},
		{"into without merge", geo.EventRequest{Action: "comment", Into: "WG00000001"}, "into"},
		{"merge into", geo.EventRequest{Action: "merge", Into: "WG00000001"}, ""},
	} {
		_, err := geo.CheckEvent(c.req, "调度员")
		where := recordProblems(err)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (len(where) == 0 || where[0] != c.want):
			t.Errorf("%s: got %v (%v), want a problem at %s", c.name, where, err, c.want)
		}
	}
}

// TestDecide_record: what each step puts on the record.
func TestDecide_record(t *testing.T) {
	d := geo.NewDispatcher(geo.DefaultDispatchConfig(), 0)
	snap := oneGridTown(t, present, present, present, true)
	now := dispatchNow
	inc := func(st geo.Status) *geo.Incident {
		return &geo.Incident{Number: "T-1", Status: st, Severity: geo.SevMajor, Category: geo.CatSafety, GridCode: "431321101201001",
			Assignee:   geo.Assignee{Role: geo.RoleLeader, Level: geo.LevelGrid, Name: "网格长", Phone: "13900000000"},
			FirstDueAt: now.Add(-time.Hour), DueAt: now.Add(time.Hour)}
	}
	ev := func(req geo.EventRequest) geo.Event {
		e, err := geo.CheckEvent(req, "调度员")
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	t.Run("verify completes, late by the first due time", func(t *testing.T) {
		// The due time in force (after a reassignment) has not passed;
		// the first one has: late.
		ch, err := d.Decide(snap, inc(geo.StResolved), ev(geo.EventRequest{Action: "verify"}), now)
		if err != nil || !ch.Complete || ch.OnTime {
			t.Errorf("%+v, %v: want completed, late", ch, err)
		}
		suspended := inc(geo.StResolved)
		suspended.SuspendedSeconds = 3600 // the clock stood an hour
		if ch, _ := d.Decide(snap, suspended, ev(geo.EventRequest{Action: "verify"}), now); !ch.Complete || !ch.OnTime {
			t.Errorf("suspended an hour: %+v, want on time", ch)
		}
	})
	t.Run("close is no completion", func(t *testing.T) {
		for _, st := range []geo.Status{geo.StVerified, geo.StRejected} {
			if ch, err := d.Decide(snap, inc(st), ev(geo.EventRequest{Action: "close"}), now); err != nil || ch.Complete {
				t.Errorf("close from %s: %+v, %v", st, ch, err)
			}
		}
	})
	t.Run("reject and cancel keep their reason", func(t *testing.T) {
		for _, a := range []string{"reject", "cancel"} {
			ch, err := d.Decide(snap, inc(geo.StDispatched), ev(geo.EventRequest{Action: a, Note: " 不归本镇 "}), now)
			if err != nil || ch.OutcomeReason != "不归本镇" || ch.Complete {
				t.Errorf("%s: %+v, %v", a, ch, err)
			}
		}
	})
	t.Run("resume goes back, moving the due time", func(t *testing.T) {
		s := inc(geo.StSuspended)
		s.SuspendedAt = now.Add(-5 * time.Hour)
		s.Events = []geo.IncidentEvent{{Action: geo.ActAccept, From: geo.StDispatched, To: geo.StAccepted},
			{Action: geo.ActStart, From: geo.StAccepted, To: geo.StInProgress},
			{Action: geo.ActSuspend, From: geo.StInProgress, To: geo.StSuspended}}
		ch, err := d.Decide(snap, s, ev(geo.EventRequest{Action: "resume"}), now)
		if err != nil || ch.To != geo.StInProgress || ch.Resumed != 5*time.Hour || !ch.DueAt.IsZero() {
			t.Errorf("%+v, %v: want in_progress, 5h", ch, err)
		}
	})
	t.Run("escalation before the due time does not claim it was overdue", func(t *testing.T) {
		ch, err := d.Decide(snap, inc(geo.StAccepted), ev(geo.EventRequest{Action: "escalate"}), now)
		if err != nil || !ch.Escalated || strings.Contains(ch.Note, "overdue") || !strings.Contains(ch.Note, "before its due time") {
			t.Errorf("%+v, %v", ch, err)
		}
		late := inc(geo.StAccepted)
		late.DueAt = now.Add(-time.Minute)
		ch, _ = d.Decide(snap, late, ev(geo.EventRequest{Action: "escalate"}), now)
		if want := "overdue since " + late.DueAt.Format(time.RFC3339); !strings.HasPrefix(ch.Note, want) {
			t.Errorf("note %q, want %q…", ch.Note, want)
		}
	})
	t.Run("a named assignee gets the role they hold", func(t *testing.T) {
		// oneGridTown gives everyone the same phone; a town of its own
		// tells them apart.
		td := &geo.TownData{Town: geo.Town{Code: "431321101", Name: "测试镇", Outline: square(112, 27, 112.01, 27.01),
			DutyDesk: &geo.Contact{Name: "镇值班室", Phone: "0738-6812345"}},
			Villages: []geo.Village{{Code: "431321101201", Name: "一村", Outline: square(112, 27, 112.01, 27.01),
				LiaisonLeader: &geo.Contact{Name: "联村组长", Phone: "13900000100"}}},
			Grids: []geo.GridRecord{{Grid: geo.Grid{Code: "431321101201001", Name: "网格1", VillageCode: "431321101201",
				Geometry: square(112, 27, 112.01, 27.01)},
				Leader: &geo.Contact{Name: "网格长", Phone: "13900000001"}, Deputy: &geo.Contact{Name: "副网格长", Phone: "13800000001"}}}}
		s, err := geo.NewSnapshot(1, td.Area(), now)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name, phone string
			role        geo.Role
			level       geo.Level
		}{
			{"副网格长", "13800000001", geo.RoleDeputy, geo.LevelGrid},
			{"联村组长", "13900000100", geo.RoleLiaisonLeader, geo.LevelVillage},
			{"张三", "13911112222", geo.RoleDesignee, geo.LevelGrid},
		} {
			ch, err := d.Decide(s, inc(geo.StAccepted), ev(geo.EventRequest{Action: "reassign", Assignee: &geo.ContactJSON{Name: c.name, Phone: c.phone}}), now)
			if err != nil || ch.Assignee.Role != c.role || ch.Assignee.Level != c.level {
				t.Errorf("%s: %+v, %v; want %s at %d", c.name, ch.Assignee, err, c.role, c.level)
			}
		}
	})
	t.Run("correct the category: co-notified again, same assignee", func(t *testing.T) {
		ch, err := d.Decide(snap, inc(geo.StAccepted), ev(geo.EventRequest{Action: "correct", Note: "录错", Category: "environment"}), now)
		if err != nil || ch.Correction == nil || ch.Correction.Category != geo.CatEnvironment || ch.Assignee != nil || ch.To != geo.StAccepted ||
			len(ch.Correction.CoNotified) != 1 || ch.Correction.CoNotified[0].Name != "一村爱卫会" || !strings.Contains(ch.Note, "safety → environment") {
			t.Errorf("%+v, %v", ch, err)
		}
		if _, err := d.Decide(snap, inc(geo.StAccepted), ev(geo.EventRequest{Action: "correct", Note: "录错", Category: "noise"}), now); !slicesEqual(recordProblems(err), []string{"category"}) {
			t.Errorf("unknown category: %v", err)
		}
	})
	t.Run("correct the location out of coverage: the duty desk", func(t *testing.T) {
		lon, lat := 113.0, 28.0
		ch, err := d.Decide(snap, inc(geo.StAccepted), ev(geo.EventRequest{Action: "correct", Note: "地址错", Lon: &lon, Lat: &lat}), now)
		if err != nil || ch.Correction.GridCode != "" || ch.Correction.Match != "outside" || ch.Assignee == nil ||
			ch.Assignee.Role != geo.RoleDutyDesk || ch.To != geo.StDispatched || ch.DueAt.IsZero() {
			t.Errorf("%+v, %v", ch, err)
		}
	})
	t.Run("correct a suspended incident: new assignee, still suspended, clock still stopped", func(t *testing.T) {
		lon, lat := 113.0, 28.0
		s := inc(geo.StSuspended)
		s.SuspendedAt = now.Add(-time.Hour)
		ch, err := d.Decide(snap, s, ev(geo.EventRequest{Action: "correct", Note: "地址错", Lon: &lon, Lat: &lat}), now)
		if err != nil || ch.Assignee == nil || ch.Assignee.Role != geo.RoleDutyDesk || ch.To != geo.StSuspended || !ch.DueAt.IsZero() {
			t.Errorf("%+v, %v", ch, err)
		}
	})
	t.Run("correct a resolved incident: the record changes, not who resolved it", func(t *testing.T) {
		lon, lat := 113.0, 28.0
		ch, err := d.Decide(snap, inc(geo.StResolved), ev(geo.EventRequest{Action: "correct", Note: "地址错", Lon: &lon, Lat: &lat}), now)
		if err != nil || ch.Assignee != nil || ch.To != geo.StResolved || ch.Correction.Match != "outside" {
			t.Errorf("%+v, %v", ch, err)
		}
	})
	t.Run("merge needs a target", func(t *testing.T) {
		if _, err := d.Decide(snap, inc(geo.StDispatched), ev(geo.EventRequest{Action: "merge"}), now); !slicesEqual(recordProblems(err), []string{"into"}) {
			t.Errorf("no flag, no into: %v", err)
		}
		flagged := inc(geo.StDispatched)
		flagged.PossibleDuplicateOf = "WG00000007"
		if ch, err := d.Decide(snap, flagged, ev(geo.EventRequest{Action: "merge"}), now); err != nil || ch.MergeInto != "WG00000007" || ch.To != geo.StMerged {
			t.Errorf("flagged: %+v, %v", ch, err)
		}
	})
}

// TestIncident_overdueFor: the time past deadlines is the ended ones' sum
// plus the one in force, stopped by a suspension.
func TestIncident_overdueFor(t *testing.T) {
	now := dispatchNow
	inc := &geo.Incident{Status: geo.StAccepted, DueAt: now.Add(-time.Hour), OverdueSeconds: 600}
	if got := inc.OverdueFor(now); got != time.Hour+10*time.Minute {
		t.Errorf("open: %v", got)
	}
	inc.Status, inc.SuspendedAt = geo.StSuspended, now.Add(-30*time.Minute)
	if got := inc.OverdueFor(now); got != 40*time.Minute {
		t.Errorf("suspended: %v", got)
	}
	inc.Status, inc.SuspendedAt = geo.StVerified, time.Time{}
	if got := inc.OverdueFor(now); got != 10*time.Minute {
		t.Errorf("completed: %v", got)
	}
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }
