package townfile_test

import (
	"bytes"
	"strings"
	"testing"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/townfile"
)

func demoFiles(t testing.TB) (town, villages, grids []byte) {
	t.Helper()
	read := func(name string) []byte {
		b, err := fixtures.Heye.ReadFile(fixtures.HeyeDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return read(townfile.TownFile), read(townfile.VillagesFile), read(townfile.GridsFile)
}

// TestRoundTrip: decoding then encoding the demo town gives the same bytes
// (coordinates are written as the shortest text that round-trips).
func TestRoundTrip(t *testing.T) {
	town, villages, grids := demoFiles(t)
	td, err := townfile.Decode(town, villages, grids)
	if err != nil {
		t.Fatal(err)
	}
	t2, v2, g2, err := townfile.Encode(td)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(town, t2) || !bytes.Equal(villages, v2) || !bytes.Equal(grids, g2) {
		t.Error("decode → encode changed the bytes")
	}
	bom := append([]byte("\xef\xbb\xbf"), grids...)
	if _, err := townfile.Decode(town, villages, bom); err != nil {
		t.Errorf("a file with a UTF-8 byte order mark: %v", err)
	}
	if len(td.Grids) != 230 || td.Grids[0].Leader == nil || len(td.Grids[0].Organizations) != 4 {
		t.Errorf("decoded %d grids; first: %+v", len(td.Grids), td.Grids[0])
	}
}

func TestDecode_problemsNameTheFeature(t *testing.T) {
	town, villages, grids := demoFiles(t)
	first := func(b []byte) string { // the first feature line of a file
		return strings.Split(string(b), "\n")[1]
	}
	gridLine := first(grids)
	code := "431321101001001"
	tests := []struct {
		name                    string
		town, villages, grids   string
		wantWhere, wantInReason string
	}{
		{"truncated JSON", string(town), string(villages), string(grids[:len(grids)/2]), "grids.geojson", "line"},
		{"not a collection", string(town), string(villages), `{"type":"Feature"}`, "grids.geojson", "want FeatureCollection"},
		{"unclosed ring", string(town), string(villages),
			strings.Replace(string(grids), `[[[[112.085693359375,27.245361328125],`, `[[[[112.0856933,27.245361328125],`, 1),
			code, "not closed"},
		{"longitude out of range", string(town), string(villages),
			strings.Replace(string(grids), "112.085693359375,27.245361328125", "212.085693359375,27.245361328125", 2), code, "lon: got 212"},
		{"bad grid code", string(town), string(villages),
			strings.Replace(string(grids), `"code":"431321101001001"`, `"code":"43132110100100X"`, 1), "feature 0", "want 15 digits"},
		{"grid of an unknown village", string(town), string(villages),
			strings.Replace(string(grids), `"village_code":"431321101001"`, `"village_code":"431321101999"`, 1), code, "not in villages.geojson"},
		{"duplicate grid", string(town), string(villages),
			strings.Replace(string(grids), "\n]}", ",\n"+strings.TrimSuffix(gridLine, ",")+"\n]}", 1), code, "used twice"},
		{"point geometry", string(town), string(villages),
			strings.Replace(string(grids), gridLine[:strings.Index(gridLine, `,"properties"`)],
				`{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[112,27]}`, 1), code, "want Polygon or MultiPolygon"},
		{"position with one number", string(town), string(villages),
			strings.Replace(string(grids), `[[[[112.085693359375,27.245361328125],[112.085693359375,27.242919921875]`, `[[[[112.085693359375,27.245361328125],[112.085693359375]`, 1),
			code, "ring 0 position 1: got 1 numbers"},
		{"malformed organization kind", string(town), string(villages),
			strings.Replace(string(grids), `"kind":"mediation"`, `"kind":"Choir!"`, 1), code, `kind "Choir!"`},
		{"village outside the town", string(town),
			strings.Replace(string(villages), `"code":"431321101001"`, `"code":"431321102001"`, 1), string(grids), "villages.geojson", "town code"},
		{"two town features", strings.Replace(string(town), "\n]}", ","+strings.TrimSuffix(first(town), ",")+"\n]}", 1),
			string(villages), string(grids), "town.geojson", "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := townfile.Decode([]byte(tt.town), []byte(tt.villages), []byte(tt.grids))
			ge, ok := err.(*geo.Error)
			if !ok || ge.Code != geo.EINVALID {
				t.Fatalf("got %v, want EINVALID", err)
			}
			for _, p := range ge.Problems {
				if strings.Contains(p.Where, tt.wantWhere) && strings.Contains(p.Reason, tt.wantInReason) {
					return
				}
			}
			t.Errorf("no problem at %q saying %q in %+v", tt.wantWhere, tt.wantInReason, ge.Problems)
		})
	}
}

// FuzzDecode: no input makes the decoder panic, and whatever it accepts it
// can write back and read again to the same data.
func FuzzDecode(f *testing.F) {
	town, villages, grids := demoFiles(f)
	f.Add(grids[:4000])
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{}}]}`))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[[[[1,2],[3,4],[1,2]]]]},"properties":{"code":"431321101001001","village_code":"431321101001","name":"x"}}]}`))
	f.Fuzz(func(t *testing.T, g []byte) {
		td, err := townfile.Decode(town, villages, g)
		if err != nil {
			if _, ok := err.(*geo.Error); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		a, b, c, err := townfile.Encode(td)
		if err != nil {
			t.Fatal(err)
		}
		td2, err := townfile.Decode(a, b, c)
		if err != nil {
			t.Fatalf("re-reading what was written: %v", err)
		}
		if len(td2.Grids) != len(td.Grids) {
			t.Fatalf("%d grids became %d", len(td.Grids), len(td2.Grids))
		}
	})
}
