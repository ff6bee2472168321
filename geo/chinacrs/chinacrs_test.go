package chinacrs

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// maxDiff returns the larger of the absolute coordinate differences, in
// degrees.
func maxDiff(a, b orb.Point) float64 {
	return math.Max(math.Abs(a[0]-b[0]), math.Abs(a[1]-b[1]))
}

// metres returns the distance between a and b with a simple equirectangular
// metric on a sphere of the mean Earth radius; it is only used for the
// centimetre-scale errors of round trips.
func metres(a, b orb.Point) float64 {
	const r = 6371008.8
	const rad = math.Pi / 180
	dx := (a[0] - b[0]) * rad * math.Cos((a[1]+b[1])/2*rad) * r
	dy := (a[1] - b[1]) * rad * r
	return math.Hypot(dx, dy)
}

func checkClose(t *testing.T, what string, got, want orb.Point, tol float64) {
	t.Helper()
	if d := maxDiff(got, want); !(d <= tol) {
		t.Errorf("%s = (%.17g, %.17g), want (%.17g, %.17g) within %g°, off by %.3g°",
			what, got[0], got[1], want[0], want[1], tol, d)
	}
}

// TestEviltransformVectors checks the test vectors of googollee/eviltransform
// (go/transform_test.go, repeated in python/test.py and the PHP tests). They
// were produced by the same forward formula and are printed with 16-17
// significant digits, so the forward transform must reproduce them to
// rounding, and the iterative inverse must return the WGS-84 input exactly
// to well below 1e-9°.
func TestEviltransformVectors(t *testing.T) {
	tests := []struct {
		name     string
		wgs, gcj orb.Point
	}{
		{"shanghai", orb.Point{121.5272106, 31.1774276}, orb.Point{121.531541859215, 31.17530398364597}},
		{"shenzhen", orb.Point{113.912316, 22.543847}, orb.Point{113.9171764808363, 22.540796131694766}},
		{"beijing", orb.Point{116.377817, 39.911954}, orb.Point{116.38404722455657, 39.91334545536069}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkClose(t, "WGS84ToGCJ02", WGS84ToGCJ02(tt.wgs), tt.gcj, 1e-13)
			checkClose(t, "GCJ02ToWGS84", GCJ02ToWGS84(tt.gcj), tt.wgs, 1e-11)
			checkClose(t, "ToWGS84(GCJ02)", ToWGS84(GCJ02, tt.gcj), tt.wgs, 1e-11)
			checkClose(t, "FromWGS84(GCJ02)", FromWGS84(GCJ02, tt.wgs), tt.gcj, 1e-13)
		})
	}
}

// TestCoordtransformReadme checks the example in the README of
// wandergis/coordtransform (the npm package "coordtransform"), which applies
// each function to the point (116.404, 39.915) and prints the results with
// 17 significant digits. Two of its four functions are the one-step
// approximate inverses; those results are reproduced exactly from this
// package's forward formulas, and the iterative inverses are shown to differ
// from them by less than 1e-6°, the size of the approximation error there.
func TestCoordtransformReadme(t *testing.T) {
	p := orb.Point{116.404, 39.915}

	t.Run("wgs84togcj02", func(t *testing.T) {
		want := orb.Point{116.41024449916938, 39.91640428150164}
		checkClose(t, "WGS84ToGCJ02", WGS84ToGCJ02(p), want, 1e-13)
		checkClose(t, "GCJ02ToWGS84 of the result", GCJ02ToWGS84(want), p, 1e-11)
	})

	t.Run("gcj02tobd09", func(t *testing.T) {
		want := orb.Point{116.41036949371029, 39.92133699351021}
		checkClose(t, "GCJ02ToBD09", GCJ02ToBD09(p), want, 1e-13)
		checkClose(t, "BD09ToGCJ02 of the result", BD09ToGCJ02(want), p, 1e-12)
	})

	t.Run("bd09togcj02", func(t *testing.T) {
		// coordtransform's bd09togcj02 is the one-step formula.
		want := orb.Point{116.39762729119315, 39.90865673957631}
		checkClose(t, "one-step BD-09 inverse", bd09ToGCJ02Approx(p), want, 1e-13)
		got := BD09ToGCJ02(p)
		checkClose(t, "BD09ToGCJ02", got, want, 1e-6)
		checkClose(t, "GCJ02ToBD09(BD09ToGCJ02)", GCJ02ToBD09(got), p, 1e-12)
	})

	t.Run("gcj02towgs84", func(t *testing.T) {
		// coordtransform's gcj02towgs84 is the one-step p − (f(p) − p).
		want := orb.Point{116.39775550083061, 39.91359571849836}
		f := WGS84ToGCJ02(p)
		checkClose(t, "one-step GCJ-02 inverse", orb.Point{2*p[0] - f[0], 2*p[1] - f[1]}, want, 1e-13)
		got := GCJ02ToWGS84(p)
		checkClose(t, "GCJ02ToWGS84", got, want, 1e-6)
		checkClose(t, "WGS84ToGCJ02(GCJ02ToWGS84)", WGS84ToGCJ02(got), p, 1e-12)
	})
}

// TestGcoordCities checks a few cities of test/fixtures/china-cities.json in
// hujiulong/gcoord. The fixture's coordinates are printed to 7 decimals but
// were not produced by these formulas (they appear to come from the map
// providers' own services), so they agree only to about 6e-6° between WGS-84
// and GCJ-02 and 8e-8° between GCJ-02 and BD-09; gcoord itself asserts 4
// and 5 decimals. The tolerances here are 1e-5° and 1e-7°.
func TestGcoordCities(t *testing.T) {
	tests := []struct {
		name          string
		wgs, gcj, bd9 orb.Point
	}{
		{"zhumadian", orb.Point{114.0164322, 33.0133556}, orb.Point{114.022306, 33.0115324}, orb.Point{114.0287781, 33.0176697}},
		{"xingtai", orb.Point{114.498916, 37.0700925}, orb.Point{114.5048503, 37.0705911}, orb.Point{114.5113116, 37.0766797}},
		{"nagqu", orb.Point{92.0499619, 31.4784436}, orb.Point{92.0512438, 31.4762063}, orb.Point{92.0576832, 31.4824421}},
		{"shenyang", orb.Point{123.4253306, 41.8032629}, orb.Point{123.4314787, 41.8057023}, orb.Point{123.438095, 41.8114013}},
		{"jiuquan", orb.Point{98.4937175, 39.7319946}, orb.Point{98.4943595, 39.7328234}, orb.Point{98.5008441, 39.7388949}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkClose(t, "WGS84ToGCJ02", WGS84ToGCJ02(tt.wgs), tt.gcj, 1e-5)
			checkClose(t, "GCJ02ToWGS84", GCJ02ToWGS84(tt.gcj), tt.wgs, 1e-5)
			checkClose(t, "GCJ02ToBD09", GCJ02ToBD09(tt.gcj), tt.bd9, 1e-7)
			checkClose(t, "BD09ToGCJ02", BD09ToGCJ02(tt.bd9), tt.gcj, 1e-7)
			checkClose(t, "WGS84ToBD09", WGS84ToBD09(tt.wgs), tt.bd9, 1e-5)
			checkClose(t, "BD09ToWGS84", BD09ToWGS84(tt.bd9), tt.wgs, 1e-5)
		})
	}
}

// refGCJ02 is an independent transcription of the forward GCJ-02 formula in
// the arrangement of gcoord (src/crs/GCJ02.ts): separate latitude and
// longitude series, polynomial first, a different order of operations and
// the semi-major axis as a parameter.
func refGCJ02(lon, lat, a float64) (float64, float64) {
	const ee = 0.00669342162296594323
	x, y := lon-105, lat-35
	tLat := -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	tLat += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	tLat += (20*math.Sin(y*math.Pi) + 40*math.Sin(y/3*math.Pi)) * 2 / 3
	tLat += (160*math.Sin(y/12*math.Pi) + 320*math.Sin(y*math.Pi/30)) * 2 / 3
	tLon := 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	tLon += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	tLon += (20*math.Sin(x*math.Pi) + 40*math.Sin(x/3*math.Pi)) * 2 / 3
	tLon += (150*math.Sin(x/12*math.Pi) + 300*math.Sin(x/30*math.Pi)) * 2 / 3
	phi := lat * math.Pi / 180
	w := 1 - ee*math.Sin(phi)*math.Sin(phi)
	m := a * (1 - ee) / (w * math.Sqrt(w)) // meridional radius
	n := a / math.Sqrt(w)                  // prime-vertical radius
	return lon + tLon/(n*math.Cos(phi))*180/math.Pi, lat + tLat/m*180/math.Pi
}

// refBD09 is an independent transcription of the forward BD-09 formula with
// math.Hypot and separate Sin and Cos calls.
func refBD09(lon, lat float64) (float64, float64) {
	k := math.Pi * 3000 / 180
	z := math.Hypot(lon, lat) + 0.00002*math.Sin(lat*k)
	th := math.Atan2(lat, lon) + 0.000003*math.Cos(lon*k)
	return z*math.Cos(th) + 0.0065, z*math.Sin(th) + 0.006
}

// TestForwardAgainstReference compares the forward transforms with the
// independent transcriptions over random points; they may differ only by
// floating-point rounding.
func TestForwardAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240601, 4))
	var worstGCJ, worstBD float64
	for range 10000 {
		p := orb.Point{73 + 62*rng.Float64(), 18 + 35*rng.Float64()}
		lon, lat := refGCJ02(p[0], p[1], 6378245)
		worstGCJ = math.Max(worstGCJ, maxDiff(WGS84ToGCJ02(p), orb.Point{lon, lat}))
		lon, lat = refBD09(p[0], p[1])
		worstBD = math.Max(worstBD, maxDiff(GCJ02ToBD09(p), orb.Point{lon, lat}))
	}
	t.Logf("forward vs reference: GCJ-02 %.3g°, BD-09 %.3g°", worstGCJ, worstBD)
	if worstGCJ > 1e-13 {
		t.Errorf("WGS84ToGCJ02 differs from the reference by %.3g°", worstGCJ)
	}
	if worstBD > 1e-13 {
		t.Errorf("GCJ02ToBD09 differs from the reference by %.3g°", worstBD)
	}
}

// randomChina returns n deterministic pseudo-random points with longitude in
// [73, 135) and latitude in [18, 53).
func randomChina(n int) []orb.Point {
	rng := rand.New(rand.NewPCG(0x5eed, 0xc4))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{73 + 62*rng.Float64(), 18 + 35*rng.Float64()}
	}
	return pts
}

// TestRoundTrips converts 10,000 random points in China there and back in
// both directions and requires every error to be under 1 cm. It also requires
// each inverse to reproduce its input through the forward transform to
// 1e-11°, and logs the worst errors seen.
func TestRoundTrips(t *testing.T) {
	type trip struct {
		name     string
		there    func(orb.Point) orb.Point
		back     func(orb.Point) orb.Point
		worst    float64 // metres
		worstDeg float64
	}
	trips := []*trip{
		{name: "WGS84→GCJ02→WGS84", there: WGS84ToGCJ02, back: GCJ02ToWGS84},
		{name: "WGS84→BD09→WGS84", there: WGS84ToBD09, back: BD09ToWGS84},
		{name: "GCJ02→BD09→GCJ02", there: GCJ02ToBD09, back: BD09ToGCJ02},
		{name: "GCJ02→WGS84→GCJ02", there: GCJ02ToWGS84, back: WGS84ToGCJ02},
		{name: "BD09→WGS84→BD09", there: BD09ToWGS84, back: WGS84ToBD09},
		{name: "BD09→GCJ02→BD09", there: BD09ToGCJ02, back: GCJ02ToBD09},
		{name: "ToWGS84(GCJ02)∘FromWGS84(GCJ02)",
			there: func(p orb.Point) orb.Point { return FromWGS84(GCJ02, p) },
			back:  func(p orb.Point) orb.Point { return ToWGS84(GCJ02, p) }},
		{name: "ToWGS84(BD09)∘FromWGS84(BD09)",
			there: func(p orb.Point) orb.Point { return FromWGS84(BD09, p) },
			back:  func(p orb.Point) orb.Point { return ToWGS84(BD09, p) }},
	}
	for _, p := range randomChina(10000) {
		for _, tr := range trips {
			q := tr.back(tr.there(p))
			if m := metres(p, q); m > tr.worst || math.IsNaN(m) {
				tr.worst = m
			}
			tr.worstDeg = math.Max(tr.worstDeg, maxDiff(p, q))
		}
	}
	for _, tr := range trips {
		t.Logf("%-34s worst %.3g m (%.3g°)", tr.name, tr.worst, tr.worstDeg)
		if !(tr.worst < 0.01) {
			t.Errorf("%s: worst round-trip error %.3g m, want < 0.01 m", tr.name, tr.worst)
		}
		if !(tr.worstDeg < 1e-11) {
			t.Errorf("%s: worst round-trip error %.3g°, want < 1e-11°", tr.name, tr.worstDeg)
		}
	}
}

// TestInverseNearCusp checks the inverse where the GCJ-02 offset is least
// smooth: its √|lon − 105| terms have an unbounded slope at longitude 105°.
func TestInverseNearCusp(t *testing.T) {
	for _, lon := range []float64{105 - 1e-6, 105 - 1e-12, 105, 105 + 1e-12, 105 + 1e-6} {
		for _, lat := range []float64{20, 35, 50} {
			p := orb.Point{lon, lat}
			if d := maxDiff(GCJ02ToWGS84(WGS84ToGCJ02(p)), p); d > 1e-11 {
				t.Errorf("WGS→GCJ→WGS at %v: off by %.3g°", p, d)
			}
			if d := maxDiff(WGS84ToGCJ02(GCJ02ToWGS84(p)), p); d > 1e-11 {
				t.Errorf("GCJ→WGS→GCJ at %v: off by %.3g°", p, d)
			}
		}
	}
}

// allConversions lists every exported conversion, for the tests that apply
// to all of them.
var allConversions = []struct {
	name string
	f    func(orb.Point) orb.Point
}{
	{"WGS84ToGCJ02", WGS84ToGCJ02},
	{"GCJ02ToWGS84", GCJ02ToWGS84},
	{"GCJ02ToBD09", GCJ02ToBD09},
	{"BD09ToGCJ02", BD09ToGCJ02},
	{"WGS84ToBD09", WGS84ToBD09},
	{"BD09ToWGS84", BD09ToWGS84},
	{"ToWGS84(WGS84)", func(p orb.Point) orb.Point { return ToWGS84(WGS84, p) }},
	{"ToWGS84(GCJ02)", func(p orb.Point) orb.Point { return ToWGS84(GCJ02, p) }},
	{"ToWGS84(BD09)", func(p orb.Point) orb.Point { return ToWGS84(BD09, p) }},
	{"FromWGS84(WGS84)", func(p orb.Point) orb.Point { return FromWGS84(WGS84, p) }},
	{"FromWGS84(GCJ02)", func(p orb.Point) orb.Point { return FromWGS84(GCJ02, p) }},
	{"FromWGS84(BD09)", func(p orb.Point) orb.Point { return FromWGS84(BD09, p) }},
}

// sameBits reports whether a and b are identical, NaNs included.
func sameBits(a, b orb.Point) bool {
	return math.Float64bits(a[0]) == math.Float64bits(b[0]) &&
		math.Float64bits(a[1]) == math.Float64bits(b[1])
}

// TestOutOfChinaUnchanged checks that points outside the rectangle, and
// points with NaN or infinite coordinates, pass through every conversion
// bit for bit.
func TestOutOfChinaUnchanged(t *testing.T) {
	tests := []struct {
		name string
		p    orb.Point
	}{
		{"tokyo", orb.Point{139.69, 35.69}},
		{"london", orb.Point{-0.1276, 51.5072}},
		{"null island", orb.Point{0, 0}},
		{"new york", orb.Point{-74.006, 40.7128}},
		{"sydney", orb.Point{151.2093, -33.8688}},
		{"singapore (south of 0.8293°)", orb.Point{103.8198, 0.8}},
		{"just west of 72.004°", orb.Point{72.0039, 30}},
		{"just east of 137.8347°", orb.Point{137.8348, 30}},
		{"just north of 55.8271°", orb.Point{110, 55.8272}},
		{"lon, lat swapped", orb.Point{39.9, 116.4}},
		{"NaN longitude", orb.Point{math.NaN(), 35}},
		{"NaN latitude", orb.Point{105, math.NaN()}},
		{"+Inf", orb.Point{math.Inf(1), 35}},
		{"-Inf", orb.Point{105, math.Inf(-1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !OutOfChina(tt.p) {
				t.Errorf("OutOfChina(%v) = false, want true", tt.p)
			}
			for _, c := range allConversions {
				if got := c.f(tt.p); !sameBits(got, tt.p) {
					t.Errorf("%s(%v) = %v, want it unchanged", c.name, tt.p, got)
				}
			}
		})
	}
}

// TestInChina checks points that are inside the rectangle, including its
// corners, which the established converters count as inside.
func TestInChina(t *testing.T) {
	for _, p := range []orb.Point{
		{116.404, 39.915},
		{72.004, 0.8293},
		{137.8347, 55.8271},
		{126.978, 37.5665}, // Seoul: the rectangle is crude, as documented.
	} {
		if OutOfChina(p) {
			t.Errorf("OutOfChina(%v) = true, want false", p)
		}
		if g := WGS84ToGCJ02(p); maxDiff(g, p) < 1e-4 {
			t.Errorf("WGS84ToGCJ02(%v) = %v, want an offset", p, g)
		}
	}
}

// TestDispatch checks that ToWGS84 and FromWGS84 call the matching
// lower-level function and treat WGS84, the zero CRS and unknown names as
// the identity.
func TestDispatch(t *testing.T) {
	p := orb.Point{121.4737, 31.2304}
	tests := []struct {
		name     string
		c        CRS
		to, from orb.Point
	}{
		{"wgs84", WGS84, p, p},
		{"zero value", "", p, p},
		{"unknown", "epsg:3857", p, p},
		{"gcj02", GCJ02, GCJ02ToWGS84(p), WGS84ToGCJ02(p)},
		{"bd09", BD09, BD09ToWGS84(p), WGS84ToBD09(p)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToWGS84(tt.c, p); !sameBits(got, tt.to) {
				t.Errorf("ToWGS84(%q, p) = %v, want %v", tt.c, got, tt.to)
			}
			if got := FromWGS84(tt.c, p); !sameBits(got, tt.from) {
				t.Errorf("FromWGS84(%q, p) = %v, want %v", tt.c, got, tt.from)
			}
		})
	}
}

func TestParse(t *testing.T) {
	accept := []struct {
		in   string
		want CRS
	}{
		{"", WGS84},
		{"wgs84", WGS84},
		{"WGS84", WGS84},
		{"Wgs84", WGS84},
		{"wgs-84", WGS84},
		{"WGS-84", WGS84},
		{"epsg:4326", WGS84},
		{"EPSG:4326", WGS84},
		{"gcj02", GCJ02},
		{"GCJ02", GCJ02},
		{"bd09", BD09},
		{"BD09", BD09},
	}
	for _, tt := range accept {
		t.Run("accept "+tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("Parse(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}

	reject := []string{"foo", " wgs84", "wgs84 ", "wgs 84", "wgs_84", "4326", "epsg:3857",
		"gcj-02", "bd-09", "bd09mc", "gcj", "baidu", "wgs84\x00"}
	for _, in := range reject {
		t.Run("reject "+in, func(t *testing.T) {
			got, err := Parse(in)
			if err == nil {
				t.Fatalf("Parse(%q) = %q, nil; want an error", in, got)
			}
			if got != "" {
				t.Errorf("Parse(%q) returned %q with its error, want \"\"", in, got)
			}
			if !errors.Is(err, ErrUnknownCRS) {
				t.Errorf("Parse(%q) error %v does not match ErrUnknownCRS", in, err)
			}
		})
	}

	t.Run("error message", func(t *testing.T) {
		_, err := Parse("foo")
		const want = `crs: got "foo", want wgs84, gcj02 or bd09`
		if err == nil || err.Error() != want {
			t.Errorf("Parse(\"foo\") error = %v, want %s", err, want)
		}
		_, err = Parse("a\"b\n")
		const want2 = `crs: got "a\"b\n", want wgs84, gcj02 or bd09`
		if err == nil || err.Error() != want2 {
			t.Errorf("Parse error = %v, want %s", err, want2)
		}
	})
}

func TestNoAllocations(t *testing.T) {
	p := orb.Point{116.404, 39.915}
	for _, c := range allConversions {
		if n := testing.AllocsPerRun(100, func() { p = c.f(p) }); n != 0 {
			t.Errorf("%s allocates %v times per call", c.name, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse("GCJ02") }); n != 0 {
		t.Errorf("Parse allocates %v times per call", n)
	}
}

// benchPoints are 1024 points in China in the given system.
func benchPoints(from func(orb.Point) orb.Point) []orb.Point {
	pts := randomChina(1024)
	for i, p := range pts {
		pts[i] = from(p)
	}
	return pts
}

func BenchmarkToWGS84(b *testing.B) {
	for _, c := range []CRS{GCJ02, BD09} {
		b.Run(string(c), func(b *testing.B) {
			pts := benchPoints(func(p orb.Point) orb.Point { return FromWGS84(c, p) })
			i := 0
			for b.Loop() {
				_ = ToWGS84(c, pts[i&1023])
				i++
			}
		})
	}
}

func BenchmarkFromWGS84(b *testing.B) {
	for _, c := range []CRS{GCJ02, BD09} {
		b.Run(string(c), func(b *testing.B) {
			pts := benchPoints(func(p orb.Point) orb.Point { return p })
			i := 0
			for b.Loop() {
				_ = FromWGS84(c, pts[i&1023])
				i++
			}
		})
	}
}
