package api

import (
	"bytes"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/featurejson"
	"wangge/geo/gridindex"
)

// This file is the fast part of POST /v1/locate: the points array of a
// large body decoded by several goroutines at once, the lookups and the
// rendering spread over the cores, and the answer streamed chunk by chunk
// in order. Whatever it cannot do exactly, the sequential decoder in
// locate.go does (and words the refusal).

// parallelDecodeBytes: a points array shorter than this is decoded on the
// request's goroutine; splitting it is not worth a goroutine.
const parallelDecodeBytes = 64 << 10

// decodePointsParallel decodes the points array whose first element starts
// at or after data[from] (just past the array's "["), split at element
// boundaries into one part per core. It returns the points and the offset
// just past the array's "]", or ok false when the array cannot be read
// this way (a split point beyond the array, a wrong element, more than
// limit points): the sequential decoder then reads the body again and decides.
func decodePointsParallel(data []byte, from, limit int) (pts []orb.Point, end int, ok bool) {
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || len(data)-from < parallelDecodeBytes {
		return nil, 0, false
	}
	workers = min(workers, 8)
	starts := make([]int, 0, workers+1)
	starts = append(starts, from)
	for k := 1; k < workers; k++ {
		s := nextElement(data, from+(len(data)-from)*k/workers)
		if s < 0 || s <= starts[len(starts)-1] {
			return nil, 0, false
		}
		starts = append(starts, s)
	}
	parts := make([][]orb.Point, len(starts))
	oks := make([]bool, len(starts))
	var last int
	var wg sync.WaitGroup
	for k := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stop := -1 // the last part reads to the array's end
			if k+1 < len(starts) {
				stop = starts[k+1]
			}
			d := batchDecoder{data: data, i: starts[k], max: limit}
			d.pts = make([]orb.Point, 0, (max(stop, len(data))-starts[k])/16+1)
			oks[k] = d.elements(stop)
			parts[k] = d.pts
			if stop < 0 {
				last = d.i
			}
		}()
	}
	wg.Wait()
	n := 0
	for k := range parts {
		if !oks[k] {
			return nil, 0, false
		}
		n += len(parts[k])
	}
	if n > limit {
		return nil, 0, false
	}
	pts = make([]orb.Point, 0, n)
	for _, p := range parts {
		pts = append(pts, p...)
	}
	return pts, last, true
}

// nextElement returns the offset of the first "[" at or after i that
// follows "]", "," and whitespace: the start of a point in a points array
// (numbers hold no brackets). -1 when there is none. A split found this
// way outside the array makes the part before it fail, never misread.
func nextElement(data []byte, i int) int {
	for i < len(data) {
		j := bytes.IndexByte(data[i:], '[')
		if j < 0 {
			return -1
		}
		i += j
		k := i - 1
		for k >= 0 && isSpace(data[k]) {
			k--
		}
		if k >= 0 && data[k] == ',' {
			k--
			for k >= 0 && isSpace(data[k]) {
				k--
			}
			if k >= 0 && data[k] == ']' {
				return i
			}
		}
		i++
	}
	return -1
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }

// elements reads points "[lon,lat]" separated by commas from d.i, each
// checked as checkBatch does. With stop ≥ 0 it reads until a separating
// comma brings it exactly to stop (the next part's first point); with
// stop < 0 until the array's closing "]", which it consumes. False for
// anything else, and for more than d.max points.
func (d *batchDecoder) elements(stop int) bool {
	for {
		if !d.next('[') {
			return false
		}
		lon, ok := d.number()
		if !ok || !d.next(',') {
			return false
		}
		lat, ok := d.number()
		if !ok || !d.next(']') {
			return false
		}
		if len(d.pts) == d.max || geo.CheckLonLat(lon, lat) != nil {
			return false
		}
		d.pts = append(d.pts, orb.Point{lon, lat})
		if d.next(',') {
			d.ws()
			if d.i == stop {
				return true
			}
			if stop >= 0 && d.i > stop {
				return false
			}
			continue
		}
		return stop < 0 && d.next(']')
	}
}

// parseNumber converts a JSON number's text to the float64 encoding/json
// gives. Up to 15 significant digits and a decimal exponent within ±22
// (every coordinate a device sends), the mantissa and the power of ten are
// both exact in a float64, so one multiplication or division rounds
// correctly (Clinger's fast path, strconv's own first try); anything else
// goes to strconv.ParseFloat.
func parseNumber(b []byte) (float64, bool) {
	i := 0
	neg := false
	if i < len(b) && b[i] == '-' {
		neg = true
		i++
	}
	var mant uint64
	digits, exp := 0, 0
	for ; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
		if digits > 0 || b[i] != '0' {
			digits++
		}
		mant = mant*10 + uint64(b[i]-'0')
		if digits > 15 {
			return parseSlow(b)
		}
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
			if digits > 0 || b[i] != '0' {
				digits++
			}
			mant = mant*10 + uint64(b[i]-'0')
			exp--
			if digits > 15 {
				return parseSlow(b)
			}
		}
	}
	if i != len(b) { // an exponent: rare in coordinates
		return parseSlow(b)
	}
	f := float64(mant)
	switch {
	case exp < -22:
		return parseSlow(b)
	case exp < 0:
		f /= pow10[-exp]
	}
	if neg {
		f = -f
	}
	return f, true
}

func parseSlow(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	return f, err == nil
}

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// streamChunk is the number of points located and rendered as one piece
// of a streamed answer.
const streamChunk = 2048

// batchPiece is one chunk of a batch answer: its rendered results and how
// many points matched each way (index 0: outside).
type batchPiece struct {
	buf    []byte
	counts [4]int
	done   chan struct{}
}

// writeBatch locates pts (in crs) on snap and writes the answer of POST
// /v1/locate: chunks of streamChunk points are located and rendered by one
// goroutine per core and written in order as each is ready, so the first
// bytes leave while later points are still being located.
func (s *Server) writeBatch(c *gin.Context, snap *geo.Snapshot, pts []orb.Point, crs chinacrs.CRS) {
	c.Header("Content-Type", "application/json")
	c.Status(http.StatusOK)
	head := make([]byte, 0, 48)
	head = append(head, `{"generation":`...)
	head = strconv.AppendInt(head, snap.Generation, 10)
	head = append(head, `,"results":[`...)

	n := (len(pts) + streamChunk - 1) / streamChunk
	pieces := make([]batchPiece, n)
	render := func(k int) {
		p := &pieces[k]
		lo, hi := k*streamChunk, min((k+1)*streamChunk, len(pts))
		p.buf = s.renderResults(p.buf, snap, pts[lo:hi], crs, lo == 0, &p.counts)
	}
	var counts [4]int
	if workers := min(runtime.GOMAXPROCS(0), n); workers <= 1 {
		// One piece or one core: render and write in one go.
		b := head
		for k := range pieces {
			pieces[k].buf = b
			render(k)
			b = pieces[k].buf
			addCounts(&counts, &pieces[k].counts)
		}
		b = append(b, "]}"...)
		c.Writer.Write(b)
	} else {
		var next atomic.Int64
		for k := range pieces {
			pieces[k].done = make(chan struct{})
			pieces[k].buf = (*pieceBuffers.Get().(*[]byte))[:0]
		}
		// The head goes with the first piece: the gzip middleware decides
		// from the size of the first write.
		pieces[0].buf = append(pieces[0].buf, head...)
		for range workers {
			go func() {
				for {
					k := int(next.Add(1) - 1)
					if k >= n {
						return
					}
					render(k)
					close(pieces[k].done)
				}
			}()
		}
		for k := range pieces {
			<-pieces[k].done
			c.Writer.Write(pieces[k].buf)
			addCounts(&counts, &pieces[k].counts)
			if cap(pieces[k].buf) <= 4*streamChunk*64 { // not one grown by many "also" codes
				b := pieces[k].buf
				pieceBuffers.Put(&b)
			}
			pieces[k].buf = nil
		}
		c.Writer.Write([]byte("]}"))
	}
	for m, k := range counts {
		if k > 0 {
			label := "outside"
			if m > 0 {
				label = gridindex.Match(m).String()
			}
			s.metrics.locatedCounter(label).Add(float64(k))
		}
	}
}

// pieceBuffers recycles the buffers of streamed chunks: a 10,000-point
// answer is ~700 KB, which the garbage collector would otherwise sweep
// after every request.
var pieceBuffers = sync.Pool{New: func() any {
	b := make([]byte, 0, streamChunk*64)
	return &b
}}

func addCounts(sum, add *[4]int) {
	for i := range sum {
		sum[i] += add[i]
	}
}

// renderResults appends the results of pts (in crs) to b, comma-separated
// and led by a comma unless first, counting the matches.
func (s *Server) renderResults(b []byte, snap *geo.Snapshot, pts []orb.Point, crs chinacrs.CRS, first bool, counts *[4]int) []byte {
	for i, p := range pts {
		if i > 0 || !first {
			b = append(b, ',')
		}
		r, ok := snap.LocateCode(chinacrs.ToWGS84(crs, p), s.cfg.ToleranceM)
		if !ok {
			b = append(b, `{"grid":null,"match":"outside","distance_m":null,"also":[]}`...)
			counts[0]++
			continue
		}
		counts[r.Match]++
		b = append(b, `{"grid":"`...)
		b = append(b, snap.Grids[r.ID].Code...)
		b = append(b, `","match":"`...)
		b = append(b, r.Match.String()...)
		b = append(b, `","distance_m":`...)
		b = featurejson.AppendFloat(b, r.DistanceM, 2)
		b = appendAlso(b, snap, r.Also)
		b = append(b, '}')
	}
	return b
}
