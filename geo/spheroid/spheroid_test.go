package spheroid

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

func relErr(got, want float64) float64 { return math.Abs(got-want) / want }

func TestDegreeLengths(t *testing.T) {
	// Reference values for the length of one degree on WGS-84 (e.g. the
	// "length of a degree" tables; lat degree centred on the latitude).
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		{"1° latitude at the equator", MeridionalRadius(0) * rad, 110574.3},
		{"1° latitude at 45°", MeridionalRadius(45) * rad, 111132.9},
		{"1° latitude at the pole", MeridionalRadius(90) * rad, 111694.0},
		{"1° longitude at the equator", PrimeVerticalRadius(0) * rad, 111319.5},
		{"1° longitude at 45°", PrimeVerticalRadius(45) * math.Cos(45*rad) * rad, 78846.8},
		{"1° longitude at 60°", PrimeVerticalRadius(60) * math.Cos(60*rad) * rad, 55799.98},
		// The same through the public distance function: p on the
		// equator, a degenerate segment one degree away.
		{"PointSegmentDistance 1° east at the equator", PointSegmentDistance(orb.Point{0, 0}, orb.Point{1, 0}, orb.Point{1, 0}), 111319.5},
		{"PointSegmentDistance 1° north from the equator", PointSegmentDistance(orb.Point{0, -0.5}, orb.Point{0, 0.5}, orb.Point{0, 0.5}), 110574.3},
		{"PointSegmentDistance 1° north centred on 45°", PointSegmentDistance(orb.Point{10, 44.5}, orb.Point{10, 45.5}, orb.Point{10, 45.5}), 111132.9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if e := relErr(tc.got, tc.want); e > 1e-4 {
				t.Errorf("got %.2f m, want %.2f m (rel err %.2g > 0.01%%)", tc.got, tc.want, e)
			}
		})
	}
}

func TestMetresToDegrees(t *testing.T) {
	tests := []struct {
		name             string
		lat, metres      float64
		wantLon, wantLat float64
	}{
		{"equator 111319.5 m", 0, 111319.49079327357, 1, 111319.49079327357 / 110574.27}, // one lon degree is longer than one lat degree at the equator
		{"zero distance", 40, 0, 0, 0},
		{"45° one lat degree", 45, 111132.95, 111132.95 / 78846.8, 1},
		{"pole caps longitude", 90, 1000, 360, 1000 / 111694.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dLon, dLat := MetresToDegrees(tc.lat, tc.metres)
			if math.Abs(dLon-tc.wantLon) > 1e-4*math.Max(tc.wantLon, 1e-12) {
				t.Errorf("dLon = %v, want %v", dLon, tc.wantLon)
			}
			if math.Abs(dLat-tc.wantLat) > 1e-4*math.Max(tc.wantLat, 1e-12) {
				t.Errorf("dLat = %v, want %v", dLat, tc.wantLat)
			}
		})
	}
	if lo, la := MetresToDegrees(10, -1); !math.IsNaN(lo) || !math.IsNaN(la) {
		t.Errorf("negative metres: got %v, %v; want NaN", lo, la)
	}
	// Round trip through the distance function.
	for _, lat := range []float64{0, 23.5, 39.9, 60, 75} {
		dLon, dLat := MetresToDegrees(lat, 200)
		p := orb.Point{116, lat}
		if d := PointSegmentDistance(p, orb.Point{116 + dLon, lat}, orb.Point{116 + dLon, lat}); relErr(d, 200) > 1e-5 {
			t.Errorf("lat %v: east %v° measures %v m, want 200", lat, dLon, d)
		}
		if d := PointSegmentDistance(p, orb.Point{116, lat + dLat}, orb.Point{116, lat + dLat}); relErr(d, 200) > 1e-4 {
			t.Errorf("lat %v: north %v° measures %v m, want 200", lat, dLat, d)
		}
	}
}

func TestPointSegmentDistanceCases(t *testing.T) {
	k := MeridionalRadius(0) * rad // metres per degree of latitude at the equator
	tests := []struct {
		name    string
		p, a, b orb.Point
		want    float64
	}{
		// Projection falls inside the (north-south) segment: distance
		// is east-west, |dx| = 0.001° of longitude at the equator.
		{"perpendicular foot inside", orb.Point{0.001, 0}, orb.Point{0, -0.01}, orb.Point{0, 0.01}, 0.001 * PrimeVerticalRadius(0) * rad},
		{"beyond end b", orb.Point{0, 0.011}, orb.Point{0, -0.01}, orb.Point{0, 0.01}, 0.001 * k},
		{"before start a", orb.Point{0, -0.011}, orb.Point{0, -0.01}, orb.Point{0, 0.01}, 0.001 * k},
		{"on the segment", orb.Point{0, 0.005}, orb.Point{0, -0.01}, orb.Point{0, 0.01}, 0},
		{"degenerate segment", orb.Point{0, 0}, orb.Point{0, 0.001}, orb.Point{0, 0.001}, 0.001 * k},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PointSegmentDistance(tc.p, tc.a, tc.b)
			if math.Abs(got-tc.want) > 1e-6*math.Max(tc.want, 1) {
				t.Errorf("got %.6f m, want %.6f m", got, tc.want)
			}
		})
	}
}

// TestAgainstVincenty checks the documented accuracy against an independent
// geodesic computation (Vincenty's inverse formula, accurate to well under a
// millimetre): distances up to 5 km at latitudes up to 70° within 0.01%.
func TestAgainstVincenty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for i := 0; i < 20000; i++ {
		lat := (rng.Float64()*2 - 1) * 70
		lon := rng.Float64()*360 - 180
		p := orb.Point{lon, lat}
		// A point q at up to 5 km in a random direction.
		d := 1 + rng.Float64()*5000
		az := rng.Float64() * 2 * math.Pi
		dLon, dLat := MetresToDegrees(lat, d)
		q := orb.Point{lon + dLon*math.Sin(az), lat + dLat*math.Cos(az)}
		want := VincentyM(p, q)
		got := PointSegmentDistance(p, q, q)
		if e := relErr(got, want); e > worst {
			worst = e
		}
		// Point-to-segment: the segment q–r, compared with the minimum
		// of Vincenty distances over a fine sampling of the segment.
		r := orb.Point{q[0] + dLon*0.3*math.Cos(az), q[1] - dLat*0.3*math.Sin(az)}
		if i%20 == 0 {
			best := math.Inf(1)
			for k := 0; k <= 2000; k++ {
				s := float64(k) / 2000
				x := orb.Point{q[0] + s*(r[0]-q[0]), q[1] + s*(r[1]-q[1])}
				best = math.Min(best, VincentyM(p, x))
			}
			got := PointSegmentDistance(p, q, r)
			// Sampling overestimates by at most half a sample step.
			if got > best*(1+1e-4) || got < best*(1-1e-4)-3 {
				t.Fatalf("segment distance from %v to %v-%v: got %v, sampled geodesic %v", p, q, r, got, best)
			}
		}
	}
	t.Logf("worst relative error against Vincenty up to 5 km, |lat| <= 70°: %.2g", worst)
	if worst > 1e-4 {
		t.Errorf("worst relative error %.2g exceeds 0.01%%", worst)
	}
}

// TestGeodesicM: Vincenty's own test line (Flinders Peak to Buninyong,
// 54,972.271 m), and a meridian of half a degree (a geodesic, straight in
// lon/lat) measured whole and as 50 short edges that the mid-latitude plane
// measures: the two ways agree within 1e-7.
func TestGeodesicM(t *testing.T) {
	got := VincentyM(orb.Point{144.42486788611, -37.95103341667}, orb.Point{143.92649552778, -37.65282113889})
	if math.Abs(got-54972.271) > 0.001 {
		t.Errorf("Flinders Peak to Buninyong: %.4f m, want 54972.271", got)
	}
	whole := GeodesicM(orb.Point{112, 27}, orb.Point{112, 27.5})
	sum := 0.0
	for k := range 50 {
		sum += GeodesicM(orb.Point{112, 27 + float64(k)*0.01}, orb.Point{112, 27 + float64(k+1)*0.01})
	}
	if math.Abs(sum-whole) > 1e-7*whole || whole < 55_000 || whole > 56_000 {
		t.Errorf("half a degree of meridian at 27°N: %.4f m whole, %.4f m in 50 edges", whole, sum)
	}
	if GeodesicM(orb.Point{1, 2}, orb.Point{1, 2}) != 0 {
		t.Error("a point to itself is not 0 m")
	}
}
