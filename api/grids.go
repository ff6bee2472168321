package api

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
)

// GeoJSONContentType is the media type of GeoJSON responses (RFC 7946).
const GeoJSONContentType = "application/geo+json"

// listGrids answers GET /v1/grids[?bbox=&village=&crs=&precision=] with a
// GeoJSON FeatureCollection of the current grids. The bytes of each feature
// are rendered once per generation; the unfiltered collection is served as
// one stored slice. The ETag names the generation and the query, so a
// front-end revalidates with If-None-Match and gets 304 until a redraw.
func (s *Server) listGrids(c *gin.Context) error {
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	prec, err := queryPrecision(c)
	if err != nil {
		return err
	}
	bbox, hasBBox, err := queryBBox(c)
	if err != nil {
		return err
	}
	village, hasVillage := c.GetQuery("village")
	snap, r, err := s.snapshotFor(c)
	if err != nil {
		return err
	}
	if hasVillage {
		if err := geo.ValidateVillageCode(village); err != nil {
			return badParam("village", "got %q, want a 12-digit village code", truncate(village))
		}
		if _, ok := snap.Village(village); !ok {
			return problemf(TypeNotFound, http.StatusNotFound, "village %s is not in the town", village)
		}
	}
	etag := fmt.Sprintf(`"g%s-%s-%d-%x"`, snap.Version(), crs, prec, queryHash(c, "bbox", "village", "at"))
	if notModified(c, etag) {
		return nil
	}
	k := renderKey{crs: crs, precision: prec}
	var body []byte
	if !hasBBox && !hasVillage && acceptsGzip(c.Request) {
		c.Header("Content-Encoding", "gzip")
		addVary(c.Writer.Header(), "Accept-Encoding")
		body = r.collectionGzip(k)
	} else if !hasBBox && !hasVillage {
		body = r.collection(k)
	} else {
		wgsBox := bbox
		if hasBBox && crs != chinacrs.WGS84 {
			wgsBox = orb.Bound{Min: chinacrs.ToWGS84(crs, bbox.Min), Max: chinacrs.ToWGS84(crs, bbox.Max)}
		}
		body = collectionOf(r.gridFeatures(k), func(i int) bool {
			g := &snap.Grids[i]
			return (!hasVillage || g.VillageCode == village) && (!hasBBox || g.Geometry.Bound().Intersects(wgsBox))
		}, snap.Generation)
	}
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache") // revalidate: cheap with the ETag
	c.Data(http.StatusOK, GeoJSONContentType, body)
	return nil
}

// gridDetail is the properties of GET /v1/grids/{code}.
type gridDetail struct {
	gridProperties
	Leader        *staffJSON `json:"leader"`
	Deputy        *staffJSON `json:"deputy"`
	Organizations []orgJSON  `json:"organizations"`
	Generation    int64      `json:"generation"`
	ValidFrom     string     `json:"valid_from"`
}

// getGrid answers GET /v1/grids/{code} with the grid as a GeoJSON Feature
// with its leader, deputy (on leave: until when, and who covers) and
// organizations.
func (s *Server) getGrid(c *gin.Context) error {
	code := c.Param("code")
	if err := geo.ValidateGridCode(code, ""); err != nil {
		return badParam("code", "got %q, want a 15-digit grid code", truncate(code))
	}
	crs, err := queryCRS(c)
	if err != nil {
		return err
	}
	prec, err := queryPrecision(c)
	if err != nil {
		return err
	}
	// With at=, the generation in force then, with the people and
	// organizations in office then (from the database).
	snap, _, err := s.snapshotFor(c)
	if err != nil {
		return err
	}
	g, ok := snap.Grid(code)
	if !ok {
		return problemf(TypeNotFound, http.StatusNotFound, "grid %s is not in generation %d", code, snap.Generation)
	}
	personal := callerRole(c).SeesPersonalData()
	at := s.leaveTime(c)
	// LoadedAt changes when a reload picks up new people or organizations
	// within a generation; leave starts and ends without one.
	etag := fmt.Sprintf(`"g%s-%s-%s-%d-%t-%s"`, snap.Version(), code, crs, prec, personal, leaveTag(snap, g, at))
	if notModified(c, etag) {
		return nil
	}
	props := gridDetail{gridProperties: listProperties(snap, g), Leader: staffOut(snap, g, g.Leader, personal, at),
		Deputy: staffOut(snap, g, g.Deputy, personal, at), Organizations: orgsJSON(g), Generation: g.Generation,
		ValidFrom: g.ValidFrom.UTC().Format(time.RFC3339)}
	addVary(c.Writer.Header(), "Authorization")
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, GeoJSONContentType, appendFeature(nil, g, props, renderKey{crs: crs, precision: prec}))
	return nil
}

// villageJSON is one village of GET /v1/villages.
type villageJSON struct {
	Code       string        `json:"code"`
	Name       string        `json:"name"`
	District   *codeNameJSON `json:"district"`
	Grids      int           `json:"grids"`
	Households int           `json:"households"`
	Population int           `json:"population"`
}

// townJSON is a town of the deployment in GET /v1/towns.
type townJSON struct {
	Code       string         `json:"code"`
	Name       string         `json:"name"`
	County     string         `json:"county"`
	Province   string         `json:"province"`
	Note       string         `json:"note,omitempty"`
	Districts  []codeNameJSON `json:"districts"`
	Villages   int            `json:"villages"`
	Grids      int            `json:"grids"`
	Households int            `json:"households"`
	Population int            `json:"population"`
	BBox       [4]float64     `json:"bbox"`
}

// listTowns answers GET /v1/towns: every town of the deployment (one, or a
// county's) with its districts and the number of villages, grids,
// households and people in it.
func (s *Server) listTowns(c *gin.Context) error {
	snap := s.registry.Load()
	etag := fmt.Sprintf(`"g%s-towns"`, snap.Version())
	if notModified(c, etag) {
		return nil
	}
	out := make([]townJSON, len(snap.Towns))
	at := make(map[string]int, len(snap.Towns))
	for i, t := range snap.Towns {
		b := t.Outline.Bound()
		out[i] = townJSON{Code: t.Code, Name: t.Name, County: t.County, Province: t.Province, Note: t.Note,
			Districts: []codeNameJSON{}, BBox: [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}}
		for _, d := range t.Districts {
			out[i].Districts = append(out[i].Districts, codeNameJSON{Code: d.Code, Name: d.Name})
		}
		at[t.Code] = i
	}
	for _, v := range snap.Villages {
		if i, ok := at[geo.TownCodeOf(v.Code)]; ok {
			out[i].Villages++
		}
	}
	for _, g := range snap.Grids {
		if i, ok := at[geo.TownCodeOf(g.Code)]; ok {
			out[i].Grids++
			out[i].Households += g.Households
			out[i].Population += g.Population
		}
	}
	w := snap.Whole()
	body, err := json.Marshal(struct {
		Area       codeNameJSON `json:"area"`
		Generation int64        `json:"generation"`
		Towns      []townJSON   `json:"towns"`
	}{codeNameJSON{w.Code, w.Name}, snap.Generation, out})
	if err != nil {
		return err
	}
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", body)
	return nil
}

// listVillages answers GET /v1/villages: every village with its district
// and the number of grids, households and people in it.
func (s *Server) listVillages(c *gin.Context) error {
	snap := s.registry.Load()
	etag := fmt.Sprintf(`"g%s-villages"`, snap.Version())
	if notModified(c, etag) {
		return nil
	}
	out := make([]villageJSON, len(snap.Villages))
	at := map[string]int{}
	for i, v := range snap.Villages {
		out[i] = villageJSON{Code: v.Code, Name: v.Name}
		if d, ok := snap.VillageDistrict(&v); ok {
			out[i].District = &codeNameJSON{Code: d.Code, Name: d.Name}
		}
		at[v.Code] = i
	}
	for _, g := range snap.Grids {
		if i, ok := at[g.VillageCode]; ok {
			out[i].Grids++
			out[i].Households += g.Households
			out[i].Population += g.Population
		}
	}
	body, err := json.Marshal(struct {
		Town       codeNameJSON  `json:"town"`
		Generation int64         `json:"generation"`
		Villages   []villageJSON `json:"villages"`
	}{codeNameJSON{snap.Whole().Code, snap.Whole().Name}, snap.Generation, out})
	if err != nil {
		return err
	}
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", body)
	return nil
}

// notModified answers 304 when If-None-Match holds etag (or *).
func notModified(c *gin.Context, etag string) bool {
	for _, t := range strings.Split(c.GetHeader("If-None-Match"), ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			c.Header("ETag", etag)
			c.Status(http.StatusNotModified)
			return true
		}
	}
	return false
}

// queryHash fingerprints the named query parameters for an ETag.
func queryHash(c *gin.Context, names ...string) uint64 {
	h := fnv.New64a()
	for _, n := range names {
		fmt.Fprintf(h, "%s=%s&", n, c.Query(n))
	}
	return h.Sum64()
}
