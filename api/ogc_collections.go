package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/cql2"
	"wangge/geo/featurejson"
)

// This file defines the collections of OGC API – Features (/ogc) and turns
// a snapshot into their features, once per snapshot.

// ogcCollection is one collection under /ogc/collections: what it holds,
// who may see it, its properties, and how its features are built from a
// snapshot. Adding a collection (incidents, with dispatch) is one more entry
// in ogcCollections with need set to the role that may see it.
type ogcCollection struct {
	id, title, description string
	// need is the role a caller must hold to see the collection at all:
	// callers without it find it neither in /collections nor at its path.
	need geo.AccessRole
	// persons says that people signed in (sessions) see the collection
	// too, restricted to what they hold (incidents of their scope).
	persons bool
	// geometry is the GeoJSON type of every feature's geometry, or "" when
	// the features have none (geometry: null).
	geometry string
	// temporal says the features carry a validity interval, so items
	// accept datetime; other collections reject it as an unknown parameter.
	temporal bool
	// instant names the timestamp property that datetime selects on, for
	// collections whose features are instants (incidents: received_at).
	instant string
	// fields are the feature properties, in order. Every one is also a
	// filter parameter of items: equality for strings, integers,
	// booleans and timestamps, membership for lists.
	fields []ogcField
	// enums lists the values a string field can take, for the
	// queryables (incidents' status, severity…).
	enums map[string][]string
	// categories names the string field holding a category code, whose
	// values are the service item catalogue's: an admin changes those at
	// run time, so they are read when asked (enum), not fixed here.
	categories string
	// build makes the layer of a snapshot's collection; nil for
	// collections read from the database on every request (incidents,
	// ogc_incidents.go).
	build func(r *rendering) *ogcLayer
}

// enum lists the values the named field can take on s now, nil when any
// string does: the fixed enums, or every known category code (inactive
// ones too: past incidents keep them).
func (col *ogcCollection) enum(s *Server, name string) []string {
	if name != "" && name == col.categories {
		return stringsOf(s.limits.Categories(true))
	}
	return col.enums[name]
}

// field returns the position of the named field, or -1.
func (col *ogcCollection) field(name string) int {
	for i, f := range col.fields {
		if f.name == name {
			return i
		}
	}
	return -1
}

// ogcFieldKind is the type of a property, for filters and for the HTML.
type ogcFieldKind int

const (
	ogcString ogcFieldKind = iota
	ogcInteger
	ogcStringList
	ogcTimestamp
	ogcBoolean
)

// String names the kind as the HTML pages show it.
func (k ogcFieldKind) String() string {
	return [...]string{"string", "integer", "list of strings", "timestamp (RFC 3339)", "boolean"}[k]
}

// ogcField is one property of a collection's features.
type ogcField struct {
	name  string
	kind  ogcFieldKind
	title string
}

// ogcCollections lists the collections in the order /ogc/collections shows
// them. Phones never appear in any of them: leaders are shown by name.
var ogcCollections = []*ogcCollection{
	{
		id: "grids", title: "Grids (网格)", need: geo.AccessViewer, geometry: "MultiPolygon", temporal: true,
		description: "The grids of the current generation: boundary, village, liaison district, households, " +
			"population and the grid leader's name. The same properties as GET /v1/grids. datetime gives the grids " +
			"valid then: an instant before the current generation is answered from the grid history, with the " +
			"people in office then, as GET /v1/grids?at= is.",
		fields: []ogcField{
			{"code", ogcString, "15-digit grid code"},
			{"name", ogcString, "grid name"},
			{"village_code", ogcString, "12-digit village code"},
			{"village_name", ogcString, "village name"},
			{"district_code", ogcString, "liaison district (片区) code"},
			{"district_name", ogcString, "liaison district name"},
			{"households", ogcInteger, "households in the grid"},
			{"population", ogcInteger, "people in the grid"},
			{"leader", ogcString, "the grid leader's name (网格长)"},
		},
		build: ogcGridLayer,
	},
	{
		id: "villages", title: "Villages and communities (村/社区)", need: geo.AccessViewer, geometry: "MultiPolygon",
		description: "The villages and communities of the town with their outline, liaison district, and the " +
			"number of grids, households and people in them.",
		fields: []ogcField{
			{"code", ogcString, "12-digit village code"},
			{"name", ogcString, "village name"},
			{"district_code", ogcString, "liaison district (片区) code"},
			{"district_name", ogcString, "liaison district name"},
			{"grids", ogcInteger, "number of grids"},
			{"households", ogcInteger, "households in the village's grids"},
			{"population", ogcInteger, "people in the village's grids"},
		},
		build: ogcVillageLayer,
	},
	{
		id: "organizations", title: "Social organizations (社会组织)", need: geo.AccessViewer,
		description: "The social organizations serving the grids (红白喜事理事会, 爱卫会, 关心留守儿童工作委员会, …), " +
			"with the grids each serves. Their geometry is null: the area an organization serves is that of its " +
			"grids, listed in the property grids (filter with grids=<grid code>); a bbox matches no organization. " +
			"The id is <village code>-<kind>-<8 hex digits of the name's FNV-1a hash>, stable while the " +
			"organization keeps its village, kind and name.",
		fields: []ogcField{
			{"kind", ogcString, "kind: " + ogcOrgKinds()},
			{"name", ogcString, "organization name"},
			{"village_code", ogcString, "12-digit code of its village"},
			{"village_name", ogcString, "village name"},
			{"grids", ogcStringList, "codes of the grids it serves"},
			{"grid_count", ogcInteger, "number of grids it serves"},
		},
		build: ogcOrganizationLayer,
	},
	ogcIncidents,     // ogc_incidents.go
	ogcServicePoints, // servicepoints_map.go
}

// ogcOrgKinds lists the organization kinds, for the kind property's title.
func ogcOrgKinds() string {
	kinds := make([]string, len(geo.OrgKinds))
	for i, k := range geo.OrgKinds {
		kinds[i] = string(k)
	}
	return strings.Join(kinds, ", ")
}

// ogcCollectionByID returns the collection with the given id.
func ogcCollectionByID(id string) (*ogcCollection, bool) {
	for _, col := range ogcCollections {
		if col.id == id {
			return col, true
		}
	}
	return nil, false
}

// ogcLayer is a collection's features in one snapshot, in the order items
// pages them: by code (grids, villages), or by village, kind and name
// (organizations).
type ogcLayer struct {
	items []ogcItem
	at    map[string]int
	// extent bounds every geometry; hasExtent is false when there is none.
	extent    orb.Bound
	hasExtent bool
	// since is when the current generation took effect: datetime before it
	// would need history the snapshot does not hold. Zero when unknown
	// (a snapshot read from a file): then it holds since always.
	since time.Time
	// earliest is the earliest valid_from of a feature (zero if unknown).
	earliest time.Time
}

// ogcItem is one feature of a layer.
type ogcItem struct {
	id string
	// geom is nil for a feature without geometry, else an
	// orb.MultiPolygon or an orb.Point, in CRS84.
	geom  orb.Geometry
	bound orb.Bound
	// validFrom and validTo bound the feature's validity (temporal
	// collections); a zero validTo is open.
	validFrom, validTo time.Time
	// values holds the properties in the collection's field order: a
	// string, an int, a []string, a time.Time, a bool, or nil for null.
	values []any
	// feature is the GeoJSON Feature in CRS84, without links; props is
	// its properties member, for features in other CRSs.
	feature, props []byte
}

// ogcCache holds the layers of one snapshot's rendering, built together on
// first use.
type ogcCache struct {
	once   sync.Once
	layers map[string]*ogcLayer
}

// ogcLayer returns col's features in r's snapshot; an empty layer for
// collections read from the database.
func (r *rendering) ogcLayer(col *ogcCollection) *ogcLayer {
	r.ogc.once.Do(func() {
		r.ogc.layers = make(map[string]*ogcLayer, len(ogcCollections))
		for _, c := range ogcCollections {
			if c.build != nil {
				r.ogc.layers[c.id] = c.build(r)
			}
		}
	})
	if l, ok := r.ogc.layers[col.id]; ok {
		return l
	}
	return &ogcLayer{at: map[string]int{}}
}

// add appends an item and extends the extent.
func (l *ogcLayer) add(it ogcItem) {
	if it.geom != nil {
		it.bound = it.geom.Bound()
		if l.hasExtent {
			l.extent = l.extent.Union(it.bound)
		} else {
			l.extent, l.hasExtent = it.bound, true
		}
	}
	l.at[it.id] = len(l.items)
	l.items = append(l.items, it)
}

// ogcGridLayer reuses the grid features that GET /v1/grids serves (WGS-84,
// exact coordinates), so the bytes are rendered once for both.
func ogcGridLayer(r *rendering) *ogcLayer {
	snap := r.snap
	features := r.gridFeatures(renderKey{crs: chinacrs.WGS84, precision: featurejson.Exact})
	l := &ogcLayer{at: make(map[string]int, len(snap.Grids))}
	for i := range snap.Grids {
		g := &snap.Grids[i]
		p := listProperties(snap, g)
		var leader any
		if p.Leader != nil {
			leader = *p.Leader
		}
		l.add(ogcItem{id: g.Code, geom: geomOf(g.Geometry), validFrom: g.ValidFrom, validTo: g.ValidTo, feature: features[i],
			props: ogcProps(g.Code, p), values: []any{p.Code, p.Name, p.VillageCode, p.VillageName, p.DistrictCode,
				p.DistrictName, p.Households, p.Population, leader}})
		if g.ValidFrom.After(l.since) {
			l.since = g.ValidFrom
		}
		if !g.ValidFrom.IsZero() && (l.earliest.IsZero() || g.ValidFrom.Before(l.earliest)) {
			l.earliest = g.ValidFrom
		}
	}
	return l
}

// ogcVillageProperties are the properties of a village feature.
type ogcVillageProperties struct {
	Code         string `json:"code"`
	Name         string `json:"name"`
	DistrictCode string `json:"district_code"`
	DistrictName string `json:"district_name"`
	Grids        int    `json:"grids"`
	Households   int    `json:"households"`
	Population   int    `json:"population"`
}

func ogcVillageLayer(r *rendering) *ogcLayer {
	snap := r.snap
	props := make([]ogcVillageProperties, len(snap.Villages))
	for i, v := range snap.Villages {
		props[i] = ogcVillageProperties{Code: v.Code, Name: v.Name, DistrictCode: v.DistrictCode}
		if d, ok := snap.VillageDistrict(&v); ok {
			props[i].DistrictName = d.Name
		}
	}
	for _, g := range snap.Grids {
		if i, ok := slices.BinarySearchFunc(snap.Villages, g.VillageCode, func(v geo.Village, code string) int {
			return cmp.Compare(v.Code, code)
		}); ok {
			props[i].Grids++
			props[i].Households += g.Households
			props[i].Population += g.Population
		}
	}
	l := &ogcLayer{at: make(map[string]int, len(snap.Villages))}
	for i, v := range snap.Villages {
		p := props[i]
		it := ogcItem{id: v.Code, props: ogcProps(v.Code, p),
			values: []any{p.Code, p.Name, p.DistrictCode, p.DistrictName, p.Grids, p.Households, p.Population}}
		it.geom = geomOf(v.Outline)
		it.feature = ogcFeature(it.id, it.geom, it.props, crsCRS84)
		l.add(it)
	}
	return l
}

// ogcOrganizationProperties are the properties of an organization feature.
type ogcOrganizationProperties struct {
	Kind        geo.OrgKind `json:"kind"`
	Name        string      `json:"name"`
	VillageCode string      `json:"village_code"`
	VillageName string      `json:"village_name"`
	Grids       []string    `json:"grids"`
	GridCount   int         `json:"grid_count"`
}

// ogcOrganizationLayer gathers the organizations from the grids they serve.
// The snapshot knows an organization by its village, kind and name (unique
// together in the database), so those make its id.
func ogcOrganizationLayer(r *rendering) *ogcLayer {
	snap := r.snap
	type key struct {
		village string
		kind    geo.OrgKind
		name    string
	}
	at := map[key]int{}
	var orgs []ogcOrganizationProperties
	for _, g := range snap.Grids { // by code, so each org's grids come sorted
		for _, o := range g.Organizations {
			k := key{g.VillageCode, o.Kind, o.Name}
			i, ok := at[k]
			if !ok {
				i = len(orgs)
				at[k] = i
				p := ogcOrganizationProperties{Kind: o.Kind, Name: o.Name, VillageCode: g.VillageCode}
				if v, ok := snap.Village(g.VillageCode); ok {
					p.VillageName = v.Name
				}
				orgs = append(orgs, p)
			}
			orgs[i].Grids = append(orgs[i].Grids, g.Code)
			orgs[i].GridCount++
		}
	}
	slices.SortFunc(orgs, func(a, b ogcOrganizationProperties) int {
		return cmp.Or(cmp.Compare(a.VillageCode, b.VillageCode), cmp.Compare(a.Kind.Rank(), b.Kind.Rank()),
			cmp.Compare(a.Name, b.Name))
	})
	l := &ogcLayer{at: make(map[string]int, len(orgs))}
	for _, p := range orgs {
		id := ogcOrganizationID(p.VillageCode, p.Kind, p.Name)
		for n := 2; ; n++ { // a hash collision within a village and kind: number the later ones
			if _, dup := l.at[id]; !dup {
				break
			}
			id = ogcOrganizationID(p.VillageCode, p.Kind, p.Name) + "-" + strconv.Itoa(n)
		}
		props := ogcProps(id, p)
		l.add(ogcItem{id: id, feature: ogcFeature(id, nil, props, crsCRS84), props: props,
			values: []any{string(p.Kind), p.Name, p.VillageCode, p.VillageName, p.Grids, p.GridCount}})
	}
	return l
}

// ogcOrganizationID is an organization's feature id: its village code, its
// kind and 8 hex digits of the FNV-1a hash of its name, so that the id is
// ASCII, short, and stable while those three do not change.
func ogcOrganizationID(village string, kind geo.OrgKind, name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%s-%s-%08x", village, kind, h.Sum32())
}

// ogcProps renders a feature's properties member.
func ogcProps(id string, props any) []byte {
	pj, err := json.Marshal(props)
	if err != nil {
		panic(fmt.Sprintf("feature %s properties: %v", id, err)) // plain structs of strings, numbers and times
	}
	return pj
}

// ogcFeature renders a GeoJSON Feature with a string id, its geometry
// (CRS84) in crs, and its rendered properties; a nil geometry is written
// as null.
func ogcFeature(id string, geom orb.Geometry, props []byte, crs ogcCRS) []byte {
	idj, err := json.Marshal(id)
	if err != nil {
		panic(err) // a string always marshals
	}
	b := append([]byte(`{"type":"Feature","id":`), idj...)
	b = append(b, `,"geometry":`...)
	b = appendGeometry(b, geom, crs)
	b = append(b, `,"properties":`...)
	b = append(b, props...)
	return append(b, '}')
}

// featureIn returns the item as a GeoJSON Feature in crs.
func (it *ogcItem) featureIn(crs ogcCRS) []byte {
	if crs == crsCRS84 {
		return it.feature
	}
	return ogcFeature(it.id, it.geom, it.props, crs)
}

// ogcFilter is one property filter of an items request.
type ogcFilter struct {
	field int
	kind  ogcFieldKind
	s     string
	n     int
	b     bool
	t     time.Time
}

// match reports whether the item's property passes the filter; a null
// property passes none.
func (f ogcFilter) match(it *ogcItem) bool {
	switch v := it.values[f.field].(type) {
	case string:
		return f.kind == ogcString && v == f.s
	case int:
		return f.kind == ogcInteger && v == f.n
	case []string:
		return f.kind == ogcStringList && slices.Contains(v, f.s)
	case bool:
		return f.kind == ogcBoolean && v == f.b
	case time.Time:
		return f.kind == ogcTimestamp && v.Equal(f.t)
	}
	return false
}

// ogcTimeRange is a datetime parameter: an instant or a closed interval,
// with open ends as zero times.
type ogcTimeRange struct {
	start, end time.Time
}

// contains reports whether the instant t lies in the range, ends
// included.
func (tr ogcTimeRange) contains(t time.Time) bool {
	return (tr.start.IsZero() || !t.Before(tr.start)) && (tr.end.IsZero() || !t.After(tr.end))
}

// overlaps reports whether [from, to) (to zero: open) meets the range.
func (tr ogcTimeRange) overlaps(from, to time.Time) bool {
	if !tr.end.IsZero() && from.After(tr.end) {
		return false
	}
	return to.IsZero() || tr.start.IsZero() || to.After(tr.start)
}

// ogcQuery is what an items request selects, and in which order.
type ogcQuery struct {
	col      *ogcCollection
	bbox     *orb.Bound
	datetime *ogcTimeRange
	filters  []ogcFilter
	// filter is the CQL2 filter (nil: none), checked against the
	// collection's queryables, with its geometries in CRS84.
	filter *cql2.Node
	// sort is the sortby keys, most significant first.
	sort []ogcSortKey
	// crs is the CRS of the response's coordinates.
	crs ogcCRS
}

// match returns the positions of the items that the query selects, in
// the order it asks for (the layer's order when it asks for none).
func (l *ogcLayer) match(q ogcQuery) []int {
	out := make([]int, 0, len(l.items))
next:
	for i := range l.items {
		it := &l.items[i]
		for _, f := range q.filters {
			if !f.match(it) {
				continue next
			}
		}
		if q.bbox != nil && !geometryMeetsBound(it.geom, it.bound, *q.bbox) {
			continue
		}
		if q.datetime != nil {
			if q.col != nil && q.col.instant != "" {
				if !q.datetime.contains(it.validFrom) {
					continue
				}
			} else if !q.datetime.overlaps(it.validFrom, it.validTo) {
				continue
			}
		}
		if q.filter != nil && !cql2.Match(q.filter, ogcFeatureOf{q.col, it}) {
			continue
		}
		out = append(out, i)
	}
	if len(q.sort) > 0 {
		slices.SortStableFunc(out, func(a, b int) int { return compareItems(q.sort, &l.items[a], &l.items[b]) })
	}
	return out
}

// geometryMeetsBound reports whether geometry g (with bounding box gb)
// and the closed box b have a point in common; nil meets nothing.
func geometryMeetsBound(g orb.Geometry, gb orb.Bound, b orb.Bound) bool {
	switch g := g.(type) {
	case orb.MultiPolygon:
		return multiPolygonMeetsBound(g, gb, b)
	case orb.Point:
		return b.Contains(g)
	}
	return false
}

// geomOf is mp as a geometry: nil when it is empty.
func geomOf(mp orb.MultiPolygon) orb.Geometry {
	if len(mp) == 0 {
		return nil
	}
	return mp
}

// multiPolygonMeetsBound reports whether the polygons mp (with bounding box
// mb) and the closed box b have a point in common, edges included, as the
// OGC bbox parameter asks: a box touching a grid's edge selects it, a box
// wholly inside a grid or wholly inside a hole is decided by its centre.
// A feature without geometry meets no box.
func multiPolygonMeetsBound(mp orb.MultiPolygon, mb orb.Bound, b orb.Bound) bool {
	if len(mp) == 0 || !mb.Intersects(b) {
		return false
	}
	for _, poly := range mp {
		for _, ring := range poly {
			for i := 0; i+1 < len(ring); i++ {
				if segmentMeetsBound(ring[i], ring[i+1], b) {
					return true
				}
			}
		}
		// No edge of poly meets b: b lies wholly inside poly or wholly
		// outside it, and its centre, on no edge, tells which.
		if planar.PolygonContains(poly, b.Center()) {
			return true
		}
	}
	return false
}

// segmentMeetsBound reports whether the segment pq meets the closed box b
// (Liang–Barsky clipping).
func segmentMeetsBound(p, q orb.Point, b orb.Bound) bool {
	dx, dy := q[0]-p[0], q[1]-p[1]
	t0, t1 := 0.0, 1.0
	for _, e := range [4][2]float64{{-dx, p[0] - b.Min[0]}, {dx, b.Max[0] - p[0]}, {-dy, p[1] - b.Min[1]}, {dy, b.Max[1] - p[1]}} {
		den, num := e[0], e[1]
		if den == 0 {
			if num < 0 {
				return false // parallel to this side and outside it
			}
			continue
		}
		t := num / den
		if den < 0 {
			if t > t1 {
				return false
			}
			t0 = max(t0, t)
		} else {
			if t < t0 {
				return false
			}
			t1 = min(t1, t)
		}
	}
	return t0 <= t1
}
