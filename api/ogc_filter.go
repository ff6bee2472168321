package api

import (
	"cmp"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo/cql2"
)

// This file implements OGC API – Features, Part 3 (Filtering) on /ogc:
// the queryables of each collection, the filter, filter-lang and
// filter-crs parameters (CQL2 text and JSON, geo/cql2), and sortby.

// Filter languages. cql-text is the draft name of cql2-text that GDAL's
// OAPIF driver (3.6 to 3.8) looks for in the API definition and sends; it
// is read as cql2-text, with GDAL's ILIKE as a case-insensitive LIKE.
const (
	filterCQL2Text = "cql2-text"
	filterCQL2JSON = "cql2-json"
	filterCQLText  = "cql-text"
)

// maxFilterBytes bounds the filter parameter; geo/cql2 bounds its depth
// and size further.
const maxFilterBytes = 32 << 10

// queryables returns the CQL2 types of col's properties. Lists of strings
// (an organization's grids) are not queryables: filter them with their
// property parameter (grids=<code>). A collection with geometry has the
// queryable "geometry".
func (col *ogcCollection) queryables() cql2.Queryables {
	q := cql2.Queryables{}
	for _, f := range col.fields {
		switch f.kind {
		case ogcString:
			q[f.name] = cql2.String
		case ogcInteger:
			q[f.name] = cql2.Number
		case ogcTimestamp:
			q[f.name] = cql2.Timestamp
		case ogcBoolean:
			q[f.name] = cql2.Boolean
		}
	}
	if col.geometry != "" {
		q["geometry"] = cql2.Geometry
	}
	return q
}

// ogcFeatureOf is an item as geo/cql2 sees it.
type ogcFeatureOf struct {
	col *ogcCollection
	it  *ogcItem
}

// Property returns the value of a queryable.
func (f ogcFeatureOf) Property(name string) cql2.Value {
	if name == "geometry" {
		if f.it.geom == nil {
			return cql2.Value{}
		}
		return cql2.GeomValue(f.it.geom)
	}
	i := f.col.field(name)
	if i < 0 {
		return cql2.Value{}
	}
	switch v := f.it.values[i].(type) {
	case string:
		return cql2.Str(v)
	case int:
		return cql2.Num(float64(v))
	case bool:
		return cql2.Bool(v)
	case time.Time:
		if v.IsZero() {
			return cql2.Value{}
		}
		return cql2.TimeValue(v)
	}
	return cql2.Value{}
}

// ogcFilterOf reads filter, filter-lang and filter-crs for col: the
// parsed and checked filter with its geometries in CRS84, or nil without
// a filter. Every error names the parameter.
func ogcFilterOf(c *gin.Context, col *ogcCollection) (*cql2.Node, error) {
	raw, ok := c.GetQuery("filter")
	lang := c.DefaultQuery("filter-lang", filterCQL2Text)
	if lang != filterCQL2Text && lang != filterCQL2JSON && lang != filterCQLText {
		return nil, badParam("filter-lang", "got %q, want %s or %s", truncate(lang), filterCQL2Text, filterCQL2JSON)
	}
	crs := crsCRS84
	if rawCRS, has := c.GetQuery("filter-crs"); has {
		var err error
		if crs, err = parseOGCCRS("filter-crs", rawCRS); err != nil {
			return nil, err
		}
	}
	if !ok {
		for _, p := range []string{"filter-lang", "filter-crs"} {
			if _, has := c.GetQuery(p); has {
				return nil, badParam(p, "given without filter")
			}
		}
		return nil, nil
	}
	if len(raw) > maxFilterBytes {
		return nil, badParam("filter", "%d bytes, want at most %d", len(raw), maxFilterBytes)
	}
	if strings.TrimSpace(raw) == "" {
		return nil, badParam("filter", "empty: leave it out to select every feature")
	}
	var n *cql2.Node
	var err error
	if lang == filterCQL2JSON {
		n, err = cql2.ParseJSON([]byte(raw))
	} else {
		n, err = cql2.ParseText(raw)
	}
	if err == nil {
		err = cql2.Check(n, col.queryables())
	}
	if err != nil {
		return nil, badParam("filter", "%s (%s)", err.Error(), lang)
	}
	if err := n.MapGeometries(func(g orb.Geometry) (orb.Geometry, error) { return geometryToCRS84("filter", g, crs) }); err != nil {
		return nil, err
	}
	return n, nil
}

// ogcSortKey is one key of sortby: a field and its direction.
type ogcSortKey struct {
	field int
	desc  bool
}

// ogcSortOf reads sortby: a comma-separated list of property names, each
// with + (ascending, the default) or - (descending). A + that arrives as
// a space (unescaped in a URL) is read as +.
func ogcSortOf(c *gin.Context, col *ogcCollection) ([]ogcSortKey, error) {
	raw, ok := c.GetQuery("sortby")
	if !ok {
		return nil, nil
	}
	var keys []ogcSortKey
	for _, part := range strings.Split(raw, ",") {
		name := strings.TrimLeft(part, " ")
		k := ogcSortKey{}
		switch {
		case strings.HasPrefix(name, "-"):
			k.desc, name = true, name[1:]
		case strings.HasPrefix(name, "+"):
			name = name[1:]
		}
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, badParam("sortby", "got %q, want [+|-]property[,…]", truncate(raw))
		}
		k.field = col.field(name)
		if k.field < 0 || col.fields[k.field].kind == ogcStringList {
			return nil, badParam("sortby", "%q is not a sortable property of %s: want one of %s", truncate(name), col.id, col.sortables())
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// sortables lists the properties sortby accepts.
func (col *ogcCollection) sortables() string {
	var names []string
	for _, f := range col.fields {
		if f.kind != ogcStringList {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ", ")
}

// compareItems orders two items by the sort keys; nulls sort last
// whatever the direction.
func compareItems(keys []ogcSortKey, a, b *ogcItem) int {
	for _, k := range keys {
		va, vb := a.values[k.field], b.values[k.field]
		if va == nil || vb == nil {
			if c := cmp.Compare(nullRank(va), nullRank(vb)); c != 0 {
				return c
			}
			continue
		}
		var c int
		switch x := va.(type) {
		case string:
			c = strings.Compare(x, vb.(string))
		case int:
			c = cmp.Compare(x, vb.(int))
		case time.Time:
			c = x.Compare(vb.(time.Time))
		case bool:
			c = cmp.Compare(boolRank(x), boolRank(vb.(bool)))
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func nullRank(v any) int {
	if v == nil {
		return 1
	}
	return 0
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ogcQueryablesJSON is a collection's queryables as a JSON Schema.
type ogcQueryablesJSON struct {
	Schema      string                     `json:"$schema"`
	ID          string                     `json:"$id"`
	Type        string                     `json:"type"`
	Title       string                     `json:"title"`
	Description string                     `json:"description"`
	Properties  map[string]ogcQueryableDef `json:"properties"`
	Additional  bool                       `json:"additionalProperties"`
	Links       []ogcLink                  `json:"links,omitempty"`
}

// ogcQueryableDef is one queryable's schema.
type ogcQueryableDef struct {
	Title  string   `json:"title,omitempty"`
	Type   string   `json:"type,omitempty"`
	Format string   `json:"format,omitempty"`
	Enum   []string `json:"enum,omitempty"`
	Ref    string   `json:"$ref,omitempty"`
}

// ogcQueryables answers /ogc/collections/{collectionId}/queryables: the
// properties filter may name, as a JSON Schema (Part 3).
func (s *Server) ogcQueryables(c *gin.Context) error {
	col, err := s.ogcCollectionFor(c)
	if err != nil {
		return err
	}
	f, err := ogcStart(c, []string{"f"}, "")
	if err != nil {
		return err
	}
	base := ogcBaseURL(c)
	path := "/collections/" + col.id + "/queryables"
	doc := ogcQueryablesJSON{Schema: "https://json-schema.org/draft/2020-12/schema", ID: base + path, Type: "object",
		Title: col.title, Description: "The properties of " + col.id + " that filter (CQL2) and sortby may name.",
		Properties: map[string]ogcQueryableDef{}, Additional: false}
	for _, fl := range col.fields {
		d := ogcQueryableDef{Title: fl.title, Enum: col.enum(s, fl.name)}
		switch fl.kind {
		case ogcString:
			d.Type = "string"
		case ogcInteger:
			d.Type = "integer"
		case ogcBoolean:
			d.Type = "boolean"
		case ogcTimestamp:
			d.Type, d.Format = "string", "date-time"
		default:
			continue
		}
		doc.Properties[fl.name] = d
	}
	switch col.geometry {
	case "MultiPolygon":
		doc.Properties["geometry"] = ogcQueryableDef{Title: "boundary", Format: "geometry-multipolygon", Ref: "https://geojson.org/schema/MultiPolygon.json"}
	case "Point":
		doc.Properties["geometry"] = ogcQueryableDef{Title: "location", Format: "geometry-point", Ref: "https://geojson.org/schema/Point.json"}
	}
	ogcVary(c)
	if f == ogcHTML {
		return ogcWriteHTML(c, "queryables", ogcPage{Title: col.title + ": queryables", Base: base,
			Links: ogcSelfLinks(base, path, f, "application/schema+json"), Body: doc})
	}
	body, err := ogcMarshal(doc)
	if err != nil {
		return err
	}
	c.Data(http.StatusOK, "application/schema+json", body)
	return nil
}
