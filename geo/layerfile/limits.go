package layerfile

import (
	"errors"
	"fmt"

	"wangge/geo"
)

// Limits bound what reading one file may cost, so that a small hostile
// upload (a zip bomb, a header that claims millions of records, a KML of
// nothing but empty elements) fails fast with a clear error instead of
// exhausting memory or CPU. Every count a file's header claims is checked
// against these limits and against the bytes actually present before
// anything is allocated for it. A zero field takes its default, which is
// sized for a county's grid layer; a negative field is no limit.
type Limits struct {
	// MaxBytes bounds the file as given and, for a zip (KMZ, zipped
	// Shapefile), each member decompressed and all members together.
	// Default 256 MiB.
	MaxBytes int64
	// MaxRatio bounds how much a zip member may expand: its uncompressed
	// size over its compressed size, for members over 1 MiB
	// uncompressed. Real layers expand 2 to 20 times (a .dbf of blank
	// wide columns up to about 100); zip bombs 1000. Default 200.
	MaxRatio int64
	// MaxFeatures bounds the features of a layer: Shapefile records (as
	// the .dbf header claims them, and as the .shp holds them), KML
	// Placemarks, GeoJSON features. Default 100,000.
	MaxFeatures int
	// MaxFields bounds the attribute columns of a .dbf. Default 255, the
	// dBase limit.
	MaxFields int
	// MaxCells bounds the attribute values of a Shapefile: records times
	// fields, as the .dbf header claims them. Default 2,000,000.
	MaxCells int64
	// MaxVertices bounds the positions of all the features of a KML
	// layer together. Default 10,000,000.
	MaxVertices int
	// MaxXMLElements bounds the elements of a KML document, whatever
	// they are. Default 1,000,000 (a county of 5,000 grids has about
	// 100,000).
	MaxXMLElements int
	// MaxXMLDepth bounds the nesting of elements in a KML document.
	// Default 64.
	MaxXMLDepth int
	// MaxXMLText bounds one token of a KML document: a run of text (the
	// coordinates of one ring), a comment, a tag with its attributes.
	// The XML decoder holds a token whole, so this bounds its memory.
	// Default 16 MiB, a ring of some 400,000 positions.
	MaxXMLText int64
}

// DefaultLimits are the limits a zero Limits field takes.
var DefaultLimits = Limits{
	MaxBytes:       256 << 20,
	MaxRatio:       200,
	MaxFeatures:    100_000,
	MaxFields:      255,
	MaxCells:       2_000_000,
	MaxVertices:    10_000_000,
	MaxXMLElements: 1_000_000,
	MaxXMLDepth:    64,
	MaxXMLText:     16 << 20,
}

// ratioFloor is the uncompressed size below which a zip member's ratio is
// not checked: small members of blank text expand a lot and cost little.
const ratioFloor = 1 << 20

// resolved returns l with zero fields set to their defaults and negative
// fields set to "no limit".
func (l Limits) resolved() Limits {
	d := DefaultLimits
	i64 := func(v *int64, def int64) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = 1<<63 - 1
		}
	}
	i := func(v *int, def int) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = int(^uint(0) >> 1)
		}
	}
	i64(&l.MaxBytes, d.MaxBytes)
	i64(&l.MaxRatio, d.MaxRatio)
	i(&l.MaxFeatures, d.MaxFeatures)
	i(&l.MaxFields, d.MaxFields)
	i64(&l.MaxCells, d.MaxCells)
	i(&l.MaxVertices, d.MaxVertices)
	i(&l.MaxXMLElements, d.MaxXMLElements)
	i(&l.MaxXMLDepth, d.MaxXMLDepth)
	i64(&l.MaxXMLText, d.MaxXMLText)
	return l
}

// TooLargeError is the error of a file that exceeds one of its Limits. It
// wraps an EINVALID *geo.Error (so geo.ErrorCode and geo.ErrorMessage work
// on it) whose one problem names the file, the limit and the value the
// file has or claims; api answers it 413. IsTooLarge tells it apart.
type TooLargeError struct {
	// Limit is the Limits field that was exceeded: "MaxBytes".
	Limit string
	Err   *geo.Error
}

func (e *TooLargeError) Error() string { return e.Err.Error() }
func (e *TooLargeError) Unwrap() error { return e.Err }

// TooLarge marks the error for IsTooLarge.
func (e *TooLargeError) TooLarge() bool { return true }

// IsTooLarge reports whether err is (or wraps) an error of a file over a
// limit: a *TooLargeError of this package, or any error with a method
// TooLarge() bool that returns true (rosterfile's TooLargeError has one),
// so one test serves every reader.
func IsTooLarge(err error) bool {
	var t interface{ TooLarge() bool }
	return errors.As(err, &t) && t.TooLarge()
}

// tooLarge records that the file exceeds limit; where names the file or
// member, format says what it has or claims and what the limit is. The
// reader must stop: p.err returns a *TooLargeError from now on.
func (p *problems) tooLarge(where, limit, format string, args ...any) {
	reason := fmt.Sprintf(format, args...) + " (limit " + limit + ")"
	if p.limit == "" {
		p.limit, p.over = limit, where+": "+reason
	}
	p.add(where, "%s", reason)
}

// sizeText renders a byte count for messages: "122 GB", "500 MiB", "48 KB".
func sizeText(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1e9:
		return fmt.Sprintf("%.0f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.0f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%d bytes", n)
}
