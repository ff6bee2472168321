package photofile_test

import (
	"bytes"
	"errors"
	"image"
	"math"
	"testing"

	"wangge/geo/photofile"
	"wangge/geo/photofile/photofiletest"
)

var here = [2]float64{112.0153, 27.0048} // a point of the test town, lon, lat

func near(a, b [2]float64) bool {
	return math.Abs(a[0]-b[0]) < 1e-6 && math.Abs(a[1]-b[1]) < 1e-6
}

func TestClean_keepsTheImageAndPositionDropsTheRest(t *testing.T) {
	for _, c := range []struct {
		name   string
		file   []byte
		format photofile.Format
		gps    *[2]float64
		orient int
	}{
		{"JPEG, big-endian EXIF", photofiletest.JPEG(photofiletest.Options{Width: 64, Height: 48, GPS: &here}), photofile.JPEG, &here, 1},
		{"JPEG, little-endian EXIF, rotated", photofiletest.JPEG(photofiletest.Options{Width: 64, Height: 48, GPS: &here, Orientation: 6, LittleEndian: true}), photofile.JPEG, &here, 6},
		{"JPEG, south and west", photofiletest.JPEG(photofiletest.Options{Width: 8, Height: 8, GPS: &[2]float64{-70.25, -33.5}}), photofile.JPEG, &[2]float64{-70.25, -33.5}, 1},
		{"JPEG without GPS", photofiletest.JPEG(photofiletest.Options{Width: 16, Height: 16}), photofile.JPEG, nil, 1},
		{"PNG with eXIf and tEXt", photofiletest.PNG(photofiletest.Options{Width: 20, Height: 10, GPS: &here, Orientation: 3}), photofile.PNG, &here, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := photofile.Clean(c.file, 0)
			if err != nil {
				t.Fatal(err)
			}
			if p.Format != c.format || p.Orientation != c.orient {
				t.Errorf("format %s orientation %d, want %s %d", p.Format, p.Orientation, c.format, c.orient)
			}
			switch {
			case (p.GPS == nil) != (c.gps == nil):
				t.Errorf("GPS %v, want %v", p.GPS, c.gps)
			case p.GPS != nil && !near(*p.GPS, *c.gps):
				t.Errorf("GPS %v, want %v", *p.GPS, *c.gps)
			}
			if bytes.Contains(p.Data, []byte(photofiletest.Secret)) || bytes.Contains(p.Data, []byte("TestPhone")) {
				t.Errorf("the cleaned file still holds the camera's metadata")
			}
			again := photofile.ReadEXIF(exifOf(t, p))
			if again.GPS != nil {
				t.Errorf("the cleaned file still holds a position %v", *again.GPS)
			}
			if want := c.orient; want > 1 && again.Orientation != want {
				t.Errorf("the cleaned file's orientation is %d, want %d kept", again.Orientation, want)
			}
			img, _, err := image.Decode(bytes.NewReader(p.Data))
			if err != nil {
				t.Fatalf("the cleaned file does not decode: %v", err)
			}
			orig, _, _ := image.Decode(bytes.NewReader(c.file))
			if img.Bounds() != orig.Bounds() || img.At(5, 5) != orig.At(5, 5) {
				t.Errorf("the cleaned image differs: %v %v vs %v %v", img.Bounds(), img.At(5, 5), orig.Bounds(), orig.At(5, 5))
			}
			if p.Width != img.Bounds().Dx() || p.Height != img.Bounds().Dy() {
				t.Errorf("size %d×%d, want %v", p.Width, p.Height, img.Bounds())
			}
		})
	}
}

// exifOf returns the EXIF block left in a cleaned file (nil if none).
func exifOf(t *testing.T, p *photofile.Photo) []byte {
	t.Helper()
	if i := bytes.Index(p.Data, []byte("Exif\x00\x00")); p.Format == photofile.JPEG && i >= 0 {
		return p.Data[i+6:]
	}
	if i := bytes.Index(p.Data, []byte("eXIf")); p.Format == photofile.PNG && i >= 0 {
		return p.Data[i+4:]
	}
	return nil
}

func TestClean_badInput(t *testing.T) {
	good := photofiletest.JPEG(photofiletest.Options{Width: 32, Height: 32, GPS: &here})
	goodPNG := photofiletest.PNG(photofiletest.Options{Width: 32, Height: 32})
	badCRC := bytes.Clone(goodPNG)
	badCRC[len(badCRC)-20] ^= 0xFF // inside the last IDAT
	for _, c := range []struct {
		name string
		file []byte
		want error
	}{
		{"no bytes", nil, photofile.ErrEmpty},
		{"text", []byte("hello, this is not a photo"), photofile.ErrUnsupported},
		{"GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), photofile.ErrUnsupported},
		{"HTML posing as a photo", []byte("<html><script>alert(1)</script></html>"), photofile.ErrUnsupported},
		{"JPEG magic only", []byte{0xFF, 0xD8, 0xFF}, photofile.ErrMalformed},
		{"JPEG cut in its scan", good[:len(good)-200], photofile.ErrMalformed},
		{"JPEG cut before its end marker", good[:len(good)-2], photofile.ErrMalformed},
		{"JPEG cut in its header", good[:300], photofile.ErrMalformed},
		{"PNG cut", goodPNG[:len(goodPNG)-30], photofile.ErrMalformed},
		{"PNG with a bad checksum", badCRC, photofile.ErrMalformed},
		{"PNG claiming 100000×100000", append(photofiletest.PNGHeader(100000, 100000), make([]byte, 64)...), photofile.ErrTooManyPixels},
		{"PNG claiming 0×10", photofiletest.PNGHeader(0, 10), photofile.ErrMalformed},
		{"PNG header alone", photofiletest.PNGHeader(10, 10), photofile.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := photofile.Clean(c.file, 0)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, %v; want %v", p, err, c.want)
			}
			if err.Error() == "" {
				t.Errorf("no message")
			}
		})
	}
	if _, err := photofile.Clean(good, 32*31); !errors.Is(err, photofile.ErrTooManyPixels) {
		t.Errorf("a 32×32 photo under a 992-pixel cap: %v", err)
	}
}

// TestClean_trailingDataDropped: data after the end of the image (a second
// image, a vendor's blob) does not survive.
func TestClean_trailingDataDropped(t *testing.T) {
	file := append(photofiletest.JPEG(photofiletest.Options{Width: 16, Height: 16}), []byte("trailer "+photofiletest.Secret)...)
	p, err := photofile.Clean(file, 0)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(p.Data, []byte(photofiletest.Secret)) || !bytes.HasSuffix(p.Data, []byte{0xFF, 0xD9}) {
		t.Errorf("trailing data kept")
	}
}

// TestReadEXIF_oddHeaders: offsets past the end, huge counts, an IFD
// pointing at itself, zero denominators, minutes of 60 and a 0,0 position
// give no position and no panic.
func TestReadEXIF_oddHeaders(t *testing.T) {
	valid := photofiletest.EXIF(photofiletest.Options{GPS: &here})
	if e := photofile.ReadEXIF(valid); e.GPS == nil || !near(*e.GPS, here) {
		t.Fatalf("the valid block reads %+v", e)
	}
	patch := func(f func(b []byte)) []byte { b := bytes.Clone(valid); f(b); return b }
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"header only", valid[:8]},
		{"bad byte order", patch(func(b []byte) { b[0], b[1] = 'X', 'X' })},
		{"IFD0 offset past the end", patch(func(b []byte) { b[4], b[5], b[6], b[7] = 0xFF, 0xFF, 0xFF, 0xFF })},
		{"IFD0 with 65535 entries", patch(func(b []byte) { b[8], b[9] = 0xFF, 0xFF })},
		{"GPS IFD at IFD0", gpsPointer(valid, 8)},
		{"GPS IFD past the end", gpsPointer(valid, 0xFFFFFFF0)},
		{"cut in the GPS IFD", valid[:len(valid)-40]},
		{"0,0", photofiletest.EXIF(photofiletest.Options{GPS: &[2]float64{0, 0}})},
		{"latitude 95", photofiletest.EXIF(photofiletest.Options{GPS: &[2]float64{112, 95}})},
	} {
		t.Run(c.name, func(t *testing.T) {
			if e := photofile.ReadEXIF(c.b); e.GPS != nil {
				t.Errorf("position %v from a broken block", *e.GPS)
			}
		})
	}
}

// gpsPointer returns b with the GPS IFD pointer of IFD0 set to off.
func gpsPointer(b []byte, off uint32) []byte {
	b = bytes.Clone(b)
	n := int(b[8])<<8 | int(b[9])
	for i := range n {
		e := b[10+12*i:]
		if e[0] == 0x88 && e[1] == 0x25 {
			e[8], e[9], e[10], e[11] = byte(off>>24), byte(off>>16), byte(off>>8), byte(off)
		}
	}
	return b
}

// FuzzReadEXIF: any bytes give a position in range or none, without a
// panic, in bounded time.
func FuzzReadEXIF(f *testing.F) {
	f.Add(photofiletest.EXIF(photofiletest.Options{GPS: &here, Orientation: 6}))
	f.Add(photofiletest.EXIF(photofiletest.Options{GPS: &here, LittleEndian: true}))
	f.Add(gpsPointer(photofiletest.EXIF(photofiletest.Options{GPS: &here}), 8))
	f.Add([]byte("MM\x00\x2a\x00\x00\x00\x08\xff\xff"))
	f.Add([]byte("II\x2a\x00\xff\xff\xff\xff"))
	f.Add(bytes.Repeat([]byte{0xFF}, 70000))
	f.Fuzz(func(t *testing.T, b []byte) {
		e := photofile.ReadEXIF(b)
		if e.GPS != nil && (math.Abs(e.GPS[0]) > 180 || math.Abs(e.GPS[1]) > 90 || math.IsNaN(e.GPS[0]) || math.IsNaN(e.GPS[1])) {
			t.Fatalf("position out of range: %v", *e.GPS)
		}
		if e.Orientation < 0 || e.Orientation > 8 {
			t.Fatalf("orientation %d", e.Orientation)
		}
	})
}

// FuzzClean: any bytes are refused with one of the error kinds, or give an
// image of the same format and size that holds no position.
func FuzzClean(f *testing.F) {
	f.Add(photofiletest.JPEG(photofiletest.Options{Width: 8, Height: 8, GPS: &here, Orientation: 8}))
	f.Add(photofiletest.PNG(photofiletest.Options{Width: 4, Height: 4, GPS: &here}))
	f.Add(photofiletest.PNGHeader(100000, 100000))
	f.Add(photofiletest.PNGHeader(1<<31-1, 1))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x', 'i', 'f', 0, 0})
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := photofile.Clean(b, 1_000_000)
		if err != nil {
			for _, kind := range []error{photofile.ErrEmpty, photofile.ErrUnsupported, photofile.ErrTooManyPixels, photofile.ErrMalformed} {
				if errors.Is(err, kind) {
					return
				}
			}
			t.Fatalf("error of no kind: %v", err)
		}
		if p.Width*p.Height > 1_000_000 || len(p.Data) > len(b)+64 {
			t.Fatalf("%d×%d, %d bytes from %d", p.Width, p.Height, len(p.Data), len(b))
		}
		if again, err := photofile.Clean(p.Data, 1_000_000); err != nil || again.GPS != nil || again.Width != p.Width {
			t.Fatalf("the cleaned file does not clean to itself: %v", err)
		}
	})
}
