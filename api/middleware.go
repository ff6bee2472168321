package api

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
)

// cors answers preflight requests and marks responses readable by the
// configured origins. The API authenticates with bearer tokens, never
// cookies, so allowing "*" does not expose a logged-in browser session.
func (s *Server) cors(c *gin.Context) {
	origin := requestHeader(c.Request, "Origin")
	if origin == "" || len(s.cfg.CORSOrigins) == 0 {
		c.Next()
		return
	}
	h := c.Writer.Header()
	addVary(h, "Origin")
	switch {
	case slices.Contains(s.cfg.CORSOrigins, "*"):
		h["Access-Control-Allow-Origin"] = anyOrigin
	case slices.Contains(s.cfg.CORSOrigins, origin):
		c.Header("Access-Control-Allow-Origin", origin)
	default:
		c.Next()
		return
	}
	h["Access-Control-Expose-Headers"] = exposedHeaders
	if c.Request.Method == http.MethodOptions && requestHeader(c.Request, "Access-Control-Request-Method") != "" {
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

// requestHeader is r.Header.Get(key) for a key written in canonical form
// (TestRequestHeader_canonicalKeys holds every call to it): net/http stores
// the names of a request's headers canonical, so the map is read directly
// instead of canonicalizing the same constant again on every request
// (textproto.CanonicalMIMEHeaderKey, a scan and a map lookup per call).
func requestHeader(r *http.Request, key string) string {
	if v := r.Header[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// setDate sets the Date header, formatted once a second and shared by the
// answers written in it. Without it net/http formats Date itself for every
// response (time.Now and Time.AppendFormat: the dearest step of writing a
// small answer's head). Only handlers that write their whole answer at
// once call it, right before writing, so the date is the answer's.
func setDate(h http.Header) {
	now := time.Now()
	d := currentDate.Load()
	if d == nil || d.unix != now.Unix() {
		d = &httpDate{now.Unix(), []string{now.UTC().Format(http.TimeFormat)}}
		currentDate.Store(d)
	}
	h["Date"] = d.value
}

// httpDate is the Date header of one second.
type httpDate struct {
	unix  int64
	value []string
}

var currentDate atomic.Pointer[httpDate]

// Header values set on every response, shared rather than allocated per
// request: net/http only reads them, and Header.Add on the same name
// appends to a full slice, which copies it.
var (
	anyOrigin      = []string{"*"}
	exposedHeaders = []string{"ETag, X-Request-Id, Retry-After, Location"}
	varyValues     = map[string][]string{"Origin": {"Origin"}, "Accept-Encoding": {"Accept-Encoding"}}
)

// gzipMinBytes: smaller bodies are not worth a gzip header and the CPU.
const gzipMinBytes = 1024

var gzipPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

// compressible reports whether a Content-Type is text-like.
func compressible(contentType string) bool {
	mt := mediaType(contentType)
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") ||
		mt == "application/javascript" || mt == "image/svg+xml" || mt == "application/vnd.mapbox-vector-tile"
}

// mediaType is the lower-case media type of a Content-Type, without its
// parameters: what mime.ParseMediaType returns for the types handlers set,
// without its allocations; anything unusual goes to mime.ParseMediaType.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	for i := 0; i < len(mt); i++ {
		c := mt[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '/' || c == '-' || c == '.' || c == '+') {
			mt, _, _ = mime.ParseMediaType(contentType)
			return mt
		}
	}
	return mt
}

// acceptsGzip reports whether the request accepts gzip.
func acceptsGzip(r *http.Request) bool {
	rest := requestHeader(r, "Accept-Encoding")
	for rest != "" {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
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
	gw := gzipWriters.Get().(*gzipWriter)
	*gw = gzipWriter{ResponseWriter: c.Writer}
	c.Writer = gw
	finished := false
	defer func() {
		if !finished { // a panic on its way to recovery: close, keep nothing
			gw.close()
		}
	}()
	c.Next()
	finished = true
	gw.close()
	if c.Writer == gw {
		// Nothing holds gw now: gin's context is reset before its next
		// request. A writer replaced by a later middleware is left to the GC.
		c.Writer = gw.ResponseWriter
		*gw = gzipWriter{}
		gzipWriters.Put(gw)
	}
}

var gzipWriters = sync.Pool{New: func() any { return new(gzipWriter) }}

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
	if _, ok := h["Vary"]; !ok {
		if v, ok := varyValues[name]; ok {
			h["Vary"] = v
			return
		}
	}
	for _, v := range h.Values("Vary") {
		for v != "" {
			var f string
			f, v, _ = strings.Cut(v, ",")
			if strings.EqualFold(strings.TrimSpace(f), name) {
				return
			}
		}
	}
	h.Add("Vary", name)
}

// DefaultBodyTimeout and DefaultBodyMinRate are BodyDeadline's defaults:
// a body of n bytes must have arrived within 5 s + n / 16 KiB/s.
const (
	DefaultBodyTimeout = 5 * time.Second
	DefaultBodyMinRate = 16 << 10
)

// BodyDeadline wraps h so that a request body must keep up a minimum
// average rate: the byte at offset n is due grace + (n+1)/minRate after the
// request reached h, so a body declared as n bytes has at most
// grace + n/minRate to arrive whole, and a client that sends 11 bytes of a
// declared megabyte and stops is cut after the grace, not after the
// megabyte's time. The deadline is the connection's read deadline, set
// (http.ResponseController) before each read of the body and never again
// once a read fails or reaches the end: the server then clears it and reads
// ahead to notice a client that hangs up, and a deadline set on that read
// would cancel the request's context. A body
// cut this way answers 408 problem+json, whatever the handler made of the
// failed read, and the connection is closed. Requests without a body pass
// untouched.
//
// It replaces a whole-request read timeout (http.Server.ReadTimeout),
// which would hold a slow client for as long as the largest upload needs,
// and would cancel a long request's context once its body was read.
func BodyDeadline(h http.Handler, grace time.Duration, minRate int64) http.Handler {
	if grace <= 0 {
		grace = DefaultBodyTimeout
	}
	if minRate <= 0 {
		minRate = DefaultBodyMinRate
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
			h.ServeHTTP(w, r)
			return
		}
		b := &deadlineBody{ReadCloser: r.Body, rc: http.NewResponseController(w), start: time.Now(), grace: grace, rate: minRate}
		r.Body = b
		h.ServeHTTP(&timeoutWriter{ResponseWriter: w, body: b, r: r}, r)
	})
}

// deadlineBody is a request body whose reads are bounded by BodyDeadline's
// schedule.
type deadlineBody struct {
	io.ReadCloser
	rc       *http.ResponseController
	start    time.Time
	grace    time.Duration
	rate     int64
	n        int64 // bytes read so far
	done     bool  // read to its end, or failed: no more deadlines
	timedOut atomic.Bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if !b.done {
		due := b.start.Add(b.grace + time.Duration(float64(b.n+1)/float64(b.rate)*float64(time.Second)))
		// A writer without deadlines (a test recorder) leaves the body
		// unbounded, as it was.
		_ = b.rc.SetReadDeadline(due)
	}
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && !b.done {
		b.done = true
		b.timedOut.Store(errors.Is(err, os.ErrDeadlineExceeded))
	}
	return n, err
}

// timeoutWriter answers 408 problem+json in place of the handler's error
// response when the body was cut by its deadline.
type timeoutWriter struct {
	http.ResponseWriter
	body        *deadlineBody
	r           *http.Request
	wroteHeader bool
	replaced    bool
}

func (w *timeoutWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code < 200 {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.wroteHeader = true
	if code < 400 || !w.body.timedOut.Load() {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.replaced = true
	h := w.Header()
	p := problemf(TypeRequestTimeout, http.StatusRequestTimeout,
		"the body arrived too slowly: %d bytes in %v, want the first %v then at least %d bytes a second",
		w.body.n, time.Since(w.body.start).Round(time.Millisecond), w.body.grace, w.body.rate)
	p.Instance = w.r.URL.Path
	p.RequestID = h.Get("X-Request-Id")
	body, _ := json.Marshal(p)
	for _, k := range []string{"Content-Encoding", "Content-Length", "ETag", "Location", "Retry-After"} {
		h.Del(k)
	}
	h.Set("Content-Type", ProblemContentType)
	h.Set("Connection", "close")
	w.ResponseWriter.WriteHeader(http.StatusRequestTimeout)
	w.ResponseWriter.Write(body)
}

func (w *timeoutWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets handlers (through gin) flush a streamed response.
func (w *timeoutWriter) Flush() {
	if !w.replaced {
		http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *timeoutWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
