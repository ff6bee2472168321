package api

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
)

// FuzzAppendJSONString holds appendJSONString to encoding/json, its
// oracle: HTML characters, control characters, invalid UTF-8, U+2028 and
// U+2029 and every other rune written byte for byte as json.Marshal does.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `quote " and \ back`, "<script>&amp;</script>", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"荷叶镇 网格", "bad \xff\xfe utf-8", "\xe2\x80\xa8 and \xe2\x80\xa9", "\xe2\x80", "end\xc3", "🙂 four bytes"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := appendJSONString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("%q: got %s, want %s", s, got[1:], want)
		}
	})
}

// TestAppendProblem_matchesMarshal: the problem+json written member by
// member is json.Marshal's, byte for byte, with and without the optional
// members, and with errors[] (which goes through json.Marshal).
func TestAppendProblem_matchesMarshal(t *testing.T) {
	for _, p := range []*Problem{
		{Type: TypeOutsideCoverage, Title: "Outside coverage", Status: 404, Detail: "the point (112.06, 27.21) in wgs84 is outside", Instance: "/v1/locate", RequestID: "eaa989a3723c-2"},
		{Type: TypeInternal, Title: "Internal error", Status: 500},
		{Type: TypeInvalidParameter, Title: "Invalid parameter", Status: 400, Detail: `lon: got "<1&2>\"\\\x00", want a number`, RequestID: "a<b>&\"c\\"},
		{Type: TypeNotFound, Status: 404, Instance: "/v1/grids/\xff\u2028"},
		{Type: TypeInvalidBody, Title: "Invalid request body", Status: 400, Detail: "points[3]: bad",
			Errors: []geo.Problem{{Where: "points[3]", Reason: "bad <x>", Location: []float64{112.1, 27.25}}}},
	} {
		want, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendProblem(nil, p); string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
}

// TestOutsideCoverage_detail: the 404's detail, built without fmt, is the
// text fmt's %v made, for coordinates of every magnitude and precision.
func TestOutsideCoverage_detail(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	vals := []float64{0, math.Copysign(0, -1), 112.06, 27.21, 180, -90, 1e-7, 123456789, 1e21, 0.1 + 0.2, 200, 0.5, math.SmallestNonzeroFloat64}
	for range 2000 {
		vals = append(vals, (r.Float64()*2-1)*math.Pow(10, float64(r.IntN(30)-15)), math.Round(r.Float64()*1e6)/1e6*180)
	}
	for i, lon := range vals {
		lat, tol := vals[(i*7+3)%len(vals)], vals[(i*13+5)%len(vals)]
		crs := []chinacrs.CRS{chinacrs.WGS84, chinacrs.GCJ02, chinacrs.BD09}[i%3]
		want := fmt.Sprintf("the point (%v, %v) in %s is outside every grid and more than %v m from the nearest", lon, lat, crs, tol)
		if got := outsideCoverage(orb.Point{lon, lat}, crs, tol).Detail; got != want {
			t.Fatalf("got  %q\nwant %q", got, want)
		}
	}
}

// FuzzPlainLocateQuery holds plainLocateQuery to url.ParseQuery: a query
// it accepts parses to the same names and first values, each name once.
func FuzzPlainLocateQuery(f *testing.F) {
	for _, s := range []string{"", "lon=1&lat=2", "lat=2&lon=1&crs=gcj02", "lon=1&lon=2", "lon&lat=", "&&lon=1&", "lon=%31", "lon=1+2",
		"lon=1;lat=2", "at=2026-01-01&lon=1", "=1", "lon==1", "crs=BD09&lat=-90&lon=180"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, ok := plainLocateQuery(raw)
		if !ok {
			return
		}
		values, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatalf("%q: accepted, but url.ParseQuery fails: %v", raw, err)
		}
		for name, v := range map[string]plainValue{"lon": q.lon, "lat": q.lat, "crs": q.crs} {
			vs, has := values[name]
			if has != v.set || (has && (len(vs) != 1 || vs[0] != v.v)) {
				t.Fatalf("%q: %s: got %+v, url.ParseQuery %q", raw, name, v, vs)
			}
			delete(values, name)
		}
		if len(values) > 0 {
			t.Fatalf("%q: accepted, but holds %v too", raw, values)
		}
	})
}
