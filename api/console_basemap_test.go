package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"wangge/geo"
	"wangge/geo/chinacrs"
)

// TestConsole_basemapAndPhone drives the console in headless Chromium
// over a base map served by a local tile server (tileFixture: its tiles
// carry a magenta square at a grid corner, where each datum puts it):
//
//   - WGS-84 (a Tianditu-like XYZ setting) and GCJ-02 (AMap): with the
//     grids hidden, the magenta square is found in a screenshot; with the
//     grids shown, the four grids that share that corner are all drawn
//     within 2 pixels of it. In GCJ-02 the square is far (more than 50
//     pixels) from where the unshifted corner would be drawn, so the check
//     has teeth. Every request stays on wangge's origin.
//   - 390×844 (a phone): the page does not scroll sideways
//     (scrollWidth <= innerWidth), nothing sticks out of the screen, the
//     zoom buttons and the layer list are in the lower half (the thumb's),
//     and a grid's panel covers less than half of the map.
//   - 1400×900: the same page as a desk screen.
//
// Screenshots basemap-wgs84.png, basemap-gcj02.png, phone-390x844.png,
// phone-390x844-panel.png and desktop-1400x900.png are kept in the
// artifacts folder the test prints.
func TestConsole_basemapAndPhone(t *testing.T) {
	t.Parallel()
	node, chromium := consoleBrowserTools(t)
	e := newBasemapEnv(t)
	srv := httptest.NewServer(e.srv)
	defer srv.Close()
	corner := orb.Point{112.01, 27.01} // shared by grids 001 and 002 of each village
	e.fixture.landmark = corner
	sharing := []string{"431321101201001", "431321101201002", "431321101202001", "431321101202002"}

	setBaseMap := func(body string) {
		t.Helper()
		if rec := e.raw(geo.AccessAdmin, http.MethodPut, "/v1/basemap", body); rec.Code != 200 {
			t.Fatalf("PUT /v1/basemap %s: %d %s", body, rec.Code, rec.Body)
		}
	}
	artifacts := consoleArtifacts(t)
	t.Logf("screenshots in %s", artifacts)
	run := func(mode string, probe any) map[string]any {
		t.Helper()
		p, _ := json.Marshal(probe)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "--input-type=module", "-", srv.URL, artifacts, mode, string(p))
		cmd.Dir = consoleDir
		cmd.Stdin = strings.NewReader(basemapBrowserScript)
		cmd.Env = append(cmd.Environ(), "WANGGE_CHROMIUM="+chromium)
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		t.Logf("node (%s):\n%s", mode, out)
		if err != nil {
			t.Fatalf("the browser script (%s) failed: %v", mode, err)
		}
		m := regexp.MustCompile(`(?m)^RESULT (\{.*\})$`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("%s: no RESULT", mode)
		}
		var r map[string]any
		if err := json.Unmarshal(m[1], &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	checkCorner := func(mode string, r map[string]any) {
		t.Helper()
		var got struct {
			Marker   [2]float64 `json:"marker"`
			Pixels   int        `json:"pixels"`
			Grids    []string   `json:"grids"`
			Unshift  [2]float64 `json:"unshifted"`
			Display  string     `json:"display"`
			Projects [2]float64 `json:"projected"`
		}
		b, _ := json.Marshal(r)
		json.Unmarshal(b, &got)
		if got.Pixels < 4 {
			t.Fatalf("%s: the magenta square is not in the screenshot (%d pixels)", mode, got.Pixels)
		}
		if !slices.Equal(got.Grids, sharing) {
			t.Errorf("%s: within 2 px of the base map's corner %v the grids drawn are %v, want %v", mode, got.Marker, got.Grids, sharing)
		}
		if d := dist2(got.Marker, got.Projects); d > 4 {
			t.Errorf("%s: the corner projects to %v, the base map draws it at %v: more than 2 px", mode, got.Projects, got.Marker)
		}
		if mode == "gcj02" {
			if d := dist2(got.Marker, got.Unshift); d < 50*50 {
				t.Errorf("gcj02: the unshifted corner %v is within 50 px of the base map's %v: the check would not see a missing shift", got.Unshift, got.Marker)
			}
		}
		if got.Display != mode {
			t.Errorf("%s: the map's coordinates are %s", mode, got.Display)
		}
	}

	setBaseMap(`{"provider":"xyz","url":"` + e.fixture.URL + `/wgs/{z}/{x}/{y}","attribution":"测试底图 fixture"}`)
	checkCorner("wgs84", run("wgs84", map[string]any{"center": corner, "corner": corner}))
	gcj := chinacrs.WGS84ToGCJ02(corner)
	setBaseMap(`{"provider":"amap","url":"` + e.fixture.URL + `/gcj/{z}/{x}/{y}"}`)
	checkCorner("gcj02", run("gcj02", map[string]any{"center": gcj, "corner": corner}))
	if n := len(e.fixture.requests); n < 4 {
		t.Errorf("the tile fixture served %d tiles", n)
	}

	r := run("phone", map[string]any{"click": centre(2)})
	for _, k := range []string{"scrollWidth", "innerWidth"} {
		if _, ok := r[k].(float64); !ok {
			t.Fatalf("phone: no %s in %v", k, r)
		}
	}
	if r["scrollWidth"].(float64) > r["innerWidth"].(float64) {
		t.Errorf("at 390 px the page scrolls sideways: scrollWidth %v > innerWidth %v", r["scrollWidth"], r["innerWidth"])
	}
	run("desktop", map[string]any{})
}

// dist2 is the squared distance between two pixels.
func dist2(a, b [2]float64) float64 { return (a[0]-b[0])*(a[0]-b[0]) + (a[1]-b[1])*(a[1]-b[1]) }

// basemapBrowserScript is TestConsole_basemapAndPhone's browser part, run
// by Node.js from api/console with the script on stdin:
//
//	node --input-type=module - URL ARTIFACT_DIR MODE PROBE_JSON
//
// MODE wgs84 or gcj02: a 1000×700 window at zoom 16 centred on
// probe.center, a screenshot with the grids hidden, the magenta square's
// centre found in it (the screenshot is decoded in the page: a data: image
// drawn on a canvas), then the grids drawn within 2 px of it, the pixel
// wangge.project puts probe.corner at, and the pixel the unshifted corner
// would be at. MODE phone: 390×844 with touch, the layout checks, a click
// at probe.click opening a grid's panel. MODE desktop: 1400×900. It prints
// one line per check and RESULT {…}; exit 0 when every check passed.
const basemapBrowserScript = `
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, artifacts, mode, probeJSON] = process.argv.slice(2);
const probe = JSON.parse(probeJSON);
const origin = new URL(url).origin;
const deadline = setTimeout(() => { console.error('FAIL: took more than 120 s'); process.exit(1); }, 120000);
const failures = [];
function check(ok, message) {
  if (!ok) failures.push(message);
  console.log((ok ? 'ok   ' : 'FAIL ') + message);
  return ok;
}
const seen = [];

mkdirSync(artifacts, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.WANGGE_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--lang=zh-CN'],
});
const result = { mode };
try {
  const phone = mode === 'phone';
  const viewport = phone ? { width: 390, height: 844 } : mode === 'desktop' ? { width: 1400, height: 900 } : { width: 1000, height: 700 };
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, isMobile: phone, hasTouch: phone,
    locale: 'zh-CN', reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') seen.push('console error: ' + m.text()); });
  page.on('pageerror', (err) => seen.push('page error: ' + (err.stack || err.message)));
  page.on('response', (r) => { if (r.status() >= 400) seen.push('HTTP ' + r.status() + ' ' + r.url()); });
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    seen.push('request to another origin: ' + u);
    return route.abort();
  });
  await page.goto(url + '/', { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.state === 'ready' || document.body.dataset.state === 'error', null, { timeout: 60000 });
  check(await page.evaluate(() => document.body.dataset.state) === 'ready', 'the console is ready');

  if (mode === 'wgs84' || mode === 'gcj02') {
    await page.evaluate(async (center) => {
      const map = window.wangge.map;
      map.jumpTo({ center, zoom: 16 });
      await map.once('idle');
    }, probe.center);
    const hide = (v) => page.evaluate(async (v) => {
      const map = window.wangge.map;
      for (const id of ['grid-fill', 'grid-line', 'grid-label', 'town-outline']) map.setLayoutProperty(id, 'visibility', v);
      map.triggerRepaint();
      await map.once('idle');
    }, v);
    await hide('none');
    const png = await page.locator('#map').screenshot();
    writeFileSync(join(artifacts, 'basemap-' + mode + '-bare.png'), png);
    const found = await page.evaluate(async (b64) => {
      const img = new Image();
      img.src = 'data:image/png;base64,' + b64;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width; c.height = img.height;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const d = g.getImageData(0, 0, c.width, c.height).data;
      let sx = 0, sy = 0, n = 0;
      for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
        const i = (y * c.width + x) * 4;
        if (d[i] > 200 && d[i + 1] < 80 && d[i + 2] > 200) { sx += x; sy += y; n++; }
      }
      return n ? { x: sx / n + 0.5, y: sy / n + 0.5, n } : { n: 0 };
    }, png.toString('base64'));
    await hide('visible');
    result.pixels = found.n;
    if (check(found.n > 0, 'the base map draws the magenta corner (' + found.n + ' px)')) {
      result.marker = [found.x, found.y];
      result.grids = await page.evaluate(([x, y]) => window.wangge.gridsNear(x, y, 2), [found.x, found.y]);
      const p = await page.evaluate((c) => window.wangge.project(c), probe.corner);
      result.projected = [p.x, p.y];
      const u = await page.evaluate((c) => window.wangge.map.project(c), probe.corner);
      result.unshifted = [u.x, u.y];
      result.display = await page.evaluate(() => window.wangge.display());
      check(result.grids.length === 4, 'four grids drawn within 2 px of the corner: ' + result.grids.join(', '));
    }
    await page.screenshot({ path: join(artifacts, 'basemap-' + mode + '.png') });
  }

  if (phone) {
    await page.evaluate(async () => { const map = window.wangge.map; map.triggerRepaint(); await map.once('idle'); });
    const layout = await page.evaluate(() => {
      const de = document.documentElement;
      const out = { scrollWidth: de.scrollWidth, innerWidth: window.innerWidth, innerHeight: window.innerHeight, wide: [] };
      for (const el of document.querySelectorAll('header *, #layers, #caption, .maplibregl-ctrl')) {
        const r = el.getBoundingClientRect();
        if (r.width && (r.right > window.innerWidth + 0.5 || r.left < -0.5)) out.wide.push(el.id || el.className || el.tagName);
      }
      const zoom = document.querySelector('.maplibregl-ctrl-zoom-in').getBoundingClientRect();
      out.zoomTop = zoom.top; out.zoomHeight = zoom.height;
      const layers = document.querySelector('#layers').getBoundingClientRect();
      out.layersTop = layers.top;
      out.layersOpen = document.querySelector('#layers').open;
      out.minButton = Math.min(...[...document.querySelectorAll('header button, #search input, #search select')]
        .map((b) => b.getBoundingClientRect().height));
      return out;
    });
    Object.assign(result, layout);
    check(layout.scrollWidth <= layout.innerWidth, 'no sideways scrolling at 390 px: scrollWidth ' + layout.scrollWidth + ' <= innerWidth ' + layout.innerWidth);
    check(layout.wide.length === 0, 'nothing sticks out of the screen' + (layout.wide.length ? ': ' + layout.wide.join(', ') : ''));
    check(layout.zoomTop > layout.innerHeight / 2 && layout.zoomHeight >= 40, 'the zoom buttons are in the lower half, 40 px tall (' + layout.zoomTop + ', ' + layout.zoomHeight + ')');
    check(layout.layersTop > layout.innerHeight / 2 && !layout.layersOpen, 'the layer list is folded in the lower half');
    check(layout.minButton >= 40, 'header controls are at least 40 px tall (' + layout.minButton + ')');
    const label = await page.evaluate(() => document.querySelector('#desk-toggle').textContent.trim());
    check(/^[\u4e00-\u9fff]/.test(label), 'labels start in Chinese: ' + label);
    await page.screenshot({ path: join(artifacts, 'phone-390x844.png') });
    const at = await page.evaluate((c) => window.wangge.project(c), probe.click);
    await page.touchscreen.tap(at.x, at.y + (await page.locator('#map').boundingBox()).y);
    await page.waitForFunction(() => !document.querySelector('#panel').hidden && document.querySelector('#panel .grid'), null, { timeout: 10000 });
    const cover = await page.evaluate(() => {
      const p = document.querySelector('#panel').getBoundingClientRect();
      const m = document.querySelector('#map').getBoundingClientRect();
      return { panel: p.height, map: m.height, right: p.right, scrollWidth: document.documentElement.scrollWidth };
    });
    check(cover.panel < cover.map / 2, 'the grid panel covers less than half of the map (' + cover.panel + ' of ' + cover.map + ' px)');
    check(cover.scrollWidth <= layout.innerWidth, 'still no sideways scrolling with the panel open');
    await page.screenshot({ path: join(artifacts, 'phone-390x844-panel.png') });
  }
  if (mode === 'desktop') {
    await page.evaluate(async () => { const map = window.wangge.map; map.triggerRepaint(); await map.once('idle'); });
    const sw = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    check(sw, 'no sideways scrolling at 1400 px');
    await page.screenshot({ path: join(artifacts, 'desktop-1400x900.png') });
  }
  check(seen.length === 0, 'no errors and no request to another origin' + (seen.length ? ':\n  ' + seen.join('\n  ') : ''));
} catch (err) {
  check(false, 'the script ran: ' + (err.stack || err.message));
} finally {
  await browser.close();
  clearTimeout(deadline);
}
console.log('RESULT ' + JSON.stringify(result));
process.exit(failures.length ? 1 : 0);
`
