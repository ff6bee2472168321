package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// This file serves OGC API – Features, Part 1 (Core, GeoJSON, HTML, OpenAPI
// 3.0) under /ogc, from the in-memory snapshot, so that GDAL's OAPIF driver,
// QGIS and browsers read the grids in a standard they already speak.
// Coordinates are CRS84 (lon, lat), exactly as stored. Every link is an
// absolute URL built from the request (see ogcBaseURL). Representations are
// JSON and HTML, chosen by f=json|html or by the Accept header.

// OGC media types and identifiers.
const (
	ogcOpenAPIType = "application/vnd.oai.openapi+json;version=3.0"
	ogcHTMLType    = "text/html; charset=utf-8"
	ogcCRS84       = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
	ogcGregorian   = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
)

// ogcConformsTo lists the conformance classes /ogc/conformance declares.
var ogcConformsTo = []string{
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
	"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
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
		title = "wangge: " + snap.Town.Name
		desc = fmt.Sprintf("The grids (网格), villages and social organizations of %s (%s), generation %d, as OGC API – "+
			"Features. Coordinates are CRS84 (WGS-84 lon/lat). %s", snap.Town.Name, snap.Town.Code, snap.Generation, snap.Town.Note)
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

// ogcAPI serves the OpenAPI document (the same as /openapi.json, which
// describes /ogc too) as application/vnd.oai.openapi+json;version=3.0, or
// an HTML list of its operations.
func (s *Server) ogcAPI(c *gin.Context) error {
	f, err := ogcStart(c, []string{"f"}, "")
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	ogcVary(c)
	if f == ogcJSON {
		c.Data(http.StatusOK, ogcOpenAPIType, OpenAPI)
		return nil
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Summary string `json:"summary"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		return err
	}
	type op struct{ Method, Path, Summary string }
	var ops []op
	for path, methods := range doc.Paths {
		for m, o := range methods {
			if m == "get" || m == "post" || m == "put" || m == "patch" || m == "delete" {
				ops = append(ops, op{m, path, o.Summary})
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

// ogcVisible returns the collections the caller may see.
func ogcVisible(c *gin.Context) []*ogcCollection {
	role := callerRole(c)
	var out []*ogcCollection
	for _, col := range ogcCollections {
		if role.Allows(col.need) {
			out = append(out, col)
		}
	}
	return out
}

// ogcCollectionFor returns the collection named in the path, if the caller
// may see it: unknown ids are 404; collections that need a role the caller
// lacks are 401 to anonymous callers (send a token) and 403 to others.
func ogcCollectionFor(c *gin.Context) (*ogcCollection, error) {
	id := c.Param("collectionId")
	col, ok := ogcCollectionByID(id)
	if !ok {
		ids := ""
		for i, v := range ogcVisible(c) {
			if i > 0 {
				ids += ", "
			}
			ids += v.id
		}
		return nil, problemf(TypeNotFound, http.StatusNotFound, "collection %q does not exist; the collections are %s", truncate(id), ids)
	}
	if role := callerRole(c); !role.Allows(col.need) {
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
		CRS: []string{ogcCRS84}, Links: append(ogcSelfLinks(base, path, f, "application/json"),
			ogcLink{Href: ogcHref(base, path+"/items", ogcJSON), Rel: "items", Type: GeoJSONContentType, Title: col.title + " as GeoJSON"},
			ogcLink{Href: ogcHref(base, path+"/items", ogcHTML), Rel: "items", Type: "text/html", Title: col.title + " as HTML"})}
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
	for _, col := range ogcVisible(c) {
		doc.Collections = append(doc.Collections, col.describe(base, r.ogcLayer(col), ogcJSON))
	}
	return ogcWrite(c, f, "application/json", doc, "collections",
		ogcPage{Title: "Collections", Base: base, Links: links, Body: doc.Collections})
}

// ogcCollectionDoc answers /ogc/collections/{collectionId}.
func (s *Server) ogcCollectionDoc(c *gin.Context) error {
	col, err := ogcCollectionFor(c)
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
	return ogcWrite(c, f, "application/json", d, "collection", ogcPage{Title: col.title, Base: base, Links: d.Links,
		Body: ogcCollectionPage{ogcCollectionJSON: d, Fields: col.fields, Temporal: col.temporal, Since: l.since, Items: len(l.items)}})
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
// that match bbox, datetime and the property filters, paged by limit and
// offset. The features' bytes are rendered once per snapshot; a page is
// those bytes joined.
func (s *Server) ogcItems(c *gin.Context) error {
	col, err := ogcCollectionFor(c)
	if err != nil {
		return err
	}
	allowed := []string{"f", "bbox", "limit", "offset"}
	if col.temporal {
		allowed = append(allowed, "datetime")
	}
	for _, fl := range col.fields {
		allowed = append(allowed, fl.name)
	}
	f, err := ogcStart(c, allowed, " for collection "+col.id)
	if err != nil {
		return err
	}
	limit, offset, err := ogcPaging(c)
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	l := s.renderingFor(snap).ogcLayer(col)
	q, err := ogcQueryOf(c, col, l)
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	if ogcRevalidate(c, snap.Version(), base, f) {
		return nil
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
			p.Rows = append(p.Rows, ogcRow{ID: it.id, Href: ogcHref(base, path+"/"+it.id, ogcHTML), Cells: ogcCells(it.values)})
		}
		return ogcWriteHTML(c, "items", ogcPage{Title: col.title, Base: base, Links: links, Body: p})
	}

	head, err := ogcMarshal(ogcItemsHeader{Type: "FeatureCollection", NumberMatched: len(matched), NumberReturned: len(page),
		TimeStamp: time.Now().UTC().Format(time.RFC3339), Links: links})
	if err != nil {
		return err
	}
	n := len(head) + 16
	for _, i := range page {
		n += len(l.items[i].feature) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, head[:len(head)-1]...)
	b = append(b, `,"features":[`...)
	for k, i := range page {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, l.items[i].feature...)
	}
	b = append(b, "]}"...)
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
// feature with its self, alternate and collection links.
func (s *Server) ogcItem(c *gin.Context) error {
	col, err := ogcCollectionFor(c)
	if err != nil {
		return err
	}
	f, err := ogcStart(c, []string{"f"}, "")
	if err != nil {
		return err
	}
	snap := s.registry.Load()
	l := s.renderingFor(snap).ogcLayer(col)
	id := c.Param("featureId")
	i, ok := l.at[id]
	if !ok {
		return problemf(TypeNotFound, http.StatusNotFound, "feature %q is not in collection %s (generation %d)", truncate(id), col.id, snap.Generation)
	}
	base := ogcBaseURL(c)
	if ogcRevalidate(c, snap.Version(), base, f) {
		return nil
	}
	it := &l.items[i]
	path := "/collections/" + col.id + "/items/" + id
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
	b := make([]byte, 0, len(it.feature)+len(lj)+16)
	b = append(b, it.feature[:len(it.feature)-1]...)
	b = append(b, `,"links":`...)
	b = append(b, lj...)
	b = append(b, '}')
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
	if len(it.geom) == 0 {
		return "none (null)"
	}
	vertices := 0
	for _, p := range it.geom {
		for _, r := range p {
			vertices += len(r)
		}
	}
	b := it.bound
	return fmt.Sprintf("MultiPolygon: %d polygon(s), %d vertices; bbox %v, %v, %v, %v (CRS84)",
		len(it.geom), vertices, b.Min[0], b.Min[1], b.Max[0], b.Max[1])
}
