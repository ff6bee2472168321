package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

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

// importPlanLayer answers POST /v1/plans/{id}/import: the draft's grids
// are replaced by a layer file (GeoJSON, KML, KMZ or a zipped Shapefile),
// sent as multipart/form-data (the part "file") or as the raw body.
// ?format names the format of a raw body (default: told by its bytes),
// ?crs the coordinates' system (wgs84, gcj02, bd09), ?code_field,
// ?name_field and ?village_field the attributes to read. A broken file is
// a 400 naming each feature and what is wrong, and changes nothing. Grids
// keep the draft's households and population unless the file has both.
func (s *Server) importPlanLayer(c *gin.Context) error {
	store := s.cfg.Plans
	id := pathInt(c, "id")
	crs, err := chinacrs.Parse(c.Query("crs"))
	if err != nil {
		return badParam("crs", "got %q, want wgs84, gcj02 or bd09", truncate(c.Query("crs")))
	}
	name := "layer"
	if raw := c.Query("format"); raw != "" {
		f, err := layerfile.ParseFormat(raw)
		if err != nil {
			return badParam("format", "%s", geo.ErrorMessage(err))
		}
		name += f.Ext()
	}
	data, filename, err := readUpload(c)
	if err != nil {
		return err
	}
	if filename != "" {
		name = filename
	}
	layer, err := layerfile.Read(name, data, layerfile.ReadOptions{CRS: crs, CodeField: c.Query("code_field"),
		NameField: c.Query("name_field"), VillageField: c.Query("village_field")})
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
	plan, err := store.ReplacePlanLayer(c.Request.Context(), id, grids, callerName(c), s.cfg.Now().UTC())
	if err != nil {
		return err
	}
	c.Header("ETag", planETag(plan))
	c.JSON(http.StatusOK, gin.H{"plan": planOut(plan), "format": layer.Format, "grids": len(grids),
		"code_field": layer.CodeField, "name_field": layer.NameField, "village_field": layer.VillageField})
	return nil
}

// readUpload reads the file of a multipart/form-data request (the part
// "file", with its file name) or the raw body, within the size limit.
func readUpload(c *gin.Context) ([]byte, string, error) {
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
			}
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, "", problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "the body exceeds %d bytes", tooBig.Limit)
			} else if err != nil {
				return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "multipart body: %v", err)
			}
			if part.FormName() == "file" {
				r, filename = part, part.FileName()
				break
			}
		}
	}
	data, err := io.ReadAll(r)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, "", problemf(TypeTooLarge, http.StatusRequestEntityTooLarge, "the body exceeds %d bytes", tooBig.Limit)
	} else if err != nil {
		return nil, "", problemf(TypeInvalidBody, http.StatusBadRequest, "reading the body: %v", err)
	}
	return data, filename, nil
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
