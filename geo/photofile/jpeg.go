package photofile

import (
	"bytes"
	"encoding/binary"
)

// JPEG markers the cleaner handles.
const (
	mSOI  = 0xD8
	mEOI  = 0xD9
	mSOS  = 0xDA
	mDQT  = 0xDB
	mDNL  = 0xDC
	mDRI  = 0xDD
	mDHT  = 0xC4
	mDAC  = 0xCC
	mAPP0 = 0xE0
	mAPP1 = 0xE1
	mAPPE = 0xEE
)

var (
	exifHeader  = []byte("Exif\x00\x00")
	jfifHeader  = []byte("JFIF\x00")
	adobeHeader = []byte("Adobe")
)

// jfifSegment is a JFIF 1.01 APP0 segment without a thumbnail, aspect
// ratio 1:1: what is kept of the original's APP0.
var jfifSegment = []byte{0xFF, mAPP0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}

// isSOF reports whether m starts a frame (SOF0–SOF15 less DHT, JPG, DAC).
func isSOF(m byte) bool { return m >= 0xC0 && m <= 0xCF && m != mDHT && m != 0xC8 && m != mDAC }

// cleanJPEG walks the segments of a JPEG file and copies those a decoder
// needs (tables, frame, scans with their entropy-coded data, restart
// interval, end of image), plus a fresh JFIF header if the file had one,
// the Adobe marker (it says how to read the colours), and the orientation
// as a minimal EXIF block. It stops at the first EOI: trailing data goes.
// A file without a frame, without a scan or without an EOI is ErrMalformed.
func cleanJPEG(b []byte) ([]byte, EXIF, error) {
	var meta EXIF
	var body bytes.Buffer
	hadJFIF, sawSOF, sawSOS := false, false, false
	i := 2 // after SOI
	for {
		// Markers may be preceded by any number of 0xFF fill bytes.
		if i >= len(b) {
			return nil, meta, errorf(ErrMalformed, "the JPEG ends at byte %d before its end-of-image marker: the upload may be truncated", len(b))
		}
		if b[i] != 0xFF {
			return nil, meta, errorf(ErrMalformed, "the JPEG has no marker at byte %d", i)
		}
		for i < len(b) && b[i] == 0xFF {
			i++
		}
		if i >= len(b) {
			continue
		}
		m := b[i]
		i++
		switch {
		case m == mEOI:
			if !sawSOF || !sawSOS {
				return nil, meta, errorf(ErrMalformed, "the JPEG ends without a frame or scan")
			}
			body.Write([]byte{0xFF, mEOI})
			return assembleJPEG(hadJFIF, meta.Orientation, body.Bytes()), meta, nil
		case m == mSOI || m == 0x00:
			return nil, meta, errorf(ErrMalformed, "the JPEG has a misplaced marker 0xFF%02X at byte %d", m, i-2)
		case m >= 0xD0 && m <= 0xD7 || m == 0x01: // RSTn, TEM: no length
			body.Write([]byte{0xFF, m})
			continue
		}
		if i+2 > len(b) {
			continue // reported as truncated at the top of the loop
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 || i+n > len(b) {
			return nil, meta, errorf(ErrMalformed, "the JPEG's segment 0xFF%02X at byte %d runs past the end of the file: the upload may be truncated", m, i-2)
		}
		seg := b[i+2 : i+n]
		whole := b[i-2 : i+n]
		i += n
		switch {
		case m == mAPP0:
			hadJFIF = hadJFIF || bytes.HasPrefix(seg, jfifHeader)
		case m == mAPP1:
			if bytes.HasPrefix(seg, exifHeader) && meta == (EXIF{}) {
				meta = ReadEXIF(seg[len(exifHeader):])
			}
		case m == mAPPE:
			if bytes.HasPrefix(seg, adobeHeader) && len(seg) >= 12 {
				body.Write([]byte{0xFF, mAPPE, 0, 14})
				body.Write(seg[:12])
			}
		case isSOF(m):
			sawSOF = true
			body.Write(whole)
		case m == mDQT || m == mDHT || m == mDAC || m == mDRI || m == mDNL:
			body.Write(whole)
		case m == mSOS:
			if !sawSOF {
				return nil, meta, errorf(ErrMalformed, "the JPEG has a scan before its frame")
			}
			sawSOS = true
			body.Write(whole)
			// Entropy-coded data runs to the next marker that is neither a
			// stuffed zero nor a restart marker.
			start := i
			for i < len(b) {
				if b[i] == 0xFF && i+1 < len(b) && b[i+1] != 0x00 && !(b[i+1] >= 0xD0 && b[i+1] <= 0xD7) && b[i+1] != 0xFF {
					break
				}
				i++
			}
			body.Write(b[start:i])
		default:
			// Other APPn, COM, JPGn and the rest: metadata or unused
			// extensions, dropped.
		}
	}
}

// assembleJPEG puts SOI, the JFIF header, the orientation and the body
// together.
func assembleJPEG(jfif bool, orientation int, body []byte) []byte {
	out := make([]byte, 0, len(body)+64)
	out = append(out, 0xFF, mSOI)
	if jfif {
		out = append(out, jfifSegment...)
	}
	if orientation > 1 && orientation <= 8 {
		tiff := orientationEXIF(orientation)
		n := 2 + len(exifHeader) + len(tiff)
		out = append(out, 0xFF, mAPP1, byte(n>>8), byte(n))
		out = append(out, exifHeader...)
		out = append(out, tiff...)
	}
	return append(out, body...)
}
