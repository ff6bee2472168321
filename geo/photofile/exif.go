package photofile

import (
	"encoding/binary"
	"math"
)

// EXIF is what this package reads from an image's EXIF data: where it was
// taken and which way up it is. Everything else is ignored.
type EXIF struct {
	// GPS is [lon, lat] in degrees, nil when absent or not a valid
	// position (a latitude beyond 90°, minutes of 60 or more, a zero
	// denominator, or exactly 0, 0, which is what cameras without a fix
	// write).
	GPS *[2]float64
	// Orientation is the value of tag 0x0112 (1..8), 0 when absent.
	Orientation int
}

// Limits of the EXIF reader: it reads IFD0 and the GPS IFD it points to,
// nothing else, and at most maxIFDEntries entries of each.
const (
	maxIFDEntries = 1024
	maxEXIFBytes  = 1 << 16 // a JPEG segment cannot be longer
)

// TIFF tags and types the reader uses.
const (
	tagOrientation = 0x0112
	tagGPSIFD      = 0x8825
	tagGPSLatRef   = 0x0001
	tagGPSLat      = 0x0002
	tagGPSLonRef   = 0x0003
	tagGPSLon      = 0x0004

	typeASCII    = 2
	typeShort    = 3
	typeLong     = 4
	typeRational = 5
	typeIFD      = 13
)

// typeSizes gives the size in bytes of one value of each TIFF type.
var typeSizes = [...]int{1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}

// ReadEXIF reads the TIFF structure of an EXIF block (what follows
// "Exif\0\0" in a JPEG APP1 segment, or a PNG eXIf chunk). It never fails:
// whatever cannot be read is left out. It reads at most the first 64 KiB
// and visits two IFDs, so its work is bounded whatever the input.
func ReadEXIF(b []byte) EXIF {
	var out EXIF
	if len(b) > maxEXIFBytes {
		b = b[:maxEXIFBytes]
	}
	t, ok := newTIFF(b)
	if !ok {
		return out
	}
	ifd0, ok := t.u32(4)
	if !ok {
		return out
	}
	var gpsIFD uint32
	t.entries(ifd0, func(e entry) {
		switch e.tag {
		case tagOrientation:
			if v, ok := t.uint(e, 0); ok && v >= 1 && v <= 8 {
				out.Orientation = int(v)
			}
		case tagGPSIFD:
			if v, ok := t.uint(e, 0); ok {
				gpsIFD = v
			}
		}
	})
	if gpsIFD == 0 || gpsIFD == ifd0 {
		return out
	}
	var latRef, lonRef byte
	var lat, lon float64
	haveLat, haveLon := false, false
	t.entries(gpsIFD, func(e entry) {
		switch e.tag {
		case tagGPSLatRef:
			latRef = t.ascii(e)
		case tagGPSLonRef:
			lonRef = t.ascii(e)
		case tagGPSLat:
			lat, haveLat = t.degrees(e)
		case tagGPSLon:
			lon, haveLon = t.degrees(e)
		}
	})
	switch latRef {
	case 'S':
		lat = -lat
	case 'N':
	default:
		haveLat = false
	}
	switch lonRef {
	case 'W':
		lon = -lon
	case 'E':
	default:
		haveLon = false
	}
	if haveLat && haveLon && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 && (lat != 0 || lon != 0) {
		out.GPS = &[2]float64{lon, lat}
	}
	return out
}

// tiff reads a TIFF structure in either byte order, every read bounds
// checked.
type tiff struct {
	b  []byte
	bo binary.ByteOrder
}

func newTIFF(b []byte) (tiff, bool) {
	if len(b) < 8 {
		return tiff{}, false
	}
	var bo binary.ByteOrder
	switch string(b[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return tiff{}, false
	}
	if bo.Uint16(b[2:]) != 42 {
		return tiff{}, false
	}
	return tiff{b, bo}, true
}

func (t tiff) u16(off uint32) (uint16, bool) {
	if uint64(off)+2 > uint64(len(t.b)) {
		return 0, false
	}
	return t.bo.Uint16(t.b[off:]), true
}

func (t tiff) u32(off uint32) (uint32, bool) {
	if uint64(off)+4 > uint64(len(t.b)) {
		return 0, false
	}
	return t.bo.Uint32(t.b[off:]), true
}

// entry is one IFD entry.
type entry struct {
	tag, typ uint16
	count    uint32
	// at is the offset of the entry's 4-byte value field.
	at uint32
}

// entries calls fn for each entry of the IFD at off. An IFD of more than
// maxIFDEntries entries, or whose table runs past the data, is corrupt and
// skipped whole.
func (t tiff) entries(off uint32, fn func(entry)) {
	n, ok := t.u16(off)
	if !ok || n > maxIFDEntries || uint64(off)+2+12*uint64(n) > uint64(len(t.b)) {
		return
	}
	for i := uint32(0); i < uint32(n); i++ {
		at := uint64(off) + 2 + 12*uint64(i)
		e := t.b[at:]
		fn(entry{tag: t.bo.Uint16(e), typ: t.bo.Uint16(e[2:]), count: t.bo.Uint32(e[4:]), at: uint32(at) + 8})
	}
}

// value returns the bytes of e's values: inline when they fit in four
// bytes, else at the offset the entry holds; false when they are not all
// inside the data or the type is unknown.
func (t tiff) value(e entry) ([]byte, bool) {
	if int(e.typ) >= len(typeSizes) || typeSizes[e.typ] == 0 {
		return nil, false
	}
	size := uint64(typeSizes[e.typ]) * uint64(e.count)
	start := uint64(e.at)
	if size > 4 {
		off, ok := t.u32(e.at)
		if !ok {
			return nil, false
		}
		start = uint64(off)
	}
	if start+size > uint64(len(t.b)) {
		return nil, false
	}
	return t.b[start : start+size], true
}

// uint reads value i of a SHORT, LONG or IFD entry.
func (t tiff) uint(e entry, i uint32) (uint32, bool) {
	v, ok := t.value(e)
	if !ok || i >= e.count {
		return 0, false
	}
	switch e.typ {
	case typeShort:
		return uint32(t.bo.Uint16(v[2*i:])), true
	case typeLong, typeIFD:
		return t.bo.Uint32(v[4*i:]), true
	}
	return 0, false
}

// ascii returns the first character of an ASCII entry (the reference
// fields are one letter), 0 if none.
func (t tiff) ascii(e entry) byte {
	v, ok := t.value(e)
	if !ok || e.typ != typeASCII || len(v) == 0 {
		return 0
	}
	return v[0]
}

// degrees reads a GPS coordinate: up to three RATIONALs, degrees, minutes
// and seconds. Minutes and seconds must be below 60; a zero denominator or
// a non-finite result is refused.
func (t tiff) degrees(e entry) (float64, bool) {
	v, ok := t.value(e)
	if !ok || e.typ != typeRational || e.count == 0 {
		return 0, false
	}
	var parts [3]float64
	for i := 0; i < int(min(e.count, 3)); i++ {
		num, den := t.bo.Uint32(v[8*i:]), t.bo.Uint32(v[8*i+4:])
		if den == 0 {
			return 0, false
		}
		parts[i] = float64(num) / float64(den)
	}
	if parts[1] >= 60 || parts[2] >= 60 {
		return 0, false
	}
	d := parts[0] + parts[1]/60 + parts[2]/3600
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return 0, false
	}
	return d, true
}

// orientationEXIF is a TIFF structure holding only an orientation tag, the
// one piece of EXIF a viewer needs to show a photo the right way up.
func orientationEXIF(o int) []byte {
	b := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, // header, IFD0 at 8
		0, 1, // one entry
		0x01, 0x12, 0, typeShort, 0, 0, 0, 1, 0, byte(o), 0, 0, // Orientation = o
		0, 0, 0, 0} // no next IFD
	return b
}
