// Package covscale checks large layers as a coverage: it feeds a town's
// data to geo/coverage's in-memory checks (CheckLayer) and reads large
// reference layers for the benchmarks (ReadEchartsCities).
package covscale

import (
	"wangge/geo"
	"wangge/geo/coverage"
)

// LayerOf returns td as the layer CheckLayer checks.
func LayerOf(td *geo.TownData) *coverage.Layer {
	l := &coverage.Layer{Outline: td.Town.Outline}
	for _, v := range td.Villages {
		l.Villages = append(l.Villages, coverage.Feature{Code: v.Code, Geometry: v.Outline})
	}
	for _, g := range td.Grids {
		l.Grids = append(l.Grids, coverage.Feature{Code: g.Code, Village: g.VillageCode, Geometry: g.Geometry})
	}
	return l
}
