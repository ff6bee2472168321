package geo_test

import (
	"math"
	"testing"

	"wangge/geo"
)

// TestCheckPhotoLocation: where a photo was taken, relative to the
// incident's grid, a 1 km square at (112, 27) (about 992 m east–west and
// 1,107 m north–south):
//
//	       +-----------+
//	       |     c     |        c: centre            → inside
//	  w ·  |           e        e: on the east edge  → inside
//	(150 m)|           |  · o   o: 150 m east        → near
//	       +-----------+      · f: 500 m east        → outside
func TestCheckPhotoLocation(t *testing.T) {
	snap := oneGridTown(t, present, present, present, true)
	inc := &geo.Incident{GridCode: "431321101201001", Location: &[2]float64{112.005, 27.005}}
	// A degree of longitude at 27° N is about 99,200 m.
	east := func(m float64) [2]float64 { return [2]float64{112.01 + m/99_200, 27.005} }
	for _, c := range []struct {
		name  string
		inc   *geo.Incident
		p     [2]float64
		want  geo.PhotoCheck
		distM float64
	}{
		{"centre", inc, [2]float64{112.005, 27.005}, geo.PhotoInside, 0},
		{"on the east edge", inc, [2]float64{112.01, 27.005}, geo.PhotoInside, 0},
		{"on a corner", inc, [2]float64{112, 27}, geo.PhotoInside, 0},
		{"150 m east", inc, east(150), geo.PhotoNear, 150},
		{"199 m east", inc, east(199), geo.PhotoNear, 199},
		{"500 m east", inc, east(500), geo.PhotoOutside, 500},
		{"west of the west edge", inc, [2]float64{112 - 150.0/99_200, 27.005}, geo.PhotoNear, 150},
		{"grid not in this generation, 100 m from the point", &geo.Incident{GridCode: "431321101201999", Location: &[2]float64{112.005, 27.005}},
			[2]float64{112.005 + 100.0/99_200, 27.005}, geo.PhotoNear, 100},
		{"outside coverage, 1 km from the point", &geo.Incident{Location: &[2]float64{113, 27}}, [2]float64{113 + 1000.0/99_200, 27}, geo.PhotoOutside, 1000},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, d := snap.CheckPhotoLocation(c.inc, c.p, 200)
			if got != c.want || math.Abs(d-c.distM) > 2 {
				t.Errorf("%s at %.0f m, want %s at %.0f m", got, d, c.want, c.distM)
			}
		})
	}
}
