package layerfile_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"
	"wangge/geo/internal/memtest"

	"wangge/geo"
	"wangge/geo/layerfile"
)

// memBound is what reading one hostile file may hold.
const memBound = memtest.Bound

// measure runs fn and returns the peak heap held, the bytes allocated and
// the time taken.
var measure = memtest.Measure

// repeatWriter writes head, then n copies of unit, then tail to w, in
// chunks, so that a bomb of hundreds of MiB is never held in memory.
func repeatWriter(w io.Writer, head string, unit string, n int, tail string) error {
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	chunk := []byte(strings.Repeat(unit, max(1, (1<<20)/len(unit))))
	per := len(chunk) / len(unit)
	for n > 0 {
		k := min(n, per)
		if _, err := w.Write(chunk[:k*len(unit)]); err != nil {
			return err
		}
		n -= k
	}
	_, err := io.WriteString(w, tail)
	return err
}

// zipMember is one member of a zip a test builds: its bytes, or a body
// written by a function (a bomb), deflated.
type zipMember struct {
	name  string
	data  []byte
	write func(io.Writer) error
}

func makeZip(t testing.TB, members ...zipMember) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, m := range members {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		if m.write != nil {
			err = m.write(w)
		} else {
			_, err = w.Write(m.data)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// demoShapefile returns the members of the demo town's zipped Shapefile.
func demoShapefile(t testing.TB) map[string][]byte {
	b, err := layerfile.WriteShapefileZip(demoTown(t), layerfile.WriteOptions{Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := unzip(t, b)
	return files
}

// dbfHeader is a dBase III header claiming nrec records of recLen bytes
// with nfields character fields of the given width each.
func dbfHeader(nrec uint32, recLen uint16, nfields, width int) []byte {
	hdrLen := 32 + 32*nfields + 1
	b := make([]byte, hdrLen)
	b[0] = 3
	binary.LittleEndian.PutUint32(b[4:], nrec)
	binary.LittleEndian.PutUint16(b[8:], uint16(hdrLen))
	binary.LittleEndian.PutUint16(b[10:], recLen)
	for i := range nfields {
		d := b[32+32*i:]
		copy(d, "f"+strings.Repeat("x", i%9))
		d[11] = 'C'
		d[16] = byte(width)
	}
	b[hdrLen-1] = 0x0D
	return b
}

// nullShp writes a .shp header and n null-shape records (12 bytes each).
func nullShp(n int) func(io.Writer) error {
	return func(w io.Writer) error {
		size := 100 + 12*n
		h := make([]byte, 100)
		binary.BigEndian.PutUint32(h[0:], 9994)
		binary.BigEndian.PutUint32(h[24:], uint32(size/2))
		binary.LittleEndian.PutUint32(h[28:], 1000)
		binary.LittleEndian.PutUint32(h[32:], 5)
		rec := make([]byte, 12)
		binary.BigEndian.PutUint32(rec[0:], 1)
		binary.BigEndian.PutUint32(rec[4:], 2) // 4 bytes of content: type 0
		return repeatWriter(w, string(h), string(rec), n, "")
	}
}

// lyingMember is a zip member whose headers declare declared bytes while
// its deflate stream inflates to n copies of unit: what archive/zip must
// refuse past the declared size.
func lyingMember(t testing.TB, name string, declared uint64, head, unit string, n int) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, flate.BestCompression)
	if err := repeatWriter(fw, head, unit, n, ""); err != nil {
		t.Fatal(err)
	}
	fw.Close()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(nil),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: declared})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()
	return b.Bytes()
}

// TestRead_hostile: each bomb, generated here, is refused with an error
// that names the limit or the lie, within memBound of memory; that it
// finishes at all shows the CPU is bounded. The numbers are logged (and
// quoted in BENCHMARKS.md, "Hostile files").
func TestRead_hostile(t *testing.T) {
	shp := demoShapefile(t)
	tests := []struct {
		name  string
		file  string
		make  func(t *testing.T) []byte
		opts  layerfile.ReadOptions
		limit string // the Limits field named, or "" for an EINVALID lie
		want  string
	}{
		{"dbf claims 500 million records", "g.zip", func(t *testing.T) []byte {
			dbf := append(dbfHeader(500_000_000, 245, 5, 49), make([]byte, 49152-32-32*5-1)...)
			return makeZip(t, zipMember{name: "g.shp", data: shp["g.shp"]}, zipMember{name: "g.dbf", data: dbf})
		}, layerfile.ReadOptions{}, "MaxFeatures", "claims 500000000 records of 245 bytes = 122 GB; the file has 49152 bytes"},
		{"dbf claims 90,000 records of 245 bytes in 49 KB", "g.zip", func(t *testing.T) []byte {
			dbf := append(dbfHeader(90_000, 245, 5, 49), make([]byte, 49152-32-32*5-1)...)
			return makeZip(t, zipMember{name: "g.shp", data: shp["g.shp"]}, zipMember{name: "g.dbf", data: dbf})
		}, layerfile.ReadOptions{}, "", "claims 90000 records of 245 bytes = 22 MB; the file has 49152 bytes"},
		{"dbf of 49 KB with 250 empty fields on 41,000 records", "g.zip", func(t *testing.T) []byte {
			h := dbfHeader(41_119, 1, 250, 0)
			dbf := append(h, bytes.Repeat([]byte{' '}, 49152-len(h))...)
			return makeZip(t, zipMember{name: "g.shp", data: shp["g.shp"]}, zipMember{name: "g.dbf", data: dbf})
		}, layerfile.ReadOptions{}, "MaxCells", "41119 records of 250 fields = 10279750 values"},
		{"dbf with 2,000 fields", "g.zip", func(t *testing.T) []byte {
			h := dbfHeader(1, 2000, 2000, 1)
			return makeZip(t, zipMember{name: "g.shp", data: shp["g.shp"]}, zipMember{name: "g.dbf", data: append(h, make([]byte, 2000)...)})
		}, layerfile.ReadOptions{}, "MaxFields", "more than 255 fields"},
		{"shp of 20 million null records", "g.zip", func(t *testing.T) []byte {
			return makeZip(t, zipMember{name: "g.shp", write: nullShp(20_000_000)}, zipMember{name: "g.dbf", data: shp["g.dbf"]})
		}, layerfile.ReadOptions{}, "MaxRatio", "g.shp: expands"},
		{"shp of 2 million null records, ratio unchecked", "g.zip", func(t *testing.T) []byte {
			return makeZip(t, zipMember{name: "g.shp", write: nullShp(2_000_000)}, zipMember{name: "g.dbf", data: shp["g.dbf"]})
		}, layerfile.ReadOptions{Limits: layerfile.Limits{MaxRatio: -1}}, "MaxFeatures", "holds more than 100000 records"},
		{"kmz of 500 MiB of <a/>", "g.kmz", func(t *testing.T) []byte {
			return makeZip(t, zipMember{name: "doc.kml", write: func(w io.Writer) error {
				return repeatWriter(w, "<kml><Document>", "<a/>", 500<<20/4, "</Document></kml>")
			}})
		}, layerfile.ReadOptions{}, "MaxBytes", "decompresses to 524 MB, over 256 MiB"},
		{"kmz of 16 MiB of <a/> in a Placemark, ratio unchecked", "g.kmz", func(t *testing.T) []byte {
			return makeZip(t, zipMember{name: "doc.kml", write: func(w io.Writer) error {
				return repeatWriter(w, "<kml><Placemark>", "<a/>", 16<<20/4, "</Placemark></kml>")
			}})
		}, layerfile.ReadOptions{Limits: layerfile.Limits{MaxRatio: -1}}, "MaxXMLElements", "more than 1000000 XML elements"},
		{"kmz of 1 million empty Placemarks, ratio unchecked", "g.kmz", func(t *testing.T) []byte {
			return makeZip(t, zipMember{name: "doc.kml", write: func(w io.Writer) error {
				return repeatWriter(w, "<kml>", "<Placemark/>", 1_000_000, "</kml>")
			}})
		}, layerfile.ReadOptions{Limits: layerfile.Limits{MaxRatio: -1}}, "MaxFeatures", "more than 100000 Placemarks"},
		{"kmz of 64 MiB of positions in one ring, ratio unchecked", "g.kmz", func(t *testing.T) []byte {
			return makeZip(t, zipMember{name: "doc.kml", write: func(w io.Writer) error {
				return repeatWriter(w, "<kml><Placemark><Polygon><outerBoundaryIs><LinearRing><coordinates>", "1,1 ", 64<<20/4,
					"</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>")
			}})
		}, layerfile.ReadOptions{Limits: layerfile.Limits{MaxRatio: -1, MaxXMLText: 4 << 20}}, "MaxXMLText", "longer than 4 MiB"},
		{"kmz of 64 rings of 1 MiB of positions, ratio unchecked", "g.kmz", func(t *testing.T) []byte {
			ring := "<LinearRing><coordinates>" + strings.Repeat("1,1 ", 1<<20/4) + "</coordinates></LinearRing>"
			return makeZip(t, zipMember{name: "doc.kml", write: func(w io.Writer) error {
				return repeatWriter(w, "<kml><Placemark><Polygon><outerBoundaryIs>"+ring+"</outerBoundaryIs>", "<innerBoundaryIs>"+ring+"</innerBoundaryIs>", 63,
					"</Polygon></Placemark></kml>")
			}})
		}, layerfile.ReadOptions{Limits: layerfile.Limits{MaxRatio: -1, MaxVertices: 1_000_000}}, "MaxVertices", "more than 1000000 positions"},
		{"kmz whose header says 1 MiB of 16 MiB", "g.kmz", func(t *testing.T) []byte {
			return lyingMember(t, "doc.kml", 1<<20, "<kml><Document>", "<a/>", 16<<20/4)
		}, layerfile.ReadOptions{}, "", "damaged zip"},
		{"kml nested 100,000 deep", "g.kml", func(t *testing.T) []byte {
			return []byte("<kml>" + strings.Repeat("<a>", 100_000) + strings.Repeat("</a>", 100_000) + "</kml>")
		}, layerfile.ReadOptions{}, "MaxXMLDepth", "nested more than 64 deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.make(t)
			var l *layerfile.Layer
			var err error
			peak, alloc, took := measure(func() { l, err = layerfile.Read(tt.file, data, tt.opts) })
			t.Logf("%d-byte file: %v; peak heap +%.1f MiB, allocated %.1f MiB, %v",
				len(data), err, float64(peak)/(1<<20), float64(alloc)/(1<<20), took.Round(time.Millisecond))
			if l != nil || err == nil {
				t.Fatalf("got a layer of %d features, want an error", len(l.Features))
			}
			if geo.ErrorCode(err) != geo.EINVALID {
				t.Errorf("code %q, want %q", geo.ErrorCode(err), geo.EINVALID)
			}
			if got := layerfile.IsTooLarge(err); got != (tt.limit != "") {
				t.Errorf("IsTooLarge = %v, want %v", got, tt.limit != "")
			}
			if tt.limit != "" {
				tl, ok := err.(*layerfile.TooLargeError)
				if !ok || tl.Limit != tt.limit {
					t.Errorf("got %T %+v, want a *TooLargeError of %s", err, err, tt.limit)
				}
				if !strings.Contains(geo.ErrorMessage(err), "(limit "+tt.limit+")") {
					t.Errorf("message %q does not name the limit %s", geo.ErrorMessage(err), tt.limit)
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if peak > memBound {
				t.Errorf("peak heap +%d bytes: want under %d", peak, memBound)
			}
		})
	}
}

// TestRead_withinLimits: the demo town reads in every format with limits
// just above what it needs, so the defaults are not what makes it pass.
func TestRead_withinLimits(t *testing.T) {
	td := demoTown(t)
	lim := layerfile.Limits{MaxFeatures: 230, MaxFields: 7, MaxCells: 230 * 7, MaxXMLElements: 230 * 40, MaxXMLDepth: 10}
	for _, f := range layerfile.Formats {
		b, err := layerfile.Write(f, td, layerfile.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		l, err := layerfile.Read("g"+f.Ext(), b, layerfile.ReadOptions{Limits: lim})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(l.Features) != 230 {
			t.Errorf("%s: %d features, want 230", f, len(l.Features))
		}
		lim2 := lim
		lim2.MaxFeatures = 229
		if _, err := layerfile.Read("g"+f.Ext(), b, layerfile.ReadOptions{Limits: lim2}); !layerfile.IsTooLarge(err) {
			t.Errorf("%s with MaxFeatures 229: got %v, want a TooLargeError", f, err)
		}
	}
}
