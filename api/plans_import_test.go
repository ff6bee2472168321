package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"wangge/api"
	"wangge/geo"
)

// dispatchLayer is dispatchTown's six grids as a layer file, with pad
// spaces after its opening brace.
func dispatchLayer(pad int) []byte {
	var features []map[string]any
	for v := 0; v < 2; v++ {
		for g := 0; g < 3; g++ {
			x0, y0 := 112+0.01*float64(g), 27+0.01*float64(v)
			features = append(features, map[string]any{"type": "Feature", "geometry": polygon(x0, y0, x0+0.01, y0+0.01),
				"properties": map[string]any{"网格编码": fmt.Sprintf("43132110120%d%03d", v+1, g+1)}})
		}
	}
	file, _ := json.Marshal(map[string]any{"type": "FeatureCollection", "features": features})
	return append(append([]byte("{"), bytes.Repeat([]byte(" "), pad)...), file[1:]...)
}

func gzipLayer(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// TestPlansAPI_importLimits: a layer upload has its own limit
// (MaxLayerBytes), above the 4 MiB of other bodies; it may come
// gzip-compressed; over the limit, as sent or decompressed, it is a 413
// that names the limit, and a gzip bomb is refused without inflating it.
func TestPlansAPI_importLimits(t *testing.T) {
	e := newPlanAPI(t)
	id, _ := e.openPlan()
	target := fmt.Sprintf("/v1/plans/%d/import?format=geojson", id)
	geojson := []string{"Content-Type", "application/geo+json"}

	// 5 MiB: over the JSON limit, well under the layer limit.
	big := dispatchLayer(5 << 20)
	if rec := e.call(geo.AccessPlanner, "POST", target, big, nil, geojson...); rec.Code != 200 {
		t.Errorf("a 5 MiB layer: %d %.300s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", target, gzipLayer(big), nil, append(geojson, "Content-Encoding", "gzip")...); rec.Code != 200 {
		t.Errorf("a 5 MiB layer gzip-compressed: %d %.300s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", target, gzipLayer(big), nil, append(geojson, "Content-Encoding", "br")...); rec.Code != 415 {
		t.Errorf("Content-Encoding br: %d %.300s", rec.Code, rec.Body)
	}
	if rec := e.call(geo.AccessPlanner, "POST", target, big[:1000], nil, append(geojson, "Content-Encoding", "gzip")...); rec.Code != 400 {
		t.Errorf("Content-Encoding gzip on a body that is not: %d %.300s", rec.Code, rec.Body)
	}

	// A server whose layer limit is 1 MiB.
	small := &planAPI{e.dispatchEnv}
	small.serve(api.Config{Plans: e.db, MaxLayerBytes: 1 << 20})
	for _, tc := range []struct {
		name string
		body []byte
		enc  string
	}{
		{"2 MiB as sent", dispatchLayer(2 << 20), ""},
		{"2 MiB decompressed", gzipLayer(dispatchLayer(2 << 20)), "gzip"},
		{"a bomb: 256 MiB of spaces in 250 KB of gzip", bomb(256 << 20), "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := append([]string{}, geojson...)
			if tc.enc != "" {
				h = append(h, "Content-Encoding", tc.enc)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rec := small.call(geo.AccessPlanner, "POST", target, tc.body, nil, h...)
			runtime.ReadMemStats(&after)
			if rec.Code != 413 || !strings.Contains(rec.Body.String(), "1 MiB") {
				t.Errorf("%d %.300s", rec.Code, rec.Body)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes sent: 413 after allocating %.1f MiB", len(tc.body), float64(alloc)/(1<<20))
			if alloc > 16<<20 {
				t.Errorf("allocated %d MiB to refuse it, want under 16", alloc>>20)
			}
		})
	}
}

// bomb is n spaces gzip-compressed (about n/1000 bytes).
func bomb(n int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	zw.Write([]byte("{"))
	for range n >> 20 {
		zw.Write(chunk)
	}
	zw.Close()
	return buf.Bytes()
}
