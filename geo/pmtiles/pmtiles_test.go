package pmtiles_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"wangge/geo/pmtiles"
	"wangge/geo/pmtiles/pmtilestest"
)

// d2xy is the textbook inverse of the Hilbert curve (Wikipedia's d2xy),
// written independently of TileID to check it.
func d2xy(n, d uint64) (x, y uint64) {
	t := d
	for s := uint64(1); s < n; s *= 2 {
		rx := 1 & (t / 2)
		ry := 1 & (t ^ rx)
		if ry == 0 {
			if rx == 1 {
				x, y = s-1-x, s-1-y
			}
			x, y = y, x
		}
		x += s * rx
		y += s * ry
		t /= 4
	}
	return x, y
}

// TestTileID: the spec's first ids, a value from the reference
// implementation's tests, and every tile of zooms 0..6 against the
// textbook inverse.
func TestTileID(t *testing.T) {
	for _, tc := range []struct {
		z    uint8
		x, y uint32
		want uint64
	}{{0, 0, 0, 0}, {1, 0, 0, 1}, {1, 0, 1, 2}, {1, 1, 1, 3}, {1, 1, 0, 4}, {2, 0, 0, 5}, {12, 3423, 1763, 19078479}} {
		if got, err := pmtiles.TileID(tc.z, tc.x, tc.y); err != nil || got != tc.want {
			t.Errorf("TileID(%d,%d,%d) = %d, %v; want %d", tc.z, tc.x, tc.y, got, err, tc.want)
		}
	}
	for z := uint8(0); z <= 6; z++ {
		n := uint64(1) << z
		base := (n*n - 1) / 3
		for d := uint64(0); d < n*n; d++ {
			x, y := d2xy(n, d)
			if got, _ := pmtiles.TileID(z, uint32(x), uint32(y)); got != base+d {
				t.Fatalf("TileID(%d,%d,%d) = %d, want %d", z, x, y, got, base+d)
			}
		}
	}
	if _, err := pmtiles.TileID(3, 8, 0); err == nil {
		t.Error("x = 8 at z3 accepted")
	}
	if _, err := pmtiles.TileID(32, 0, 0); err == nil {
		t.Error("z32 accepted")
	}
}

type tile = pmtilestest.Tile

// archive writes tiles as a PMTiles file of PNG tiles (see pmtilestest).
func archive(t testing.TB, tiles []tile, leafSize int, gz bool) []byte {
	b, err := pmtilestest.Write(tiles, pmtilestest.Options{LeafSize: leafSize, Gzip: gz, TileType: pmtiles.TilePNG, MaxZoom: 8,
		Bounds: [4]float64{112, 27, 113, 28}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pyramid is every tile of zooms 0..5, each body naming its tile, except
// that the sea (x = 0 at z5) is one repeated body, stored once.
func pyramid() []tile {
	var ts []tile
	for z := uint8(0); z <= 5; z++ {
		for x := uint32(0); x < 1<<z; x++ {
			for y := uint32(0); y < 1<<z; y++ {
				body := []byte(fmt.Sprintf("tile %d/%d/%d", z, x, y))
				if z == 5 && x == 0 {
					body = []byte("sea")
				}
				ts = append(ts, tile{Z: z, X: x, Y: y, Body: body})
			}
		}
	}
	return ts
}

// TestReader: every tile of archives written flat and with leaf
// directories, gzipped or not, reads back as written; tiles outside the
// archive are ErrNotFound; the header reads back.
func TestReader(t *testing.T) {
	tiles := pyramid()
	for _, tc := range []struct {
		name     string
		leafSize int
		gz       bool
	}{{"flat", 0, false}, {"flat gzip", 0, true}, {"leaves", 50, false}, {"leaves gzip", 7, true}} {
		t.Run(tc.name, func(t *testing.T) {
			file := archive(t, tiles, tc.leafSize, tc.gz)
			rd, err := pmtiles.Open(bytes.NewReader(file), int64(len(file)), pmtiles.DefaultLimits)
			if err != nil {
				t.Fatal(err)
			}
			h := rd.Header()
			if h.TileType != pmtiles.TilePNG || h.MaxZoom != 8 || h.MinLon != 112 || h.MaxLat != 28 || !h.Clustered {
				t.Errorf("header %+v", h)
			}
			for _, tl := range tiles {
				got, err := rd.Tile(tl.Z, tl.X, tl.Y)
				if err != nil || !bytes.Equal(got, tl.Body) {
					t.Fatalf("tile %d/%d/%d: %q, %v; want %q", tl.Z, tl.X, tl.Y, got, err, tl.Body)
				}
			}
			for _, tl := range []tile{{Z: 6}, {Z: 7, X: 100, Y: 3}, {Z: 9}} {
				if _, err := rd.Tile(tl.Z, tl.X, tl.Y); !errors.Is(err, pmtiles.ErrNotFound) {
					t.Errorf("tile %d/%d/%d: %v, want ErrNotFound", tl.Z, tl.X, tl.Y, err)
				}
			}
		})
	}
}

// hostile returns seeds of malformed archives: each starts from a good
// one and breaks one thing.
func hostile(t testing.TB) map[string][]byte {
	good := archive(t, pyramid(), 20, true)
	flat := archive(t, pyramid()[:21], 0, false)
	mod := func(src []byte, f func(b []byte)) []byte {
		b := bytes.Clone(src)
		f(b)
		return b
	}
	put := func(i int, v uint64) func([]byte) { return func(b []byte) { binary.LittleEndian.PutUint64(b[i:], v) } }
	// A root directory claiming 2^62 entries in a few bytes.
	bigCount := binary.AppendUvarint(nil, 1<<62)
	bigCount = append(bigCount, 1, 1, 1, 1)
	return map[string][]byte{
		"root length 2^62":          mod(good, put(16, 1<<62)),
		"root offset past the end":  mod(good, put(8, 1<<40)),
		"root offset+length wraps":  mod(good, func(b []byte) { put(8, 1<<63)(b); put(16, 1<<63+200)(b) }),
		"data length 2^64-1":        mod(good, put(64, 1<<64-1)),
		"leaf length huge":          mod(good, put(48, 1<<50)),
		"metadata inside header":    mod(good, func(b []byte) { put(24, 3)(b) }),
		"zooms reversed":            mod(good, func(b []byte) { b[100], b[101] = 9, 2 }),
		"zoom 200":                  mod(good, func(b []byte) { b[101] = 200 }),
		"brotli directories":        mod(good, func(b []byte) { b[97] = byte(pmtiles.CompressionBrotli) }),
		"version 2":                 mod(good, func(b []byte) { b[7] = 2 }),
		"truncated":                 good[:len(good)/2],
		"header only":               good[:pmtiles.HeaderLen],
		"huge entry count":          append(mod(flat[:pmtiles.HeaderLen], func(b []byte) { put(8, pmtiles.HeaderLen)(b); put(16, uint64(len(bigCount)))(b) }), bigCount...),
		"gzip directories as none":  mod(good, func(b []byte) { b[97] = byte(pmtiles.CompressionNone) }),
		"plain directories as gzip": mod(flat, func(b []byte) { b[97] = byte(pmtiles.CompressionGzip) }),
	}
}

// TestReader_hostile: every malformed archive is refused by Open or its
// tiles by Tile, with an error matching ErrInvalid or ErrNotFound, never
// a panic or a read past the file.
func TestReader_hostile(t *testing.T) {
	for name, file := range hostile(t) {
		t.Run(name, func(t *testing.T) {
			rd, err := pmtiles.Open(bytes.NewReader(file), int64(len(file)), pmtiles.DefaultLimits)
			if err != nil {
				if !errors.Is(err, pmtiles.ErrInvalid) {
					t.Errorf("Open: %v, want ErrInvalid", err)
				}
				return
			}
			bad := 0
			for _, tl := range pyramid() {
				if _, err := rd.Tile(tl.Z, tl.X, tl.Y); err != nil {
					bad++
				}
			}
			if bad == 0 {
				t.Errorf("opened and every tile read: the archive was not broken")
			}
		})
	}
}

// FuzzOpen: whatever the bytes, Open and Tile return (an error or a
// tile) without panicking, and a tile returned is within the file.
func FuzzOpen(f *testing.F) {
	f.Add(archive(f, pyramid(), 0, false))
	f.Add(archive(f, pyramid(), 9, true))
	for _, b := range hostile(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		limits := pmtiles.Limits{MaxDirectory: 64 << 10, MaxTile: 64 << 10, MaxDepth: 3, LeafCache: 4}
		rd, err := pmtiles.Open(bytes.NewReader(file), int64(len(file)), limits)
		if err != nil {
			return
		}
		for _, tl := range []tile{{Z: 0}, {Z: 1, X: 1}, {Z: 3, X: 5, Y: 2}, {Z: 5, Y: 31}, {Z: 8, X: 200, Y: 100}} {
			b, err := rd.Tile(tl.Z, tl.X, tl.Y)
			if err == nil && len(b) > len(file) {
				t.Fatalf("tile of %d bytes from a file of %d", len(b), len(file))
			}
		}
	})
}
