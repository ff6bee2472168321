package vectortile_test

import (
	"fmt"
	"testing"

	"github.com/paulmach/orb/maptile"

	"wangge/fixtures"
	"wangge/geo/townfile"
	"wangge/geo/vectortile"
)

// BenchmarkEncode_townCentreZ14 encodes the z14 tile at the centre of the
// demo town's bounding box, grids layer with its properties, without
// gzip and without the HTTP layer (see api's BenchmarkTile for those).
func BenchmarkEncode_townCentreZ14(b *testing.B) {
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		b.Fatal(err)
	}
	features := make([]vectortile.Feature, len(td.Grids))
	for i, g := range td.Grids {
		features[i] = vectortile.Feature{Geometry: g.Geometry, Properties: []vectortile.Property{
			{Key: "code", Value: g.Code}, {Key: "name", Value: g.Name}, {Key: "village_code", Value: g.VillageCode}}}
	}
	layer, err := vectortile.NewLayer("grids", features)
	if err != nil {
		b.Fatal(err)
	}
	for _, z := range []maptile.Zoom{10, 14, 18} {
		tile := maptile.At(td.Town.Outline.Bound().Center(), z)
		b.Run(fmt.Sprintf("z%d", z), func(b *testing.B) {
			var n int
			for b.Loop() {
				data, err := vectortile.Encode(tile, vectortile.DefaultOptions(), layer)
				if err != nil {
					b.Fatal(err)
				}
				n = len(data)
			}
			b.ReportMetric(float64(n), "bytes/tile")
		})
	}
}
