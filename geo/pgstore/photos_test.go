package pgstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"math"
	"testing"
	"time"

	"wangge/geo"
	"wangge/geo/pgstore"
	"wangge/geo/pgstore/pgtest"
)

// photoIncident stores an incident outside coverage (no grid needed) and
// returns its number.
func photoIncident(t *testing.T, db *pgstore.DB) string {
	t.Helper()
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	inc := &geo.Incident{Category: geo.CatEnvironment, Severity: geo.SevMinor, Source: "patrol", Status: geo.StReceived,
		Description: "垃圾", Location: &[2]float64{112, 27}, InputCRS: "wgs84", InputPoint: &[2]float64{112, 27}, Match: "outside",
		ReportedAt: at, ReceivedAt: at, DueAt: at.Add(72 * time.Hour), CreatedBy: "test"}
	out, _, err := db.CreateIncident(context.Background(), inc, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out.Number
}

func testPhoto(number string, data []byte, loc *[2]float64) *geo.Photo {
	p := &geo.Photo{IncidentNumber: number, ContentType: "image/jpeg", Width: 4, Height: 3, Data: data, Check: geo.PhotoNoPlace,
		DistanceM: math.NaN(), UploadedBy: "网格长1", UploadedAt: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	if loc != nil {
		p.Location, p.Check, p.DistanceM = loc, geo.PhotoNear, 120.5
	}
	p.SHA256 = sha256.Sum256(data)
	p.Bytes = len(data)
	return p
}

// TestPhotoStore: a photo is stored once per incident (the same bytes
// again return the first), read back with its bytes and position, listed
// without them; a checksum that is not the data's is refused by the
// database; an unknown incident is ENOTFOUND.
func TestPhotoStore(t *testing.T) {
	db := pgtest.MustOpenDB(t)
	ctx := context.Background()
	number := photoIncident(t, db)

	first, fresh, err := db.AddPhoto(ctx, testPhoto(number, []byte("jpeg bytes 1"), &[2]float64{112.001, 27.002}))
	if err != nil || !fresh {
		t.Fatalf("first photo: %v fresh=%v", err, fresh)
	}
	again, fresh, err := db.AddPhoto(ctx, testPhoto(number, []byte("jpeg bytes 1"), nil))
	if err != nil || fresh || again.ID != first.ID {
		t.Fatalf("the same bytes again: %+v fresh=%v %v, want photo %d", again, fresh, err, first.ID)
	}
	if _, _, err := db.AddPhoto(ctx, testPhoto(number, []byte("jpeg bytes 2"), nil)); err != nil {
		t.Fatal(err)
	}

	got, err := db.Photo(ctx, number, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Data, []byte("jpeg bytes 1")) || got.SHA256 != sha256.Sum256(got.Data) || got.Check != geo.PhotoNear ||
		got.Location == nil || *got.Location != [2]float64{112.001, 27.002} || got.DistanceM != 120.5 || got.UploadedBy != "网格长1" {
		t.Errorf("read back %+v", got)
	}
	list, err := db.Photos(ctx, number)
	if err != nil || len(list) != 2 || list[0].Data != nil || list[1].Location != nil || !math.IsNaN(list[1].DistanceM) {
		t.Errorf("list: %v %+v", err, list)
	}

	bad := testPhoto(number, []byte("jpeg bytes 3"), nil)
	bad.SHA256[0] ^= 1
	if _, _, err := db.AddPhoto(ctx, bad); err == nil {
		t.Errorf("a photo whose checksum is not its data's was stored")
	}
	if _, _, err := db.AddPhoto(ctx, testPhoto("WG99999999", []byte("x"), nil)); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("a photo for no incident: %v", err)
	}
	if _, err := db.Photo(ctx, number, 9999); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("no such photo: %v", err)
	}
	if _, err := db.Photos(ctx, "WG99999999"); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("photos of no incident: %v", err)
	}
}
