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
		want := vincenty(p, q)
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
				best = math.Min(best, vincenty(p, x))
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

// vincenty returns the geodesic distance between p and q on WGS-84 using
// Vincenty's inverse formula.
func vincenty(p, q orb.Point) float64 {
	const b = A * (1 - F)
	L := (q[0] - p[0]) * rad
	U1 := math.Atan((1 - F) * math.Tan(p[1]*rad))
	U2 := math.Atan((1 - F) * math.Tan(q[1]*rad))
	sinU1, cosU1 := math.Sincos(U1)
	sinU2, cosU2 := math.Sincos(U2)
	lambda := L
	var sinSigma, cosSigma, sigma, cos2Alpha, cos2SigmaM float64
	for iter := 0; iter < 200; iter++ {
		sinL, cosL := math.Sincos(lambda)
		sinSigma = math.Hypot(cosU2*sinL, cosU1*sinU2-sinU1*cosU2*cosL)
		if sinSigma == 0 {
			return 0
		}
		cosSigma = sinU1*sinU2 + cosU1*cosU2*cosL
		sigma = math.Atan2(sinSigma, cosSigma)
		sinAlpha := cosU1 * cosU2 * sinL / sinSigma
		cos2Alpha = 1 - sinAlpha*sinAlpha
		cos2SigmaM = 0
		if cos2Alpha != 0 {
			cos2SigmaM = cosSigma - 2*sinU1*sinU2/cos2Alpha
		}
		C := F / 16 * cos2Alpha * (4 + F*(4-3*cos2Alpha))
		prev := lambda
		lambda = L + (1-C)*F*sinAlpha*(sigma+C*sinSigma*(cos2SigmaM+C*cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)))
		if math.Abs(lambda-prev) < 1e-13 {
			break
		}
	}
	u2 := cos2Alpha * (A*A - b*b) / (b * b)
	AA := 1 + u2/16384*(4096+u2*(-768+u2*(320-175*u2)))
	BB := u2 / 1024 * (256 + u2*(-128+u2*(74-47*u2)))
	dSigma := BB * sinSigma * (cos2SigmaM + BB/4*(cosSigma*(-1+2*cos2SigmaM*cos2SigmaM)-BB/6*cos2SigmaM*(-3+4*sinSigma*sinSigma)*(-3+4*cos2SigmaM*cos2SigmaM)))
	return b * AA * (sigma - dSigma)
}
