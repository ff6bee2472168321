package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/project"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/featurejson"
)

// rendering holds response bytes rendered once per snapshot, so that hot
// endpoints append bytes instead of marshalling structs per request:
// encoding/json over orb is about twice as slow as PostGIS's own
// json_agg(ST_AsGeoJSON(...)), while copying bytes is not measurable.
type rendering struct {
	snap *geo.Snapshot
	// routing[audience][i] is the JSON members shared by every locate
	// answer that lands in grid i: "grid", "leader", "deputy",
	// "organizations"; audience 1 (dispatchers, admins) sees phones. It is
	// rendered on first use (routingOf): rendering a million grids up front
	// took 20 s and 830 MiB, during which the first lookups on a new
	// snapshot waited.
	routing [2][]atomic.Pointer[[]byte]

	mu sync.Mutex
	// features[k][i] is grid i as a GeoJSON Feature in k's CRS and
	// precision; collections[k] the whole FeatureCollection.
	features    map[renderKey][][]byte
	collections map[renderKey][]byte
	gzipped     map[renderKey][]byte

	// ogc holds the OGC API – Features collections (ogc_collections.go).
	ogc ogcCache
}

type renderKey struct {
	crs       chinacrs.CRS
	precision int
}

// renderingFor returns the rendering of snap, building it on first use.
// Two requests racing on a new generation may both build it; one wins.
func (s *Server) renderingFor(snap *geo.Snapshot) *rendering {
	if r := s.rendered.Load(); r != nil && r.snap == snap {
		return r
	}
	r := newRendering(snap)
	s.rendered.Store(r)
	return r
}

// newRendering renders what every request on snap shares.
func newRendering(snap *geo.Snapshot) *rendering {
	r := &rendering{snap: snap, features: map[renderKey][][]byte{}, collections: map[renderKey][]byte{}, gzipped: map[renderKey][]byte{}}
	for audience := range r.routing {
		r.routing[audience] = make([]atomic.Pointer[[]byte], len(snap.Grids))
	}
	return r
}

// routingOf returns routing[audience][i], rendering it on first use. Two
// requests racing on it render the same bytes; either may be kept.
func (r *rendering) routingOf(audience, i int) []byte {
	if b := r.routing[audience][i].Load(); b != nil {
		return *b
	}
	b := routingJSON(r.snap, &r.snap.Grids[i], audience == 1)
	r.routing[audience][i].Store(&b)
	return b
}

// personJSON is a person as shown in responses: the phone only to roles
// that see personal data.
type personJSON struct {
	Name  string `json:"name"`
	Phone string `json:"phone,omitempty"`
}

type codeNameJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type orgJSON struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

type gridRefJSON struct {
	Code     string        `json:"code"`
	Name     string        `json:"name"`
	Village  codeNameJSON  `json:"village"`
	District *codeNameJSON `json:"district"`
	// Town is the grid's town: a county's dispatcher locates across towns.
	Town codeNameJSON `json:"town"`
}

// contactJSON is what a caller may see of a person: the name, and the
// phone only when personal is true (dispatchers and admins).
func contactJSON(c *geo.Contact, personal bool) *personJSON {
	if c == nil {
		return nil
	}
	p := &personJSON{Name: c.Name}
	if personal {
		p.Phone = c.Phone
	}
	return p
}

func orgsJSON(g *geo.GridRecord) []orgJSON {
	orgs := make([]orgJSON, len(g.Organizations))
	for i, o := range g.Organizations {
		orgs[i] = orgJSON{Kind: string(o.Kind), Name: o.Name}
	}
	return orgs
}

func gridRef(snap *geo.Snapshot, g *geo.GridRecord) gridRefJSON {
	ref := gridRefJSON{Code: g.Code, Name: g.Name, Village: codeNameJSON{Code: g.VillageCode}}
	if t, ok := snap.TownOf(g.Code); ok {
		ref.Town = codeNameJSON{Code: t.Code, Name: t.Name}
	}
	if v, ok := snap.Village(g.VillageCode); ok {
		ref.Village.Name = v.Name
		if d, ok := snap.VillageDistrict(v); ok {
			ref.District = &codeNameJSON{Code: d.Code, Name: d.Name}
		}
	}
	return ref
}

// routingJSON is what locate says of g when its leader and deputy are
// present (see routingJSONAt, which renders leave).
func routingJSON(snap *geo.Snapshot, g *geo.GridRecord, personal bool) []byte {
	return routingJSONAt(snap, g, personal, time.Time{})
}

// gridProperties are the properties of a grid in GET /v1/grids.
type gridProperties struct {
	Code         string  `json:"code"`
	Name         string  `json:"name"`
	VillageCode  string  `json:"village_code"`
	VillageName  string  `json:"village_name"`
	DistrictCode string  `json:"district_code"`
	DistrictName string  `json:"district_name"`
	Households   int     `json:"households"`
	Population   int     `json:"population"`
	Leader       *string `json:"leader"`
}

func listProperties(snap *geo.Snapshot, g *geo.GridRecord) gridProperties {
	ref := gridRef(snap, g)
	p := gridProperties{Code: g.Code, Name: g.Name, VillageCode: g.VillageCode, VillageName: ref.Village.Name,
		Households: g.Households, Population: g.Population}
	if ref.District != nil {
		p.DistrictCode, p.DistrictName = ref.District.Code, ref.District.Name
	}
	if g.Leader != nil {
		p.Leader = &g.Leader.Name
	}
	return p
}

// inCRS returns mp converted from WGS-84 to crs (mp itself for WGS-84).
func inCRS(mp orb.MultiPolygon, crs chinacrs.CRS) orb.MultiPolygon {
	if crs == chinacrs.WGS84 {
		return mp
	}
	return project.MultiPolygon(mp.Clone(), func(p orb.Point) orb.Point { return chinacrs.FromWGS84(crs, p) })
}

// appendFeature appends grid g as a GeoJSON Feature with props.
func appendFeature(b []byte, g *geo.GridRecord, props any, k renderKey) []byte {
	pj, err := json.Marshal(props)
	if err != nil {
		panic(fmt.Sprintf("grid %s properties: %v", g.Code, err)) // plain structs of strings and numbers
	}
	b = append(b, `{"type":"Feature","id":"`...)
	b = append(b, g.Code...)
	b = append(b, `","geometry":`...)
	b = featurejson.AppendMultiPolygon(b, inCRS(g.Geometry, k.crs), k.precision)
	b = append(b, `,"properties":`...)
	b = append(b, pj...)
	return append(b, '}')
}

// gridFeatures returns every grid as a list Feature in k's CRS and precision.
func (r *rendering) gridFeatures(k renderKey) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.features[k]; ok {
		return f
	}
	f := make([][]byte, len(r.snap.Grids))
	for i := range r.snap.Grids {
		g := &r.snap.Grids[i]
		f[i] = appendFeature(nil, g, listProperties(r.snap, g), k)
	}
	r.features[k] = f
	return f
}

// collection returns the FeatureCollection of all grids, rendered once.
func (r *rendering) collection(k renderKey) []byte {
	features := r.gridFeatures(k)
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.collections[k]; ok {
		return c
	}
	c := collectionOf(features, func(int) bool { return true }, r.snap.Generation)
	r.collections[k] = c
	return c
}

// collectionGzip returns the collection of all grids gzip-compressed (at
// the best ratio: it is done once per generation and served many times).
func (r *rendering) collectionGzip(k renderKey) []byte {
	plain := r.collection(k)
	r.mu.Lock()
	defer r.mu.Unlock()
	if z, ok := r.gzipped[k]; ok {
		return z
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(plain)
	zw.Close()
	r.gzipped[k] = buf.Bytes()
	return buf.Bytes()
}

// collectionOf joins the selected features into a FeatureCollection.
func collectionOf(features [][]byte, keep func(i int) bool, generation int64) []byte {
	n := 64
	for i, f := range features {
		if keep(i) {
			n += len(f) + 1
		}
	}
	b := make([]byte, 0, n)
	b = append(b, `{"type":"FeatureCollection","generation":`...)
	b = fmt.Appendf(b, "%d", generation)
	b = append(b, `,"features":[`...)
	first := true
	for i, f := range features {
		if !keep(i) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f...)
	}
	return append(b, "]}"...)
}

// Content types set on every response of their kind, shared rather than
// allocated per response: net/http only reads a header's values, and
// Header.Set replaces the slice rather than writing into it.
var (
	jsonContentType    = []string{"application/json"}
	problemContentType = []string{ProblemContentType}
)

// inlineBodyBytes: net/http counts a body this small itself and sends its
// Content-Length (its buffer before chunking is 2,048 bytes); a larger one
// gets the header from writeBytes, so that it is not chunked.
const inlineBodyBytes = 2048

// writeBytes sends b as the whole response, with the Content-Type given
// unless the handler set one: what gin's c.Data does, without its four
// allocations (the render value, the type's slice, the length's string
// and its slice) on the small answers of the hot endpoints.
func writeBytes(c *gin.Context, status int, contentType []string, b []byte) {
	h := c.Writer.Header()
	if len(h["Content-Type"]) == 0 {
		h["Content-Type"] = contentType
	}
	if len(b) >= inlineBodyBytes {
		h["Content-Length"] = []string{strconv.Itoa(len(b))}
	}
	c.Status(status)
	c.Writer.Write(b)
}

// bodyBuffers hold the bytes of answers built by appending (GET
// /v1/locate, problem+json): every writer under a handler copies what it
// is given, so a buffer is reused once written.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxPooledBody: a larger buffer (a grid with an unusually long answer)
// is left to the GC rather than kept.
const maxPooledBody = 16 << 10

func getBody() *[]byte { return bodyBuffers.Get().(*[]byte) }

// putBody returns a buffer taken with getBody, holding b (its grown
// contents).
func putBody(p *[]byte, b []byte) {
	if cap(b) > maxPooledBody {
		return
	}
	*p = b[:0]
	bodyBuffers.Put(p)
}

// jsonPlain holds the ASCII bytes encoding/json writes as they are: one
// table load per byte instead of six comparisons.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it (HTML characters escaped, invalid UTF-8 as U+FFFD, U+2028
// and U+2029 escaped), without reflection.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
