package api

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb/maptile"

	"wangge/geo"
	"wangge/geo/vectortile"
)

// This file serves the grids and villages as Mapbox Vector Tiles (MVT 2.1)
// and describes them with TileJSON 3.0.0:
//
//	GET /tiles/{layer}/{z}/{x}/{y}.mvt   layer grids or villages, z 0..22
//	GET /tiles/{layer}.json              TileJSON
//
// Tiles are Web Mercator (EPSG:3857, XYZ scheme, y down) over WGS-84 data,
// and only that: crs= does not apply to them. A GCJ-02 or BD-09 front-end
// (AMap, Tencent, Baidu) must shift the tiles itself or draw GeoJSON from
// /v1/grids?crs=gcj02 instead. Package vectortile makes the tiles so that
// neighbouring grids share their edges exactly at every zoom.
//
// Tiles come from the in-memory snapshot. Each generation has its own
// cache (tileSet): tiles are rendered on first request, gzipped once, and
// kept up to tileCacheBytes, least recently used out first; a new
// generation starts an empty cache. A tile with no feature is answered
// 204 No Content (as Martin does; MapLibre, OpenLayers and QGIS take it as
// an empty tile), cached and revalidated like any other.

// MVTContentType is the media type of vector tiles.
const MVTContentType = "application/vnd.mapbox-vector-tile"

const (
	// tileMaxZoom is the deepest zoom served, as in most tile servers.
	tileMaxZoom = 22
	// tileJSONMaxZoom is the maxzoom TileJSON announces: at z18 a tile unit
	// is about 3 cm here, so clients overzoom from there instead of
	// fetching sixteen times as many tiles for nothing new.
	tileJSONMaxZoom = 18
	// tileCacheBytes bounds the bytes of one generation's cached tiles
	// (raw and gzipped, plus overhead). Every grids tile of the demo town at
	// z0..18 (14,000 tiles) takes about 7 MB; larger towns and deeper zooms
	// evict the least recently used.
	tileCacheBytes = 64 << 20
	// tileEntryOverhead is what a cached tile costs besides its bytes.
	tileEntryOverhead = 128
	// tileCacheControl lets browsers and proxies reuse a tile for a minute
	// before revalidating it with its ETag: after a redraw, maps show the
	// new grids within a minute.
	tileCacheControl = "public, max-age=60"
	// tileETagVersion changes when the rendering changes, so that tiles
	// cached by clients under the same generation are not reused.
	tileETagVersion = "v1"
)

// tileLayer is one layer clients can ask tiles of.
type tileLayer struct {
	name        string
	description string
	// fields are the attributes of its features, in the order written,
	// with their TileJSON descriptions.
	fields [][2]string
	// features lists the layer's features in snap.
	features func(snap *geo.Snapshot) []vectortile.Feature
}

// tileLayers are the layers served. The incidents layer joins them with
// dispatch.
var tileLayers = []tileLayer{
	{
		name:        "grids",
		description: "Grids (网格), id = the 15-digit grid code",
		fields: [][2]string{
			{"code", "String: 15-digit grid code"},
			{"name", "String: grid name"},
			{"village_code", "String: 12-digit village code"},
			{"village_name", "String: village name"},
			{"district_code", "String: liaison district (片区) code"},
			{"leader", "String: the grid leader's name (no phone)"},
		},
		features: gridTileFeatures,
	},
	{
		name:        "villages",
		description: "Villages and communities (村/社区), id = the 12-digit village code",
		fields: [][2]string{
			{"code", "String: 12-digit village code"},
			{"name", "String: village name"},
			{"district_code", "String: liaison district (片区) code"},
			{"grids", "Number: number of grids in the village"},
		},
		features: villageTileFeatures,
	},
}

// gridTileFeatures returns the grids as tile features: public attributes
// only (the leader's name, never a phone); a missing leader or district is
// left out.
func gridTileFeatures(snap *geo.Snapshot) []vectortile.Feature {
	out := make([]vectortile.Feature, len(snap.Grids))
	for i := range snap.Grids {
		g := &snap.Grids[i]
		ref := gridRef(snap, g)
		var district, leader any
		if ref.District != nil {
			district = ref.District.Code
		}
		if g.Leader != nil {
			leader = g.Leader.Name
		}
		out[i] = vectortile.Feature{ID: codeID(g.Code), Geometry: g.Geometry, Properties: []vectortile.Property{
			{Key: "code", Value: g.Code}, {Key: "name", Value: g.Name},
			{Key: "village_code", Value: g.VillageCode}, {Key: "village_name", Value: ref.Village.Name},
			{Key: "district_code", Value: district}, {Key: "leader", Value: leader}}}
	}
	return out
}

// villageTileFeatures returns the villages as tile features with their
// number of grids.
func villageTileFeatures(snap *geo.Snapshot) []vectortile.Feature {
	count := map[string]int{}
	for _, g := range snap.Grids {
		count[g.VillageCode]++
	}
	out := make([]vectortile.Feature, len(snap.Villages))
	for i, v := range snap.Villages {
		var district any
		if v.DistrictCode != "" {
			district = v.DistrictCode
		}
		out[i] = vectortile.Feature{ID: codeID(v.Code), Geometry: v.Outline, Properties: []vectortile.Property{
			{Key: "code", Value: v.Code}, {Key: "name", Value: v.Name},
			{Key: "district_code", Value: district}, {Key: "grids", Value: count[v.Code]}}}
	}
	return out
}

// codeID returns a statistical code (digits only, validated on import) as
// a feature id, so that MapLibre's feature-state can key on it; 0 (no id)
// if it does not parse.
func codeID(code string) uint64 {
	id, err := strconv.ParseUint(code, 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// tileServer serves the tile endpoints and holds the current generation's
// tile cache.
type tileServer struct {
	s   *Server
	cur atomic.Pointer[tileSet]
}

// tileRoutes registers this file's endpoints.
func (s *Server) tileRoutes(r *gin.Engine) {
	t := &tileServer{s: s}
	g := r.Group("/tiles", s.requireSnapshot)
	g.GET("/:layer", s.handle(t.tileJSON))
	g.GET("/:layer/:z/:x/:y", s.handle(t.tile))
}

// tileKey names one tile of one layer.
type tileKey struct {
	layer uint8
	z     uint8
	x, y  uint32
}

// tileEntry is one rendered tile: the MVT bytes (empty for an empty tile)
// and their gzip compression.
type tileEntry struct {
	key     tileKey
	raw, gz []byte
}

func (e *tileEntry) size() int { return len(e.raw) + len(e.gz) + tileEntryOverhead }

// tileSet is the tile cache of one snapshot: the layers prepared for
// encoding and the rendered tiles, least recently used last.
type tileSet struct {
	snap   *geo.Snapshot
	layers *preparedLayers
	// prev are the prepared layers of the set this one replaced, kept so
	// that a request still holding that snapshot (loaded just before a
	// swap) does not prepare them again.
	prev *preparedLayers

	mu    sync.Mutex
	lru   list.List // of *tileEntry, most recently used first
	at    map[tileKey]*list.Element
	bytes int
}

// preparedLayers are the tile layers of one snapshot, each prepared for
// encoding on first use.
type preparedLayers struct {
	snap *geo.Snapshot
	l    []preparedLayer
}

type preparedLayer struct {
	once  sync.Once
	layer *vectortile.Layer
	err   error
}

// setFor returns the tile cache of snap, making it current unless snap is
// older than the current one (a request that loaded its snapshot just
// before a swap): that one gets a cache of its own, dropped after use.
// A new cache starts empty; its layers are those of the snapshot's
// previous cache if there was one.
func (t *tileServer) setFor(snap *geo.Snapshot) *tileSet {
	for {
		cur := t.cur.Load()
		if cur != nil && cur.snap == snap {
			return cur
		}
		ts := &tileSet{snap: snap, at: map[tileKey]*list.Element{}}
		if cur != nil {
			ts.prev = cur.layers
			if cur.prev != nil && cur.prev.snap == snap {
				ts.layers = cur.prev
			}
		}
		if ts.layers == nil {
			ts.layers = &preparedLayers{snap: snap, l: make([]preparedLayer, len(tileLayers))}
		}
		if cur != nil && snap.Generation < cur.snap.Generation {
			return ts
		}
		if t.cur.CompareAndSwap(cur, ts) {
			return ts
		}
	}
}

// layer returns layer i prepared for encoding, built once per snapshot.
func (ts *tileSet) layer(i int) (*vectortile.Layer, error) {
	p := &ts.layers.l[i]
	p.once.Do(func() {
		p.layer, p.err = vectortile.NewLayer(tileLayers[i].name, tileLayers[i].features(ts.snap))
	})
	return p.layer, p.err
}

// get returns the tile k, rendering and caching it on a miss. Two requests
// missing the same tile at once both render it; the first stored is kept.
func (ts *tileSet) get(k tileKey) (*tileEntry, error) {
	ts.mu.Lock()
	if el, ok := ts.at[k]; ok {
		ts.lru.MoveToFront(el)
		ts.mu.Unlock()
		return el.Value.(*tileEntry), nil
	}
	ts.mu.Unlock()

	layer, err := ts.layer(int(k.layer))
	if err != nil {
		return nil, fmt.Errorf("preparing tile layer %s of generation %d: %w", tileLayers[k.layer].name, ts.snap.Generation, err)
	}
	raw, err := vectortile.Encode(maptile.New(k.x, k.y, maptile.Zoom(k.z)), vectortile.DefaultOptions(), layer)
	if err != nil {
		return nil, err
	}
	ent := &tileEntry{key: k, raw: raw}
	if len(raw) > 0 {
		ent.gz = gzipBytes(raw)
	}

	ts.mu.Lock()
	defer ts.mu.Unlock()
	if el, ok := ts.at[k]; ok {
		return el.Value.(*tileEntry), nil
	}
	ts.at[k] = ts.lru.PushFront(ent)
	ts.bytes += ent.size()
	for ts.bytes > tileCacheBytes && ts.lru.Len() > 1 {
		old := ts.lru.Remove(ts.lru.Back()).(*tileEntry)
		delete(ts.at, old.key)
		ts.bytes -= old.size()
	}
	return ent, nil
}

// gzipBytes returns b compressed with gzip, by a writer of gzipResponses's
// pool (BestSpeed: on a tile of a few KB, resetting the default level's
// larger tables costs several times the compression itself, for a gain
// of a few percent).
func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/2 + 64)
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(&buf)
	zw.Write(b) // writes to a bytes.Buffer do not fail
	zw.Close()
	gzipPool.Put(zw)
	return buf.Bytes()
}

// tile answers GET /tiles/{layer}/{z}/{x}/{y}.mvt: 404 for an unknown
// layer, 400 naming z, x or y when out of range (x and y 0..2^z-1), 304
// when If-None-Match holds the ETag, 204 for an empty tile, else the MVT,
// gzipped when Accept-Encoding allows it. The ETag names the rendering,
// the generation, the tile and the encoding.
func (t *tileServer) tile(c *gin.Context) error {
	li, err := tileLayerIndex(c.Param("layer"))
	if err != nil {
		return err
	}
	z, err := tileCoord(c.Param("z"), "z", tileMaxZoom, -1)
	if err != nil {
		return err
	}
	x, err := tileCoord(c.Param("x"), "x", 1<<z-1, z)
	if err != nil {
		return err
	}
	file := c.Param("y")
	ys, ok := strings.CutSuffix(file, ".mvt")
	if !ok {
		return problemf(TypeNoRoute, http.StatusNotFound, "no tile at %s: want /tiles/%s/%d/%d/{y}.mvt", c.Request.URL.Path, tileLayers[li].name, z, x)
	}
	y, err := tileCoord(ys, "y", 1<<z-1, z)
	if err != nil {
		return err
	}

	snap := t.s.registry.Load()
	gz := acceptsGzip(c.Request) // as gzipResponses decides, so it leaves the tile alone
	etag := tileETag(snap.Version(), li, z, x, y, gz)
	h := c.Writer.Header()
	h.Set("Cache-Control", tileCacheControl)
	addVary(h, "Accept-Encoding")
	if notModified(c, etag) {
		return nil
	}
	ent, err := t.setFor(snap).get(tileKey{layer: uint8(li), z: uint8(z), x: uint32(x), y: uint32(y)})
	if err != nil {
		return err
	}
	h.Set("ETag", etag)
	if len(ent.raw) == 0 {
		c.Status(http.StatusNoContent)
		return nil
	}
	body := ent.raw
	if gz {
		h.Set("Content-Encoding", "gzip")
		body = ent.gz
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Data(http.StatusOK, MVTContentType, body)
	return nil
}

// tileLayerIndex returns the position of the named layer in tileLayers,
// or a 404 problem.
func tileLayerIndex(name string) (int, error) {
	for i, l := range tileLayers {
		if l.name == name {
			return i, nil
		}
	}
	names := make([]string, len(tileLayers))
	for i, l := range tileLayers {
		names[i] = l.name
	}
	return 0, problemf(TypeNotFound, http.StatusNotFound, "no tile layer %q; the layers are %s", truncate(name), strings.Join(names, ", "))
}

// tileCoord parses a tile coordinate: decimal digits only, 0..limit.
// Out-of-range and malformed values are 400 problems naming the parameter
// and, for x and y, the zoom z that sets their range (z < 0: none).
func tileCoord(raw, name string, limit, z int) (int, error) {
	v, err := strconv.Atoi(raw)
	if err == nil && raw[0] >= '0' && raw[0] <= '9' && v <= limit {
		return v, nil
	}
	if z >= 0 {
		return 0, badParam(name, "got %q, want an integer 0..%d at z=%d", truncate(raw), limit, z)
	}
	return 0, badParam(name, "got %q, want an integer 0..%d", truncate(raw), limit)
}

// tileETag is the ETag of one tile representation.
func tileETag(version string, layer, z, x, y int, gz bool) string {
	b := make([]byte, 0, 64)
	b = append(b, '"', 't')
	b = append(b, tileETagVersion...)
	b = append(b, "-g"...)
	b = append(b, version...)
	b = append(b, '-')
	b = append(b, tileLayers[layer].name...)
	for _, v := range []int{z, x, y} {
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(v), 10)
	}
	if gz {
		b = append(b, "-gz"...)
	}
	return string(append(b, '"'))
}

// tileJSONDoc is a TileJSON 3.0.0 document.
type tileJSONDoc struct {
	TileJSON     string            `json:"tilejson"`
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	Attribution  string            `json:"attribution"`
	Scheme       string            `json:"scheme"`
	Tiles        []string          `json:"tiles"`
	MinZoom      int               `json:"minzoom"`
	MaxZoom      int               `json:"maxzoom"`
	Bounds       [4]float64        `json:"bounds"`
	Center       [3]float64        `json:"center"`
	VectorLayers []vectorLayerJSON `json:"vector_layers"`
}

type vectorLayerJSON struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
	Fields      map[string]string `json:"fields"`
}

// tileJSON answers GET /tiles/{layer}.json with the layer's TileJSON. The
// tile URL template is absolute, built from the request's Host and scheme
// (https when the connection is TLS or X-Forwarded-Proto says so), so a
// reverse proxy must pass the client's Host on. The ETag is a hash of the
// document.
func (t *tileServer) tileJSON(c *gin.Context) error {
	name, ok := strings.CutSuffix(c.Param("layer"), ".json")
	if !ok {
		return problemf(TypeNoRoute, http.StatusNotFound, "no endpoint at %s: want /tiles/{layer}.json or /tiles/{layer}/{z}/{x}/{y}.mvt", c.Request.URL.Path)
	}
	li, err := tileLayerIndex(name)
	if err != nil {
		return err
	}
	snap := t.s.registry.Load()
	l := tileLayers[li]
	fields := make(map[string]string, len(l.fields))
	for _, f := range l.fields {
		fields[f[0]] = f[1]
	}
	b := snap.Town.Outline.Bound()
	span := max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1], 1e-9)
	centerZoom := min(max(math.Floor(math.Log2(360/span))+1, 0), tileJSONMaxZoom)
	addVary(c.Writer.Header(), "X-Forwarded-Proto")
	doc := tileJSONDoc{
		TileJSON:    "3.0.0",
		Name:        fmt.Sprintf("%s %s", snap.Town.Name, l.name),
		Description: fmt.Sprintf("%s of %s (%s), Web Mercator vector tiles of WGS-84 data (crs= does not apply). %s", l.description, snap.Town.Name, snap.Town.Code, snap.Town.Note),
		Attribution: "wangge",
		Scheme:      "xyz",
		Tiles:       []string{baseURL(c) + "/tiles/" + l.name + "/{z}/{x}/{y}.mvt"},
		MinZoom:     0,
		MaxZoom:     tileJSONMaxZoom,
		Bounds:      [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]},
		Center:      [3]float64{(b.Min[0] + b.Max[0]) / 2, (b.Min[1] + b.Max[1]) / 2, centerZoom},
		VectorLayers: []vectorLayerJSON{{ID: l.name, Description: l.description, MinZoom: 0, MaxZoom: tileJSONMaxZoom,
			Fields: fields}},
	}
	body, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	h := fnv.New64a()
	h.Write(body)
	etag := fmt.Sprintf(`"tj-%x"`, h.Sum64())
	c.Header("Cache-Control", "no-cache")
	if notModified(c, etag) {
		return nil
	}
	c.Header("ETag", etag)
	c.Data(http.StatusOK, "application/json", body)
	return nil
}

// baseURL returns the scheme and host the client used, or "" (a
// root-relative URL) when the request named no host.
func baseURL(c *gin.Context) string {
	host := c.Request.Host
	if host == "" {
		return ""
	}
	scheme := "http"
	if c.Request.TLS != nil || strings.EqualFold(c.GetHeader("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + host
}
