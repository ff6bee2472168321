package ogccrs

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// TestWebMercator holds EPSG:3857 to GDAL's gdaltransform (PROJ) on
// random points of the square world, both ways, and to the antimeridian's
// 20037508.342789244 m.
func TestWebMercator(t *testing.T) {
	rng := rand.New(rand.NewPCG(3857, 1))
	pts := []orb.Point{{180, 0}, {-180, 0}, {116.3974, 39.9087}}
	for range 200 {
		pts = append(pts, orb.Point{rng.Float64()*360 - 180, (rng.Float64()*2 - 1) * MercatorMaxLat})
	}
	var in strings.Builder
	for _, p := range pts {
		fmt.Fprintf(&in, "%.17g %.17g\n", p[0], p[1])
	}
	want := gdaltransform(t, "OGC:CRS84", "EPSG:3857", in.String())
	if len(want) != len(pts) {
		t.Fatalf("gdaltransform gave %d points for %d", len(want), len(pts))
	}
	for i, p := range pts {
		xy := EPSG3857.FromCRS84(p)
		if math.Abs(xy[0]-want[i][0]) > 1e-3 || math.Abs(xy[1]-want[i][1]) > 1e-3 {
			t.Errorf("%v in EPSG:3857: %v, GDAL %v", p, xy, want[i])
		}
		if back := EPSG3857.ToCRS84(xy); math.Abs(back[0]-p[0]) > 1e-9 || math.Abs(back[1]-p[1]) > 1e-9 {
			t.Errorf("%v and back: %v", p, back)
		}
	}
	if x := EPSG3857.FromCRS84(orb.Point{180, 0})[0]; math.Abs(x-20037508.342789244) > 1e-6 || math.Abs(MercatorHalfWorld-x) > 1e-6 {
		t.Errorf("the antimeridian at x %v (half world %v)", x, MercatorHalfWorld)
	}
	// Beyond the square world, latitudes are clamped to its edge.
	if y := EPSG3857.FromCRS84(orb.Point{0, 89})[1]; math.Abs(y-MercatorHalfWorld) > 1e-3 {
		t.Errorf("latitude 89: y %v, want the edge %v", y, MercatorHalfWorld)
	}
}

// gdaltransform runs GDAL's gdaltransform from src to dst on lines of
// "x y" and returns its answers.
func gdaltransform(t *testing.T, src, dst, lines string) []orb.Point {
	t.Helper()
	cmd := exec.Command("gdaltransform", "-s_srs", src, "-t_srs", dst, "-output_xy")
	cmd.Stdin = strings.NewReader(lines)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gdaltransform (GDAL, installed by .ci/deps): %v", err)
	}
	var pts []orb.Point
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var p orb.Point
		if _, err := fmt.Sscan(line, &p[0], &p[1]); err != nil {
			t.Fatalf("gdaltransform answered %q: %v", line, err)
		}
		pts = append(pts, p)
	}
	return pts
}

// TestAxisOrder: EPSG:4326 and 4490 are latitude first, CRS84 longitude
// first, both ways.
func TestAxisOrder(t *testing.T) {
	p := orb.Point{112.5, 27.7}
	for _, c := range []CRS{EPSG4326, EPSG4490} {
		if got := c.FromCRS84(p); got != (orb.Point{27.7, 112.5}) {
			t.Errorf("%s: %v", c, got)
		}
		if got := c.ToCRS84(orb.Point{27.7, 112.5}); got != p {
			t.Errorf("%s back: %v", c, got)
		}
	}
	if CRS84.FromCRS84(p) != p || CRS84.ToCRS84(p) != p {
		t.Error("CRS84 moved the point")
	}
}

func TestParse(t *testing.T) {
	for raw, want := range map[string]CRS{
		"http://www.opengis.net/def/crs/OGC/1.3/CRS84": CRS84,
		"https://www.opengis.net/def/crs/EPSG/0/4490":  EPSG4490,
		"EPSG:4326":     EPSG4326,
		"[epsg:3857]":   EPSG3857,
		"OGC:CRS84":     CRS84,
		" crs84 ":       CRS84,
		"OGC:EPSG:4490": EPSG4490,
	} {
		if got, ok := Parse(raw); !ok || got != want {
			t.Errorf("Parse(%q) = %v %v, want %v", raw, got, ok, want)
		}
	}
	for _, raw := range []string{"", "EPSG:4490x", "EPSG:2000", "gcj02", "http://www.opengis.net/def/crs/EPSG/0/9999"} {
		if c, ok := Parse(raw); ok {
			t.Errorf("Parse(%q) = %v, want refused", raw, c)
		}
	}
}

// TestGeometryToCRS84: a geometry given in EPSG:4490 comes back lon, lat,
// as a copy; one whose positions fall outside lon/lat's range is refused
// with the first such position.
func TestGeometryToCRS84(t *testing.T) {
	in := orb.Polygon{{{27, 112}, {27, 113}, {28, 113}, {27, 112}}}
	g, _, ok := EPSG4490.GeometryToCRS84(in)
	if !ok || g.(orb.Polygon)[0][1] != (orb.Point{113, 27}) || in[0][1] != (orb.Point{27, 113}) {
		t.Fatalf("EPSG:4490 to CRS84: %v %v (input now %v)", g, ok, in)
	}
	if _, bad, ok := EPSG4490.GeometryToCRS84(orb.LineString{{27, 112}, {112, 27}}); ok || bad != (orb.Point{27, 112}) {
		t.Errorf("lon/lat given to EPSG:4490: ok %v, bad %v, want refused at (27, 112)", ok, bad)
	}
	if _, _, ok := CRS84.GeometryToCRS84(orb.Point{math.NaN(), 0}); ok {
		t.Error("NaN accepted")
	}
}
