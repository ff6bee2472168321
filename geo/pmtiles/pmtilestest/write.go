// Package pmtilestest writes small PMTiles v3 archives for tests, the way
// the specification describes, using nothing of package pmtiles but the
// tile ids and the constants.
package pmtilestest

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"sort"

	"wangge/geo/pmtiles"
)

// Tile is one tile to write.
type Tile struct {
	Z    uint8
	X, Y uint32
	Body []byte
}

// Options shape the archive.
type Options struct {
	// LeafSize > 0 puts the entries in leaf directories of that many,
	// listed by the root directory.
	LeafSize int
	// Gzip compresses the directories and metadata.
	Gzip bool
	// TileType is the header's tile type.
	TileType pmtiles.TileType
	// MaxZoom is the header's maximum zoom (its minimum is 0).
	MaxZoom uint8
	// Bounds are minLon, minLat, maxLon, maxLat.
	Bounds [4]float64
}

// Write returns the archive of tiles: entries sorted by tile id, identical
// consecutive contents in one run, stored once.
func Write(tiles []Tile, o Options) ([]byte, error) {
	type ent struct {
		id, off  uint64
		length   uint32
		run      uint32
		contents []byte
	}
	var es []ent
	for _, tl := range tiles {
		id, err := pmtiles.TileID(tl.Z, tl.X, tl.Y)
		if err != nil {
			return nil, err
		}
		es = append(es, ent{id: id, contents: tl.Body})
	}
	sort.Slice(es, func(i, j int) bool { return es[i].id < es[j].id })
	var data []byte
	var runs []ent
	for _, e := range es {
		if k := len(runs) - 1; k >= 0 && runs[k].id+uint64(runs[k].run) == e.id && bytes.Equal(runs[k].contents, e.contents) {
			runs[k].run++
			continue
		}
		e.off, e.length, e.run = uint64(len(data)), uint32(len(e.contents)), 1
		data = append(data, e.contents...)
		runs = append(runs, e)
	}
	compress := func(b []byte) []byte {
		if !o.Gzip {
			return b
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	dir := func(es []ent) []byte {
		b := binary.AppendUvarint(nil, uint64(len(es)))
		var last uint64
		for _, e := range es {
			b = binary.AppendUvarint(b, e.id-last)
			last = e.id
		}
		for _, e := range es {
			b = binary.AppendUvarint(b, uint64(e.run))
		}
		for _, e := range es {
			b = binary.AppendUvarint(b, uint64(e.length))
		}
		for i, e := range es {
			if i > 0 && e.off == es[i-1].off+uint64(es[i-1].length) {
				b = binary.AppendUvarint(b, 0)
			} else {
				b = binary.AppendUvarint(b, e.off+1)
			}
		}
		return compress(b)
	}
	var root, leaves []byte
	if o.LeafSize > 0 {
		var rootEs []ent
		for i := 0; i < len(runs); i += o.LeafSize {
			chunk := runs[i:min(i+o.LeafSize, len(runs))]
			d := dir(chunk)
			rootEs = append(rootEs, ent{id: chunk[0].id, off: uint64(len(leaves)), length: uint32(len(d)), run: 0})
			leaves = append(leaves, d...)
		}
		root = dir(rootEs)
	} else {
		root = dir(runs)
	}
	meta := compress([]byte(`{"name":"test"}`))
	h := make([]byte, pmtiles.HeaderLen)
	copy(h, "PMTiles")
	h[7] = 3
	put := func(i int, v uint64) { binary.LittleEndian.PutUint64(h[i:], v) }
	off := uint64(pmtiles.HeaderLen)
	put(8, off)
	put(16, uint64(len(root)))
	put(24, off+uint64(len(root)))
	put(32, uint64(len(meta)))
	put(40, off+uint64(len(root)+len(meta)))
	put(48, uint64(len(leaves)))
	put(56, off+uint64(len(root)+len(meta)+len(leaves)))
	put(64, uint64(len(data)))
	put(72, uint64(len(es)))
	put(80, uint64(len(runs)))
	put(88, uint64(len(runs)))
	h[96] = 1
	h[97] = byte(pmtiles.CompressionNone)
	if o.Gzip {
		h[97] = byte(pmtiles.CompressionGzip)
	}
	h[98] = byte(pmtiles.CompressionNone)
	h[99] = byte(o.TileType)
	h[100], h[101] = 0, o.MaxZoom
	for i, v := range o.Bounds {
		binary.LittleEndian.PutUint32(h[102+4*i:], uint32(int32(math.Round(v*1e7))))
	}
	out := append(h, root...)
	out = append(out, meta...)
	out = append(out, leaves...)
	return append(out, data...), nil
}
