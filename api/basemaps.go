package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"wangge/geo"
	"wangge/geo/chinacrs"
	"wangge/geo/notify"
	"wangge/geo/pmtiles"
)

// This file serves the console's base map (see geo/basemap.go):
//
//	GET /v1/basemap                      the setting, as the console reads it at start (anyone)
//	PUT /v1/basemap                      an admin sets it
//	GET /basemap/{layer}/{z}/{x}/{y}     its tiles (layer base, or labels for Tianditu)
//
// wangge serves the tiles itself: it fetches them from the provider
// (Tianditu with the key, AMap, Tencent, any XYZ template) or reads them
// from a PMTiles file in the maps folder. So the key never reaches a
// browser (non-admins never see it at all; admins see its last four
// characters), the console's Content-Security-Policy keeps every request
// on wangge's origin, and an offline deployment needs nothing else. To
// keep the proxy from serving the whole world on the provider's quota,
// only tiles within basemapMarginDeg of the town are served (others are
// 204, an empty tile), to the provider's maximum zoom.

const (
	// basemapTTL is how long a replica uses the setting it read before
	// reading it again: another replica's change shows within it.
	basemapTTL = 15 * time.Second
	// basemapMarginDeg widens the town's box for the tiles served (about
	// 10 km): the map around the town, not the country.
	basemapMarginDeg = 0.1
	// basemapMaxTileBytes bounds a tile fetched from a provider.
	basemapMaxTileBytes = 4 << 20
	// basemapFetchTimeout bounds one fetch from a provider.
	basemapFetchTimeout = 10 * time.Second
	// basemapCacheControl lets browsers keep a base-map tile for a day.
	basemapCacheControl = "public, max-age=86400"
)

// basemapState is the setting in use and the PMTiles file it names, read
// again after basemapTTL.
type basemapState struct {
	mu     sync.Mutex
	b      geo.BaseMap
	key    string // the Tianditu key in clear
	readAt time.Time
	// file is the open PMTiles archive of b.File, with what identifies it
	// (a file replaced in place is opened again).
	file *basemapFile
}

type basemapFile struct {
	path    string
	size    int64
	modTime time.Time
	f       *os.File
	rd      *pmtiles.Reader
}

// basemapClient fetches provider tiles; redirects are not followed past
// three.
var basemapClient = &http.Client{Timeout: basemapFetchTimeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("too many redirects")
	}
	return nil
}}

// basemapRoutes registers this file's endpoints.
func (s *Server) basemapRoutes(r *gin.Engine, v1 router) {
	v1.GET("/basemap", endpoint{}, s.getBaseMap)
	v1.with(s.require(geo.AccessAdmin)).PUT("/basemap", endpoint{needs: needBaseMaps}, withBody(s.putBaseMap))
	tiles := router{s, r.Group("/basemap", s.requireSnapshot)}
	tiles.GET("/:layer/:z/:x/:y", endpoint{}, s.basemapTile)
}

// currentBaseMap returns the setting in use and the key in clear, reading
// it again when older than basemapTTL. Without a store it is none.
func (s *Server) currentBaseMap(ctx context.Context) (geo.BaseMap, string, error) {
	st := &s.basemap
	st.mu.Lock()
	defer st.mu.Unlock()
	if s.cfg.BaseMaps == nil {
		return geo.BaseMap{Provider: geo.BaseMapNone}.Effective(), "", nil
	}
	if !st.readAt.IsZero() && s.cfg.Now().Sub(st.readAt) < basemapTTL {
		return st.b, st.key, nil
	}
	b, err := s.cfg.BaseMaps.BaseMap(ctx)
	if err != nil && !st.readAt.IsZero() {
		// The database is down: keep drawing the base map last read,
		// and try again after basemapTTL.
		s.log.Warn("reading the base-map setting; using the last one read", "err", err)
		st.readAt = s.cfg.Now()
		return st.b, st.key, nil
	} else if err != nil {
		return geo.BaseMap{}, "", err
	}
	key, err := notify.OpenSecret(s.cfg.SecretKey, b.KeySealed)
	if err != nil {
		// A key sealed with another secret key: the base map cannot be
		// fetched until an admin enters the key again.
		s.log.Error("the base map's key does not open with this server's secret key", "err", err)
		key = ""
	}
	st.b, st.key, st.readAt = b.Effective(), key, s.cfg.Now()
	return st.b, st.key, nil
}

// basemapJSON is the body of GET and PUT /v1/basemap. Tiles are this
// server's URL templates, one per layer (labels drawn over base). The
// members after Bounds are the admin's only.
type basemapJSON struct {
	Provider    geo.BaseMapProvider `json:"provider"`
	CRS         string              `json:"crs"`
	Attribution string              `json:"attribution"`
	Layers      []basemapLayerJSON  `json:"layers"`
	MinZoom     int                 `json:"minzoom"`
	MaxZoom     int                 `json:"maxzoom"`
	TileSize    int                 `json:"tile_size"`
	Bounds      [4]float64          `json:"bounds"`

	URL       *string    `json:"url,omitempty"`
	KeyHint   *string    `json:"key_hint,omitempty"`
	Layer     *string    `json:"layer,omitempty"`
	File      *string    `json:"file,omitempty"`
	Files     []string   `json:"files,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	UpdatedBy *string    `json:"updated_by,omitempty"`
}

type basemapLayerJSON struct {
	ID    string   `json:"id"`
	Tiles []string `json:"tiles"`
}

// renderBaseMap answers with b as the caller's role may see it.
func (s *Server) renderBaseMap(c *gin.Context, b geo.BaseMap, status int) {
	snap := s.registry.Load()
	out := basemapJSON{Provider: b.Provider, CRS: b.CRS, Attribution: b.Attribution, Layers: []basemapLayerJSON{},
		MaxZoom: b.MaxZoom, TileSize: 256}
	if b.Provider == geo.BaseMapNone {
		out.Attribution = ""
	}
	for _, l := range b.Layers() {
		out.Layers = append(out.Layers, basemapLayerJSON{ID: l, Tiles: []string{"/basemap/" + l + "/{z}/{x}/{y}"}})
	}
	if snap != nil {
		box := basemapBox(snap, b)
		out.Bounds = [4]float64{box.Min[0], box.Min[1], box.Max[0], box.Max[1]}
	}
	if callerRole(c) == geo.AccessAdmin {
		out.URL, out.Layer, out.File, out.UpdatedBy = &b.URL, &b.Layer, &b.File, &b.UpdatedBy
		if b.KeyHint != "" {
			hint := "…" + b.KeyHint
			out.KeyHint = &hint
		}
		if !b.UpdatedAt.IsZero() {
			out.UpdatedAt = &b.UpdatedAt
		}
		out.Files = s.pmtilesFiles()
	}
	c.Header("Cache-Control", "private, no-cache")
	addVary(c.Writer.Header(), "Authorization")
	c.JSON(status, out)
}

// pmtilesFiles lists the .pmtiles files of the maps folder (nil without
// one).
func (s *Server) pmtilesFiles() []string {
	if s.cfg.MapsDir == "" {
		return nil
	}
	names, _ := filepath.Glob(filepath.Join(s.cfg.MapsDir, "*.pmtiles"))
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, filepath.Base(n))
	}
	return out
}

// getBaseMap answers GET /v1/basemap: the setting (none without a
// store), with the admin's members for admins only.
func (s *Server) getBaseMap(c *gin.Context) error {
	b, _, err := s.currentBaseMap(c.Request.Context())
	if err != nil {
		return err
	}
	s.renderBaseMap(c, b, http.StatusOK)
	return nil
}

// putBaseMap answers PUT /v1/basemap (admin): checks the setting (a
// PMTiles file must exist in the maps folder and hold raster tiles),
// seals the key and stores it; this replica uses it at once.
func (s *Server) putBaseMap(c *gin.Context, req *geo.BaseMapRequest) error {
	_, curKey, err := s.currentBaseMap(c.Request.Context())
	if err != nil {
		return err
	}
	var key string
	b, err := s.cfg.BaseMaps.SetBaseMap(c.Request.Context(), callerName(c), s.cfg.Now(), func(cur *geo.BaseMap) error {
		next, k, err := req.Check(*cur, curKey)
		if err != nil {
			return err
		}
		if next.Provider == geo.BaseMapPMTiles {
			if err := s.checkPMTiles(next.File); err != nil {
				return err
			}
		}
		if k != "" && len(s.cfg.SecretKey) == 0 {
			return problemf(TypeUnavailable, http.StatusServiceUnavailable, "this server has no secret key to seal the Tianditu key with")
		}
		sealed, err := notify.SealSecret(s.cfg.SecretKey, k)
		if err != nil {
			return fmt.Errorf("sealing the base map's key: %w", err)
		}
		next.KeySealed, key = sealed, k
		*cur = next
		return nil
	})
	if err != nil {
		return err
	}
	st := &s.basemap
	st.mu.Lock()
	st.b, st.key, st.readAt = b.Effective(), key, s.cfg.Now()
	st.mu.Unlock()
	s.renderBaseMap(c, st.b, http.StatusOK)
	return nil
}

// checkPMTiles opens name in the maps folder and checks it holds raster
// tiles the console can draw.
func (s *Server) checkPMTiles(name string) error {
	if s.cfg.MapsDir == "" {
		return geo.Invalidf("file", "this server has no maps folder: start it with a data folder")
	}
	bf, err := openBaseMapFile(filepath.Join(s.cfg.MapsDir, name))
	if err != nil {
		return geo.Invalidf("file", "%s", err)
	}
	defer bf.f.Close()
	switch t := bf.rd.Header().TileType; t {
	case pmtiles.TilePNG, pmtiles.TileJPEG, pmtiles.TileWebP:
	default:
		return geo.Invalidf("file", "%s holds %s tiles: the console draws raster tiles (png, jpeg, webp)", name, t.MediaType())
	}
	return nil
}

// openBaseMapFile opens a PMTiles archive, saying in the error what is
// wrong in words an admin can act on.
func openBaseMapFile(path string) (*basemapFile, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no file %s in the maps folder", filepath.Base(path))
		}
		return nil, fmt.Errorf("%s cannot be read", filepath.Base(path))
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", filepath.Base(path))
	}
	rd, err := pmtiles.Open(f, fi.Size(), pmtiles.DefaultLimits)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is not a PMTiles v3 archive wangge can read (%v); convert MBTiles with `pmtiles convert in.mbtiles out.pmtiles`", filepath.Base(path), err)
	}
	return &basemapFile{path: path, size: fi.Size(), modTime: fi.ModTime(), f: f, rd: rd}, nil
}

// pmtilesReader returns the open archive of the setting's file, opening it
// again when the file changed on disk.
func (s *Server) pmtilesReader(name string) (*pmtiles.Reader, error) {
	path := filepath.Join(s.cfg.MapsDir, name)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, problemf(TypeNotFound, http.StatusNotFound, "the base map's file %s is not in the maps folder", name)
	}
	st := &s.basemap
	st.mu.Lock()
	defer st.mu.Unlock()
	if bf := st.file; bf != nil && bf.path == path && bf.size == fi.Size() && bf.modTime.Equal(fi.ModTime()) {
		return bf.rd, nil
	}
	bf, err := openBaseMapFile(path)
	if err != nil {
		return nil, problemf(TypeUnavailable, http.StatusServiceUnavailable, "the base map's file: %v", err)
	}
	// The previous archive is left to the garbage collector's finalizer
	// rather than closed: a request may still be reading it.
	st.file = bf
	return bf.rd, nil
}

// basemapBox is the area base-map tiles are served for: the town's box,
// in the base map's system, widened by basemapMarginDeg.
func basemapBox(snap *geo.Snapshot, b geo.BaseMap) orb.Bound {
	box := snap.Whole().Outline.Bound()
	if b.CRS == "gcj02" {
		box = orb.Bound{Min: chinacrs.WGS84ToGCJ02(box.Min), Max: chinacrs.WGS84ToGCJ02(box.Max)}
	}
	return orb.Bound{Min: orb.Point{math.Max(box.Min[0]-basemapMarginDeg, -180), math.Max(box.Min[1]-basemapMarginDeg, -85)},
		Max: orb.Point{math.Min(box.Max[0]+basemapMarginDeg, 180), math.Min(box.Max[1]+basemapMarginDeg, 85)}}
}

// basemapTile answers GET /basemap/{layer}/{z}/{x}/{y}: 404 without a base
// map or for a layer it has not, 400 for a bad tile address, 204 outside
// the town's area or for a tile the file lacks, else the tile as the
// provider or the file has it. A provider's failure is 502 and says what
// it answered (never the key).
func (s *Server) basemapTile(c *gin.Context) error {
	b, key, err := s.currentBaseMap(c.Request.Context())
	if err != nil {
		return err
	}
	layer := c.Param("layer")
	if b.Provider == geo.BaseMapNone {
		return problemf(TypeNotFound, http.StatusNotFound, "no base map is set: an admin sets one with PUT /v1/basemap")
	}
	if !slices.Contains(b.Layers(), layer) {
		return problemf(TypeNotFound, http.StatusNotFound, "no base-map layer %q: the layers are %s", truncate(layer), strings.Join(b.Layers(), ", "))
	}
	z, err := tileCoord(c.Param("z"), "z", b.MaxZoom, -1)
	if err != nil {
		return err
	}
	x, err := tileCoord(c.Param("x"), "x", 1<<z-1, z)
	if err != nil {
		return err
	}
	y, err := tileCoord(c.Param("y"), "y", 1<<z-1, z)
	if err != nil {
		return err
	}
	if !maptile.New(uint32(x), uint32(y), maptile.Zoom(z)).Bound().Intersects(basemapBox(s.registry.Load(), b)) {
		c.Header("Cache-Control", basemapCacheControl)
		c.Status(http.StatusNoContent)
		return nil
	}
	if b.Provider == geo.BaseMapPMTiles {
		return s.pmtilesTile(c, b, z, x, y)
	}
	upstream := b.UpstreamURL(layer, key, z, x, y)
	ctx, cancel := context.WithTimeout(c.Request.Context(), basemapFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, upstream, nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", "wangge base-map proxy")
	res, err := basemapClient.Do(req)
	if err != nil {
		return problemf(TypeUnavailable, http.StatusBadGateway, "the %s base map did not answer (%s)", b.Provider, fetchFailure(err))
	}
	defer res.Body.Close()
	ctype := res.Header.Get("Content-Type")
	media, _, _ := mime.ParseMediaType(ctype)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(media, "image/") {
		io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
		return problemf(TypeUnavailable, http.StatusBadGateway, "the %s base map answered %d %q, not an image (a wrong or over-quota key answers so)",
			b.Provider, res.StatusCode, truncate(media))
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, basemapMaxTileBytes+1))
	if err != nil {
		return problemf(TypeUnavailable, http.StatusBadGateway, "the %s base map's tile broke off (%s)", b.Provider, fetchFailure(err))
	}
	if len(body) > basemapMaxTileBytes {
		return problemf(TypeUnavailable, http.StatusBadGateway, "the %s base map's tile exceeds %d bytes", b.Provider, basemapMaxTileBytes)
	}
	c.Header("Cache-Control", basemapCacheControl)
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Length", strconv.Itoa(len(body)))
	c.Data(http.StatusOK, media, body)
	return nil
}

// fetchFailure says why a fetch failed without the URL, which holds the
// key.
func fetchFailure(err error) string {
	var ue interface{ Timeout() bool }
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ue) && ue.Timeout():
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "connection failed"
}

// pmtilesTile answers a tile from the setting's PMTiles file: 204 when the
// file lacks it; a gzip-compressed tile is sent as such to clients that
// take gzip, decompressed for the others.
func (s *Server) pmtilesTile(c *gin.Context, b geo.BaseMap, z, x, y int) error {
	rd, err := s.pmtilesReader(b.File)
	if err != nil {
		return err
	}
	tile, err := rd.Tile(uint8(z), uint32(x), uint32(y))
	c.Header("Cache-Control", basemapCacheControl)
	if errors.Is(err, pmtiles.ErrNotFound) {
		c.Status(http.StatusNoContent)
		return nil
	} else if err != nil {
		s.log.Error("reading the base map's file", "file", b.File, "err", err)
		return problemf(TypeUnavailable, http.StatusServiceUnavailable, "the base map's file %s cannot be read at %d/%d/%d", b.File, z, x, y)
	}
	h := rd.Header()
	switch h.TileCompression {
	case pmtiles.CompressionGzip:
		if acceptsGzip(c.Request) {
			c.Header("Content-Encoding", "gzip")
			break
		}
		zr, err := gzip.NewReader(bytes.NewReader(tile))
		if err == nil {
			tile, err = io.ReadAll(io.LimitReader(zr, pmtiles.DefaultLimits.MaxTile+1))
		}
		if err != nil || int64(len(tile)) > pmtiles.DefaultLimits.MaxTile {
			return problemf(TypeUnavailable, http.StatusServiceUnavailable, "the base map's tile %d/%d/%d does not decompress", z, x, y)
		}
	case pmtiles.CompressionNone, pmtiles.CompressionUnknown:
	default:
		return problemf(TypeUnavailable, http.StatusServiceUnavailable, "the base map's file compresses tiles with brotli or zstd: convert it with gzip or none")
	}
	c.Header("Content-Length", strconv.Itoa(len(tile)))
	c.Data(http.StatusOK, h.TileType.MediaType(), tile)
	return nil
}
