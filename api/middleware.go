package api

import (
	"compress/gzip"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// cors answers preflight requests and marks responses readable by the
// configured origins. The API authenticates with bearer tokens, never
// cookies, so allowing "*" does not expose a logged-in browser session.
func (s *Server) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if origin == "" || len(s.cfg.CORSOrigins) == 0 {
		c.Next()
		return
	}
	addVary(c.Writer.Header(), "Origin")
	switch {
	case slices.Contains(s.cfg.CORSOrigins, "*"):
		c.Header("Access-Control-Allow-Origin", "*")
	case slices.Contains(s.cfg.CORSOrigins, origin):
		c.Header("Access-Control-Allow-Origin", origin)
	default:
		c.Next()
		return
	}
	c.Header("Access-Control-Expose-Headers", "ETag, X-Request-Id, Retry-After, Location")
	if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
		c.Header("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
		if h := c.GetHeader("Access-Control-Request-Headers"); h != "" {
			c.Header("Access-Control-Allow-Headers", h)
		}
		c.Header("Access-Control-Max-Age", "600")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

// gzipMinBytes: smaller bodies are not worth a gzip header and the CPU.
const gzipMinBytes = 1024

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// compressible reports whether a Content-Type is text-like.
func compressible(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") ||
		mt == "application/javascript" || mt == "image/svg+xml" || mt == "application/vnd.mapbox-vector-tile"
}

// acceptsGzip reports whether the request accepts gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(name) == "gzip" && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}

// gzipResponses compresses text-like responses on the fly for clients that
// accept gzip. Handlers that serve bytes compressed once per generation set
// Content-Encoding themselves, and are left alone.
func (s *Server) gzipResponses(c *gin.Context) {
	if !acceptsGzip(c.Request) || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	gw := &gzipWriter{ResponseWriter: c.Writer}
	c.Writer = gw
	defer gw.close()
	c.Next()
}

// gzipWriter decides at the first write whether to compress: only 2xx/4xx/5xx
// bodies of compressible types, not already encoded, of at least
// gzipMinBytes (the handlers here write a body in one call).
type gzipWriter struct {
	gin.ResponseWriter
	gz      *gzip.Writer
	decided bool
	status  int
}

func (w *gzipWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *gzipWriter) decide(n int) {
	w.decided = true
	h := w.Header()
	addVary(h, "Accept-Encoding")
	if n < gzipMinBytes || h.Get("Content-Encoding") != "" || !compressible(h.Get("Content-Type")) ||
		w.status == http.StatusNoContent || w.status == http.StatusNotModified {
		return
	}
	h.Set("Content-Encoding", "gzip")
	h.Del("Content-Length")
	w.gz = gzipPool.Get().(*gzip.Writer)
	w.gz.Reset(w.ResponseWriter)
}

func (w *gzipWriter) Write(b []byte) (int, error) {
	if !w.decided {
		w.decide(len(b))
	}
	if w.gz != nil {
		return w.gz.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

func (w *gzipWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }

func (w *gzipWriter) close() {
	if w.gz != nil {
		w.gz.Close()
		gzipPool.Put(w.gz)
		w.gz = nil
	}
}

// addVary adds name to the Vary header unless a handler already did.
func addVary(h http.Header, name string) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}
