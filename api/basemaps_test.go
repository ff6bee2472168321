package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb/maptile"

	"wangge/api"
	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/pmtiles"
	"wangge/geo/pmtiles/pmtilestest"
)

// basemapEnv is a dispatchEnv whose server keeps the base-map setting in
// its database, with a secret key, a maps folder and a local tile server.
type basemapEnv struct {
	*dispatchEnv
	maps    string
	fixture *tileFixture
}

const testTiandituKey = "0123456789abcdef0123456789abcdef"

func newBasemapEnv(t *testing.T) *basemapEnv {
	e := &basemapEnv{dispatchEnv: newDispatchEnv(t, dispatchTown()), maps: t.TempDir()}
	e.fixture = newTileFixture(t, centre(1))
	e.serve(api.Config{BaseMaps: e.db, SecretKey: []byte("0123456789abcdef0123456789abcdef"), MapsDir: e.maps})
	return e
}

// raw sends a request as role and returns the recorder, checked against
// the OpenAPI document (problems must be problem+json).
func (e *basemapEnv) raw(role geo.AccessRole, method, target, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.secrets[role])
	}
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	checkOpenAPI(e.t, e.router, req, rec.Code, rec.Header(), rec.Body.Bytes())
	if rec.Code >= 400 && rec.Header().Get("Content-Type") != api.ProblemContentType {
		e.t.Errorf("%s %s: %d is not problem+json: %s", method, target, rec.Code, rec.Body)
	}
	return rec
}

type basemapAnswer struct {
	Provider string
	CRS      string
	Layers   []struct {
		ID    string
		Tiles []string
	}
	MaxZoom int `json:"maxzoom"`
	Bounds  [4]float64
	URL     *string
	KeyHint *string `json:"key_hint"`
	Files   []string
}

// TestBaseMap_settings: anyone reads the setting (none at first); only an
// admin sets it; every wrong member is a 400 naming it; the key is sealed
// in the database, shown to admins as its last four characters and to
// nobody else at all, and kept when a later PUT leaves it out.
func TestBaseMap_settings(t *testing.T) {
	t.Parallel()
	e := newBasemapEnv(t)
	var got basemapAnswer
	rec := e.raw("", http.MethodGet, "/v1/basemap", "")
	json.Unmarshal(rec.Body.Bytes(), &got)
	if rec.Code != 200 || got.Provider != "none" || len(got.Layers) != 0 {
		t.Fatalf("GET /v1/basemap at first: %d %s", rec.Code, rec.Body)
	}
	tianditu := `{"provider":"tianditu","key":"` + testTiandituKey + `","url":"` + e.fixture.URL + `/wgs/{z}/{x}/{y}?tk={key}&l={layer}"}`
	for role, want := range map[geo.AccessRole]int{"": 401, geo.AccessViewer: 403, geo.AccessDispatcher: 403, geo.AccessPlanner: 403} {
		if rec := e.raw(role, http.MethodPut, "/v1/basemap", tianditu); rec.Code != want {
			t.Errorf("PUT as %q: %d, want %d", role, rec.Code, want)
		}
	}
	os.WriteFile(filepath.Join(e.maps, "broken.pmtiles"), []byte("PMTiles\x03 not really"), 0o644)
	for _, tc := range []struct{ body, where string }{
		{`{"provider":"google"}`, "provider"},
		{`{"provider":"tianditu"}`, "key"},
		{`{"provider":"tianditu","key":"short"}`, "key"},
		{`{"provider":"tianditu","key":"` + testTiandituKey + `","layer":"osm"}`, "layer"},
		{`{"provider":"tianditu","key":"` + testTiandituKey + `","url":"https://t0.tianditu.gov.cn/{z}/{x}/{y}"}`, "url"},
		{`{"provider":"amap","crs":"wgs84"}`, "crs"},
		{`{"provider":"amap","key":"` + testTiandituKey + `"}`, "key"},
		{`{"provider":"xyz"}`, "url"},
		{`{"provider":"xyz","url":"ftp://tiles.example.cn/{z}/{x}/{y}.png"}`, "url"},
		{`{"provider":"xyz","url":"https://tiles.example.cn/{z}/{x}.png"}`, "url"},
		{`{"provider":"xyz","url":"https://tiles.example.cn/{z}/{x}/{y}.png","crs":"bd09"}`, "crs"},
		{`{"provider":"xyz","url":"https://tiles.example.cn/{z}/{x}/{y}.png","max_zoom":30}`, "max_zoom"},
		{`{"provider":"pmtiles","file":"../etc/passwd.pmtiles"}`, "file"},
		{`{"provider":"pmtiles","file":"missing.pmtiles"}`, "file"},
		{`{"provider":"pmtiles","file":"broken.pmtiles"}`, "file"},
		{`{"provider":"none","colour":"red"}`, "colour"},
		{`{"provider":"none","attribution":"<script>"}`, "attribution"},
	} {
		rec := e.raw(geo.AccessAdmin, http.MethodPut, "/v1/basemap", tc.body)
		var p struct{ Errors []struct{ Where string } }
		json.Unmarshal(rec.Body.Bytes(), &p)
		named := len(p.Errors) > 0 && p.Errors[0].Where == tc.where || strings.Contains(rec.Body.String(), tc.where)
		if rec.Code != 400 || !named {
			t.Errorf("PUT %s: %d %s, want 400 naming %s", tc.body, rec.Code, rec.Body, tc.where)
		}
	}
	if rec := e.raw(geo.AccessAdmin, http.MethodGet, "/v1/basemap", ""); !strings.Contains(rec.Body.String(), `"provider":"none"`) {
		t.Errorf("a refused PUT changed the setting: %s", rec.Body)
	}

	rec = e.raw(geo.AccessAdmin, http.MethodPut, "/v1/basemap", tianditu)
	json.Unmarshal(rec.Body.Bytes(), &got)
	if rec.Code != 200 || got.Provider != "tianditu" || got.CRS != "wgs84" || len(got.Layers) != 2 || got.KeyHint == nil || *got.KeyHint != "…cdef" {
		t.Fatalf("PUT tianditu: %d %s", rec.Code, rec.Body)
	}
	var sealed string
	if err := e.db.Pool.QueryRow(context.Background(), "SELECT key_sealed FROM basemap_settings").Scan(&sealed); err != nil ||
		strings.Contains(sealed, testTiandituKey) || !strings.HasPrefix(sealed, "v1:") {
		t.Errorf("the key as stored: %q, %v; want it sealed", sealed, err)
	}
	for _, role := range []geo.AccessRole{"", geo.AccessViewer, geo.AccessDispatcher, geo.AccessAdmin} {
		rec := e.raw(role, http.MethodGet, "/v1/basemap", "")
		body := rec.Body.String()
		if strings.Contains(body, testTiandituKey) {
			t.Errorf("GET as %q shows the key: %s", role, body)
		}
		var got basemapAnswer
		json.Unmarshal(rec.Body.Bytes(), &got)
		if admin := role == geo.AccessAdmin; (got.KeyHint != nil) != admin || (got.URL != nil) != admin {
			t.Errorf("GET as %q: key hint %v, url %v", role, got.KeyHint, got.URL)
		}
		if got.Provider != "tianditu" || got.Layers[0].Tiles[0] != "/basemap/base/{z}/{x}/{y}" || got.Layers[1].ID != "labels" {
			t.Errorf("GET as %q: %s", role, body)
		}
	}
	// A PUT without the key keeps it: the tiles still carry it.
	if rec := e.raw(geo.AccessAdmin, http.MethodPut, "/v1/basemap", `{"provider":"tianditu","layer":"img","url":"`+e.fixture.URL+`/wgs/{z}/{x}/{y}?tk={key}&l={layer}"}`); rec.Code != 200 {
		t.Fatalf("PUT without the key: %d %s", rec.Code, rec.Body)
	}
	tile := maptile.At(centre(1), 15)
	if rec := e.raw("", http.MethodGet, basemapTileURL("labels", tile), ""); rec.Code != 200 {
		t.Fatalf("labels tile: %d %s", rec.Code, rec.Body)
	}
	if last := e.fixture.requests[len(e.fixture.requests)-1]; !strings.Contains(last, "tk="+testTiandituKey) || !strings.Contains(last, "l=cia") {
		t.Errorf("the fixture was asked %s, want the kept key and the img labels (cia)", last)
	}
}

func basemapTileURL(layer string, t maptile.Tile) string {
	return "/basemap/" + layer + "/" + itoa(int(t.Z)) + "/" + itoa(int(t.X)) + "/" + itoa(int(t.Y))
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestBaseMap_proxy: tiles under the town come from the provider as it
// sent them, with the key; Tencent's rows are asked from the south; tiles
// far from the town are 204 and never fetched; a provider refusing the
// key is a 502 that does not quote the key; without a base map the tiles
// are 404.
func TestBaseMap_proxy(t *testing.T) {
	t.Parallel()
	e := newBasemapEnv(t)
	tile := maptile.At(centre(1), 16)
	if rec := e.raw("", http.MethodGet, basemapTileURL("base", tile), ""); rec.Code != 404 {
		t.Errorf("a tile without a base map: %d, want 404", rec.Code)
	}
	put := func(body string) {
		t.Helper()
		if rec := e.raw(geo.AccessAdmin, http.MethodPut, "/v1/basemap", body); rec.Code != 200 {
			t.Fatalf("PUT %s: %d %s", body, rec.Code, rec.Body)
		}
	}
	put(`{"provider":"tianditu","key":"` + testTiandituKey + `","url":"` + e.fixture.URL + `/wgs/{z}/{x}/{y}?tk={key}&l={layer}"}`)
	rec := e.raw("", http.MethodGet, basemapTileURL("base", tile), "")
	want := fixtureTile(int(tile.Z), int(tile.X), int(tile.Y), centre(1))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || rec.Body.String() != string(want) {
		t.Fatalf("base tile: %d %q, %d bytes, want the fixture's %d", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len(), len(want))
	}
	n := len(e.fixture.requests)
	if rec := e.raw("", http.MethodGet, "/basemap/base/10/0/0", ""); rec.Code != 204 || len(e.fixture.requests) != n {
		t.Errorf("a tile far from the town: %d, %d fetches, want 204 and none", rec.Code, len(e.fixture.requests)-n)
	}
	for _, target := range []string{"/basemap/roads/1/0/0", "/basemap/base/19/0/0", "/basemap/base/2/4/0"} {
		if rec := e.raw("", http.MethodGet, target, ""); rec.Code != 404 && rec.Code != 400 {
			t.Errorf("%s: %d, want 404 or 400", target, rec.Code)
		}
	}

	bad := "bad0000000000000"
	put(`{"provider":"xyz","url":"` + e.fixture.URL + `/wgs/{z}/{x}/{y}?tk=` + bad + `"}`)
	rec = e.raw("", http.MethodGet, basemapTileURL("base", tile), "")
	if rec.Code != 502 || strings.Contains(rec.Body.String(), bad) || !strings.Contains(rec.Body.String(), "403") {
		t.Errorf("a provider refusing the key: %d %s, want 502 saying 403 without the key", rec.Code, rec.Body)
	}

	put(`{"provider":"tencent","url":"` + e.fixture.URL + `/tms/{z}/{x}/{-y}"}`)
	var got basemapAnswer
	json.Unmarshal(e.raw("", http.MethodGet, "/v1/basemap", "").Body.Bytes(), &got)
	gcj := chinacrs.WGS84ToGCJ02(centre(1))
	gt := maptile.At(gcj, 16)
	if got.CRS != "gcj02" || got.Bounds[0] > gcj[0] || got.Bounds[2] < gcj[0] {
		t.Errorf("tencent: %+v, want GCJ-02 bounds around %v", got, gcj)
	}
	rec = e.raw("", http.MethodGet, basemapTileURL("base", gt), "")
	if rec.Code != 200 || rec.Body.String() != string(fixtureTile(16, int(gt.X), int(gt.Y), gcj)) {
		t.Errorf("tencent tile %v: %d, not the fixture's tile", gt, rec.Code)
	}
	if last := e.fixture.requests[len(e.fixture.requests)-1]; last != "/tms/16/"+itoa(int(gt.X))+"/"+itoa(1<<16-1-int(gt.Y)) {
		t.Errorf("tencent asked %s, want the row from the south", last)
	}
}

// TestBaseMap_pmtiles: a PMTiles file dropped into the maps folder is
// served tile by tile as written (204 for tiles it lacks); a file of
// vector tiles is refused at PUT.
func TestBaseMap_pmtiles(t *testing.T) {
	t.Parallel()
	e := newBasemapEnv(t)
	var tiles []pmtilestest.Tile
	center := maptile.At(centre(1), 14)
	for z := maptile.Zoom(10); z <= 14; z++ {
		at := maptile.At(centre(1), z)
		tiles = append(tiles, pmtilestest.Tile{Z: uint8(z), X: at.X, Y: at.Y, Body: fixtureTile(int(z), int(at.X), int(at.Y), centre(1))})
	}
	write := func(name string, tt pmtiles.TileType) {
		b, err := pmtilestest.Write(tiles, pmtilestest.Options{LeafSize: 2, Gzip: true, TileType: tt, MaxZoom: 14})
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(e.maps, name), b, 0o644)
	}
	write("town.pmtiles", pmtiles.TilePNG)
	write("vector.pmtiles", pmtiles.TileMVT)
	if rec := e.raw(geo.AccessAdmin, http.MethodPut, "/v1/basemap", `{"provider":"pmtiles","file":"vector.pmtiles"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "raster") {
		t.Errorf("PUT a vector PMTiles: %d %s, want 400", rec.Code, rec.Body)
	}
	rec := e.raw(geo.AccessAdmin, http.MethodPut, "/v1/basemap", `{"provider":"pmtiles","file":"town.pmtiles","max_zoom":14}`)
	var got basemapAnswer
	json.Unmarshal(rec.Body.Bytes(), &got)
	if rec.Code != 200 || got.CRS != "wgs84" || len(got.Files) != 2 {
		t.Fatalf("PUT pmtiles: %d %s", rec.Code, rec.Body)
	}
	rec = e.raw("", http.MethodGet, basemapTileURL("base", center), "")
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || string(body) != string(tiles[4].Body) {
		t.Errorf("pmtiles tile: %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	neighbour := maptile.New(center.X+1, center.Y, 14)
	if rec := e.raw("", http.MethodGet, basemapTileURL("base", neighbour), ""); rec.Code != 204 {
		t.Errorf("a tile the file lacks: %d, want 204", rec.Code)
	}
}
