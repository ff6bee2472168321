package pgstore_test

import (
	"context"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
	"wangge/geo/workcal"
)

// TestServiceItems_seeded checks what migration 0014 ships: today's
// categories as service items, each with one limit, incidents.category
// referencing them, and the 2026 holiday calendar counting across the
// Spring Festival as the State Council's notice says.
func TestServiceItems_seeded(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	cat, err := geo.LoadCatalogue(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range geo.Categories {
		it, ok := cat.Item(code)
		if !ok || !it.Active || it.NameZh == "" || (it.LimitWorkdays > 0) == (it.LimitHours > 0) {
			t.Errorf("%s: %+v %v, want an active item with one limit", code, it, ok)
		}
	}
	if got := cat.Active(); len(got) != len(geo.Categories) {
		t.Errorf("active %v, want %v", got, geo.Categories)
	}
	var fk string
	if err := db.Pool.QueryRow(ctx, `SELECT conname FROM pg_constraint
		WHERE conrelid = 'incidents'::regclass AND confrelid = 'service_items'::regclass`).Scan(&fk); err != nil || fk != "incidents_category_fkey" {
		t.Errorf("incidents.category references service_items: %q %v", fk, err)
	}

	// The notice: 2月15日至23日放假, 2月14日(周六)、2月28日(周六)上班.
	c := cat.Calendar
	if !c.Covers(2026) || c.Covers(2027) || len(c.Days()) != 33+6 {
		t.Errorf("calendar covers %v with %d days, want 2026 only with 39", c.Years(), len(c.Days()))
	}
	for s, want := range map[string]bool{"2026-02-13": true, "2026-02-14": true, "2026-02-15": false, "2026-02-23": false,
		"2026-02-24": true, "2026-02-28": true, "2026-03-01": false, "2026-01-04": true, "2026-10-08": true, "2026-10-07": false} {
		d, _ := workcal.ParseDate(s)
		if c.IsWorkday(d) != want {
			t.Errorf("%s: working day %v, want %v", s, !want, want)
		}
	}
	// A dispute (10 working days) received on Friday 13 February: 14th,
	// 24th-28th, 2nd-5th March.
	dispute, _ := cat.Item(geo.CatDispute)
	received := time.Date(2026, 2, 13, 10, 0, 0, 0, workcal.Zone)
	if got, want := dispute.Due(c, received), (workcal.Date{Year: 2026, Month: 3, Day: 5}).End(); dispute.LimitWorkdays != 10 || !got.Equal(want) {
		t.Errorf("dispute (%d working days) received %v: due %v, want %v", dispute.LimitWorkdays, received, got, want)
	}
}

// TestServiceItems_writes checks the store's error codes, idempotent
// creation, the one-limit rule held by the database itself, the calendar's
// writes, and that every write announces itself on NOTIFY.
func TestServiceItems_writes(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

	listenCtx, stop := context.WithCancel(ctx)
	payloads := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.Listen(listenCtx, func(p string) { payloads <- p })
	}()
	defer func() { stop(); <-done }()
	if p := <-payloads; p != "" {
		t.Fatalf("first payload %q, want the empty one of a (re)connect", p)
	}
	announced := func(what string) {
		t.Helper()
		select {
		case p := <-payloads:
			if p != pgstore.LimitsChanged {
				t.Errorf("%s: NOTIFY %q, want %q", what, p, pgstore.LimitsChanged)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: no NOTIFY", what)
		}
	}

	noise := geo.ServiceItem{Code: "noise", NameZh: "噪声扰民", LimitWorkdays: 2, Active: true}
	got, fresh, err := db.CreateServiceItem(ctx, noise, "admin-1", "k1", []byte("h1"), at)
	if err != nil || !fresh || got.Code != "noise" || got.LimitWorkdays != 2 || got.LimitHours != 0 || !got.CreatedAt.Equal(at) {
		t.Fatalf("create: %+v fresh=%v %v", got, fresh, err)
	}
	announced("create")
	if again, fresh, err := db.CreateServiceItem(ctx, noise, "admin-1", "k1", []byte("h1"), at.Add(time.Minute)); err != nil || fresh || again != got {
		t.Errorf("retry with the key: %+v fresh=%v %v, want the first, not fresh", again, fresh, err)
	}
	if _, _, err := db.CreateServiceItem(ctx, noise, "admin-1", "k1", []byte("h2"), at); geo.ErrorCode(err) != geo.EMISMATCH {
		t.Errorf("the key with another body: %v, want EMISMATCH", err)
	}
	if _, _, err := db.CreateServiceItem(ctx, noise, "admin-1", "", nil, at); geo.ErrorCode(err) != geo.ECONFLICT {
		t.Errorf("the code again: %v, want ECONFLICT", err)
	}
	both := geo.ServiceItem{Code: "both", NameZh: "两个时限", LimitWorkdays: 2, LimitHours: 4, Active: true}
	if _, _, err := db.CreateServiceItem(ctx, both, "admin-1", "", nil, at); err == nil {
		t.Error("an item with two limits was stored: the database must refuse it")
	}

	if _, err := db.UpdateServiceItem(ctx, "nothing", "admin-1", at, func(it geo.ServiceItem) (geo.ServiceItem, error) { return it, nil }); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("update of an unknown code: %v, want ENOTFOUND", err)
	}
	if _, err := db.UpdateServiceItem(ctx, "noise", "admin-1", at, func(it geo.ServiceItem) (geo.ServiceItem, error) {
		it.NameZh = "变了"
		return it, geo.Invalidf("x", "refused")
	}); geo.ErrorCode(err) != geo.EINVALID {
		t.Errorf("a refused change: %v, want its EINVALID", err)
	}
	later := at.Add(time.Hour)
	upd, err := db.UpdateServiceItem(ctx, "noise", "admin-1", later, func(it geo.ServiceItem) (geo.ServiceItem, error) {
		return geo.ServiceItemPatch{LimitHours: ptrInt(12), Active: ptrBool(false)}.Apply(it)
	})
	if err != nil || upd.NameZh != "噪声扰民" || upd.LimitHours != 12 || upd.LimitWorkdays != 0 || upd.Active || !upd.UpdatedAt.Equal(later) || !upd.CreatedAt.Equal(at) {
		t.Errorf("update: %+v %v", upd, err)
	}
	announced("update")

	day := workcal.Day{Date: workcal.Date{Year: 2027, Month: 2, Day: 8}, Kind: workcal.Holiday, Name: "春节"}
	if created, err := db.PutCalendarDay(ctx, day, "admin-1", at); err != nil || !created {
		t.Errorf("put a new day: created=%v %v", created, err)
	}
	announced("put")
	day.Name = "春节假期"
	if created, err := db.PutCalendarDay(ctx, day, "admin-1", at); err != nil || created {
		t.Errorf("put it again: created=%v %v, want a replacement", created, err)
	}
	announced("put again")
	cat, err := geo.LoadCatalogue(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := cat.Calendar.Day(day.Date); !ok || d != day || !cat.Calendar.Covers(2027) {
		t.Errorf("the calendar holds %+v %v, want %+v", d, ok, day)
	}
	if err := db.DeleteCalendarDay(ctx, day.Date, "admin-1", at); err != nil {
		t.Errorf("delete: %v", err)
	}
	announced("delete")
	if err := db.DeleteCalendarDay(ctx, day.Date, "admin-1", at); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("delete a day not listed: %v, want ENOTFOUND", err)
	}
	var audits int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE target IN ('service_item:noise', 'calendar:2027-02-08')`).Scan(&audits); err != nil || audits != 5 {
		t.Errorf("%d audit entries (%v), want 5: create, update, two puts, delete", audits, err)
	}
}

func ptrInt(v int) *int    { return &v }
func ptrBool(v bool) *bool { return &v }
