package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"wangge/geo"
	"wangge/geo/featurejson"
)

// consoleDist is the map console as built by `npm run build` in
// api/console (see api/console/build.mjs): the page, its script and style,
// and MapLibre GL JS. It is committed, so building the binary needs no npm.
//
//go:embed console/dist
var consoleDist embed.FS

// consoleCSP keeps the console to its own origin: a script, style, font or
// request from anywhere else is refused, so the page provably works offline.
// MapLibre draws into canvases and runs its worker from /console/.
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"font-src 'self'; connect-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// consoleAsset is one file of the console, ready to serve.
type consoleAsset struct {
	name  string
	body  []byte
	ctype string
	// version is a prefix of the content hash: the ?v= of the URLs by which
	// index.html refers to the file, which may be cached for a year.
	version string
	etag    string
	gzipped func() []byte // the gzip encoding, made on first use
}

// consoleFiles holds the console's files by name, index.html among them
// with its references rewritten to versioned URLs.
type consoleFiles map[string]*consoleAsset

// loadConsole reads the embedded files once per process.
var loadConsole = sync.OnceValues(func() (consoleFiles, error) {
	root, err := fs.Sub(consoleDist, "console/dist")
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(root, ".")
	if err != nil {
		return nil, err
	}
	files := consoleFiles{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := fs.ReadFile(root, e.Name())
		if err != nil {
			return nil, err
		}
		files[e.Name()] = newConsoleAsset(e.Name(), body)
	}
	index, ok := files["index.html"]
	if !ok {
		return nil, fmt.Errorf("console: dist/index.html is missing: run `npm ci --prefix api/console && npm run build --prefix api/console`")
	}
	page := index.body
	for name, a := range files {
		if name != "index.html" {
			page = bytes.ReplaceAll(page, []byte(`"/console/`+name+`"`), []byte(`"/console/`+name+`?v=`+a.version+`"`))
		}
	}
	files["index.html"] = newConsoleAsset("index.html", page)
	return files, nil
})

func newConsoleAsset(name string, body []byte) *consoleAsset {
	sum := sha256.Sum256(body)
	version := hex.EncodeToString(sum[:6])
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) { // not left to the machine's MIME tables
	case ".html":
		ctype = "text/html; charset=utf-8"
	case ".js", ".mjs":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	case ".txt":
		ctype = "text/plain; charset=utf-8"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return &consoleAsset{name: name, body: body, ctype: ctype, version: version, etag: `"c` + version + `"`,
		gzipped: sync.OnceValue(func() []byte {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(body)
			zw.Close()
			return buf.Bytes()
		})}
}

// consoleRoutes registers the map console: the page at /, its files at
// /console/{name}, and /console/town.json, the town's name, note and
// outline that the page draws and captions.
func (s *Server) consoleRoutes(r *gin.Engine) {
	files, err := loadConsole()
	if err != nil {
		s.log.Error("the map console is not available", "err", err)
		return
	}
	for name, a := range files {
		h := s.handle(func(c *gin.Context) error {
			serveConsoleAsset(c, a)
			return nil
		})
		target := "/console/" + name
		if name == "index.html" {
			target = "/"
		}
		r.GET(target, h)
		r.HEAD(target, h)
	}
	r.GET("/console/town.json", s.requireSnapshot, s.handle(s.consoleTown))
	r.GET("/console/caller.json", s.requireSnapshot, s.handle(s.consoleCaller))
}

// serveConsoleAsset answers with a, gzipped when the client accepts it.
// index.html is revalidated on every load (ETag); the files it names carry
// ?v=<hash> and are cached for a year, while a request without the current
// version (a module import, an old page) revalidates too.
func serveConsoleAsset(c *gin.Context, a *consoleAsset) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	addVary(h, "Accept-Encoding")
	switch {
	case a.name == "index.html":
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("Referrer-Policy", "no-referrer")
	case c.Query("v") == a.version:
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	default:
		h.Set("Cache-Control", "no-cache")
	}
	body, etag := a.body, a.etag
	gz := gzipAccepted(c.GetHeader("Accept-Encoding")) && len(a.body) > 1024
	if gz {
		body, etag = a.gzipped(), strings.TrimSuffix(a.etag, `"`)+`-gz"`
	}
	if notModified(c, etag) {
		return
	}
	h.Set("ETag", etag)
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	c.Status(http.StatusOK)
	if c.Request.Method != http.MethodHead {
		c.Writer.Write(body)
	}
}

// gzipAccepted reports whether an Accept-Encoding header allows gzip (or *)
// with a non-zero quality.
func gzipAccepted(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		if k, v, ok := strings.Cut(strings.TrimSpace(params), "="); ok && strings.TrimSpace(k) == "q" {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				q = f
			}
		}
		return q > 0
	}
	return false
}

// consoleTownJSON is the body of /console/town.json.
type consoleTownJSON struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	County     string `json:"county"`
	Province   string `json:"province"`
	Note       string `json:"note"`
	Generation int64  `json:"generation"`
	// BBox is the outline's [minLon, minLat, maxLon, maxLat], WGS-84.
	BBox    [4]float64      `json:"bbox"`
	Outline json.RawMessage `json:"outline"`
}

// consoleTown answers /console/town.json[?town=]: the deployment's area
// of the current generation (its one town, or the county of several), or
// with ?town= that town, with the note that says where its data comes from
// (the demo town's says its boundaries are synthetic) and its outline in
// WGS-84. The console's town selector draws the chosen town's outline.
func (s *Server) consoleTown(c *gin.Context) error {
	snap := s.registry.Load()
	for name := range c.Request.URL.Query() {
		if name != "town" {
			return badParam(name, "unknown parameter; /console/town.json takes only town")
		}
	}
	t := snap.Whole()
	if code, ok := c.GetQuery("town"); ok {
		one, found := snap.TownOf(code)
		if !found || geo.ValidateTownCode(code) != nil {
			return badParam("town", "got %q, want the 9-digit code of a town of the deployment (GET /v1/towns)", truncate(code))
		}
		t = one
	}
	etag := fmt.Sprintf(`"g%s-console-town-%s"`, snap.Version(), t.Code)
	if notModified(c, etag) {
		return nil
	}
	b := t.Outline.Bound()
	body, err := json.Marshal(consoleTownJSON{Code: t.Code, Name: t.Name, County: t.County, Province: t.Province,
		Note: t.Note, Generation: snap.Generation, BBox: [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]},
		Outline: featurejson.AppendMultiPolygon(nil, t.Outline, featurejson.Exact)})
	if err != nil {
		return err
	}
	c.Header("ETag", etag)
	c.Header("Cache-Control", "no-cache")
	c.Data(http.StatusOK, "application/json", body)
	return nil
}

// consoleCallerJSON is the body of /console/caller.json.
type consoleCallerJSON struct {
	Role string `json:"role"`
	// Town is the town a town-scoped token is limited to, null for every
	// town.
	Town *codeNameJSON `json:"town"`
}

// consoleCaller answers /console/caller.json: the role of the bearer
// token sent (viewer without one; 401 for an unknown one) and the town it
// is limited to, so that the console's town selector offers a town's
// token its town only. It says nothing the token's holder does not know.
func (s *Server) consoleCaller(c *gin.Context) error {
	out := consoleCallerJSON{Role: string(callerRole(c))}
	if scope := string(callerTown(c)); scope != "" {
		out.Town = &codeNameJSON{Code: scope}
		if t, ok := s.registry.Load().TownOf(scope); ok {
			out.Town.Name = t.Name
		}
	}
	c.Header("Cache-Control", "no-store")
	addVary(c.Writer.Header(), "Authorization")
	c.JSON(http.StatusOK, out)
	return nil
}
