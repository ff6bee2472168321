// Package photofiletest makes photos as phones take them, for tests: a
// JPEG or PNG carrying EXIF data with a GPS position, a camera make and
// model, a time, an orientation, plus XMP, a comment or text chunks, so
// that a test can check what is read and what is stripped.
package photofiletest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
)

// Secret is written into every metadata field a test photo carries (the
// camera's model, the comment, XMP, PNG text); it must never come out of
// photofile.Clean.
const Secret = "SECRET-CAMERA-SERIAL-0042"

// Options describe a test photo.
type Options struct {
	Width, Height int
	// GPS is [lon, lat]; nil writes no GPS IFD.
	GPS *[2]float64
	// Orientation is the EXIF orientation (0: no tag).
	Orientation int
	// LittleEndian writes the EXIF as "II" (as most phones do), else "MM".
	LittleEndian bool
}

// Picture draws a w×h gradient with a few bands, so that encodings are
// not trivially small.
func Picture(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / max(w, 1)), uint8(y * 255 / max(h, 1)), uint8((x / 8 % 2) * 200), 255})
		}
	}
	return img
}

// JPEG encodes a test photo as a JPEG whose APP1 holds the EXIF data,
// followed by an XMP segment and a comment, all holding Secret.
func JPEG(o Options) []byte {
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, Picture(o.Width, o.Height), &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	b := enc.Bytes()
	var out bytes.Buffer
	out.Write(b[:2]) // SOI
	segment := func(marker byte, data []byte) {
		n := len(data) + 2
		out.Write([]byte{0xFF, marker, byte(n >> 8), byte(n)})
		out.Write(data)
	}
	segment(0xE1, append([]byte("Exif\x00\x00"), EXIF(o)...))
	segment(0xE1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><tiff:Model>"+Secret+"</tiff:Model></x:xmpmeta>"))
	segment(0xFE, []byte("comment: "+Secret))
	out.Write(b[2:])
	return out.Bytes()
}

// PNG encodes a test photo as a PNG with a tEXt chunk and an eXIf chunk
// holding the EXIF data, both before the image data.
func PNG(o Options) []byte {
	var enc bytes.Buffer
	if err := png.Encode(&enc, Picture(o.Width, o.Height)); err != nil {
		panic(err)
	}
	b := enc.Bytes()
	ihdrEnd := 8 + 12 + 13
	var out []byte
	out = append(out, b[:ihdrEnd]...)
	out = Chunk(out, "tEXt", []byte("Comment\x00"+Secret))
	out = Chunk(out, "eXIf", EXIF(o))
	return append(out, b[ihdrEnd:]...)
}

// Chunk appends a PNG chunk with its length and CRC.
func Chunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	start := len(out)
	out = append(out, typ...)
	out = append(out, data...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(out[start:]))
}

// PNGHeader is the start of a PNG that claims to be w×h: the signature
// and an IHDR chunk, nothing else.
func PNGHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB
	return Chunk([]byte("\x89PNG\r\n\x1a\n"), "IHDR", ihdr)
}

// byteOrder reads and appends in one byte order.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tag is one IFD entry, its value already encoded.
type tag struct {
	id, typ uint16
	count   uint32
	value   []byte
}

// EXIF returns the TIFF structure of the EXIF data of o: IFD0 with Make,
// Model (Secret), DateTime, the orientation and a pointer to the GPS IFD.
func EXIF(o Options) []byte {
	var bo byteOrder = binary.BigEndian
	header := []byte{'M', 'M', 0, 42}
	if o.LittleEndian {
		bo, header = binary.LittleEndian, []byte{'I', 'I', 42, 0}
	}
	ascii := func(id uint16, s string) tag { return tag{id, 2, uint32(len(s) + 1), append([]byte(s), 0)} }
	short := func(id, v uint16) tag { return tag{id, 3, 1, bo.AppendUint16(nil, v)} }
	long := func(id uint16, v uint32) tag { return tag{id, 4, 1, bo.AppendUint32(nil, v)} }
	dms := func(id uint16, deg float64) tag {
		deg = math.Abs(deg)
		d := math.Floor(deg)
		m := math.Floor((deg - d) * 60)
		s := (deg - d - m/60) * 3600
		var v []byte
		for _, r := range [][2]uint32{{uint32(d), 1}, {uint32(m), 1}, {uint32(math.Round(s * 10000)), 10000}} {
			v = bo.AppendUint32(v, r[0])
			v = bo.AppendUint32(v, r[1])
		}
		return tag{id, 5, 3, v}
	}
	ifd0 := []tag{ascii(0x010F, "TestPhone"), ascii(0x0110, Secret), ascii(0x0132, "2026:11:22 10:30:00")}
	if o.Orientation > 0 {
		ifd0 = append(ifd0, short(0x0112, uint16(o.Orientation)))
	}
	var gps []tag
	if o.GPS != nil {
		latRef, lonRef := "N", "E"
		if o.GPS[1] < 0 {
			latRef = "S"
		}
		if o.GPS[0] < 0 {
			lonRef = "W"
		}
		gps = []tag{{0x0000, 1, 4, []byte{2, 3, 0, 0}}, ascii(0x0001, latRef), dms(0x0002, o.GPS[1]),
			ascii(0x0003, lonRef), dms(0x0004, o.GPS[0])}
		ifd0 = append(ifd0, long(0x8825, 0)) // patched below
	}
	size := func(tags []tag) (ifd, extra int) {
		for _, t := range tags {
			if len(t.value) > 4 {
				extra += len(t.value)
			}
		}
		return 2 + 12*len(tags) + 4, extra
	}
	ifd0Size, ifd0Extra := size(ifd0)
	gpsAt := 8 + ifd0Size + ifd0Extra
	if o.GPS != nil {
		ifd0[len(ifd0)-1] = long(0x8825, uint32(gpsAt))
	}
	out := append(header, bo.AppendUint32(nil, 8)...)
	out = writeIFD(out, bo, ifd0)
	if o.GPS != nil {
		out = writeIFD(out, bo, gps)
	}
	return out
}

// writeIFD appends an IFD starting at len(out), its long values right
// after it.
func writeIFD(out []byte, bo byteOrder, tags []tag) []byte {
	extraAt := len(out) + 2 + 12*len(tags) + 4
	var extra []byte
	out = bo.AppendUint16(out, uint16(len(tags)))
	for _, t := range tags {
		out = bo.AppendUint16(out, t.id)
		out = bo.AppendUint16(out, t.typ)
		out = bo.AppendUint32(out, t.count)
		if len(t.value) <= 4 {
			v := make([]byte, 4)
			copy(v, t.value)
			out = append(out, v...)
		} else {
			out = bo.AppendUint32(out, uint32(extraAt+len(extra)))
			extra = append(extra, t.value...)
		}
	}
	out = bo.AppendUint32(out, 0)
	return append(out, extra...)
}
