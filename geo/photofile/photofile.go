// Package photofile checks and cleans the photos people upload as proof of
// work: it tells JPEG and PNG apart by content (never by name or media
// type), reads the image's dimensions before anything is decoded, reads the
// GPS position and orientation from its EXIF data, and writes the image
// again without its metadata. It does no I/O: Clean takes the bytes of a
// file and returns the bytes to store.
//
// What is kept is what a viewer needs to show the picture as it was taken:
// for JPEG the tables, frames and scans, a minimal JFIF header, the Adobe
// colour-transform marker, and the EXIF orientation (rewritten as an EXIF
// block holding that one tag); for PNG the critical chunks and tRNS, gAMA,
// cHRM, sRGB and sBIT. Everything else goes: EXIF (camera, time, position,
// thumbnail), XMP, ICC profiles, IPTC, comments, PNG text and time chunks,
// and anything after the end of the image.
//
// Every error matches one of ErrEmpty, ErrUnsupported, ErrTooManyPixels or
// ErrMalformed (errors.Is) and says what is wrong in English.
package photofile

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image.DecodeConfig reads JPEG
	_ "image/png"  // and PNG
	"net/http"
)

// Error kinds.
var (
	ErrEmpty         = errors.New("the photo is empty")
	ErrUnsupported   = errors.New("the photo is not a JPEG or PNG image")
	ErrTooManyPixels = errors.New("the photo has too many pixels")
	ErrMalformed     = errors.New("the photo is malformed or truncated")
)

// Error is a failure of one kind with a message for people.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Is makes errors.Is(err, ErrMalformed) and the like work.
func (e *Error) Is(target error) bool { return target == e.Kind }

func errorf(kind error, format string, args ...any) *Error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Format is a supported image format.
type Format string

// Formats.
const (
	JPEG Format = "jpeg"
	PNG  Format = "png"
)

// ContentType is the media type of f.
func (f Format) ContentType() string { return "image/" + string(f) }

var (
	jpegMagic = []byte{0xFF, 0xD8, 0xFF}
	pngMagic  = []byte("\x89PNG\r\n\x1a\n")
)

// Sniff tells the format from the first bytes of b: ErrEmpty for no bytes,
// ErrUnsupported (naming what b looks like) for anything but JPEG or PNG.
func Sniff(b []byte) (Format, error) {
	switch {
	case len(b) == 0:
		return "", errorf(ErrEmpty, "the photo is empty (0 bytes): want a JPEG or PNG image")
	case bytes.HasPrefix(b, jpegMagic):
		return JPEG, nil
	case bytes.HasPrefix(b, pngMagic):
		return PNG, nil
	}
	return "", errorf(ErrUnsupported, "the photo looks like %s: want a JPEG or PNG image", http.DetectContentType(b))
}

// DefaultMaxPixels bounds the area of an image (40 megapixels, more than a
// phone camera takes).
const DefaultMaxPixels = 40_000_000

// Photo is a checked, cleaned image.
type Photo struct {
	Format Format
	Width  int
	Height int
	// Data is the image without its metadata.
	Data []byte
	// GPS is the position its EXIF data gives, [lon, lat] in degrees as
	// the camera wrote them (EXIF says WGS-84); nil when there is none or
	// it is not a valid position.
	GPS *[2]float64
	// Orientation is the EXIF orientation, 1..8 (1, the default, when
	// there is none).
	Orientation int
}

// Clean checks b and returns it without metadata. maxPixels (<= 0:
// DefaultMaxPixels) bounds width × height, read from the header before
// any pixel is decoded. A file that ends before its end marker (JPEG EOI,
// PNG IEND), has a chunk with a bad checksum, or lacks a frame or image
// data is ErrMalformed.
func Clean(b []byte, maxPixels int) (*Photo, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	f, err := Sniff(b)
	if err != nil {
		return nil, err
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, errorf(ErrMalformed, "the %s header cannot be read (%v): the file is damaged or truncated", f, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, errorf(ErrMalformed, "the %s is %d×%d pixels: want a non-empty image", f, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, errorf(ErrTooManyPixels, "the %s is %d×%d pixels (%.1f megapixels): at most %.1f megapixels are accepted",
			f, cfg.Width, cfg.Height, float64(cfg.Width)*float64(cfg.Height)/1e6, float64(maxPixels)/1e6)
	}
	p := &Photo{Format: f, Width: cfg.Width, Height: cfg.Height, Orientation: 1}
	var meta EXIF
	switch f {
	case JPEG:
		p.Data, meta, err = cleanJPEG(b)
	case PNG:
		p.Data, meta, err = cleanPNG(b)
	}
	if err != nil {
		return nil, err
	}
	p.GPS = meta.GPS
	if meta.Orientation >= 1 && meta.Orientation <= 8 {
		p.Orientation = meta.Orientation
	}
	// What is stored must read as what was checked.
	again, _, err := image.DecodeConfig(bytes.NewReader(p.Data))
	if err != nil || again.Width != cfg.Width || again.Height != cfg.Height {
		return nil, errorf(ErrMalformed, "the %s does not read the same without its metadata", f)
	}
	return p, nil
}
