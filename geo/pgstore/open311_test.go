package pgstore_test

import (
	"context"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/open311"
	"wangge/geo/pgstore/pgtest"
)

// TestOpen311Store: extras saved under a key belong to the incident later
// created with that actor, key and body hash, and to no other; a retry
// keeps the first token, and replaces the extras only while no incident
// has the key; a token whose incident was never created answers "", one
// never issued ENOTFOUND.
func TestOpen311Store(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	hashA, hashB := []byte("hash-a-0123456789012345678901234"), []byte("hash-b-0123456789012345678901234")
	tokA, tokB := open311.NewToken(), open311.NewToken()

	got, err := db.SaveOpen311Request(ctx, tokA, "app", "k1", hashA, open311.Extras{Address: "一村"}, at)
	if err != nil || got != tokA {
		t.Fatalf("save: %q, %v; want %q", got, err, tokA)
	}
	if n, err := db.Open311Token(ctx, tokA); err != nil || n != "" {
		t.Errorf("token before its incident: %q, %v; want \"\"", n, err)
	}
	// A retry with another body before any incident: the first token, the
	// new extras.
	if got, err = db.SaveOpen311Request(ctx, tokB, "app", "k1", hashB, open311.Extras{Address: "二村"}, at); err != nil || got != tokA {
		t.Fatalf("retry: %q, %v; want the first token %q", got, err, tokA)
	}
	inc := &geo.Incident{Category: geo.CatSafety, Severity: geo.SevMinor, Source: geo.SourceOpen311, Status: geo.StReceived,
		Description: "桥", Location: &[2]float64{112, 27}, InputCRS: "wgs84", InputPoint: &[2]float64{112, 27}, Match: "outside",
		ReportedAt: at, ReceivedAt: at, DueAt: at.Add(72 * time.Hour), CreatedBy: "app"}
	out, _, err := db.CreateIncident(ctx, inc, "k1", hashB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := db.Open311Token(ctx, tokA); err != nil || n != out.Number {
		t.Errorf("token after its incident: %q, %v; want %s", n, err, out.Number)
	}
	// Once the incident exists, another body under the key changes nothing.
	if _, err := db.SaveOpen311Request(ctx, tokB, "app", "k1", hashA, open311.Extras{Address: "三村"}, at); err != nil {
		t.Fatal(err)
	}
	// Another actor's key of the same name is another request.
	if got, err := db.SaveOpen311Request(ctx, tokB, "other-app", "k1", hashB, open311.Extras{Address: "四村"}, at); err != nil || got != tokB {
		t.Errorf("another actor: %q, %v", got, err)
	}
	ex, err := db.Open311Extras(ctx, []string{out.Number, "WG99999999"})
	if err != nil || len(ex) != 1 || ex[out.Number].Address != "二村" {
		t.Errorf("extras %+v, %v; want the incident's only, address 二村", ex, err)
	}
	// An incident created under another body hash has no extras.
	inc2 := *inc
	inc2.Events = nil
	out2, _, err := db.CreateIncident(ctx, &inc2, "k2", hashA, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveOpen311Request(ctx, open311.NewToken(), "app", "k2", hashB, open311.Extras{Address: "五村"}, at); err != nil {
		t.Fatal(err)
	}
	if ex, err := db.Open311Extras(ctx, []string{out2.Number}); err != nil || len(ex) != 0 {
		t.Errorf("extras of another body: %+v, %v; want none", ex, err)
	}
	if _, err := db.Open311Token(ctx, open311.NewToken()); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("unknown token: %v, want ENOTFOUND", err)
	}
}
