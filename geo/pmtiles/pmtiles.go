// Package pmtiles reads PMTiles version 3 archives
// (https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md): one
// file holding a tile pyramid, addressed by Hilbert tile ids through a
// root directory and leaf directories.
//
// The reader is made for a file an administrator drops into the data
// folder, which it does not trust: every offset and length of the header
// and the directories is checked against the file and the sections before
// anything is read or allocated, directories are read with a size limit
// (compressed and decompressed), entries are counted against the bytes
// that hold them, and leaf directories nest at most MaxDepth deep. Memory
// is therefore bounded by Limits whatever the file says: the root
// directory stays in memory, leaf directories are read per request and
// kept in a small cache of at most LeafCache entries.
//
// Directories may be uncompressed or gzip-compressed (what `pmtiles
// convert` writes); brotli and zstd are refused. Tiles are returned as
// stored, with the header's TileCompression for the caller to honour.
package pmtiles

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
)

// HeaderLen is the length of the fixed header at the start of the file.
const HeaderLen = 127

// Compression is how directories, metadata or tiles are compressed.
type Compression uint8

// Compression values of the header.
const (
	CompressionUnknown Compression = 0
	CompressionNone    Compression = 1
	CompressionGzip    Compression = 2
	CompressionBrotli  Compression = 3
	CompressionZstd    Compression = 4
)

// TileType is the format of the tiles.
type TileType uint8

// TileType values of the header.
const (
	TileUnknown TileType = 0
	TileMVT     TileType = 1
	TilePNG     TileType = 2
	TileJPEG    TileType = 3
	TileWebP    TileType = 4
	TileAVIF    TileType = 5
)

// MediaType returns the tiles' media type, or application/octet-stream.
func (t TileType) MediaType() string {
	switch t {
	case TileMVT:
		return "application/vnd.mapbox-vector-tile"
	case TilePNG:
		return "image/png"
	case TileJPEG:
		return "image/jpeg"
	case TileWebP:
		return "image/webp"
	case TileAVIF:
		return "image/avif"
	}
	return "application/octet-stream"
}

// Header is the fixed header. Offsets are from the start of the file;
// bounds are degrees (the file stores them times 10^7).
type Header struct {
	RootOffset, RootLength         uint64
	MetadataOffset, MetadataLength uint64
	LeafOffset, LeafLength         uint64
	DataOffset, DataLength         uint64
	AddressedTiles                 uint64
	TileEntries                    uint64
	TileContents                   uint64
	Clustered                      bool
	InternalCompression            Compression
	TileCompression                Compression
	TileType                       TileType
	MinZoom, MaxZoom               uint8
	MinLon, MinLat, MaxLon, MaxLat float64
	CenterZoom                     uint8
	CenterLon, CenterLat           float64
}

// Limits bound what a Reader reads and keeps.
type Limits struct {
	// MaxDirectory bounds a directory's bytes, compressed and
	// decompressed.
	MaxDirectory int64
	// MaxTile bounds a tile's bytes.
	MaxTile int64
	// MaxDepth bounds how deep leaf directories nest under the root.
	MaxDepth int
	// LeafCache is the number of leaf directories kept in memory.
	LeafCache int
}

// DefaultLimits: directories up to 1 MiB, tiles up to 4 MiB, leaves 3
// deep, 32 leaf directories cached (at most 32 MiB, usually a few KB
// each).
var DefaultLimits = Limits{MaxDirectory: 1 << 20, MaxTile: 4 << 20, MaxDepth: 3, LeafCache: 32}

// rootMaxLen is the spec's bound: the header and the root directory fit in
// the first 16 KiB.
const rootMaxLen = 16384 - HeaderLen

// ErrNotFound is returned for a tile the archive does not hold.
var ErrNotFound = errors.New("pmtiles: no such tile")

// ErrInvalid is matched (errors.Is) by every error about a malformed file.
var ErrInvalid = errors.New("pmtiles: invalid file")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// entry is one directory entry: RunLength tiles from TileID have the
// content at Offset/Length in the tile data section; RunLength 0 points
// at a leaf directory in the leaf section instead.
type entry struct {
	TileID    uint64
	Offset    uint64
	Length    uint32
	RunLength uint32
}

// Reader reads tiles from an archive. It is safe for concurrent use.
type Reader struct {
	r      io.ReaderAt
	size   int64
	h      Header
	limits Limits
	root   []entry

	mu     sync.Mutex
	leaves map[[2]uint64][]entry
	order  [][2]uint64 // cache keys, oldest first
}

// Open reads and checks the header and the root directory of an archive
// of size bytes. Errors about the file's content match ErrInvalid.
func Open(r io.ReaderAt, size int64, limits Limits) (*Reader, error) {
	var buf [HeaderLen]byte
	if size < HeaderLen {
		return nil, invalid("%d bytes, shorter than the %d-byte header", size, HeaderLen)
	}
	if _, err := r.ReadAt(buf[:], 0); err != nil {
		return nil, fmt.Errorf("pmtiles: reading the header: %w", err)
	}
	h, err := ParseHeader(buf[:])
	if err != nil {
		return nil, err
	}
	for _, s := range []struct {
		name        string
		off, length uint64
	}{{"root directory", h.RootOffset, h.RootLength}, {"metadata", h.MetadataOffset, h.MetadataLength},
		{"leaf directories", h.LeafOffset, h.LeafLength}, {"tile data", h.DataOffset, h.DataLength}} {
		if s.off < HeaderLen && s.length > 0 || s.off > uint64(size) || s.length > uint64(size)-s.off {
			return nil, invalid("%s at %d+%d outside the file's %d bytes", s.name, s.off, s.length, size)
		}
	}
	if h.RootLength > rootMaxLen {
		return nil, invalid("root directory of %d bytes: the spec allows %d", h.RootLength, rootMaxLen)
	}
	switch h.InternalCompression {
	case CompressionNone, CompressionGzip:
	default:
		return nil, invalid("directory compression %d: want none (1) or gzip (2); convert with `pmtiles convert`", h.InternalCompression)
	}
	rd := &Reader{r: r, size: size, h: h, limits: limits, leaves: map[[2]uint64][]entry{}}
	rd.root, err = rd.directory(h.RootOffset, h.RootLength)
	if err != nil {
		return nil, fmt.Errorf("root directory: %w", err)
	}
	return rd, nil
}

// ParseHeader decodes the 127-byte header. It checks the magic, the
// version and the zooms; Open checks the offsets against the file.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, invalid("header of %d bytes, want %d", len(b), HeaderLen)
	}
	if string(b[:7]) != "PMTiles" {
		return Header{}, invalid("no PMTiles magic")
	}
	if b[7] != 3 {
		return Header{}, invalid("version %d: want 3", b[7])
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[i:]) }
	deg := func(i int) float64 { return float64(int32(binary.LittleEndian.Uint32(b[i:]))) / 1e7 }
	h := Header{RootOffset: u(8), RootLength: u(16), MetadataOffset: u(24), MetadataLength: u(32),
		LeafOffset: u(40), LeafLength: u(48), DataOffset: u(56), DataLength: u(64),
		AddressedTiles: u(72), TileEntries: u(80), TileContents: u(88), Clustered: b[96] == 1,
		InternalCompression: Compression(b[97]), TileCompression: Compression(b[98]), TileType: TileType(b[99]),
		MinZoom: b[100], MaxZoom: b[101], MinLon: deg(102), MinLat: deg(106), MaxLon: deg(110), MaxLat: deg(114),
		CenterZoom: b[118], CenterLon: deg(119), CenterLat: deg(123)}
	if h.MinZoom > h.MaxZoom || h.MaxZoom > MaxZoom {
		return Header{}, invalid("zooms %d..%d: want min <= max <= %d", h.MinZoom, h.MaxZoom, MaxZoom)
	}
	return h, nil
}

// Header returns the archive's header.
func (rd *Reader) Header() Header { return rd.h }

// directory reads and decodes the directory at off/length of the file.
func (rd *Reader) directory(off, length uint64) ([]entry, error) {
	if length > uint64(rd.limits.MaxDirectory) {
		return nil, invalid("directory of %d bytes: the limit is %d", length, rd.limits.MaxDirectory)
	}
	raw := make([]byte, length)
	if _, err := rd.r.ReadAt(raw, int64(off)); err != nil {
		return nil, fmt.Errorf("pmtiles: reading a directory at %d: %w", off, err)
	}
	if rd.h.InternalCompression == CompressionGzip {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, invalid("directory at %d: %v", off, err)
		}
		raw, err = io.ReadAll(io.LimitReader(zr, rd.limits.MaxDirectory+1))
		if err != nil {
			return nil, invalid("directory at %d: %v", off, err)
		}
		if int64(len(raw)) > rd.limits.MaxDirectory {
			return nil, invalid("directory at %d decompresses past the limit of %d bytes", off, rd.limits.MaxDirectory)
		}
	}
	return decodeDirectory(raw)
}

// decodeDirectory decodes a directory's varints: the count, then the
// delta-coded tile ids, run lengths, lengths and offsets (0 meaning right
// after the previous entry's content, else offset+1).
func decodeDirectory(b []byte) ([]entry, error) {
	rd := bytes.NewReader(b)
	next := func() (uint64, error) {
		v, err := binary.ReadUvarint(rd)
		if err != nil {
			return 0, invalid("directory ends early")
		}
		return v, nil
	}
	n, err := next()
	if err != nil {
		return nil, err
	}
	// Every entry takes at least four bytes (one varint per column).
	if n > uint64(rd.Len())/4 {
		return nil, invalid("directory of %d bytes claims %d entries", len(b), n)
	}
	es := make([]entry, n)
	var id uint64
	for i := range es {
		d, err := next()
		if err != nil {
			return nil, err
		}
		if id+d < id || i > 0 && d == 0 {
			return nil, invalid("tile ids not increasing at entry %d", i)
		}
		id += d
		es[i].TileID = id
	}
	for i := range es {
		v, err := next()
		if err != nil {
			return nil, err
		}
		if v > 1<<32-1 {
			return nil, invalid("run length %d at entry %d", v, i)
		}
		es[i].RunLength = uint32(v)
	}
	for i := range es {
		v, err := next()
		if err != nil {
			return nil, err
		}
		if v == 0 || v > 1<<32-1 {
			return nil, invalid("length %d at entry %d", v, i)
		}
		es[i].Length = uint32(v)
	}
	for i := range es {
		v, err := next()
		if err != nil {
			return nil, err
		}
		switch {
		case v == 0 && i == 0:
			return nil, invalid("the first entry's offset is relative")
		case v == 0:
			es[i].Offset = es[i-1].Offset + uint64(es[i-1].Length)
		default:
			es[i].Offset = v - 1
		}
	}
	return es, nil
}

// find returns the entry holding id: the last entry with TileID <= id, if
// its run covers id or it points at a leaf.
func find(es []entry, id uint64) (entry, bool) {
	i := sort.Search(len(es), func(i int) bool { return es[i].TileID > id }) - 1
	if i < 0 {
		return entry{}, false
	}
	e := es[i]
	if e.RunLength == 0 || id-e.TileID < uint64(e.RunLength) {
		return e, true
	}
	return entry{}, false
}

// Tile returns the stored bytes of tile z/x/y (XYZ, y down), compressed as
// Header().TileCompression says, or ErrNotFound.
func (rd *Reader) Tile(z uint8, x, y uint32) ([]byte, error) {
	id, err := TileID(z, x, y)
	if err != nil {
		return nil, err
	}
	if z < rd.h.MinZoom || z > rd.h.MaxZoom {
		return nil, ErrNotFound
	}
	dir := rd.root
	for depth := 0; ; depth++ {
		e, ok := find(dir, id)
		if !ok {
			return nil, ErrNotFound
		}
		if e.RunLength > 0 {
			if uint64(e.Length) > uint64(rd.limits.MaxTile) {
				return nil, invalid("tile %d/%d/%d of %d bytes: the limit is %d", z, x, y, e.Length, rd.limits.MaxTile)
			}
			if e.Offset > rd.h.DataLength || uint64(e.Length) > rd.h.DataLength-e.Offset {
				return nil, invalid("tile %d/%d/%d at %d+%d outside the tile data", z, x, y, e.Offset, e.Length)
			}
			b := make([]byte, e.Length)
			if _, err := rd.r.ReadAt(b, int64(rd.h.DataOffset+e.Offset)); err != nil {
				return nil, fmt.Errorf("pmtiles: reading tile %d/%d/%d: %w", z, x, y, err)
			}
			return b, nil
		}
		if depth >= rd.limits.MaxDepth {
			return nil, invalid("leaf directories nest deeper than %d", rd.limits.MaxDepth)
		}
		if e.Offset > rd.h.LeafLength || uint64(e.Length) > rd.h.LeafLength-e.Offset {
			return nil, invalid("leaf directory at %d+%d outside the leaf section", e.Offset, e.Length)
		}
		if dir, err = rd.leaf(rd.h.LeafOffset+e.Offset, uint64(e.Length)); err != nil {
			return nil, err
		}
	}
}

// leaf returns the leaf directory at off/length, from the cache or read
// and cached (the oldest dropped when full).
func (rd *Reader) leaf(off, length uint64) ([]entry, error) {
	key := [2]uint64{off, length}
	rd.mu.Lock()
	es, ok := rd.leaves[key]
	rd.mu.Unlock()
	if ok {
		return es, nil
	}
	es, err := rd.directory(off, length)
	if err != nil {
		return nil, err
	}
	if rd.limits.LeafCache > 0 {
		rd.mu.Lock()
		if _, ok := rd.leaves[key]; !ok {
			if len(rd.order) >= rd.limits.LeafCache {
				delete(rd.leaves, rd.order[0])
				rd.order = rd.order[1:]
			}
			rd.leaves[key] = es
			rd.order = append(rd.order, key)
		}
		rd.mu.Unlock()
	}
	return es, nil
}

// MaxZoom is the deepest zoom whose tile ids fit in 64 bits.
const MaxZoom = 31

// TileID returns the Hilbert tile id of z/x/y: the number of tiles of the
// zooms above z, plus the position of x/y on the Hilbert curve of zoom z.
func TileID(z uint8, x, y uint32) (uint64, error) {
	if z > MaxZoom {
		return 0, fmt.Errorf("pmtiles: zoom %d: want 0..%d", z, MaxZoom)
	}
	n := uint64(1) << z
	if uint64(x) >= n || uint64(y) >= n {
		return 0, fmt.Errorf("pmtiles: tile %d/%d/%d: x and y want 0..%d", z, x, y, n-1)
	}
	acc := (n*n - 1) / 3
	xx, yy := uint64(x), uint64(y)
	var d uint64
	for s := n / 2; s > 0; s /= 2 {
		var rx, ry uint64
		if xx&s > 0 {
			rx = 1
		}
		if yy&s > 0 {
			ry = 1
		}
		d += s * s * ((3 * rx) ^ ry)
		if ry == 0 {
			if rx == 1 {
				xx, yy = n-1-xx, n-1-yy
			}
			xx, yy = yy, xx
		}
	}
	return acc + d, nil
}
