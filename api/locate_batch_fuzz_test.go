package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo/chinacrs"
)

// oldBatch is how every body of POST /v1/locate was decoded before the
// one-pass decoder: encoding/json into batchRequest, then checkBatch. It
// is the oracle of FuzzBatchDecoder.
func (s *Server) oldBatch(body []byte) ([]orb.Point, chinacrs.CRS, error) {
	var req batchRequest
	if err := decodeJSON(body, &req); err != nil {
		return nil, "", err
	}
	return s.checkBatch(&req)
}

// strictFeature reports, independently of batchDecoder, whether a body
// that encoding/json accepts has one of the features the one-pass decoder
// refuses: a member given twice, a member name not exactly points or crs,
// a null coordinate, or anything but whitespace after the body.
func strictFeature(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		key := t.(string)
		if seen[key] || (key != "points" && key != "crs") {
			return true
		}
		seen[key] = true
		var v any
		if err := dec.Decode(&v); err != nil {
			return false
		}
		if pts, ok := v.([]any); ok && key == "points" {
			for _, p := range pts {
				if xy, ok := p.([]any); ok {
					for _, c := range xy {
						if c == nil {
							return true
						}
					}
				}
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return false
	}
	// After the body: all of it, not only what the decoder has buffered.
	return len(bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n")) > 0
}

func batchSeeds() []string {
	var big strings.Builder
	big.WriteString(`{"crs":"gcj02","points":[`)
	for i := range 10_000 {
		if i > 0 {
			big.WriteString(",")
		}
		fmt.Fprintf(&big, "[%v,%v]", 112.1+float64(i)*1e-6, 27.25-float64(i)*1e-7)
	}
	big.WriteString("]}")
	tooMany := strings.Replace(big.String(), `"points":[`, `"points":[[1,2],`, 1)
	return append([]string{
		big.String(), tooMany,
		`{"points":[[112.1,27.25]]}`, `{"points":[]}`, ` { "points" : [ [ 112.1 , 27.25 ] , [0,0] ] , "crs" : "BD09" } ` + "\n",
		`{"points":[[112.1,27.25]],"crs":null}`, `{"points":null}`, `null`, `{}`, ``, ` `, `[]`, `"x"`, `1`,
		`{"points":[[112.1,27.25]]}}`, `{"points":[[112.1,27.25]]}]`, `{"points":[]} {"points":[]}`, `{"points":[]} x`,
		`{"points":[[1,2]],"points":[[3,4]]}`, `{"crs":"wgs84","crs":"gcj02","points":[]}`, `{"Points":[[1,2]]}`, `{"CRS":"gcj02","points":[]}`,
		`{"pointſ":[[1,2]]}`, `{"p\u006fints":[[1,2]]}`, `{"points":[[1,2]],"crs":"\u0067cj02"}`, `{"points":[[1,2]],"crs":"gcj\u0000"}`,
		`{"points":[[1,null]]}`, `{"points":[[null,2]]}`, `{"points":[null]}`, `{"points":[[1]]}`, `{"points":[[1,2,3]]}`, `{"points":[[[1],2]]}`,
		`{"points":[["1",2]]}`, `{"points":[[true,2]]}`, `{"points":[{"lon":1,"lat":2}]}`, `{"points":{"a":1}}`, `{"points":"x"}`, `{"crs":5,"points":[]}`,
		`{"points":[[1e400,2]]}`, `{"points":[[-1e400,2]]}`, `{"points":[[1e-400,2]]}`, `{"points":[[-0,-0.0]]}`, `{"points":[[1E+2,0.1e-1]]}`,
		`{"points":[[01,2]]}`, `{"points":[[1.,2]]}`, `{"points":[[.1,2]]}`, `{"points":[[-,2]]}`, `{"points":[[+1,2]]}`, `{"points":[[1e,2]]}`,
		`{"points":[[NaN,2]]}`, `{"points":[[Infinity,2]]}`, `{"points":[[181,2]]}`, `{"points":[[180,90]]}`, `{"points":[[-180,-90.0000001]]}`,
		`{"points":[[1,2],]}`, `{"points":[[1,2]],}`, `{"points":[[1,2]]`, `{"points":[[1,2`, `{"points"`, `{"points":[[1,2]] "crs":"x"}`,
		"\ufeff{\"points\":[]}", "{\"points\":[[1,2]],\"crs\":\"gcj02\xff\"}", "{\"points\":[[1,2]],\"crs\":\"a\x00\"}", "{\"points\":[[1,2]],\"crs\":\"a\tb\"}",
		`{"points":[[1,2]],"crs":"\"}`, `{"points":[[1,2]],"crs":"\ud800"}`, `{"points":[[1,2]],"foo":1}`, `{"foo":{"bar":[1,2,{"x":null}]},"points":[]}`,
		`{"points":[[1,2]],"crs":"wgs-84"}`, `{"points":[[1,2]],"crs":"EPSG:4326"}`, `{"points":[[1,2]],"crs":""}`, "\t\r\n{\"points\":[[1,2]]}\t\r\n",
		`{"points":[[1,2]]}  null`, `{"crs":"0","Crs":"","points":[]}`, `{"points":[[999,0]],"Points":[[1,2]]}`, `{"points":[[1,2,3]],"Points":[[1,2]]}`,
		`{"points":{"a":1},"points":[[1,2]]}`, `{"points":[[1,{}]],"points":[[1,2]]}`, `{"points":[[1,2]],"crs":"bad","crs":"gcj02"}`, `{"points" : [[ 1 ,2 ] ] ,"crs":"gcj02" }`, `{"points":[[1.7976931348623157e308,2]]}`, `{"points":[[1,2]],"crs":"wgs84"}` + strings.Repeat(" ", 100),
		`{"points":[[112.123456789012345,27.1234567890123],[0.000000000000000000001,1e-22],[99.999999999999999,-0.000000000000001]]}`,
		`{"points":[[123456789012345,0],[12345678901234.5,0],[0.1234567890123456,0.12345678901234567]]}`,
	}, bigSeeds()...)
}

// bigSeeds are bodies large enough for the parallel decoder (over
// parallelDecodeBytes): 10,000 device-like points (6 decimals), a bad
// point placed where a part of the split array ends or begins, a null,
// wide whitespace, a large member before the points or after them that
// looks like elements ("],[") to the split search, and an array of
// 10,001 points.
func bigSeeds() []string {
	pts := make([]string, 10_000)
	for i := range pts {
		pts[i] = fmt.Sprintf("[%.6f,%.6f]", 112.05+float64(i%1400)*1e-4, 27.21+float64(i%1259)*1e-4)
	}
	body := func(pts []string, sep, head, tail string) string {
		return `{` + head + `"points":[` + strings.Join(pts, sep) + `]` + tail + `}`
	}
	with := func(i int, p string) []string {
		c := slices.Clone(pts)
		c[i] = p
		return c
	}
	looksLikeElements := strings.Repeat(`],[`, 40_000)
	return []string{
		body(pts, ",", "", `,"crs":"gcj02"`),
		body(pts, " ,\n\t ", `"crs":"bd09",`, ""),
		body(with(4999, "[181,2]"), ",", "", ""),
		body(with(5000, "[1,null]"), ",", "", ""),
		body(with(5001, "[1,2,3]"), ",", "", ""),
		body(with(9999, `["1",2]`), ",", "", ""),
		body(with(0, "[1e400,2]"), ",", "", ""),
		body(pts, ",", "", ","+`"crs":"`+looksLikeElements+`"`),
		body(pts[:2], ",", `"x":"`+looksLikeElements+`",`, ""),
		body(pts[:2], ",", "", `,"crs":"gcj02"`+strings.Repeat(" ", 100_000)),
		body(pts[:2], ",", "", `,"crs":"`+looksLikeElements+`"`),
		body(append(slices.Clone(pts), "[1,2]"), ",", "", ""),
		body(pts, ",", "", "") + strings.Repeat(" ", 70_000) + "]",
	}
}

// FuzzBatchDecoder holds the one-pass decoder to encoding/json + checkBatch:
// what it accepts, they accept with the same points (to the bit) and CRS;
// what it refuses that they accept has one of its stricter features; and
// decodeBatch answers every body as they do, but for those features.
func FuzzBatchDecoder(f *testing.F) {
	for _, s := range batchSeeds() {
		f.Add([]byte(s))
	}
	s := &Server{cfg: Config{MaxBatchPoints: 10_000}}
	f.Fuzz(func(t *testing.T, body []byte) {
		oldPts, oldCRS, oldErr := s.oldBatch(body)
		gotPts, gotCRS, gotErr := s.decodeBatch(body)
		if checkJSONText(body) != nil {
			if gotErr == nil || oldErr == nil || gotErr.Error() != oldErr.Error() {
				t.Fatalf("text check: got %v, old %v", gotErr, oldErr)
			}
			return
		}
		d := batchDecoder{data: body, max: s.cfg.MaxBatchPoints}
		fast := d.decode()
		switch {
		case fast && oldErr != nil:
			t.Fatalf("%q: one-pass accepts, encoding/json refuses: %v", body, oldErr)
		case fast:
			samePoints(t, body, d.pts, d.crs, oldPts, oldCRS)
		case oldErr == nil && !strictFeature(body):
			t.Fatalf("%q: one-pass refuses what encoding/json accepts, with none of the stricter features", body)
		}
		switch {
		case oldErr != nil:
			var p1, p2 *Problem
			if !errors.As(gotErr, &p1) || !errors.As(oldErr, &p2) || p1.Status != p2.Status || p1.Detail != p2.Detail {
				t.Fatalf("%q: got %v, old %v", body, gotErr, oldErr)
			}
		case fast:
			if gotErr != nil {
				t.Fatalf("%q: decodeBatch: %v", body, gotErr)
			}
			samePoints(t, body, gotPts, gotCRS, oldPts, oldCRS)
		case !strictFeature(body):
			if gotErr != nil {
				t.Fatalf("%q: decodeBatch: %v", body, gotErr)
			}
			samePoints(t, body, gotPts, gotCRS, oldPts, oldCRS)
		default:
			var p *Problem
			if !errors.As(gotErr, &p) || p.Status != 400 {
				t.Fatalf("%q: decodeBatch: got %v, want a 400 for a stricter rule", body, gotErr)
			}
		}
	})
}

func samePoints(t *testing.T, body []byte, got []orb.Point, gotCRS chinacrs.CRS, want []orb.Point, wantCRS chinacrs.CRS) {
	t.Helper()
	if gotCRS != wantCRS || len(got) != len(want) {
		t.Fatalf("%.200q: got %d points in %s, encoding/json %d in %s", body, len(got), gotCRS, len(want), wantCRS)
	}
	for i := range got {
		for k := range 2 {
			if math.Float64bits(got[i][k]) != math.Float64bits(want[i][k]) {
				t.Fatalf("%.200q: point %d: got %v, encoding/json %v", body, i, got[i], want[i])
			}
		}
	}
}

// TestBatchDecoder_strict: what the one-pass decoder refuses beyond
// encoding/json is a 400 naming the member or the point.
func TestBatchDecoder_strict(t *testing.T) {
	s := &Server{cfg: Config{MaxBatchPoints: 10_000}}
	for body, where := range map[string]string{
		`{"points":[[1,2]],"points":[[3,4]]}`:      "points",
		`{"crs":"gcj02","points":[],"crs":"bd09"}`: "crs",
		`{"Points":[[1,2]]}`:                       "Points",
		`{"points":[[1,2]],"CRS":"gcj02"}`:         "CRS",
		`{"points":[[1,2],[3,null]]}`:              "points[1]",
		`{"points":[[1,2]]}}`:                      "",
		`{"points":[[1,2]]}]`:                      "",
		`{"points":[[1,2]],"extra":1}`:             "",
	} {
		_, _, err := s.decodeBatch([]byte(body))
		var p *Problem
		if !errors.As(err, &p) || p.Status != 400 {
			t.Errorf("%s: got %v, want 400", body, err)
			continue
		}
		if where != "" && (len(p.Errors) != 1 || p.Errors[0].Where != where) {
			t.Errorf("%s: got %+v, want it to name %s", body, p, where)
		}
		if where == "" && !strings.Contains(p.Detail, "more than one JSON value") && !strings.Contains(p.Detail, "extra") {
			t.Errorf("%s: got %q", body, p.Detail)
		}
	}
}

// BenchmarkBatchDecode decodes and checks a body of 10,000 points: "old"
// is encoding/json + checkBatch (the path before the one-pass decoder),
// "onepass" is decodeBatch.
func BenchmarkBatchDecode(b *testing.B) {
	body := []byte(batchSeeds()[0])
	s := &Server{cfg: Config{MaxBatchPoints: 10_000}}
	for _, bm := range []struct {
		name string
		f    func([]byte) ([]orb.Point, chinacrs.CRS, error)
	}{{"old", s.oldBatch}, {"onepass", s.decodeBatch}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if pts, _, err := bm.f(body); err != nil || len(pts) != 10_000 {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*10_000/b.Elapsed().Seconds(), "points/s")
		})
	}
}

// FuzzQueryNames holds queryNames (the adapter's names, GET /v1/locate's
// hot path) to the keys of url.ParseQuery, sorted, as the adapter read
// them before.
func FuzzQueryNames(f *testing.F) {
	for _, s := range []string{"", "lon=1&lat=2", "lat=2&lon=1&lon=3", "a;b=1&c=2", "%zz=1&b=2", "b=%zz&b=1", "b=%zz",
		"a+b=1&a%20b=2", "&&=1&x", "x=1&x=2&y", "%C3%A9=1", strings.Repeat("k&", 40) + "z", "lon=1&lat=2&crs=gcj02&at=2026-01-01"} {
		f.Add(s)
	}
	for i := range 40 {
		f.Add(fmt.Sprintf("%s&n%02d=1", strings.Repeat("a=1&", i), i))
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = &http.Request{URL: &url.URL{RawQuery: raw}}
		values, _ := url.ParseQuery(raw)
		want := slices.Sorted(maps.Keys(values))
		if got := queryNames(c, nil); !slices.Equal(got, want) {
			t.Fatalf("%q: got %q, want %q", raw, got, want)
		}
	})
}
