package geo

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo/spheroid"
)

// Photo is a picture attached to an incident as proof of work (the rubbish
// cleared, the wall mended), stored without its metadata. Where the camera
// said it was taken is kept as a checked point: inside the incident's grid,
// near it, or not.
type Photo struct {
	ID             int64
	IncidentNumber string
	// SHA256 is the checksum of Data, the stored bytes.
	SHA256      [32]byte
	Bytes       int
	ContentType string // image/jpeg or image/png
	Width       int
	Height      int
	// Location is the EXIF position, [lon, lat] WGS-84; nil when the
	// photo had none.
	Location *[2]float64
	Check    PhotoCheck
	// DistanceM is how far Location is from the incident's grid (or from
	// the incident's point when the grid is not in the current
	// generation); 0 when inside, unset (NaN) without a location.
	DistanceM  float64
	UploadedBy string
	UploadedAt time.Time
	// Data is the image; only Photo (one photo) fills it.
	Data []byte
}

// PhotoCheck says where a photo was taken relative to its incident.
type PhotoCheck string

// Photo checks.
const (
	PhotoInside  PhotoCheck = "inside"  // in the incident's grid (edges count)
	PhotoNear    PhotoCheck = "near"    // outside it, within the tolerance (200 m)
	PhotoOutside PhotoCheck = "outside" // farther
	PhotoNoPlace PhotoCheck = "none"    // the photo carried no position
)

// Default limits of a photo upload: 5 MiB, 40 megapixels.
const (
	DefaultMaxPhotoBytes  = 5 << 20
	DefaultMaxPhotoPixels = 40_000_000
)

// PhotoStore keeps incidents' photos. Every method returns EUNAVAILABLE
// when the database cannot be reached.
type PhotoStore interface {
	// AddPhoto stores p for its incident (p.IncidentNumber). A photo with
	// the same checksum already attached to that incident is not stored
	// again: AddPhoto returns it with fresh=false, so a retried upload
	// is harmless. ENOTFOUND if the incident does not exist.
	AddPhoto(ctx context.Context, p *Photo) (out *Photo, fresh bool, err error)
	// Photo returns photo id of incident number with its bytes;
	// ENOTFOUND if either does not exist or the photo is another
	// incident's.
	Photo(ctx context.Context, number string, id int64) (*Photo, error)
	// Photos lists an incident's photos, oldest first, without their
	// bytes; ENOTFOUND if the incident does not exist.
	Photos(ctx context.Context, number string) ([]Photo, error)
}

// CheckPhotoLocation says where p (lon, lat, WGS-84) is relative to inc:
// inside its grid as this snapshot has it (edges count as inside, as
// ST_Covers has it), near (within toleranceM metres of the grid's
// boundary), or outside, with the distance in metres on the spheroid. When
// this generation has no grid of that code (outside coverage, or a grid
// since retired) the distance is to the incident's own point: near within
// the tolerance, else outside.
func (s *Snapshot) CheckPhotoLocation(inc *Incident, p [2]float64, toleranceM float64) (PhotoCheck, float64) {
	if toleranceM <= 0 {
		toleranceM = DefaultToleranceM
	}
	pt := orb.Point(p)
	d := math.Inf(1)
	if i, ok := s.gridAt[inc.GridCode]; ok && inc.GridCode != "" {
		if slices.Contains(s.index.Covering(pt), int32(i)) {
			return PhotoInside, 0
		}
		d = distanceToBoundary(s.Grids[i].Geometry, pt)
	} else if inc.Location != nil {
		d = spheroid.PointSegmentDistance(pt, orb.Point(*inc.Location), orb.Point(*inc.Location))
	}
	if d <= toleranceM {
		return PhotoNear, d
	}
	return PhotoOutside, d
}

// distanceToBoundary is the distance in metres from p to the nearest edge
// of mp.
func distanceToBoundary(mp orb.MultiPolygon, p orb.Point) float64 {
	d := math.Inf(1)
	for _, poly := range mp {
		for _, ring := range poly {
			for i := 0; i+1 < len(ring); i++ {
				d = min(d, spheroid.PointSegmentDistance(p, ring[i], ring[i+1]))
			}
			if n := len(ring); n > 1 && ring[0] != ring[n-1] {
				d = min(d, spheroid.PointSegmentDistance(p, ring[n-1], ring[0]))
			}
		}
	}
	return d
}
