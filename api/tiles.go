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
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/vectortile"
)

// This file serves the grids, villages and incidents as Mapbox Vector
// Tiles (MVT 2.1) and describes them with TileJSON 3.0.0:
//
//	GET /tiles/{layer}/{z}/{x}/{y}.mvt[?crs=gcj02]  layer grids, villages or incidents, z 0..22
//	GET /tiles/{layer}.json[?crs=gcj02]             TileJSON
//
// Tiles are Web Mercator (EPSG:3857, XYZ scheme, y down). By default the
// data is WGS-84 (CGCS2000 agrees to centimetres, so they line up with
// 天地图's _w layers and with OpenStreetMap). With crs=gcj02 every vertex
// is shifted into GCJ-02 before projection, so the tiles line up with
// AMap's and Tencent's raster tiles, which are Web Mercator tiles of
// GCJ-02 coordinates; the shift is a function of the point alone, so
// edges shared by two grids stay shared. crs=bd09 is refused: Baidu's
// tiles are not Web Mercator (BD-09MC, a polynomial projection, with its
// own tile origin and numbering), so no XYZ tile of BD-09 coordinates
// lines up with a Baidu base map; a Baidu front-end draws GeoJSON from
// /v1/grids?crs=bd09 with Baidu's own API instead.
//
// Grid and village tiles come from the in-memory snapshot. Each
// generation has its own cache (tileSet): tiles are rendered on first
// request, gzipped once, and kept up to tileCacheBytes, least recently
// used out first; a new generation starts an empty cache. A tile with no
// feature is answered 204 No Content (as Martin does; MapLibre,
// OpenLayers and QGIS take it as an empty tile), cached and revalidated
// like any other.
//
// Incident tiles are read from the incident store on every request, never
// cached by wangge nor shared by proxies (they differ by caller), and
// follow the policy of the OGC incidents collection (ogc_incidents.go):
// anonymous callers get 401 and viewer or planner tokens 403 (where a
// complaint was made and what it is about can say who made it, so a
// reduced public layer would still leak); dispatchers and admins see
// every incident; a person signed in sees the incidents of their own
// scope. No role gets personal data in a tile: no reporter, no
// description, no phone. They take the filters of /v1/incidents: status,
// category, grid, village, overdue, from, to.

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

// tileLayers are the layers served from the snapshot. The incidents
// layer (incidentTileLayer) is served from the incident store.
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
	servicePointTileLayer, // servicepoints_map.go
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

// tileCRS is the coordinate system a tile's data is in before
// projection: an index into tileCRSs.
type tileCRS uint8

// tileCRSs are the systems tiles are made in, by tileCRS.
var tileCRSs = []chinacrs.CRS{chinacrs.WGS84, chinacrs.GCJ02}

// pTileCRS is ?crs= of the tile endpoints: wgs84 (default) or gcj02.
var pTileCRS = param{"crs", func(c *gin.Context) error { _, err := queryTileCRS(c); return err }}

// queryTileCRS reads ?crs= of a tile endpoint: bd09 is refused with the
// reason (see the top of this file).
func queryTileCRS(c *gin.Context) (tileCRS, error) {
	crs, err := chinacrs.Parse(c.Query("crs"))
	switch {
	case err != nil:
		return 0, badParam("crs", "got %q, want wgs84 or gcj02", truncate(c.Query("crs")))
	case crs == chinacrs.BD09:
		return 0, badParam("crs", "bd09 tiles are not served: Baidu's base maps are not Web Mercator XYZ tiles "+
			"(BD-09MC projection, own tile origin), so nothing would line up; draw /v1/grids?crs=bd09 with Baidu's API")
	}
	for i, t := range tileCRSs {
		if t == crs {
			return tileCRS(i), nil
		}
	}
	return 0, nil
}

// point returns p (WGS-84) in the tile's system.
func (t tileCRS) point(p orb.Point) orb.Point { return chinacrs.FromWGS84(tileCRSs[t], p) }

// shiftFeatures returns copies of fs with every coordinate in crs.
func shiftFeatures(fs []vectortile.Feature, crs tileCRS) []vectortile.Feature {
	if crs == 0 {
		return fs
	}
	out := make([]vectortile.Feature, len(fs))
	for i, f := range fs {
		out[i] = f
		out[i].Geometry = make(orb.MultiPolygon, len(f.Geometry))
		for j, poly := range f.Geometry {
			out[i].Geometry[j] = make(orb.Polygon, len(poly))
			for k, ring := range poly {
				r := make(orb.Ring, len(ring))
				for m, p := range ring {
					r[m] = crs.point(p)
				}
				out[i].Geometry[j][k] = r
			}
		}
		if f.Points != nil {
			out[i].Points = make(orb.MultiPoint, len(f.Points))
			for j, p := range f.Points {
				out[i].Points[j] = crs.point(p)
			}
		}
	}
	return out
}

// tileServer serves the tile endpoints and holds the current generation's
// tile cache.
type tileServer struct {
	s   *Server
	cur atomic.Pointer[tileSet]
}

// tileQuery lists the query parameters of the tile endpoints. The
// incident filters are refused on the other layers by the handler.
var tileQuery = append([]param{pTileCRS}, read("grid", "village", "category", "status", "overdue", "from", "to")...)

// tileRoutes registers this file's endpoints.
func (s *Server) tileRoutes(r *gin.Engine) {
	t := &tileServer{s: s}
	g := router{s, r.Group("/tiles", s.requireSnapshot)}
	g.GET("/:layer", endpoint{query: tileQuery}, t.tileJSON)
	g.GET("/:layer/:z/:x/:y", endpoint{query: tileQuery}, t.tile)
}

// tileKey names one tile of one layer in one system.
type tileKey struct {
	layer uint8
	crs   tileCRS
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
// encoding on first use, by layer and system (layer*len(tileCRSs)+crs).
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
			ts.layers = &preparedLayers{snap: snap, l: make([]preparedLayer, len(tileLayers)*len(tileCRSs))}
		}
		if cur != nil && snap.Generation < cur.snap.Generation {
			return ts
		}
		if t.cur.CompareAndSwap(cur, ts) {
			return ts
		}
	}
}

// layer returns layer i in crs prepared for encoding, built once per
// snapshot.
func (ts *tileSet) layer(i int, crs tileCRS) (*vectortile.Layer, error) {
	p := &ts.layers.l[i*len(tileCRSs)+int(crs)]
	p.once.Do(func() {
		p.layer, p.err = vectortile.NewLayer(tileLayers[i].name, shiftFeatures(tileLayers[i].features(ts.snap), crs))
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

	layer, err := ts.layer(int(k.layer), k.crs)
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
// the generation, the system, the tile and the encoding.
func (t *tileServer) tile(c *gin.Context) error {
	li, err := tileLayerIndex(c.Param("layer"))
	if err != nil {
		return err
	}
	crs, err := queryTileCRS(c)
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
		return problemf(TypeNoRoute, http.StatusNotFound, "no tile at %s: want /tiles/%s/%d/%d/{y}.mvt", c.Request.URL.Path, tileLayerName(li), z, x)
	}
	y, err := tileCoord(ys, "y", 1<<z-1, z)
	if err != nil {
		return err
	}
	mt := maptile.New(uint32(x), uint32(y), maptile.Zoom(z))
	if li == incidentLayer {
		return t.incidentTile(c, mt, crs)
	}
	if err := noIncidentFilters(c); err != nil {
		return err
	}
	setCRSHeader(c, tileCRSs[crs])

	snap := t.s.registry.Load()
	gz := acceptsGzip(c.Request) // as gzipResponses decides, so it leaves the tile alone
	etag := tileETag(snap.Version(), li, crs, z, x, y, gz)
	h := c.Writer.Header()
	h.Set("Cache-Control", tileCacheControl)
	addVary(h, "Accept-Encoding")
	if notModified(c, etag) {
		return nil
	}
	ent, err := t.setFor(snap).get(tileKey{layer: uint8(li), crs: crs, z: uint8(z), x: uint32(x), y: uint32(y)})
	if err != nil {
		return err
	}
	h.Set("ETag", etag)
	writeTile(c, ent.raw, ent.gz, gz)
	return nil
}

// writeTile answers with a tile: 204 when empty, else raw or, when the
// client takes gzip, gz (compressed here when nil).
func writeTile(c *gin.Context, raw, gz []byte, wantGzip bool) {
	if len(raw) == 0 {
		c.Status(http.StatusNoContent)
		return
	}
	body := raw
	if wantGzip {
		if gz == nil {
			gz = gzipBytes(raw)
		}
		c.Header("Content-Encoding", "gzip")
		body = gz
	}
	c.Header("Content-Length", strconv.Itoa(len(body)))
	c.Data(http.StatusOK, MVTContentType, body)
}

// noIncidentFilters refuses the incident filters on the other layers.
func noIncidentFilters(c *gin.Context) error {
	for _, name := range []string{"category", "from", "grid", "overdue", "status", "to", "village"} {
		if _, ok := c.GetQuery(name); ok {
			return badParam(name, "filters apply to the incidents layer only; the grids and villages layers take crs")
		}
	}
	return nil
}

// incidentLayer is the index tileLayerIndex gives the incidents layer,
// after the snapshot's layers.
var incidentLayer = len(tileLayers)

// tileLayerName names layer i (incidentLayer included).
func tileLayerName(i int) string {
	if i == incidentLayer {
		return incidentTileLayer.name
	}
	return tileLayers[i].name
}

// tileLayerIndex returns the position of the named layer in tileLayers
// (incidentLayer for the incidents), or a 404 problem.
func tileLayerIndex(name string) (int, error) {
	for i, l := range tileLayers {
		if l.name == name {
			return i, nil
		}
	}
	if name == incidentTileLayer.name {
		return incidentLayer, nil
	}
	names := make([]string, 0, len(tileLayers)+1)
	for _, l := range tileLayers {
		names = append(names, l.name)
	}
	names = append(names, incidentTileLayer.name)
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
func tileETag(version string, layer int, crs tileCRS, z, x, y int, gz bool) string {
	b := make([]byte, 0, 64)
	b = append(b, '"', 't')
	b = append(b, tileETagVersion...)
	b = append(b, "-g"...)
	b = append(b, version...)
	b = append(b, '-')
	b = append(b, tileLayers[layer].name...)
	if crs != 0 {
		b = append(b, '-')
		b = append(b, tileCRSs[crs]...)
	}
	for _, v := range []int{z, x, y} {
		b = append(b, '-')
		b = strconv.AppendInt(b, int64(v), 10)
	}
	if gz {
		b = append(b, "-gz"...)
	}
	return string(append(b, '"'))
}

// tileJSONDoc is a TileJSON 3.0.0 document. Crs is wangge's member (as
// TileJSON allows): the system of the data in the tiles, wgs84 or gcj02.
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
	Crs          chinacrs.CRS      `json:"crs"`
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
// reverse proxy must pass the client's Host on; it carries the request's
// crs and, for incidents, its filters. Bounds and center are in the
// tiles' system. The incidents layer's TileJSON lists the fields the
// caller's role gets (401 for anonymous callers, as its tiles). The ETag
// is a hash of the document.
func (t *tileServer) tileJSON(c *gin.Context) error {
	name, ok := strings.CutSuffix(c.Param("layer"), ".json")
	if !ok {
		return problemf(TypeNoRoute, http.StatusNotFound, "no endpoint at %s: want /tiles/{layer}.json or /tiles/{layer}/{z}/{x}/{y}.mvt", c.Request.URL.Path)
	}
	li, err := tileLayerIndex(name)
	if err != nil {
		return err
	}
	crs, err := queryTileCRS(c)
	if err != nil {
		return err
	}
	l := incidentTileLayer
	query := url.Values{}
	if li == incidentLayer {
		if _, err := t.incidentCaller(c); err != nil {
			return err
		}
		if _, err := t.s.incidentFilter(c, t.s.cfg.Now()); err != nil {
			return err
		}
		for _, k := range []string{"grid", "village", "category", "status", "overdue", "from", "to"} {
			if v, ok := c.GetQuery(k); ok {
				query.Set(k, v)
			}
		}
	} else {
		if err := noIncidentFilters(c); err != nil {
			return err
		}
		l = tileLayers[li]
	}
	if crs != 0 {
		query.Set("crs", string(tileCRSs[crs]))
	}
	suffix := ""
	if len(query) > 0 {
		suffix = "?" + query.Encode()
	}
	snap := t.s.registry.Load()
	fields := make(map[string]string, len(l.fields))
	for _, f := range l.fields {
		fields[f[0]] = f[1]
	}
	b := snap.Whole().Outline.Bound()
	b = orb.Bound{Min: crs.point(b.Min), Max: crs.point(b.Max)}
	span := max(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1], 1e-9)
	centerZoom := min(max(math.Floor(math.Log2(360/span))+1, 0), tileJSONMaxZoom)
	addVary(c.Writer.Header(), "X-Forwarded-Proto")
	system := "WGS-84 data (CGCS2000 agrees to centimetres)"
	if crs != 0 {
		system = "GCJ-02 data, to draw over AMap or Tencent tiles"
	}
	doc := tileJSONDoc{
		TileJSON:    "3.0.0",
		Name:        fmt.Sprintf("%s %s", snap.Whole().Name, l.name),
		Description: fmt.Sprintf("%s of %s (%s), Web Mercator vector tiles of %s. %s", l.description, snap.Whole().Name, snap.Whole().Code, system, snap.Whole().Note),
		Attribution: "wangge",
		Scheme:      "xyz",
		Tiles:       []string{baseURL(c) + "/tiles/" + l.name + "/{z}/{x}/{y}.mvt" + suffix},
		MinZoom:     0,
		MaxZoom:     tileJSONMaxZoom,
		Bounds:      [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]},
		Center:      [3]float64{(b.Min[0] + b.Max[0]) / 2, (b.Min[1] + b.Max[1]) / 2, centerZoom},
		Crs:         tileCRSs[crs],
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
	if li == incidentLayer {
		c.Header("Cache-Control", "private, no-cache")
		addVary(c.Writer.Header(), "Authorization")
	} else {
		c.Header("Cache-Control", "no-cache")
	}
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

// incidentTileLayer describes the incidents layer: points, id = the
// incident's id, the same attributes for every role that sees it.
var incidentTileLayer = tileLayer{
	name:        "incidents",
	description: "Incidents (事件), points at the reported location; incidents without one are left out",
	fields: [][2]string{
		{"number", "String: incident number"},
		{"category", "String: category code"},
		{"severity", "String: severity"},
		{"status", "String: status"},
		{"overdue", "Boolean: open past its due time"},
		{"grid_code", "String: 15-digit code of the grid it was routed to"},
		{"village_code", "String: 12-digit village code"},
		{"received_at", "String: when it was received, RFC 3339"},
		{"due_at", "String: when it is due, RFC 3339"},
		{"assignee_role", "String: the role of the staff member it is assigned to"},
		{"assignee_name", "String: the staff member it is assigned to"},
	},
}

const (
	// incidentTileMax bounds the incidents one tile holds (newest first):
	// a low-zoom tile of a large county draws a sample, not everything.
	incidentTileMax = 5000
	// incidentTilePage is the page size the tile reads the store with.
	incidentTilePage = 1000
)

// incidentCaller checks that the caller may see the incidents layer and
// returns the scope of a person signed in (nil for dispatchers and
// admins, who see every incident), as the OGC collection does.
func (t *tileServer) incidentCaller(c *gin.Context) (*geo.PersonScope, error) {
	role := callerRole(c)
	switch {
	case c.GetString(actorKey) == "anonymous":
		c.Header("WWW-Authenticate", `Bearer realm="wangge"`)
		return nil, problemf(TypeUnauthorized, http.StatusUnauthorized, "the incidents layer needs a dispatcher's or admin's token, or a session: anonymous callers see no incidents")
	case role != geo.AccessPerson && !role.Allows(geo.AccessDispatcher):
		return nil, problemf(TypeForbidden, http.StatusForbidden, "role %s may not see incidents: dispatchers, admins and people signed in (their own scope) do", role)
	}
	if err := t.s.storeReady(needIncidents); err != nil {
		return nil, err
	}
	return t.s.ogcIncidentScope(c)
}

// incidentTile answers a tile of the incidents layer: the incidents of
// the filters whose location falls in the tile (or its buffer), newest
// first, at most incidentTileMax read (a person signed in keeps those of
// their scope). It is never cached by shared caches.
func (t *tileServer) incidentTile(c *gin.Context, mt maptile.Tile, crs tileCRS) error {
	scope, err := t.incidentCaller(c)
	if err != nil {
		return err
	}
	now := t.s.cfg.Now()
	f, err := t.s.incidentFilter(c, now)
	if err != nil {
		return err
	}
	box := incidentTileBox(mt, crs)
	f.BBox = &box
	f.Limit = incidentTilePage
	var list []*geo.Incident
	for len(list) < incidentTileMax {
		page, next, err := t.s.cfg.Incidents.ListIncidents(c.Request.Context(), f)
		if err != nil {
			return err
		}
		list = append(list, page...)
		if next == 0 {
			break
		}
		f.After = next
	}
	list = list[:min(len(list), incidentTileMax)]
	features := make([]vectortile.Feature, 0, len(list))
	for _, inc := range list {
		if inc.Location == nil || scope != nil && !scope.Sees(inc) {
			continue
		}
		props := []vectortile.Property{
			{Key: "number", Value: inc.Number}, {Key: "category", Value: string(inc.Category)},
			{Key: "severity", Value: string(inc.Severity)}, {Key: "status", Value: string(inc.Status)},
			{Key: "overdue", Value: inc.Overdue(now)}, {Key: "grid_code", Value: optionalText(inc.GridCode)},
			{Key: "village_code", Value: optionalText(inc.VillageCode)},
			{Key: "received_at", Value: inc.ReceivedAt.UTC().Format(time.RFC3339)},
			{Key: "due_at", Value: inc.DueAt.UTC().Format(time.RFC3339)},
			{Key: "assignee_role", Value: optionalText(string(inc.Assignee.Role))},
			{Key: "assignee_name", Value: optionalText(inc.Assignee.Name)},
		}
		features = append(features, vectortile.Feature{ID: uint64(inc.ID), Points: orb.MultiPoint{crs.point(orb.Point(*inc.Location))},
			Properties: props})
	}
	layer, err := vectortile.NewLayer(incidentTileLayer.name, features)
	if err != nil {
		return err
	}
	raw, err := vectortile.Encode(mt, vectortile.DefaultOptions(), layer)
	if err != nil {
		return err
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "private, no-cache")
	addVary(h, "Authorization")
	addVary(h, "Accept-Encoding")
	setCRSHeader(c, tileCRSs[crs])
	writeTile(c, raw, nil, acceptsGzip(c.Request))
	return nil
}

// incidentTileBox returns the WGS-84 box [minLon, minLat, maxLon, maxLat]
// to read a tile's incidents from: the tile grown by the encoder's buffer
// and, for GCJ-02 tiles, taken back to WGS-84 corner by corner and grown
// by 0.002° (about 200 m), far more than the GCJ-02 shift varies across
// the corners' box.
func incidentTileBox(mt maptile.Tile, crs tileCRS) [4]float64 {
	b := mt.Bound()
	grow := float64(vectortile.DefaultBuffer) / vectortile.DefaultExtent
	dx, dy := (b.Max[0]-b.Min[0])*grow, (b.Max[1]-b.Min[1])*grow
	b = orb.Bound{Min: orb.Point{b.Min[0] - dx, b.Min[1] - dy}, Max: orb.Point{b.Max[0] + dx, b.Max[1] + dy}}
	if crs != 0 {
		out := orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
		for _, p := range []orb.Point{b.Min, b.Max, {b.Min[0], b.Max[1]}, {b.Max[0], b.Min[1]}} {
			out = out.Extend(chinacrs.ToWGS84(tileCRSs[crs], p))
		}
		const margin = 0.002
		b = orb.Bound{Min: orb.Point{out.Min[0] - margin, out.Min[1] - margin}, Max: orb.Point{out.Max[0] + margin, out.Max[1] + margin}}
	}
	return [4]float64{max(b.Min[0], -180), max(b.Min[1], -90), min(b.Max[0], 180), min(b.Max[1], 90)}
}

// optionalText returns s, or nil (the attribute left out) when s is empty.
func optionalText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// crsURIs name the coordinate systems of GeoJSON answers in the
// Content-Crs header (OGC API – Features Part 2 names the header; a URI in
// angle brackets). GCJ-02 and BD-09 have no EPSG code, so wangge names
// them with URNs of its own; the documentation lists them.
var crsURIs = map[chinacrs.CRS]string{
	chinacrs.WGS84: "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>",
	chinacrs.GCJ02: "<urn:wangge:crs:gcj02>",
	chinacrs.BD09:  "<urn:wangge:crs:bd09>",
}

// setCRSHeader says in Content-Crs which system the coordinates of the
// answer are in.
func setCRSHeader(c *gin.Context, crs chinacrs.CRS) {
	if uri, ok := crsURIs[crs]; ok {
		c.Header("Content-Crs", uri)
	}
}
