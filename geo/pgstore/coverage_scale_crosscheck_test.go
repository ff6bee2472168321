package pgstore

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/paulmach/orb/planar"

	"wangge/geo"
)

// Every test of this package that imports a town, validates a plan or
// reports on the coverage also checks the overlays in Go against PostGIS:
// checkNext runs both and fails unless they agree (see agree).
func init() { crossCheck = agree }

// crossChecked counts the comparisons that agreed.
var crossChecked atomic.Int64

// CrossChecked is the number of times checkNext's overlays in Go were
// compared with PostGIS's and agreed.
func CrossChecked() int64 { return crossChecked.Load() }

// agree says whether the findings of the overlays in Go are PostGIS's:
// the same findings in the same order, of the same kind, layer and codes,
// with areas within 0.01 m² + 5e-5 of the area, the same words (reasons
// carry areas to 0.01 m²: numbers aside), PostGIS's own invalid reasons
// and locations, every location inside its part (a grid's warning: at
// PostGIS's point on the grid), the same mean widths of slivers (within
// 0.01 m + 5e-5) and households. The villages of a
// gap may be fewer: PostGIS also names a village whose outline only runs
// along the gap when its overlay's rounding makes their interiors meet;
// ours must be among its.
func agree(inGo, inPostGIS []geo.Finding) error {
	var errs []error
	if len(inGo) != len(inPostGIS) {
		errs = append(errs, fmt.Errorf("%d findings in Go, %d in PostGIS", len(inGo), len(inPostGIS)))
	}
	for i := range min(len(inGo), len(inPostGIS)) {
		g, w := inGo[i], inPostGIS[i]
		gk := fmt.Sprint(g.Kind, g.Layer, g.Codes)
		wk := fmt.Sprint(w.Kind, w.Layer, w.Codes)
		if gk != wk || math.Abs(g.AreaM2-w.AreaM2) > 0.01+5e-5*w.AreaM2 {
			errs = append(errs, fmt.Errorf("finding %d: Go %s %.3f m², PostGIS %s %.3f m²", i, gk, g.AreaM2, wk, w.AreaM2))
			continue
		}
		for _, v := range g.Villages {
			if !slices.Contains(w.Villages, v) {
				errs = append(errs, fmt.Errorf("finding %d: village %s of %v is not among PostGIS's %v", i, v, g.Villages, w.Villages))
			}
		}
		if len(g.Villages) == 0 && len(w.Villages) > 0 {
			errs = append(errs, fmt.Errorf("finding %d: no villages, PostGIS %v", i, w.Villages))
		}
		if g.Kind == geo.FindInvalid && (g.Reason != w.Reason || g.Location != w.Location) {
			errs = append(errs, fmt.Errorf("finding %d: Go %q at %v, PostGIS %q at %v", i, g.Reason, g.Location, w.Reason, w.Location))
		}
		if slices.Equal(g.Villages, w.Villages) && withoutNumbers(g.Reason) != withoutNumbers(w.Reason) {
			errs = append(errs, fmt.Errorf("finding %d: Go %q, PostGIS %q", i, g.Reason, w.Reason))
		}
		switch {
		case g.Kind == geo.FindInvalid:
		case w.Area == nil:
			// A grid's warning (no leader, households): located at a
			// point on the grid, the one PostGIS chooses.
			if math.Abs(g.Location[0]-w.Location[0]) > 1e-9 || math.Abs(g.Location[1]-w.Location[1]) > 1e-9 {
				errs = append(errs, fmt.Errorf("finding %d (%s): Go at %v, PostGIS at %v", i, gk, g.Location, w.Location))
			}
		case !planar.MultiPolygonContains(g.Area, g.Location):
			errs = append(errs, fmt.Errorf("finding %d (%s): location %v is not inside its part", i, gk, g.Location))
		}
		if math.Abs(g.WidthM-w.WidthM) > 0.01+5e-5*w.WidthM || g.Value != w.Value {
			errs = append(errs, fmt.Errorf("finding %d (%s): Go width %.3f m, value %d; PostGIS %.3f m, %d", i, gk, g.WidthM, g.Value, w.WidthM, w.Value))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the overlays in Go disagree with PostGIS: %w", errors.Join(errs...))
	}
	crossChecked.Add(1)
	return nil
}

func withoutNumbers(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '.' {
			return -1
		}
		return r
	}, s)
}
