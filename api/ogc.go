package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
)

// This file serves OGC API – Features, Part 1 (Core, GeoJSON, HTML, OpenAPI
// 3.0), Part 2 (CRS by reference, ogc_crs.go) and Part 3 (Filtering with
// CQL2, ogc_filter.go) under /ogc: the grids, villages and organizations
// from the in-memory snapshot (past generations from the history, for
// datetime), and the incidents from the database (ogc_incidents.go), so
// that GDAL's OAPIF driver, QGIS and browsers read them in a standard they
// already speak. Coordinates are CRS84 (lon, lat), exactly as stored,
// unless crs asks for another. Every link is an absolute URL built from
// the request (see ogcBaseURL). Representations are JSON and HTML, chosen
// by f=json|html or by the Accept header.

// OGC media types and identifiers.
const (
	ogcOpenAPIType = "application/vnd.oai.openapi+json;version=3.0"
	ogcHTMLType    = "text/html; charset=utf-8"
	ogcCRS84       = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	ogcGregorian   = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
)

// ogcConformsTo lists the conformance classes /ogc/conformance declares,
// each exercised by a test (ogc_part23_test.go, geo/cql2). Not declared,
// because not implemented: CQL2 arithmetic, arrays, accent-insensitive
// comparison, the spatial functions beyond S_INTERSECTS and S_DISJOINT,
// custom functions.
var ogcConformsTo = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
	"http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
	"http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
	"http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
	"http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
	"http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
	"http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
	"http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
	"http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
	"http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
	"http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
	"http://www.opengis.net/spec/cql2/1.0/conf/property-property",
}

// ogcRoutes registers the OGC API – Features endpoints. The landing page,
// conformance and API description answer before the first snapshot; the
// collections need it.
func (s *Server) ogcRoutes(r *gin.Engine) {
	g := r.Group("/ogc")
	g.GET("", s.handle(s.ogcLanding))
	g.GET("/", s.handle(s.ogcLanding))
	g.GET("/conformance", s.handle(s.ogcConformance))
	g.GET("/api", s.handle(s.ogcAPI))
	cols := g.Group("/collections", s.requireSnapshot)
	cols.GET("", s.handle(s.ogcCollectionList))
	cols.GET("/:collectionId", s.handle(s.ogcCollectionDoc))
	cols.GET("/:collectionId/queryables", s.handle(s.ogcQueryables))
	cols.GET("/:collectionId/items", s.handle(s.ogcItems))
	cols.GET("/:collectionId/items/:featureId", s.handle(s.ogcItem))
}

// ogcLink is a link of an /ogc response. Href is always absolute.
type ogcLink struct {
	Href  string `json:"href"`
	Rel   string `json:"rel"`
	Type  string `json:"type,omitempty"`
	Title string `json:"title,omitempty"`
}

// ogcSelfLinks are the self link in format f and the alternate link in the
// other format, for a resource at base+path whose JSON type is jsonType.
func ogcSelfLinks(base, path string, f ogcFormat, jsonType string) []ogcLink {
	jl := ogcLink{Href: ogcHref(base, path, ogcJSON), Type: jsonType, Title: "this document as JSON"}
	hl := ogcLink{Href: ogcHref(base, path, ogcHTML), Type: "text/html", Title: "this document as HTML"}
	if f == ogcHTML {
		hl.Rel, jl.Rel = "self", "alternate"
		return []ogcLink{hl, jl}
	}
	jl.Rel, hl.Rel = "self", "alternate"
	return []ogcLink{jl, hl}
}

// ogcStart is the common prologue of the /ogc handlers: it checks the
// query parameters against allowed and picks the representation.
func ogcStart(c *gin.Context, allowed []string, hint string) (ogcFormat, error) {
	if err := ogcCheckParams(c, allowed, hint); err != nil {
		return 0, err
	}
	return ogcNegotiate(c)
}

// ogcRevalidate sets the caching headers of an /ogc response and answers
// 304 when the client holds the current version. The ETag names the
// generation and everything the response depends on: path, query, format,
// base URL (links are absolute) and the caller's role (which collections
// it sees).
func ogcRevalidate(c *gin.Context, version string, base string, f ogcFormat) bool {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s", base, c.Request.URL.Path, c.Request.URL.RawQuery, f, callerRole(c))
	etag := fmt.Sprintf(`"ogc%s-%x"`, version, h.Sum64())
	ogcVary(c)
	if notModified(c, etag) {
		return true
	}
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	return false
}

// ogcVary says that /ogc responses depend on Accept (the representation)
// and Authorization (the collections a role sees).
func ogcVary(c *gin.Context) {
	addVary(c.Writer.Header(), "Accept")
	addVary(c.Writer.Header(), "Authorization")
}

// ogcWrite sends v as JSON of the given type, or the named HTML page with
// page as its data.
func ogcWrite(c *gin.Context, f ogcFormat, jsonType string, v any, tmpl string, page ogcPage) error {
	if f == ogcHTML {
		return ogcWriteHTML(c, tmpl, page)
	}
	body, err := ogcMarshal(v)
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, jsonType, body)
	return nil
}

// ogcMarshal is json.Marshal without HTML escaping, so that the links'
// query strings read "&", not "\u0026".
func ogcMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ogcLandingJSON is the landing page.
type ogcLandingJSON struct {
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Links       []ogcLink `json:"links"`
}

// ogcLanding answers /ogc: the title, the town's note on its data, and links
// to the API definition, the conformance classes and the collections.
func (s *Server) ogcLanding(c *gin.Context) error {
	f, err := ogcStart(c, []string{"f"}, "")
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	title, desc := "wangge", "Grids (网格) of grid-based community governance, as OGC API – Features."
	version := "none"
	if snap := s.registry.Load(); snap != nil {
		version = snap.Version()
		title = "wangge: " + snap.Whole().Name
		desc = fmt.Sprintf("The grids (网格), villages and social organizations of %s (%s), generation %d, and for "+
			"dispatchers the incidents, as OGC API – Features. Coordinates are CRS84 (WGS-84 lon/lat) unless crs asks "+
			"for EPSG:4326, EPSG:4490 (CGCS2000) or EPSG:3857. %s", snap.Whole().Name, snap.Whole().Code, snap.Generation, snap.Whole().Note)
	}
	if ogcRevalidate(c, version, base, f) {
		return nil
	}
	links := append(ogcSelfLinks(base, "", f, "application/json"),
		ogcLink{Href: ogcHref(base, "/api", ogcJSON), Rel: "service-desc", Type: ogcOpenAPIType, Title: "the API definition (OpenAPI 3.0)"},
		ogcLink{Href: ogcHref(base, "/api", ogcHTML), Rel: "service-doc", Type: "text/html", Title: "the API documentation"},
		ogcLink{Href: ogcHref(base, "/conformance", ogcJSON), Rel: "conformance", Type: "application/json", Title: "conformance classes"},
		ogcLink{Href: ogcHref(base, "/conformance", ogcHTML), Rel: "conformance", Type: "text/html", Title: "conformance classes"},
		ogcLink{Href: ogcHref(base, "/collections", ogcJSON), Rel: "data", Type: "application/json", Title: "the collections"},
		ogcLink{Href: ogcHref(base, "/collections", ogcHTML), Rel: "data", Type: "text/html", Title: "the collections"})
	doc := ogcLandingJSON{Title: title, Description: desc, Links: links}
	return ogcWrite(c, f, "application/json", doc, "landing", ogcPage{Title: title, Base: base, Links: links, Body: doc})
}

// ogcConformance answers /ogc/conformance with the classes implemented.
func (s *Server) ogcConformance(c *gin.Context) error {
	f, err := ogcStart(c, []string{"f"}, "")
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	ogcVary(c)
	links := ogcSelfLinks(base, "/conformance", f, "application/json")
	doc := struct {
		ConformsTo []string  `json:"conformsTo"`
		Links      []ogcLink `json:"links"`
	}{ogcConformsTo, links}
	return ogcWrite(c, f, "application/json", doc, "conformance",
		ogcPage{Title: "Conformance", Base: base, Links: links, Body: ogcConformsTo})
}

// ogcAPI serves the API definition of /ogc (ogc_openapi.go) as
// application/vnd.oai.openapi+json;version=3.0, or an HTML list of its
// operations (with /ogc before each path, as a browser would request it).
func (s *Server) ogcAPI(c *gin.Context) error {
	f, err := ogcStart(c, []string{"f"}, "")
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	ogcVary(c)
	body, err := ogcAPIDocument(base)
	if err != nil {
		return err
	}
	if f == ogcJSON {
		c.Data(http.StatusOK, ogcOpenAPIType, body)
		return nil
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Summary string `json:"summary"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return err
	}
	type op struct{ Method, Path, Summary string }
	var ops []op
	for path, methods := range doc.Paths {
		for m, o := range methods {
			if m == "get" || m == "post" || m == "put" || m == "patch" || m == "delete" {
				ops = append(ops, op{m, strings.TrimSuffix("/ogc"+path, "/"), o.Summary})
			}
		}
	}
	slices.SortFunc(ops, func(a, b op) int { return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method)) })
	links := ogcSelfLinks(base, "/api", f, ogcOpenAPIType)
	return ogcWriteHTML(c, "api", ogcPage{Title: "API definition", Base: base, Links: links, Body: ops})
}

// ogcCollectionJSON is one collection's description.
type ogcCollectionJSON struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Links       []ogcLink  `json:"links"`
	Extent      *ogcExtent `json:"extent,omitempty"`
	ItemType    string     `json:"itemType"`
	CRS         []string   `json:"crs"`
	StorageCRS  string     `json:"storageCrs"`
}

// ogcExtent is a collection's extent: spatial (absent without geometry)
// and temporal (grids only).
type ogcExtent struct {
	Spatial  *ogcSpatialExtent  `json:"spatial,omitempty"`
	Temporal *ogcTemporalExtent `json:"temporal,omitempty"`
}

// ogcSpatialExtent is the bounding box of a collection's geometries.
type ogcSpatialExtent struct {
	BBox [][4]float64 `json:"bbox"`
	CRS  string       `json:"crs"`
}

// ogcTemporalExtent is the interval of a collection's validity times; a
// null end is open.
type ogcTemporalExtent struct {
	Interval [][2]*string `json:"interval"`
	TRS      string       `json:"trs"`
}

// sees reports whether a caller of role may see col: its role allows
// col.need, or it is a person signed in and col shows persons their scope.
func (col *ogcCollection) sees(role geo.AccessRole) bool {
	return role.Allows(col.need) || col.persons && role == geo.AccessPerson
}

// holds reports whether this server has col's data: incidents need an
// incident store.
func (s *Server) holds(col *ogcCollection) bool {
	return col.build != nil || s.cfg.Incidents != nil
}

// ogcVisible returns the collections the caller may see.
func (s *Server) ogcVisible(c *gin.Context) []*ogcCollection {
	role := callerRole(c)
	var out []*ogcCollection
	for _, col := range ogcCollections {
		if col.sees(role) && s.holds(col) {
			out = append(out, col)
		}
	}
	return out
}

// ogcCollectionFor returns the collection named in the path, if the caller
// may see it: unknown ids are 404; collections that need a role the caller
// lacks are 401 to anonymous callers (send a token) and 403 to others.
func (s *Server) ogcCollectionFor(c *gin.Context) (*ogcCollection, error) {
	id := c.Param("collectionId")
	col, ok := ogcCollectionByID(id)
	if !ok || !s.holds(col) {
		ids := ""
		for i, v := range s.ogcVisible(c) {
			if i > 0 {
				ids += ", "
			}
			ids += v.id
		}
		return nil, problemf(TypeNotFound, http.StatusNotFound, "collection %q does not exist; the collections are %s", truncate(id), ids)
	}
	if role := callerRole(c); !col.sees(role) {
		if c.GetString(actorKey) == "anonymous" {
			c.Header("WWW-Authenticate", `Bearer realm="wangge"`)
			return nil, problemf(TypeUnauthorized, http.StatusUnauthorized, "collection %s needs a %s token", col.id, col.need)
		}
		return nil, problemf(TypeForbidden, http.StatusForbidden, "role %s may not see collection %s: it needs %s", role, col.id, col.need)
	}
	return col, nil
}

// describe returns col's description with links under base.
func (col *ogcCollection) describe(base string, l *ogcLayer, f ogcFormat) ogcCollectionJSON {
	path := "/collections/" + col.id
	d := ogcCollectionJSON{ID: col.id, Title: col.title, Description: col.description, ItemType: "feature",
		CRS: []string{ogcCRS84}, StorageCRS: ogcCRS84, Links: append(ogcSelfLinks(base, path, f, "application/json"),
			ogcLink{Href: ogcHref(base, path+"/items", ogcJSON), Rel: "items", Type: GeoJSONContentType, Title: col.title + " as GeoJSON"},
			ogcLink{Href: ogcHref(base, path+"/items", ogcHTML), Rel: "items", Type: "text/html", Title: col.title + " as HTML"},
			ogcLink{Href: base + path + "/queryables", Rel: "http://www.opengis.net/def/rel/ogc/1.0/queryables",
				Type: "application/schema+json", Title: "the properties filter may name"})}
	if col.geometry != "" {
		d.CRS = ogcCRSList
	}
	if l.hasExtent || col.temporal {
		d.Extent = &ogcExtent{}
	}
	if l.hasExtent {
		d.Extent.Spatial = &ogcSpatialExtent{BBox: [][4]float64{ogcBBoxOf(l.extent)}, CRS: ogcCRS84}
	}
	if col.temporal {
		var start *string
		if !l.earliest.IsZero() {
			t := l.earliest.UTC().Format(time.RFC3339)
			start = &t
		}
		d.Extent.Temporal = &ogcTemporalExtent{Interval: [][2]*string{{start, nil}}, TRS: ogcGregorian}
	}
	return d
}

// ogcCollectionList answers /ogc/collections: the collections the caller
// may see.
func (s *Server) ogcCollectionList(c *gin.Context) error {
	f, err := ogcStart(c, []string{"f"}, "")
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	snap := s.registry.Load()
	if ogcRevalidate(c, snap.Version(), base, f) {
		return nil
	}
	r := s.renderingFor(snap)
	links := ogcSelfLinks(base, "/collections", f, "application/json")
	doc := struct {
		Links       []ogcLink           `json:"links"`
		Collections []ogcCollectionJSON `json:"collections"`
	}{Links: links, Collections: []ogcCollectionJSON{}}
	for _, col := range s.ogcVisible(c) {
		doc.Collections = append(doc.Collections, col.describe(base, r.ogcLayer(col), ogcJSON))
	}
	return ogcWrite(c, f, "application/json", doc, "collections",
		ogcPage{Title: "Collections", Base: base, Links: links, Body: doc.Collections})
}

// ogcCollectionDoc answers /ogc/collections/{collectionId}.
func (s *Server) ogcCollectionDoc(c *gin.Context) error {
	col, err := s.ogcCollectionFor(c)
	if err != nil {
		return err
	}
	f, err := ogcStart(c, []string{"f"}, "")
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	snap := s.registry.Load()
	if ogcRevalidate(c, snap.Version(), base, f) {
		return nil
	}
	l := s.renderingFor(snap).ogcLayer(col)
	d := col.describe(base, l, f)
	items := len(l.items)
	if col.build == nil {
		items = -1
	}
	return ogcWrite(c, f, "application/json", d, "collection", ogcPage{Title: col.title, Base: base, Links: d.Links,
		Body: ogcCollectionPage{ogcCollectionJSON: d, Fields: col.fields, Temporal: col.temporal || col.instant != "",
			Since: l.since, Items: items}})
}

// ogcItemsHeader is the members of an items response before "features".
type ogcItemsHeader struct {
	Type           string    `json:"type"`
	NumberMatched  int       `json:"numberMatched"`
	NumberReturned int       `json:"numberReturned"`
	TimeStamp      string    `json:"timeStamp"`
	Links          []ogcLink `json:"links"`
}

// ogcItems answers /ogc/collections/{collectionId}/items: the features
// that match bbox, datetime, the property filters and the CQL2 filter, in
// sortby's order, paged by limit and offset, in crs. The snapshot's
// features are rendered once per snapshot (in CRS84; other CRSs per
// page); incidents are read from the database on every request.
func (s *Server) ogcItems(c *gin.Context) error {
	col, err := s.ogcCollectionFor(c)
	if err != nil {
		return err
	}
	f, err := ogcStart(c, ogcAllowed(col), " for collection "+col.id)
	if err != nil {
		return err
	}
	limit, offset, err := ogcPaging(c)
	if err != nil {
		return err
	}
	q, err := s.ogcQueryOf(c, col)
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	var l *ogcLayer
	if col.build == nil {
		if l, err = s.ogcIncidentLayer(c, q); err != nil {
			return err
		}
		ogcVary(c)
		c.Header("Cache-Control", "private, no-store")
	} else {
		var version string
		if l, version, err = s.ogcLayerFor(c, col, q); err != nil {
			return err
		}
		if ogcRevalidate(c, version, base, f) {
			return nil
		}
	}
	matched := l.match(q)
	page := matched[min(offset, len(matched)):min(offset+limit, len(matched))]

	path := "/collections/" + col.id + "/items"
	query := c.Request.URL.Query()
	other := ogcHTML
	if f == ogcHTML {
		other = ogcJSON
	}
	typeOf := func(f ogcFormat) string {
		if f == ogcHTML {
			return "text/html"
		}
		return GeoJSONContentType
	}
	links := []ogcLink{
		{Href: ogcPageLink(base, path, query, limit, offset, f), Rel: "self", Type: typeOf(f), Title: "this page"},
		{Href: ogcPageLink(base, path, query, limit, offset, other), Rel: "alternate", Type: typeOf(other), Title: "this page as " + strings.ToUpper(other.String())},
	}
	if offset+limit < len(matched) {
		links = append(links, ogcLink{Href: ogcPageLink(base, path, query, limit, offset+limit, f), Rel: "next", Type: typeOf(f), Title: "next page"})
	}
	if offset > 0 {
		links = append(links, ogcLink{Href: ogcPageLink(base, path, query, limit, max(0, offset-limit), f), Rel: "prev", Type: typeOf(f), Title: "previous page"})
	}
	links = append(links, ogcLink{Href: ogcHref(base, "/collections/"+col.id, ogcJSON), Rel: "collection", Type: "application/json", Title: col.title})

	if f == ogcHTML {
		p := ogcItemsPage{Collection: col, Matched: len(matched), Offset: offset, Limit: limit,
			Prev: ogcFindRel(links, "prev"), Next: ogcFindRel(links, "next")}
		for _, i := range page {
			it := &l.items[i]
			p.Rows = append(p.Rows, ogcRow{ID: it.id, Href: ogcHref(base, path+"/"+url.PathEscape(it.id), ogcHTML), Cells: ogcCells(it.values)})
		}
		return ogcWriteHTML(c, "items", ogcPage{Title: col.title, Base: base, Links: links, Body: p})
	}

	head, err := ogcMarshal(ogcItemsHeader{Type: "FeatureCollection", NumberMatched: len(matched), NumberReturned: len(page),
		TimeStamp: time.Now().UTC().Format(time.RFC3339), Links: links})
	if err != nil {
		return err
	}
	features := make([][]byte, len(page))
	n := len(head) + 16
	for k, i := range page {
		features[k] = l.items[i].featureIn(q.crs)
		n += len(features[k]) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, head[:len(head)-1]...)
	b = append(b, `,"features":[`...)
	for k, ft := range features {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, ft...)
	}
	b = append(b, "]}"...)
	c.Header("Content-Crs", "<"+q.crs.String()+">")
	c.Data(http.StatusOK, GeoJSONContentType, b)
	return nil
}

// ogcFindRel returns the first link with the given rel, or nil.
func ogcFindRel(links []ogcLink, rel string) *ogcLink {
	for i := range links {
		if links[i].Rel == rel {
			return &links[i]
		}
	}
	return nil
}

// ogcItem answers /ogc/collections/{collectionId}/items/{featureId}: one
// feature, in crs, with its self, alternate and collection links.
func (s *Server) ogcItem(c *gin.Context) error {
	col, err := s.ogcCollectionFor(c)
	if err != nil {
		return err
	}
	f, err := ogcStart(c, []string{"f", "crs"}, "")
	if err != nil {
		return err
	}
	crs, err := ogcCRSOf(c, col)
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	id := c.Param("featureId")
	var it *ogcItem
	if col.build == nil {
		if it, err = s.ogcIncident(c, id); err != nil {
			return err
		}
		ogcVary(c)
		c.Header("Cache-Control", "private, no-store")
	} else {
		snap := s.registry.Load()
		l := s.renderingFor(snap).ogcLayer(col)
		i, ok := l.at[id]
		if !ok {
			return problemf(TypeNotFound, http.StatusNotFound, "feature %q is not in collection %s (generation %d)", truncate(id), col.id, snap.Generation)
		}
		if ogcRevalidate(c, snap.Version(), base, f) {
			return nil
		}
		it = &l.items[i]
	}
	path := "/collections/" + col.id + "/items/" + url.PathEscape(it.id)
	links := append(ogcSelfLinks(base, path, f, GeoJSONContentType),
		ogcLink{Href: ogcHref(base, "/collections/"+col.id, ogcJSON), Rel: "collection", Type: "application/json", Title: col.title})
	if f == ogcHTML {
		p := ogcItemPage{ID: it.id, Collection: col, Geometry: ogcGeometrySummary(it)}
		cells := ogcCells(it.values)
		for k, fl := range col.fields {
			p.Props = append(p.Props, [2]string{fl.name, cells[k]})
		}
		return ogcWriteHTML(c, "item", ogcPage{Title: col.title + " " + it.id, Base: base, Links: links, Body: p})
	}
	lj, err := ogcMarshal(links)
	if err != nil {
		return err
	}
	feature := it.featureIn(crs)
	b := make([]byte, 0, len(feature)+len(lj)+16)
	b = append(b, feature[:len(feature)-1]...)
	b = append(b, `,"links":`...)
	b = append(b, lj...)
	b = append(b, '}')
	c.Header("Content-Crs", "<"+crs.String()+">")
	c.Data(http.StatusOK, GeoJSONContentType, b)
	return nil
}

// ogcCells formats property values for the HTML tables.
func ogcCells(values []any) []string {
	out := make([]string, len(values))
	for i, v := range values {
		switch v := v.(type) {
		case string:
			out[i] = v
		case int:
			out[i] = strconv.Itoa(v)
		case bool:
			out[i] = strconv.FormatBool(v)
		case time.Time:
			out[i] = v.UTC().Format(time.RFC3339)
		case []string:
			var b bytes.Buffer
			for k, s := range v {
				if k > 0 {
					b.WriteString(", ")
				}
				b.WriteString(s)
			}
			out[i] = b.String()
		}
	}
	return out
}

// ogcGeometrySummary describes a feature's geometry in a line of HTML text.
func ogcGeometrySummary(it *ogcItem) string {
	switch g := it.geom.(type) {
	case orb.Point:
		return fmt.Sprintf("Point %v, %v (CRS84)", g[0], g[1])
	case orb.MultiPolygon:
		vertices := 0
		for _, p := range g {
			for _, r := range p {
				vertices += len(r)
			}
		}
		b := it.bound
		return fmt.Sprintf("MultiPolygon: %d polygon(s), %d vertices; bbox %v, %v, %v, %v (CRS84)",
			len(g), vertices, b.Min[0], b.Min[1], b.Max[0], b.Max[1])
	}
	return "none (null)"
}
