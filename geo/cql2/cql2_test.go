package cql2

import (
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
)

// feature is a map of property values.
type feature map[string]Value

func (f feature) Property(name string) Value { return f[name] }

// specQueryables are the properties the CQL2 standard's examples use
// (opengeospatial/ogcapi-features, cql2/standard/schema/examples).
var specQueryables = Queryables{
	"landsat:scene_id": String, "eo:instrument": String, "eo_instruments": String, "footprint": Geometry,
	"geometry": Geometry, "beamMode": String, "swathDirection": String, "polarization": String,
	"floors": Number, "swimming_pool": Boolean, "built": Timestamp, "starts_at": Timestamp, "ends_at": Timestamp,
	"updated": Timestamp, "geophys:SURVEY_NAME": String, "id": String, "value": Number,
}

func ts(s string) Value {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return TimeValue(t)
}

// The square 43.5..43.9 × -79.7..-79.1 holds the polygon of examples 7 and
// 8 (whose axes are as the examples give them).
var inFootprint = GeomValue(orb.Point{43.7, -79.4})

// TestSpecExamples parses examples of the CQL2 standard in the text
// encoding and, where the standard gives the JSON form, in JSON too, and
// evaluates each on a feature it selects and one it does not.
func TestSpecExamples(t *testing.T) {
	cases := []struct {
		name       string
		text, json string
		yes, no    feature
	}{
		{name: "example01", text: `landsat:scene_id = 'LC82030282019133LGN00'`,
			json: `{"op":"=","args":[{"property":"landsat:scene_id"},"LC82030282019133LGN00"]}`,
			yes:  feature{"landsat:scene_id": Str("LC82030282019133LGN00")}, no: feature{"landsat:scene_id": Str("LC8")}},
		{name: "example02", text: `eo:instrument LIKE 'OLI%'`,
			json: `{"op":"like","args":[{"property":"eo:instrument"},"OLI%"]}`,
			yes:  feature{"eo:instrument": Str("OLI_TIRS")}, no: feature{"eo:instrument": Str("TIRS")}},
		{name: "example07", text: `eo_instruments LIKE 'OLI%'
                AND S_INTERSECTS(footprint,POLYGON((43.5845 -79.5442, 43.6079 -79.4893, 43.5677 -79.4632,
                43.6129 -79.3925, 43.6223 -79.3238, 43.6576 -79.3163, 43.7945 -79.1178, 43.8144 -79.1542,
                43.8555 -79.1714, 43.7509 -79.6390, 43.5845 -79.5442)))`,
			yes: feature{"eo_instruments": Str("OLI"), "footprint": inFootprint},
			no:  feature{"eo_instruments": Str("OLI"), "footprint": GeomValue(orb.Point{10, 10})}},
		{name: "example08", text: `    beamMode='ScanSAR Narrow'
AND swathDirection='ascending'
AND polarization='HH+VV+HV+VH'
AND s_intersects(geometry,POLYGON((-77.117938 38.936860, -77.040604 39.995648, -76.910536 38.892912,
   -77.039359 38.791753, -77.047906 38.841462, -77.034183 38.840655, -77.033142 38.857490, -77.117938 38.936860)))`,
			yes: feature{"beamMode": Str("ScanSAR Narrow"), "swathDirection": Str("ascending"), "polarization": Str("HH+VV+HV+VH"),
				"geometry": GeomValue(orb.Point{-77.04, 38.95})},
			no: feature{"beamMode": Str("ScanSAR Narrow"), "swathDirection": Str("descending"), "polarization": Str("HH+VV+HV+VH"),
				"geometry": GeomValue(orb.Point{-77.04, 38.95})}},
		{name: "example15", text: `floors>5 AND swimming_pool=true`,
			json: `{"op":"and","args":[{"op":">","args":[{"property":"floors"},5]},{"op":"=","args":[{"property":"swimming_pool"},true]}]}`,
			yes:  feature{"floors": Num(6), "swimming_pool": Bool(true)}, no: feature{"floors": Num(5), "swimming_pool": Bool(true)}},
		{name: "example20", text: `T_BEFORE(built, DATE('2015-01-01'))`,
			json: `{"op":"t_before","args":[{"property":"built"},{"date":"2015-01-01"}]}`,
			yes:  feature{"built": ts("2014-12-31T23:59:59Z")}, no: feature{"built": ts("2015-01-01T00:00:00Z")}},
		{name: "example22", text: `T_DURING(INTERVAL(starts_at, ends_at), INTERVAL('2017-06-10T07:30:00Z', '2017-06-11T10:30:00Z'))`,
			yes: feature{"starts_at": ts("2017-06-10T08:00:00Z"), "ends_at": ts("2017-06-11T10:00:00Z")},
			no:  feature{"starts_at": ts("2017-06-10T07:30:00Z"), "ends_at": ts("2017-06-11T10:00:00Z")}},
		{name: "example22.json", text: `T_DURING(updated, INTERVAL('2017-06-10T07:30:00Z', '2017-06-11T10:30:00Z'))`,
			json: `{"op":"t_during","args":[{"property":"updated"},{"interval":["2017-06-10T07:30:00Z","2017-06-11T10:30:00Z"]}]}`,
			yes:  feature{"updated": ts("2017-06-11T00:00:00Z")}, no: feature{"updated": ts("2017-06-12T00:00:00Z")}},
		{name: "example28", text: `CASEI(geophys:SURVEY_NAME) LIKE CASEI('%calcutta%')`,
			json: `{"op":"like","args":[{"op":"casei","args":[{"property":"geophys:SURVEY_NAME"}]},{"op":"casei","args":["%calcutta%"]}]}`,
			yes:  feature{"geophys:SURVEY_NAME": Str("The CALCUTTA survey")}, no: feature{"geophys:SURVEY_NAME": Str("Delhi")}},
		{name: "example30", text: `"id" <> 'fa7e1920-9107-422d-a3db-c468cbc5d6df'`,
			yes: feature{"id": Str("x")}, no: feature{"id": Str("fa7e1920-9107-422d-a3db-c468cbc5d6df")}},
		{name: "example33", text: `"value" <= 10`, json: `{"op":"<=","args":[{"property":"value"},10]}`,
			yes: feature{"value": Num(10)}, no: feature{"value": Num(10.5)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			forms := map[string]func() (*Node, error){"text": func() (*Node, error) { return ParseText(c.text) }}
			if c.json != "" {
				forms["json"] = func() (*Node, error) { return ParseJSON([]byte(c.json)) }
			}
			for form, parse := range forms {
				n, err := parse()
				if err != nil {
					t.Fatalf("%s: %v", form, err)
				}
				if err := Check(n, specQueryables); err != nil {
					t.Fatalf("%s: check: %v", form, err)
				}
				if !Match(n, c.yes) {
					t.Errorf("%s: does not select %v", form, c.yes)
				}
				if Match(n, c.no) {
					t.Errorf("%s: selects %v", form, c.no)
				}
			}
		})
	}
}

// TestOperators evaluates each operator on one feature, with an oracle
// written by hand.
func TestOperators(t *testing.T) {
	q := Queryables{"name": String, "n": Number, "ok": Boolean, "at": Timestamp, "geometry": Geometry, "missing": String}
	f := feature{"name": Str("荷叶镇_1%"), "n": Num(3), "ok": Bool(true), "at": ts("2026-11-01T08:00:00Z"),
		"geometry": GeomValue(orb.Polygon{{{0, 0}, {10, 0}, {10, 10}, {0, 10}, {0, 0}}, {{4, 4}, {6, 4}, {6, 6}, {4, 6}, {4, 4}}})}
	cases := []struct {
		filter string
		want   bool
	}{
		{`n = 3`, true}, {`n <> 3`, false}, {`n < 3.5 AND n >= 3`, true}, {`n > 3 OR n <= 2`, false},
		{`NOT n = 3`, false}, {`NOT (n = 4)`, true}, {`n = -3`, false}, {`n BETWEEN 1 AND 3`, true},
		{`n NOT BETWEEN 1 AND 3`, false}, {`n IN (1, 2, 3)`, true}, {`n NOT IN (1, 2)`, true},
		{`name LIKE '荷叶%'`, true}, {`name LIKE '荷叶镇\_1\%'`, true}, {`name LIKE '荷_镇%'`, true}, {`name LIKE '荷叶'`, false},
		{`name NOT LIKE '%x%'`, true}, {`name ILIKE '荷叶镇_1%'`, true},
		{`missing IS NULL`, true}, {`missing IS NOT NULL`, false}, {`name IS NOT NULL`, true},
		// Three-valued logic: a comparison with null is unknown, and so is its NOT.
		{`missing = 'a'`, false}, {`NOT missing = 'a'`, false}, {`missing = 'a' OR n = 3`, true},
		{`ok`, true}, {`ok = false`, false}, {`TRUE`, true}, {`FALSE OR ok`, true},
		{`at = '2026-11-01T08:00:00Z'`, true}, {`at > TIMESTAMP('2026-11-01T07:59:59Z')`, true},
		{`at BETWEEN '2026-11-01T00:00:00Z' AND '2026-11-02T00:00:00Z'`, true},
		{`T_INTERSECTS(at, INTERVAL('2026-11-01', '..'))`, true}, {`T_AFTER(at, DATE('2026-10-31'))`, true},
		{`T_BEFORE(at, INTERVAL('..', '2026-11-01T08:00:00Z'))`, false}, {`T_DISJOINT(at, DATE('2026-11-02'))`, true},
		{`T_DURING(at, DATE('2026-11-01'))`, true}, {`T_EQUALS(at, TIMESTAMP('2026-11-01T08:00:00Z'))`, true},
		// Spatial: edges count, holes are outside but their edges inside.
		{`S_INTERSECTS(geometry, POINT(5 5))`, false}, {`S_INTERSECTS(geometry, POINT(4 5))`, true},
		{`S_INTERSECTS(geometry, POINT(10 10))`, true}, {`S_INTERSECTS(geometry, POINT(2 2))`, true},
		{`S_INTERSECTS(geometry, BBOX(4.5, 4.5, 5.5, 5.5))`, false}, {`S_INTERSECTS(geometry, BBOX(-1, -1, 20, 20))`, true},
		{`S_INTERSECTS(geometry, BBOX(10, 10, 11, 11))`, true}, {`S_DISJOINT(geometry, POINT(11 11))`, true},
		{`S_INTERSECTS(geometry, LINESTRING(-5 5, -1 5))`, false}, {`S_INTERSECTS(geometry, LINESTRING(-5 5, 5 5))`, true},
		{`S_INTERSECTS(geometry, MULTIPOINT((5 5), (20 20)))`, false}, {`S_INTERSECTS(geometry, MULTIPOINT(5 5, 1 1))`, true},
		{`S_INTERSECTS(geometry, POLYGON((-1 -1, 11 -1, 11 11, -1 11, -1 -1)))`, true},
		{`S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(5 5), POINT(0 0)))`, true},
		{`S_INTERSECTS(geometry, MULTIPOLYGON(((20 20, 21 20, 21 21, 20 20))))`, false},
		{`CASEI(name) = CASEI('荷叶镇_1%')`, true},
	}
	for _, c := range cases {
		n, err := ParseText(c.filter)
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		if err := Check(n, q); err != nil {
			t.Errorf("%s: check: %v", c.filter, err)
			continue
		}
		if got := Match(n, f); got != c.want {
			t.Errorf("%s: got %v, want %v", c.filter, got, c.want)
		}
	}
}

// TestErrors names what is wrong with bad filters.
func TestErrors(t *testing.T) {
	q := Queryables{"name": String, "n": Number, "geometry": Geometry}
	cases := []struct{ filter, want string }{
		{`nmae = 'x'`, `unknown property "nmae": the queryables are geometry, n, name`},
		{`name = 3`, `= compares a string with a number`},
		{`n LIKE 'x'`, `LIKE: argument 1 is a number`},
		{`name = 'x`, `no closing quote`},
		{`name = 'x' AND`, `the filter ends where an operand is expected`},
		{`S_WITHIN(geometry, POINT(1 2))`, `S_WITHIN is not supported`},
		{`n + 1 = 2`, `arithmetic are not supported`},
		{`S_INTERSECTS(geometry, POINT(1 2 3))`, `two-dimensional`},
		{`S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 0.5)))`, `must end where it starts`},
		{`name`, `the filter is a string, not a condition`},
		{`T_AFTER(name, DATE('2020-01-01'))`, `argument 1 is a string`},
		{`TIMESTAMP('yesterday') = n`, `want an RFC 3339 time`},
		{`name = 'x' name`, `unexpected`},
		{"name = '\xff'", `not valid UTF-8`},
		{strings.Repeat("(", 100) + "n = 1" + strings.Repeat(")", 100), `nests deeper than 64`},
		{strings.Repeat("NOT ", 100) + "n = 1", `nests deeper than 64`},
	}
	for _, c := range cases {
		n, err := ParseText(c.filter)
		if err == nil {
			err = Check(n, q)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.filter, err, c.want)
		}
	}
	jcases := []struct{ filter, want string }{
		{`{"op":"=","args":[{"property":"nmae"},"x"]}`, `unknown property "nmae"`},
		{`{"op":"=","args":[{"property":"name"}]}`, `needs 2 argument(s), got 1`},
		{`{"op":"frobnicate","args":[]}`, `unknown operator "frobnicate"`},
		{`{"op":"in","args":[{"property":"n"},[]]}`, `non-empty array`},
		{`{"op":"=","args":[{"property":"name"},"x"],"extra":1}`, `unknown member "extra"`},
		{`{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[0,0],[1,0]]]}]}`, `4 positions`},
		{`[1,2]`, `only allowed as the list of "in"`},
		{`{"op":`, `not JSON`},
		{strings.Repeat(`{"op":"not","args":[`, 80) + `true` + strings.Repeat(`]}`, 80), `nests deeper than 64`},
	}
	for _, c := range jcases {
		n, err := ParseJSON([]byte(c.filter))
		if err == nil {
			err = Check(n, q)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.filter, err, c.want)
		}
	}
}

// TestLike_linear checks that a pattern built to make backtracking
// matchers explode stays fast.
func TestLike_linear(t *testing.T) {
	s := strings.Repeat("a", 5000)
	p := strings.Repeat("%a", 200) + "b"
	start := time.Now()
	if like(s, p) {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("like took %v", d)
	}
	if !like("abc", "a%c") || like("abc", "a_") || !like("a%c", `a\%c`) || like("abc", `a\%c`) || !like("", "%") {
		t.Error("like: a simple case is wrong")
	}
}

// FuzzParse feeds hostile text and JSON to the parsers and the checker:
// they must return a tree or an error, never panic, and a checked tree
// must evaluate without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`name = 'x'`, `n BETWEEN 1 AND 2`, `S_INTERSECTS(geometry, POLYGON((0 0, 1 0, 1 1, 0 0)))`,
		`T_INTERSECTS(at, INTERVAL('..', '2020-01-01'))`, `name LIKE '%%%%%%%%%%b'`, `n IN (1,2,3,`,
		strings.Repeat("(", 70), strings.Repeat("NOT ", 70), "'\x00'", "\"\xff\"", `POINT(1e400 1)`,
		`S_INTERSECTS(geometry, GEOMETRYCOLLECTION(GEOMETRYCOLLECTION(POINT(1 1))))`, `BBOX(1,2,3)`,
		`{"op":"and","args":[true,{"op":"isNull","args":[{"property":"name"}]}]}`,
		`{"op":"s_intersects","args":[{"property":"geometry"},{"type":"GeometryCollection","geometries":[{"type":"Point","coordinates":[1,2]}]}]}`,
		`{"op":"in","args":[{"property":"n"},[1,null,"x"]]}`, `{"interval":[{"property":"at"},".."]}`,
	} {
		f.Add(s)
	}
	q := Queryables{"name": String, "n": Number, "at": Timestamp, "geometry": Geometry}
	ft := feature{"name": Str("a"), "n": Num(1), "at": ts("2020-01-01T00:00:00Z"), "geometry": GeomValue(orb.Point{1, 1})}
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func() (*Node, error){
			func() (*Node, error) { return ParseText(s) },
			func() (*Node, error) { return ParseJSON([]byte(s)) },
		} {
			n, err := parse()
			if err != nil {
				if n != nil {
					t.Fatalf("%q: a tree and an error", s)
				}
				continue
			}
			if Check(n, q) == nil {
				Match(n, ft)
			}
		}
	})
}
