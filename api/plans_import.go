package api

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	orbgeo "github.com/paulmach/orb/geo"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/layerfile"
)

// The attribute names read as households and population when a layer
// file carries them (as wangge's own exports do).
var (
	householdFields  = []string{"households", "户数"}
	populationFields = []string{"population", "人口"}
)

// planImportPath is the route of layer uploads, whose body limit is
// MaxLayerBytes rather than the API's (see limitBody).
const planImportPath = "/v1/plans/:id/import"

// isLayerUpload reports whether c is a layer upload.
func isLayerUpload(c *gin.Context) bool {
	return c.Request.Method == http.MethodPost && c.FullPath() == planImportPath
}

// errLayerTooLarge is a layer file over MaxLayerBytes once decompressed.
var errLayerTooLarge = errors.New("layer too large")

// importPlanLayer answers POST /v1/plans/{id}/import: the draft's grids
// are replaced by a layer file (GeoJSON, KML, KMZ or a zipped Shapefile),
// sent as multipart/form-data (the part "file") or as the raw body, either
// of them gzip-compressed when the request says Content-Encoding: gzip.
// The file may be MaxLayerBytes as sent and as decompressed; over it the
// answer is 413 naming the limit.
// ?format names the format of a raw body (default: told by its bytes),
// ?crs the coordinates' system (wgs84, gcj02, bd09), ?code_field,
// ?name_field and ?village_field the attributes to read, ?mode which grids
// the layer replaces: all (default) or those of its villages. A broken
// file is a 400 naming each feature and what is wrong, and changes
// nothing. Grids keep the draft's households and population unless the
// file has both. Without ?crs, a file that lies where the grids are only
// when read as GCJ-02 or BD-09 is imported as WGS-84 with a hint saying so.
func (s *Server) importPlanLayer(c *gin.Context) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	crs, err := chinacrs.Parse(c.Query("crs"))
	if err != nil {
		return badParam("crs", "got %q, want wgs84, gcj02 or bd09", truncate(c.Query("crs")))
	}
	mode, err := geo.ParseLayerMode(c.Query("mode"))
	if err != nil {
		return badParam("mode", "%s", geo.ErrorMessage(err))
	}
	name := "layer"
	if raw := c.Query("format"); raw != "" {
		f, err := layerfile.ParseFormat(raw)
		if err != nil {
			return badParam("format", "%s", geo.ErrorMessage(err))
		}
		name += f.Ext()
	}
	data, filename, err := readUpload(c, s.cfg.MaxLayerBytes)
	if err != nil {
		return err
	}
	if filename != "" {
		name = filename
	}
	layer, err := layerfile.Read(name, data, layerfile.ReadOptions{CRS: crs, CodeField: c.Query("code_field"),
		NameField: c.Query("name_field"), VillageField: c.Query("village_field"),
		Limits: layerfile.Limits{MaxBytes: s.cfg.MaxLayerBytes}})
	if layerfile.IsTooLarge(err) {
		return problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "%s", geo.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	grids := make([]geo.NewPlanGrid, len(layer.Features))
	for i, f := range layer.Features {
		g := geo.NewPlanGrid{Code: f.Code, Name: f.Name, VillageCode: f.VillageCode, Geometry: f.Geometry,
			Where: fmt.Sprintf("%s: feature %d (%s)", name, f.Index, f.Code)}
		h, okH := intProperty(f.Properties, householdFields)
		p, okP := intProperty(f.Properties, populationFields)
		if okH && okP {
			g.Households, g.Population, g.CountsGiven = h, p, true
		}
		grids[i] = g
	}
	plan, err := store.ReplacePlanLayer(c.Request.Context(), id, grids, mode, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	hints := []string{}
	if c.Query("crs") == "" {
		if h := crsHint(layer, s.registry.Load()); h != "" {
			hints = append(hints, h)
		}
	}
	c.Header("ETag", planETag(plan))
	c.JSON(http.StatusOK, gin.H{"plan": planOut(plan), "format": layer.Format, "grids": len(grids), "mode": mode,
		"code_field": layer.CodeField, "name_field": layer.NameField, "village_field": layer.VillageField, "hints": hints})
	return nil
}

// crsHint compares a layer read as WGS-84 (no crs= was given) with the
// grids of the same codes in snap. When the layer's grids lie more than
// crsHintMinM from them as read, and ten times closer read as GCJ-02 (or
// BD-09), the file is most likely in that system: the hint says so and
// how to import it again. Empty when nothing suggests another system.
func crsHint(layer *layerfile.Layer, snap *geo.Snapshot) string {
	if snap == nil {
		return ""
	}
	systems := []chinacrs.CRS{chinacrs.WGS84, chinacrs.GCJ02, chinacrs.BD09}
	var dist [3][]float64
	for _, f := range layer.Features {
		g, ok := snap.Grid(f.Code)
		if !ok || len(f.Geometry) == 0 || len(g.Geometry) == 0 {
			continue
		}
		at, want := f.Geometry.Bound().Center(), g.Geometry.Bound().Center()
		for i, crs := range systems {
			dist[i] = append(dist[i], orbgeo.Distance(chinacrs.ToWGS84(crs, at), want))
		}
	}
	if len(dist[0]) == 0 {
		return ""
	}
	med := func(d []float64) float64 { slices.Sort(d); return d[len(d)/2] }
	asRead := med(dist[0])
	best, bestM := chinacrs.WGS84, asRead
	for i, crs := range systems[1:] {
		if m := med(dist[i+1]); m < bestM {
			best, bestM = crs, m
		}
	}
	if asRead < crsHintMinM || best == chinacrs.WGS84 || bestM*10 > asRead {
		return ""
	}
	return fmt.Sprintf("the coordinates look like %s, not WGS-84: read as WGS-84 the grids lie %.0f m (median) from the grids of the same codes, read as %s %.1f m; "+
		"if the file is in %s, import it again with ?crs=%s", best, asRead, best, bestM, best, best)
}

// crsHintMinM is the median offset under which crsHint sees no sign of
// another system: GCJ-02 shifts points by 100–700 m in China.
const crsHintMinM = 50.0

// readUpload reads the file of a multipart/form-data request (the part
// "file", with its file name) or the raw body, decompressing a body sent
// with Content-Encoding: gzip, within limit bytes as sent and as read.
func readUpload(c *gin.Context, limit int64) ([]byte, string, error) {
	tooLarge := func() error {
		return problemf(TypeTooLarge, http.StatusRequestEntityTooLarge,
			"the layer file exceeds the limit of %s (%d bytes), as sent or decompressed; the server's --max-layer-bytes sets it",
			sizeText(limit), limit)
	}
	readErr := func(err error) error {
		var maxBytes *http.MaxBytesError
		switch {
		case errors.As(err, &maxBytes), errors.Is(err, errLayerTooLarge):
			return tooLarge()
		case errors.Is(err, gzip.ErrChecksum), errors.Is(err, gzip.ErrHeader), errors.Is(err, io.ErrUnexpectedEOF):
			return problemf(TypeInvalidBody, http.StatusBadRequest, "Content-Encoding gzip: the body is not whole gzip data: %v", err)
		}
		return problemf(TypeInvalidBody, http.StatusBadRequest, "reading the body: %v", err)
	}
	switch enc := strings.ToLower(strings.TrimSpace(c.GetHeader("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(c.Request.Body)
		if err != nil {
			return nil, "", readErr(err)
		}
		c.Request.Body = struct {
			io.Reader
			io.Closer
		}{&capReader{r: zr, left: limit}, c.Request.Body}
	default:
		return nil, "", problemf(TypeUnsupportedMedia, http.StatusUnsupportedMediaType,
			"Content-Encoding %q: want gzip, or none", truncate(enc))
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	var r io.Reader = c.Request.Body
	filename := ""
	if mt == "multipart/form-data" {
		mr, err := c.Request.MultipartReader()
		if err != nil {
			return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "multipart body: %v", err)
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil, "", invalidField("file", "required: the multipart body has no part named \"file\"")
			} else if err != nil {
				var maxBytes *http.MaxBytesError
				if errors.As(err, &maxBytes) || errors.Is(err, errLayerTooLarge) {
					return nil, "", tooLarge()
				}
				return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "multipart body: %v", err)
			}
			if part.FormName() == "file" {
				r, filename = part, part.FileName()
				break
			}
		}
	}
	data, err := io.ReadAll(&capReader{r: r, left: limit})
	if err != nil {
		return nil, "", readErr(err)
	}
	return data, filename, nil
}

// capReader reads r and fails with errLayerTooLarge past left bytes.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errLayerTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, errLayerTooLarge
	}
	return n, err
}

// intProperty reads the first of names that props holds as a whole number.
func intProperty(props map[string]string, names []string) (int, bool) {
	for _, n := range names {
		for k, v := range props {
			if strings.EqualFold(k, n) {
				if i, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && i >= 0 {
					return i, true
				}
			}
		}
	}
	return 0, false
}
