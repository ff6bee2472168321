package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wangge/api"
	"wangge/geo"
)

// TestLocate_plainAgreesWithGeneral: GET /v1/locate answers a plain query
// (lon, lat, crs unescaped: locatePlain, without url.Values) exactly as it
// answers the same query through the general opening and handler, which
// an escaped name forces ("lo%6E" is "lon" to url.ParseQuery): the same
// status, headers and body, for answers, every refusal and their order.
func TestLocate_plainAgreesWithGeneral(t *testing.T) {
	var reg geo.Registry
	reg.Store(demo)
	srv := api.New(&reg, nil, api.Config{CORSOrigins: []string{"*"}}, nil)
	queries := []string{
		"lon=112.1&lat=27.25", "lat=27.25&lon=112.1", "lon=112.06&lat=27.21", "lon=112.1&lat=27.25&crs=gcj02",
		"lon=112.1&lat=27.25&crs=BD09", "crs=wgs-84&lon=112.1&lat=27.25", "lon=112.1&lat=27.25&crs=",
		"lon=112.1&lat=27.25&crs=foo", "lon=abc&lat=xyz", "lon=abc&lat=27.25", "lon=112.1&lat=xyz", "lon=112.1",
		"lat=27.25", "", "lon=&lat=", "lon&lat", "lon=200&lat=95", "lon=112.1&lat=95", "lon=NaN&lat=1", "lon=Inf&lat=1",
		"lon=1e400&lat=1", "lon=0x1p-2&lat=1", "lon=112.1&lat=27.25&&", "&lon=112.1&&lat=27.25", "crs=foo&lon=x",
		"lon=112.10000000000001&lat=27.250000000000004", "lon=-0&lat=-0", "lon=112.1&lat=27.25&crs=gcj02&lat=1",
		"lon=" + strings.Repeat("9", 300) + "&lat=1",
	}
	for _, x := range randomPoints(200) {
		queries = append(queries, "lon="+ftoa(x[0])+"&lat="+ftoa(x[1]))
	}
	escape := func(q string) string { // the same query, with every name escaped
		r := strings.NewReplacer("lon", "lo%6E", "lat", "l%61t", "crs", "cr%73")
		return r.Replace(q)
	}
	for _, q := range queries {
		for _, hdr := range []map[string]string{nil, {"If-Match": "\x01bad"}, {"Origin": "https://map.example.cn", "Accept-Encoding": "gzip"},
			{"Authorization": "Bearer nope"}} {
			answer := func(q string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(http.MethodGet, "http://wangge.test/v1/locate?"+q, nil)
				r.Header.Set("X-Request-Id", "same-id")
				for k, v := range hdr {
					r.Header[k] = []string{v}
				}
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				return w
			}
			plain, general := answer(q), answer(escape(q))
			if plain.Code != general.Code || plain.Body.String() != general.Body.String() {
				t.Fatalf("%q %v:\nplain   %d %s\ngeneral %d %s", q, hdr, plain.Code, plain.Body, general.Code, general.Body)
			}
			for k := range general.Header() {
				if k == "Date" { // each answer's own second; present in both (the lengths agree)
					continue
				}
				if plain.Header().Get(k) != general.Header().Get(k) || len(plain.Header()) != len(general.Header()) {
					t.Fatalf("%q %v: headers: plain %v, general %v", q, hdr, plain.Header(), general.Header())
				}
			}
		}
	}
}
