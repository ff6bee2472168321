package coverage

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

// walk is a random walk of n vertices from c in steps of step degrees.
func walk(n int, c orb.Point, step float64, seed uint64) orb.LineString {
	r := rand.New(rand.NewPCG(seed, 1))
	ls := orb.LineString{c}
	for range n - 1 {
		p := ls[len(ls)-1]
		a := r.Float64() * 2 * math.Pi
		ls = append(ls, orb.Point{p[0] + step*math.Cos(a), p[1] + step*math.Sin(a)})
	}
	return ls
}

// blob is a polygon of n vertices around c: a circle of radius size
// (degrees) whose radius wanders by up to a tenth, as a hand-drawn or traced
// outline does.
func blob(n int, c orb.Point, size float64, seed uint64) orb.Polygon {
	r := rand.New(rand.NewPCG(seed, 2))
	ring := make(orb.Ring, 0, n+1)
	d := size
	for k := range n {
		a := 2 * math.Pi * float64(k) / float64(n)
		d = math.Min(math.Max(d+size*0.01*(r.Float64()-0.5), 0.9*size), 1.1*size)
		ring = append(ring, orb.Point{c[0] + d*math.Cos(a), c[1] + d*math.Sin(a)})
	}
	return orb.Polygon{append(ring, ring[0])}
}

func benchShape(b *testing.B, req Request) {
	snap := demo(b)
	b.ReportAllocs()
	for b.Loop() {
		sh, err := NewShape(req)
		if err != nil {
			b.Fatal(err)
		}
		sh.Grids(snap)
	}
}

var town = orb.Point{112.12, 27.26}

func BenchmarkCircle(b *testing.B) {
	r := 1500.0
	benchShape(b, Request{Geometry: town, RadiusM: &r})
}

func BenchmarkLine100(b *testing.B) {
	d := 50.0
	benchShape(b, Request{Geometry: walk(100, town, 0.002, 1), BufferM: &d})
}

func BenchmarkLineMaxVertices(b *testing.B) {
	d := 50.0
	benchShape(b, Request{Geometry: walk(MaxBufferedPositions, town, 0.002, 1), BufferM: &d})
}

func BenchmarkPolygonMaxVertices(b *testing.B) {
	benchShape(b, Request{Geometry: blob(MaxPositions-1, town, 0.05, 1)})
}

func BenchmarkPolygonBufferedMaxVertices(b *testing.B) {
	d := 100.0
	benchShape(b, Request{Geometry: blob(MaxBufferedPositions-1, town, 0.05, 1), BufferM: &d})
}
