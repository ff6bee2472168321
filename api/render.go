package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

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
