package featurejson

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		v    float64
		prec int
		want string
	}{
		{112.1534423828125, Exact, "112.1534423828125"},
		{math.Nextafter(0.3, 1), Exact, "0.30000000000000004"},
		{27, Exact, "27"},
		{1e-7, Exact, "0.0000001"},
		{112.1534423828125, 3, "112.153"},
		{27.2, 6, "27.2"},
		{27.0000004, 6, "27"},
		{-0.0000001, 3, "0"},
		{-112.5, 0, "-112"}, // round half to even, as strconv does
	}
	for _, tt := range tests {
		if got := string(AppendFloat(nil, tt.v, tt.prec)); got != tt.want {
			t.Errorf("AppendFloat(%v, %d) = %s, want %s", tt.v, tt.prec, got, tt.want)
		}
	}
}

// TestAppendFloat_roundTrips: exact output parses back to the same bits.
func TestAppendFloat_roundTrips(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for range 100_000 {
		v := (r.Float64() - 0.5) * 360
		got, err := strconv.ParseFloat(string(AppendFloat(nil, v, Exact)), 64)
		if err != nil || math.Float64bits(got) != math.Float64bits(v) {
			t.Fatalf("%v came back as %v (%v)", v, got, err)
		}
	}
}

func TestMultiPolygon_isGeoJSON(t *testing.T) {
	mp := orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 0}}, {{0.2, 0.1}, {0.8, 0.1}, {0.8, 0.7}, {0.2, 0.1}}}}
	b := AppendMultiPolygon(nil, mp, Exact)
	got, reasons := DecodePolygonal(b)
	if len(reasons) > 0 || !orb.Equal(got, mp) {
		t.Fatalf("%s decoded as %v, %v", b, got, reasons)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
}

func TestDecodePolygonal(t *testing.T) {
	tests := []struct {
		name, geom, want string // want: "" for valid, else a part of a reason
	}{
		{"polygon", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, ""},
		{"altitude dropped", `{"type":"Polygon","coordinates":[[[0,0,5],[1,0,5],[1,1,5],[0,0,5]]]}`, ""},
		{"null", `null`, "missing"},
		{"point", `{"type":"Point","coordinates":[1,2]}`, `"Point": want Polygon or MultiPolygon`},
		{"short position", `{"type":"Polygon","coordinates":[[[0,0],[1],[1,1],[0,0]]]}`, "ring 0 position 1: got 1 numbers"},
		{"long position", `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0,0,0],[1,1],[0,0]]]]}`, "polygon 0 ring 0 position 1: got 4 numbers"},
		{"unclosed", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`, "not closed"},
		{"too few positions", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`, "at least 4"},
		{"latitude out of range", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]}`, "lat: got 91"},
		{"strings", `{"type":"Polygon","coordinates":[[["0","0"]]]}`, "Polygon coordinates"},
		{"nesting of a polygon as a multipolygon", `{"type":"MultiPolygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`, "MultiPolygon coordinates"},
		{"no coordinates", `{"type":"Polygon"}`, "no coordinates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, reasons := DecodePolygonal(json.RawMessage(tt.geom))
			joined := strings.Join(reasons, "; ")
			if (tt.want == "") != (len(reasons) == 0) || !strings.Contains(joined, tt.want) {
				t.Errorf("got %q, want %q", joined, tt.want)
			}
		})
	}
}

func FuzzDecodePolygonal(f *testing.F) {
	f.Add([]byte(`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`))
	f.Add([]byte(`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[]]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		mp, reasons := DecodePolygonal(b)
		if len(reasons) > 0 {
			return
		}
		again, reasons := DecodePolygonal(AppendMultiPolygon(nil, mp, Exact))
		if len(reasons) > 0 || !orb.Equal(again, mp) {
			t.Fatalf("accepted %s but not its own rendering: %v", b, reasons)
		}
	})
}
