package api_test

import (
	"bytes"
	"math"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"wangge/api"
	"wangge/geo/chinacrs"
	"wangge/geo/layerfile"
)

func init() {
	// Exports are files: the OpenAPI check reads them as binary strings.
	for _, f := range []layerfile.Format{layerfile.KML, layerfile.KMZ, layerfile.Shapefile} {
		openapi3filter.RegisterBodyDecoder(f.ContentType(), openapi3filter.FileBodyDecoder)
	}
}

// TestExport: GET /v1/export in each format gives a file named by town and
// generation that reads back as the snapshot's grids, vertex for vertex,
// without a phone; GET /v1/generations/1/export is the same file.
func TestExport(t *testing.T) {
	c := newClient(t)
	phones := [][]byte{}
	for _, g := range demo.Grids {
		if g.Leader != nil && g.Leader.Phone != "" {
			phones = append(phones, []byte(g.Leader.Phone))
		}
	}
	for _, f := range layerfile.Formats {
		t.Run(string(f), func(t *testing.T) {
			res := c.get("/v1/export?format=" + string(f))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", res.StatusCode, res.body)
			}
			if ct := res.Header.Get("Content-Type"); ct != f.ContentType() {
				t.Errorf("Content-Type %q, want %s", ct, f.ContentType())
			}
			ext := f.Ext()
			if f == layerfile.Shapefile {
				ext = ".shp.zip" // opened by GDAL directly, without /vsizip/
			}
			want := `attachment; filename="431321101-g1` + ext + `"`
			if cd := res.Header.Get("Content-Disposition"); cd != want {
				t.Errorf("Content-Disposition %q, want %s", cd, want)
			}
			for _, p := range phones {
				if bytes.Contains(res.body, p) {
					t.Fatalf("the export holds the phone %s", p)
				}
			}
			l, err := layerfile.Read("431321101-g1"+f.Ext(), res.body, layerfile.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Features) != len(demo.Grids) {
				t.Fatalf("%d features, want %d", len(l.Features), len(demo.Grids))
			}
			for i, feat := range l.Features {
				g := demo.Grids[i]
				if feat.Code != g.Code || feat.Name != g.Name || len(feat.Geometry) != len(g.Geometry) ||
					len(feat.Geometry[0][0]) != len(g.Geometry[0][0]) || feat.Geometry[0][0][3] != g.Geometry[0][0][3] {
					t.Fatalf("feature %d: %s %s is not grid %s %s as stored", i, feat.Code, feat.Name, g.Code, g.Name)
				}
			}
			again := c.get("/v1/generations/1/export?format=" + string(f))
			if again.StatusCode != http.StatusOK || !bytes.Equal(again.body, res.body) {
				t.Errorf("/v1/generations/1/export: status %d, same bytes %v", again.StatusCode, bytes.Equal(again.body, res.body))
			}
			etag := res.Header.Get("ETag")
			if nm := c.get("/v1/export?format="+string(f), "If-None-Match", etag); nm.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match %s: status %d, want 304", etag, nm.StatusCode)
			}
		})
	}
}

// TestExport_gcj02: crs=gcj02 writes coordinates for a GCJ-02 map; read
// back as GCJ-02 they are within 1 cm of the stored WGS-84 ones.
func TestExport_gcj02(t *testing.T) {
	c := newClient(t)
	res := c.get("/v1/export?format=kmz&crs=gcj02")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", res.StatusCode, res.body)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="431321101-g1-gcj02.kmz"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	l, err := layerfile.Read("x.kmz", res.body, layerfile.ReadOptions{CRS: chinacrs.GCJ02})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i, f := range l.Features {
		for k, p := range f.Geometry[0][0] {
			q := demo.Grids[i].Geometry[0][0][k]
			worst = max(worst, math.Abs(p[0]-q[0]), math.Abs(p[1]-q[1]))
		}
	}
	if worst > 9e-8 {
		t.Errorf("vertices up to %g° from where they are stored, want within 1 cm (9e-8°)", worst)
	}
}

// TestExport_problems: a wrong parameter is 400 naming it; a generation
// this server does not hold is 404.
func TestExport_problems(t *testing.T) {
	c := newClient(t)
	for _, tt := range []struct {
		target string
		status int
		where  string
	}{
		{"/v1/export?format=dwg", http.StatusBadRequest, "format"},
		{"/v1/export?format=kml&crs=epsg:3857", http.StatusBadRequest, "crs"},
		{"/v1/generations/zero/export", http.StatusBadRequest, "gen"},
		{"/v1/generations/0/export", http.StatusBadRequest, "gen"},
		{"/v1/generations/2/export?format=shp", http.StatusNotFound, ""},
	} {
		res := c.get(tt.target)
		var p api.Problem
		res.json(t, &p)
		if res.StatusCode != tt.status || (tt.where != "" && (len(p.Errors) != 1 || p.Errors[0].Where != tt.where)) {
			t.Errorf("%s: status %d, problem %+v; want %d naming %q", tt.target, res.StatusCode, p, tt.status, tt.where)
		}
	}
}
