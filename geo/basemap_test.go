package geo_test

import (
	"strings"
	"testing"

	"wangge/geo"
)

// TestBaseMap_upstreamURL: each provider's template gets the tile, the
// Tianditu layer (its labels layer for "labels"), the key escaped, and
// Tencent the row counted from the south.
func TestBaseMap_upstreamURL(t *testing.T) {
	for _, tc := range []struct {
		name  string
		b     geo.BaseMap
		layer string
		want  string
	}{
		{"tianditu base", geo.BaseMap{Provider: geo.BaseMapTianditu}, "base",
			"https://t0.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=vec&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX=16&TILEROW=27000&TILECOL=53000&tk=k%2By"},
		{"tianditu img labels", geo.BaseMap{Provider: geo.BaseMapTianditu, Layer: "img"}, "labels",
			"https://t0.tianditu.gov.cn/cia_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=cia&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX=16&TILEROW=27000&TILECOL=53000&tk=k%2By"},
		{"amap", geo.BaseMap{Provider: geo.BaseMapAMap}, "base",
			"https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x=53000&y=27000&z=16"},
		{"tencent counts rows from the south", geo.BaseMap{Provider: geo.BaseMapTencent}, "base",
			"https://rt0.map.gtimg.com/tile?z=16&x=53000&y=38535&styleid=1000&scene=0"},
		{"amap has no labels layer", geo.BaseMap{Provider: geo.BaseMapAMap}, "labels", ""},
		{"pmtiles has no upstream", geo.BaseMap{Provider: geo.BaseMapPMTiles, File: "a.pmtiles"}, "base", ""},
		{"none", geo.BaseMap{}, "base", ""},
	} {
		if got := tc.b.UpstreamURL(tc.layer, "k+y", 16, 53000, 27000); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestBaseMapRequest_check: defaults and derived systems, the key kept
// when omitted, and every wrong member named at once.
func TestBaseMapRequest_check(t *testing.T) {
	key := "0123456789abcdef0123456789abcdef"
	b, k, err := geo.BaseMapRequest{Provider: "amap"}.Check(geo.BaseMap{}, "")
	if err != nil || b.CRS != "gcj02" || k != "" || b.Effective().URL != geo.AMapURL || b.Effective().MaxZoom != 18 {
		t.Errorf("amap: %+v %q %v", b, k, err)
	}
	cur := geo.BaseMap{Provider: geo.BaseMapTianditu, KeyHint: "cdef"}
	b, k, err = geo.BaseMapRequest{Provider: "tianditu", Layer: "ter"}.Check(cur, key)
	if err != nil || k != key || b.KeyHint != "cdef" || b.CRS != "wgs84" {
		t.Errorf("tianditu without the key: %+v %q %v, want the stored key kept", b, k, err)
	}
	if _, _, err := (geo.BaseMapRequest{Provider: "tianditu"}).Check(geo.BaseMap{Provider: geo.BaseMapAMap}, ""); err == nil {
		t.Error("tianditu with no key, none stored: accepted")
	}
	_, _, err = geo.BaseMapRequest{Provider: "xyz", URL: "ftp://x/{z}", CRS: "bd09", MaxZoom: 99, File: "a.pmtiles", Layer: "vec"}.Check(geo.BaseMap{}, "")
	var e *geo.Error
	if !asError(err, &e) || len(e.Problems) != 5 {
		t.Fatalf("five wrong members: %v", err)
	}
	var where []string
	for _, p := range e.Problems {
		where = append(where, p.Where)
	}
	if got := strings.Join(where, ","); got != "layer,url,file,crs,max_zoom" {
		t.Errorf("problems at %s", got)
	}
}

func asError(err error, target **geo.Error) bool {
	e, ok := err.(*geo.Error)
	*target = e
	return ok
}
