package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb/clip"

	"wangge/api"
	"wangge/geo"
)

// GDAL's view of OGC API – Features Parts 2 and 3: ogr2ogr with -where
// and -spat, which GDAL's OAPIF driver pushes down to the server (as a CQL
// filter and a bbox), a datetime comparison on incidents, and each CRS,
// compared feature by feature with /v1.

// queryLog records the query strings of the items requests a server
// receives, to see what GDAL pushed down.
type queryLog struct {
	mu      sync.Mutex
	queries []url.Values
}

func (l *queryLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/items") {
			l.mu.Lock()
			l.queries = append(l.queries, r.URL.Query())
			l.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	})
}

// saw reports whether some items request had parameter name, and returns
// its values.
func (l *queryLog) saw(name string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, q := range l.queries {
		if v, ok := q[name]; ok {
			out = append(out, v...)
		}
	}
	return out
}

func (l *queryLog) reset() {
	l.mu.Lock()
	l.queries = nil
	l.mu.Unlock()
}

// gdalGeoJSON copies layer of source (an OAPIF data source) to GeoJSON at
// 17 significant digits with extra ogr2ogr arguments, and returns its
// features.
func gdalGeoJSON(t *testing.T, ogr2ogr, source, layer string, env []string, args ...string) []gdalFeature {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.geojson")
	all := append([]string{"-f", "GeoJSON", "-lco", "RFC7946=NO", "-lco", "SIGNIFICANT_FIGURES=17", out, source, layer}, args...)
	runGDALEnv(t, env, ogr2ogr, all...)
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct{ Features []gdalFeature }
	if err := json.Unmarshal(raw, &fc); err != nil {
		t.Fatalf("reading ogr2ogr's GeoJSON: %v", err)
	}
	return fc.Features
}

type gdalFeature struct {
	Properties map[string]any
	Geometry   json.RawMessage
}

// runGDALEnv is runGDAL with more environment variables.
func runGDALEnv(t *testing.T, env []string, prog string, args ...string) string {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return runGDAL(t, prog, args...)
}

// TestOGC_GDALFilters: -where and -spat reach the server as filter and
// bbox (GDAL 3.6 looks for cql-text in the API definition), and the grids
// GDAL copies are those /v1/grids gives, filtered in Go.
func TestOGC_GDALFilters(t *testing.T) {
	ogr2ogr := gdalTool(t, "ogr2ogr")
	var reg geo.Registry
	reg.Store(demo)
	var log queryLog
	srv := httptest.NewServer(log.wrap(api.New(&reg, nil, api.Config{}, nil)))
	defer srv.Close()
	source := "OAPIF:" + srv.URL + "/ogc"

	var v1 struct {
		Features []struct {
			ID         string
			Geometry   json.RawMessage
			Properties struct {
				Code        string
				VillageCode string `json:"village_code"`
				Population  int
			}
		}
	}
	res, err := http.Get(srv.URL + "/v1/grids")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.NewDecoder(res.Body).Decode(&v1); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	village := demo.Grids[60].VillageCode

	// -where: an attribute filter GDAL sends as CQL text.
	got := gdalGeoJSON(t, ogr2ogr, source, "grids", nil, "-where", fmt.Sprintf("village_code = '%s' AND population >= 100", village))
	var want []string
	for _, f := range v1.Features {
		if f.Properties.VillageCode == village && f.Properties.Population >= 100 {
			want = append(want, f.ID)
		}
	}
	if len(want) == 0 {
		t.Fatal("the -where selects nothing; pick another village")
	}
	compareGDAL(t, "-where", got, want, v1.Features)
	filters := log.saw("filter")
	if len(filters) == 0 || !strings.Contains(filters[0], village) || !slices.Contains(log.saw("filter-lang"), "cql-text") {
		t.Errorf("GDAL did not push -where down as a CQL filter: filters %q, languages %q", filters, log.saw("filter-lang"))
	}

	// -spat: a box GDAL sends as bbox.
	log.reset()
	b := demo.Grids[60].Geometry.Bound()
	got = gdalGeoJSON(t, ogr2ogr, source, "grids", nil, "-spat", fmt.Sprint(b.Min[0]), fmt.Sprint(b.Min[1]), fmt.Sprint(b.Max[0]), fmt.Sprint(b.Max[1]))
	var box struct {
		Features []struct{ ID string }
	}
	res, err = http.Get(fmt.Sprintf("%s/v1/grids?bbox=%v,%v,%v,%v", srv.URL, b.Min[0], b.Min[1], b.Max[0], b.Max[1]))
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(res.Body).Decode(&box)
	res.Body.Close()
	// /v1's bbox keeps the grids whose bounding box meets the box; OGC's
	// (and GDAL's own check) those whose boundary does: orb's clipping,
	// independent of /ogc's code, decides.
	want = nil
	for _, f := range box.Features {
		g, _ := demo.Grid(f.ID)
		if len(clip.MultiPolygon(b, g.Geometry.Clone())) > 0 {
			want = append(want, f.ID)
		}
	}
	if len(want) == len(box.Features) {
		t.Log("every grid /v1 gives meets the box itself")
	}
	compareGDAL(t, "-spat", got, want, v1.Features)
	if len(log.saw("bbox")) == 0 {
		t.Error("GDAL did not push -spat down as bbox")
	}
}

// compareGDAL checks GDAL's features against /v1's, by code, geometry
// vertex by vertex.
func compareGDAL[F any](t *testing.T, what string, got []gdalFeature, want []string, v1 []F) {
	t.Helper()
	var codes []string
	for _, f := range got {
		codes = append(codes, fmt.Sprint(f.Properties["code"]))
	}
	slices.Sort(codes)
	slices.Sort(want)
	if !slices.Equal(codes, want) {
		t.Fatalf("%s: GDAL copied %v, /v1 says %v", what, codes, want)
	}
	for _, f := range got {
		g, _ := demo.Grid(fmt.Sprint(f.Properties["code"]))
		var geom struct{ Coordinates [][][][2]float64 }
		if err := json.Unmarshal(f.Geometry, &geom); err != nil {
			t.Fatal(err)
		}
		for i, poly := range g.Geometry {
			for j, ring := range poly {
				for k, p := range ring {
					if q := geom.Coordinates[i][j][k]; math.Abs(q[0]-p[0]) > 1e-12 || math.Abs(q[1]-p[1]) > 1e-12 {
						t.Fatalf("%s: grid %s vertex %d/%d/%d: GDAL %v, /v1 %v", what, g.Code, i, j, k, q, p)
					}
				}
			}
		}
	}
}

// TestOGC_GDALCRS checks each CRS against GDAL: gdalsrsinfo says which
// axis comes first in EPSG:4326, 4490 and 3857, and gdaltransform (PROJ)
// computes every grid vertex in each; /ogc's crs answers must agree.
func TestOGC_GDALCRS(t *testing.T) {
	gdalsrsinfo, gdaltransform := gdalTool(t, "gdalsrsinfo"), gdalTool(t, "gdaltransform")
	c := newClient(t)
	var lines []string
	for _, g := range demo.Grids {
		for _, poly := range g.Geometry {
			for _, ring := range poly {
				for _, p := range ring {
					lines = append(lines, strconv.FormatFloat(p[0], 'g', -1, 64)+" "+strconv.FormatFloat(p[1], 'g', -1, 64))
				}
			}
		}
	}
	input := strings.Join(lines, "\n") + "\n"
	firstAxis := regexp.MustCompile(`AXIS\["([^"]+)"`)
	for _, crs := range []struct{ code, uri string }{{"EPSG:4326", uri4326}, {"EPSG:4490", uri4490}, {"EPSG:3857", uri3857}} {
		m := firstAxis.FindStringSubmatch(runGDAL(t, gdalsrsinfo, "-o", "wkt2", crs.code))
		if m == nil {
			t.Fatalf("gdalsrsinfo %s: no axis", crs.code)
		}
		latFirst := strings.Contains(strings.ToLower(m[1]), "latitude")
		// gdaltransform writes x (easting or longitude) first whatever the
		// CRS: GDAL's traditional GIS order.
		out := runGDALStdin(t, input, gdaltransform, "-s_srs", "OGC:CRS84", "-t_srs", crs.code, "-output_xy")
		sc := bufio.NewScanner(strings.NewReader(out))
		var want [][2]float64
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			x, _ := strconv.ParseFloat(f[0], 64)
			y, _ := strconv.ParseFloat(f[1], 64)
			want = append(want, [2]float64{x, y})
		}
		if len(want) != len(lines) {
			t.Fatalf("gdaltransform gave %d positions for %d", len(want), len(lines))
		}
		fc, contentCRS := c.rawItems("/ogc/collections/grids/items?limit=10000&crs=" + url.QueryEscape(crs.uri))
		if contentCRS != "<"+crs.uri+">" {
			t.Errorf("%s: Content-Crs %s", crs.code, contentCRS)
		}
		tol := 1e-9 // degrees; gdaltransform prints 15 significant digits
		if crs.code == "EPSG:3857" {
			tol = 1e-3 // metres
		}
		n, worst := 0, 0.0
		for _, f := range fc.Features {
			var geom struct{ Coordinates [][][][2]float64 }
			json.Unmarshal(f.Geometry, &geom)
			for _, poly := range geom.Coordinates {
				for _, ring := range poly {
					for _, p := range ring {
						x, y := p[0], p[1]
						if latFirst {
							x, y = y, x
						}
						w := want[n]
						n++
						worst = max(worst, math.Abs(x-w[0]), math.Abs(y-w[1]))
					}
				}
			}
		}
		if n != len(want) || worst > tol {
			t.Errorf("%s (first axis %s): %d positions, largest difference from PROJ %g", crs.code, m[1], n, worst)
		}
		t.Logf("%s: first axis %q; %d vertices, largest difference from PROJ %g", crs.code, m[1], n, worst)
	}
}

// runGDALStdin runs a GDAL program with input on standard input, as
// runGDAL runs it.
func runGDALStdin(t *testing.T, input, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Stdin = strings.NewReader(input)
	cmd.Env = append(os.Environ(), "CPL_DEBUG=OFF")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v", filepath.Base(prog), strings.Join(args, " "), err)
	}
	return string(out)
}

// TestOGC_GDALIncidents reads the incidents collection with GDAL as a
// dispatcher (a bearer token in a header file): a -where on received_at,
// which GDAL sends as a CQL comparison with a time, and on category,
// compared with /v1/incidents; anonymous GDAL does not see the layer.
func TestOGC_GDALIncidents(t *testing.T) {
	ogr2ogr, ogrinfo := gdalTool(t, "ogr2ogr"), gdalTool(t, "ogrinfo")
	e, incs := ogcIncidentEnv(t)
	var log queryLog
	srv := httptest.NewServer(log.wrap(e.srv))
	defer srv.Close()
	source := "OAPIF:" + srv.URL + "/ogc"
	headers := filepath.Join(t.TempDir(), "headers")
	if err := os.WriteFile(headers, []byte("Authorization: Bearer "+e.secrets[geo.AccessDispatcher]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"GDAL_HTTP_HEADER_FILE=" + headers}

	if out := runGDAL(t, ogrinfo, "-ro", "-so", source); strings.Contains(out, "incidents") {
		t.Errorf("anonymous GDAL lists the incidents:\n%s", out)
	}
	since := t0.Add(3 * time.Hour)
	got := gdalGeoJSON(t, ogr2ogr, source, "incidents", env, "-where",
		fmt.Sprintf("received_at >= '%s' AND category = 'environment'", since.Format("2006/01/02 15:04:05")))
	var gotNumbers []string
	for _, f := range got {
		gotNumbers = append(gotNumbers, fmt.Sprint(f.Properties["number"]))
		var geom struct {
			Type        string
			Coordinates [2]float64
		}
		json.Unmarshal(f.Geometry, &geom)
		if geom.Type != "Point" {
			t.Errorf("incident %v: geometry %s", f.Properties["number"], f.Geometry)
		}
	}
	var v1 struct {
		Incidents []struct{ Number string }
	}
	e.do(geo.AccessDispatcher, "GET", "/v1/incidents?category=environment&from="+since.Format(time.RFC3339), nil, &v1)
	var want []string
	for _, inc := range v1.Incidents {
		want = append(want, inc.Number)
	}
	slices.Sort(gotNumbers)
	slices.Sort(want)
	if len(want) != 1 || want[0] != incs[5].Number || !slices.Equal(gotNumbers, want) {
		t.Errorf("GDAL copied incidents %v, /v1 lists %v (want %s)", gotNumbers, want, incs[5].Number)
	}
	filters := log.saw("filter")
	if len(filters) == 0 || !strings.Contains(strings.Join(filters, " "), "received_at") {
		t.Errorf("GDAL did not push the time comparison down: %q", filters)
	}
}
