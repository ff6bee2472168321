package geo

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A base map is the raster map the console draws under the grids: roads,
// rivers and houses, so that a dispatcher sees where a grid is on the
// ground. An admin picks it at run time; wangge serves its tiles itself
// (fetching them from the provider, or reading an offline PMTiles file),
// so the page stays on its own origin and a provider's key never reaches
// a browser.

// BaseMapProvider names where base-map tiles come from.
type BaseMapProvider string

// The providers. Their tiles are Web Mercator XYZ (y down) raster tiles,
// 256 pixels: Tianditu's "_w" WMTS layers (CGCS2000, which WGS-84 agrees
// with to centimetres), AMap's and Tencent's road maps (GCJ-02), any other
// XYZ template, or a PMTiles file of raster tiles in the data folder.
const (
	BaseMapNone     BaseMapProvider = "none"
	BaseMapTianditu BaseMapProvider = "tianditu"
	BaseMapAMap     BaseMapProvider = "amap"
	BaseMapTencent  BaseMapProvider = "tencent"
	BaseMapXYZ      BaseMapProvider = "xyz"
	BaseMapPMTiles  BaseMapProvider = "pmtiles"
)

// BaseMapProviders lists the providers in the order documentation gives.
var BaseMapProviders = []BaseMapProvider{BaseMapNone, BaseMapTianditu, BaseMapAMap, BaseMapTencent, BaseMapXYZ, BaseMapPMTiles}

// Default upstream templates. {z} {x} {y} are the tile, {-y} the row
// counted from the south (Tencent numbers rows as TMS does), {layer} the
// Tianditu layer and {key} the Tianditu key.
const (
	TiandituURL = "https://t0.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}" +
		"&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={key}"
	AMapURL    = "https://webrd01.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
	TencentURL = "https://rt0.map.gtimg.com/tile?z={z}&x={x}&y={-y}&styleid=1000&scene=0"
)

// TiandituLayers are Tianditu's base layers and the label (注记) layer
// drawn over each.
var TiandituLayers = map[string]string{"vec": "cva", "img": "cia", "ter": "cta"}

// BaseMap is the base-map setting. The zero value (Provider "") reads as
// none.
type BaseMap struct {
	Provider BaseMapProvider
	// URL is the upstream tile template (tianditu, amap, tencent: empty
	// for the provider's own; xyz: required).
	URL string
	// KeySealed is the Tianditu key as stored: sealed with the server's
	// secret key (notify.SealSecret), never in clear in the database.
	KeySealed string
	// KeyHint is the key's last four characters, to tell keys apart in
	// the admin's view without showing them.
	KeyHint string
	// Layer is the Tianditu layer: vec (roads), img (imagery) or ter
	// (terrain); its labels are drawn over it.
	Layer string
	// File is the PMTiles file's name in the server's maps folder.
	File string
	// CRS is the system the tiles are drawn in: wgs84 (Tianditu, most
	// offline files) or gcj02 (AMap, Tencent); the console shifts its
	// layers to match.
	CRS         string
	Attribution string
	// MaxZoom is the deepest zoom the provider has tiles for (1..20);
	// the map overzooms past it.
	MaxZoom   int
	UpdatedAt time.Time
	UpdatedBy string
}

// Effective returns b with the provider's defaults filled in: the
// template, the Tianditu layer, the attribution and the maximum zoom.
func (b BaseMap) Effective() BaseMap {
	if b.Provider == "" {
		b.Provider = BaseMapNone
	}
	switch b.Provider {
	case BaseMapTianditu:
		b.URL = cmpOr(b.URL, TiandituURL)
		b.Layer = cmpOr(b.Layer, "vec")
		b.Attribution = cmpOr(b.Attribution, "© 天地图 Tianditu")
	case BaseMapAMap:
		b.URL = cmpOr(b.URL, AMapURL)
		b.Attribution = cmpOr(b.Attribution, "© 高德地图 AMap")
	case BaseMapTencent:
		b.URL = cmpOr(b.URL, TencentURL)
		b.Attribution = cmpOr(b.Attribution, "© 腾讯地图 Tencent")
	}
	if b.MaxZoom == 0 {
		b.MaxZoom = 18
	}
	b.CRS = cmpOr(b.CRS, "wgs84")
	return b
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Layers returns the tile layers of b: "base", and "labels" for
// Tianditu; none for BaseMapNone.
func (b BaseMap) Layers() []string {
	switch b.Effective().Provider {
	case BaseMapNone:
		return nil
	case BaseMapTianditu:
		return []string{"base", "labels"}
	}
	return []string{"base"}
}

// UpstreamURL returns the address of tile z/x/y of layer ("base" or
// "labels") at the provider, with key (the Tianditu key, in clear). It is
// "" for a provider without upstream (none, pmtiles) or an unknown layer.
func (b BaseMap) UpstreamURL(layer string, key string, z, x, y int) string {
	b = b.Effective()
	if b.Provider == BaseMapNone || b.Provider == BaseMapPMTiles || !contains(b.Layers(), layer) {
		return ""
	}
	tl := b.Layer
	if layer == "labels" {
		tl = TiandituLayers[b.Layer]
	}
	r := strings.NewReplacer("{z}", strconv.Itoa(z), "{x}", strconv.Itoa(x), "{y}", strconv.Itoa(y), "{-y}", strconv.Itoa(1<<z-1-y),
		"{layer}", tl, "{key}", url.QueryEscape(key))
	return r.Replace(b.URL)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// BaseMapRequest is the body of PUT /v1/basemap: the whole setting. Key
// omitted keeps the stored key (an admin changing the layer need not type
// it again); "" removes it.
type BaseMapRequest struct {
	Provider    string  `json:"provider"`
	URL         string  `json:"url"`
	Key         *string `json:"key"`
	Layer       string  `json:"layer"`
	File        string  `json:"file"`
	CRS         string  `json:"crs"`
	Attribution string  `json:"attribution"`
	MaxZoom     int     `json:"max_zoom"`
}

var (
	// tiandituKey: Tianditu issues 32 hexadecimal digits; other
	// letters and digits are allowed for keys of other formats.
	tiandituKey = regexp.MustCompile(`^[A-Za-z0-9]{16,64}$`)
	// pmtilesFile is a plain file name: no folder, no dot first.
	pmtilesFile = regexp.MustCompile(`^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}\.pmtiles$`)
)

// Check validates r and returns the setting it asks for and the key in
// clear ("" for none; the stored key when r omits it and the provider
// stays Tianditu). Every wrong member is reported at once (EINVALID). The
// caller seals the key and checks that the file exists.
func (r BaseMapRequest) Check(cur BaseMap, curKey string) (BaseMap, string, error) {
	var ps problemList
	b := BaseMap{Provider: BaseMapProvider(r.Provider), URL: strings.TrimSpace(r.URL), Layer: r.Layer, File: r.File,
		CRS: r.CRS, Attribution: strings.TrimSpace(r.Attribution), MaxZoom: r.MaxZoom}
	if !contains(providerNames(), r.Provider) {
		ps.add("provider", "got %q, want one of %s", r.Provider, strings.Join(providerNames(), ", "))
	}
	key := ""
	if r.Key != nil {
		key = strings.TrimSpace(*r.Key)
	} else if cur.Effective().Provider == BaseMapTianditu && b.Provider == BaseMapTianditu {
		key = curKey
	}
	switch b.Provider {
	case BaseMapTianditu:
		if key == "" {
			ps.add("key", "a Tianditu key (tk) is required: apply for a 服务端 (server) key at console.tianditu.gov.cn")
		} else if !tiandituKey.MatchString(key) {
			ps.add("key", "want 16 to 64 letters and digits (Tianditu keys are 32 hexadecimal digits)")
		}
		if _, ok := TiandituLayers[cmpOr(b.Layer, "vec")]; !ok {
			ps.add("layer", "got %q, want vec, img or ter", b.Layer)
		}
	default:
		if r.Key != nil && key != "" {
			ps.add("key", "only the tianditu provider takes a key")
		}
		if b.Layer != "" {
			ps.add("layer", "only the tianditu provider takes a layer")
		}
		key = ""
	}
	switch b.Provider {
	case BaseMapXYZ:
		if b.URL == "" {
			ps.add("url", "the xyz provider needs a tile template such as https://tiles.example.cn/{z}/{x}/{y}.png")
		}
	case BaseMapNone, BaseMapPMTiles:
		if b.URL != "" {
			ps.add("url", "the %s provider takes no url", b.Provider)
		}
	}
	if b.URL != "" {
		if msg := checkTemplate(b.URL, b.Provider == BaseMapTianditu); msg != "" {
			ps.add("url", "%s", msg)
		}
	}
	if b.Provider == BaseMapPMTiles {
		if !pmtilesFile.MatchString(b.File) {
			ps.add("file", "got %q, want the name of a .pmtiles file in the maps folder (letters, digits, _ - .; no folders)", b.File)
		}
	} else if b.File != "" {
		ps.add("file", "only the pmtiles provider takes a file")
	}
	switch b.Provider {
	case BaseMapAMap, BaseMapTencent:
		if b.CRS != "" && b.CRS != "gcj02" {
			ps.add("crs", "%s tiles are GCJ-02: leave crs out or give gcj02", b.Provider)
		}
		b.CRS = "gcj02"
	case BaseMapTianditu:
		if b.CRS != "" && b.CRS != "wgs84" {
			ps.add("crs", "Tianditu tiles are CGCS2000 (wgs84 here): leave crs out or give wgs84")
		}
		b.CRS = "wgs84"
	case BaseMapNone:
		if b.CRS != "" {
			ps.add("crs", "no base map: leave crs out")
		}
	default:
		if b.CRS != "" && b.CRS != "wgs84" && b.CRS != "gcj02" {
			ps.add("crs", "got %q, want wgs84 or gcj02 (BD-09 tiles are not Web Mercator and cannot be drawn)", b.CRS)
		}
	}
	if n := utf8.RuneCountInString(b.Attribution); n > 200 || !utf8.ValidString(b.Attribution) || strings.ContainsAny(b.Attribution, "\x00<>") {
		ps.add("attribution", "want at most 200 characters of plain text (no < or >)")
	}
	if b.MaxZoom != 0 && (b.MaxZoom < 1 || b.MaxZoom > 20) {
		ps.add("max_zoom", "got %d, want 1..20", b.MaxZoom)
	}
	if err := ps.err(); err != nil {
		return BaseMap{}, "", err
	}
	if len(key) >= 4 {
		b.KeyHint = key[len(key)-4:]
	}
	return b, key, nil
}

func providerNames() []string {
	out := make([]string, len(BaseMapProviders))
	for i, p := range BaseMapProviders {
		out[i] = string(p)
	}
	return out
}

// checkTemplate returns why u is not a usable tile template, or "".
func checkTemplate(u string, tianditu bool) string {
	if len(u) > 1000 {
		return "longer than 1000 characters"
	}
	parsed, err := url.Parse(strings.NewReplacer("{", "", "}", "").Replace(u))
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return "want an absolute http or https address"
	}
	if !strings.Contains(u, "{z}") || !strings.Contains(u, "{x}") || !strings.Contains(u, "{y}") && !strings.Contains(u, "{-y}") {
		return "want a template with {z}, {x} and {y} (or {-y} for rows counted from the south)"
	}
	if tianditu && !strings.Contains(u, "{key}") {
		return "a Tianditu template needs {key} where the tk goes"
	}
	return ""
}

// BaseMapStore keeps the base-map setting. Every method returns
// EUNAVAILABLE when the database cannot be reached.
type BaseMapStore interface {
	// BaseMap returns the setting (Provider none until an admin sets one).
	BaseMap(ctx context.Context) (BaseMap, error)
	// SetBaseMap locks the setting, lets change edit it (an error writes
	// nothing), stores it with an audit entry, and returns it.
	SetBaseMap(ctx context.Context, actor string, at time.Time, change func(*BaseMap) error) (BaseMap, error)
}
