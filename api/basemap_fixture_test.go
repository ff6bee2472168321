package api_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"wangge/geo/chinacrs"
)

// tileFixture is a local raster tile server standing in for Tianditu,
// AMap or Tencent. Its 256-pixel Web Mercator tiles encode where they
// are: a light background, a grey line every 32 pixels, and a magenta
// 5×5 square centred on the landmark, a WGS-84 point drawn where the
// tile's system puts it (/wgs/… at the point itself, /gcj/… at its GCJ-02
// shift), as a real base map draws a crossroads where its datum puts it.
//
//	GET /{wgs|gcj}/{z}/{x}/{y}[?tk=…]   y counted from the north
//	GET /tms/{z}/{x}/{-y}              y counted from the south (Tencent), GCJ-02
type tileFixture struct {
	*httptest.Server
	landmark orb.Point
	mu       sync.Mutex
	requests []string // the request URIs, in order
}

// markerColor is the landmark's colour; nothing else in a tile has it.
var markerColor = color.RGBA{255, 0, 255, 255}

func newTileFixture(t testing.TB, landmark orb.Point) *tileFixture {
	f := &tileFixture{landmark: landmark}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *tileFixture) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.RequestURI())
	f.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) != 4 {
		http.Error(w, "want /{system}/{z}/{x}/{y}", http.StatusNotFound)
		return
	}
	z, _ := strconv.Atoi(parts[1])
	x, _ := strconv.Atoi(parts[2])
	y, _ := strconv.Atoi(strings.TrimSuffix(parts[3], ".png"))
	mark := f.landmark
	switch parts[0] {
	case "wgs":
	case "gcj":
		mark = chinacrs.WGS84ToGCJ02(mark)
	case "tms":
		mark = chinacrs.WGS84ToGCJ02(mark)
		y = 1<<z - 1 - y
	default:
		http.Error(w, "unknown system", http.StatusNotFound)
		return
	}
	if strings.HasPrefix(r.URL.Query().Get("tk"), "bad") {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, "<error>invalid key</error>")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(fixtureTile(z, x, y, mark))
}

// fixtureTile draws tile z/x/y with the marker at mark (lon/lat in the
// tile's system).
func fixtureTile(z, x, y int, mark orb.Point) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	bg := color.RGBA{236, 240, 232, 255}
	if (x+y)%2 == 1 {
		bg = color.RGBA{226, 232, 240, 255}
	}
	for py := 0; py < 256; py++ {
		for px := 0; px < 256; px++ {
			c := bg
			if px%32 == 0 || py%32 == 0 {
				c = color.RGBA{160, 160, 160, 255}
			}
			img.SetRGBA(px, py, c)
		}
	}
	mx, my := worldPixel(mark, z)
	cx, cy := int(math.Floor(mx))-x*256, int(math.Floor(my))-y*256
	for dy := -2; dy <= 2; dy++ {
		for dx := -2; dx <= 2; dx++ {
			if px, py := cx+dx, cy+dy; px >= 0 && px < 256 && py >= 0 && py < 256 {
				img.SetRGBA(px, py, markerColor)
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}

// worldPixel is p's pixel in the 256-pixel Web Mercator world at zoom z.
func worldPixel(p orb.Point, z int) (float64, float64) {
	n := 256 * math.Exp2(float64(z))
	lat := p[1] * math.Pi / 180
	return (p[0] + 180) / 360 * n, (1 - math.Log(math.Tan(lat)+1/math.Cos(lat))/math.Pi) / 2 * n
}
