// The map console's browser test, run by api/console_test.go against a real
// wangge server: Debian's Chromium, headless, driven by playwright-core.
//
//   node test/browser.mjs URL ARTIFACT_DIR PROBE_JSON
//
// PROBE_JSON, computed by the Go test from the demo snapshot:
//   {"grids": 230,
//    "click":  {"lon":…, "lat":…, "room_m":…, "code":"…", "leader":"…"},  a WGS-84 point room_m
//                                                    metres or more from the edges of grid code
//    "search": {"text":"lon,lat", "crs":"gcj02", "code":"…", "wgs":[lon,lat]},
//    "token": "wg_…",   a dispatcher's token
//    "incident": "…"}   the number of the incident at the search point
//
// It loads the console, waits for the map to be idle, and checks: no console
// error, page error, failed request or request to another origin; all grids
// loaded and 200+ drawn, with labels; a click inside a grid shows its leader;
// the search box finds the right grid in GCJ-02 and marks the point; bad
// input and a point outside coverage are shown as readable problems; the
// incidents and coverage layers, off at first, ask for a token, show a
// bogus one's 401, and with a dispatcher's token the incidents are drawn
// and a click shows one. It saves console-town.png, console.png and
// console-incidents.png in ARTIFACT_DIR.
//
// Chromium is /usr/bin/chromium (WANGGE_CHROMIUM overrides it); playwright
// never downloads a browser here. Exit status 0 means every check passed.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, artifacts, probeJSON] = process.argv.slice(2);
if (!url || !artifacts || !probeJSON) {
  console.error('usage: node test/browser.mjs URL ARTIFACT_DIR PROBE_JSON');
  process.exit(2);
}
const probe = JSON.parse(probeJSON);
const origin = new URL(url).origin;
const started = Date.now();
const deadline = setTimeout(() => {
  console.error('FAIL: the browser test took more than 90 s');
  process.exit(1);
}, 90_000);

const failures = [];
function check(ok, message) {
  if (!ok) failures.push(message);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${message}`);
  return ok;
}
function log(message) {
  console.log(`     ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

mkdirSync(artifacts, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.WANGGE_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--lang=zh-CN'],
});

// Problems seen by the page. allowed(entry) lets a phase expect some (the
// 4xx answers it provokes on purpose).
const seen = [];
let allowed = () => false;
function saw(kind, text) {
  const entry = { kind, text };
  if (!allowed(entry)) seen.push(entry);
}

try {
  // A fresh context is a fresh profile: no cache, no cookies.
  // reducedMotion: the console, through MapLibre, then jumps instead of
  // animating, which spares software WebGL many frames.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1,
    locale: 'zh-CN', reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') saw('console error', `${m.text()} ${m.location().url || ''}`);
    else if (m.type() === 'warning') log(`console warning: ${m.text()}`);
  });
  page.on('pageerror', (err) => saw('page error', err.stack || err.message));
  page.on('requestfailed', (r) => saw('failed request', `${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  page.on('response', (r) => {
    if (r.status() >= 400) saw(`HTTP ${r.status()}`, `${r.request().method()} ${r.url()}`);
  });
  // Offline: anything not from this server is refused, and counted.
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
    saw('request to another origin', u);
    return route.abort();
  });

  // 1. Load and wait for the map to be idle with every overlay.
  await page.goto(`${url}/`, { waitUntil: 'load' });
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: 30_000 });
  check(await page.evaluate(() => document.body.dataset.state) === 'ready', 'the console starts (body[data-state=ready])');
  await page.evaluate(() => new Promise((resolve) => {
    const m = window.wangge.map;
    if (m.loaded() && !m.isMoving()) resolve();
    else m.once('idle', resolve);
  }));
  log('map idle');

  const counts = await page.evaluate(() => ({
    loaded: window.wangge.gridCount(),
    source: window.wangge.sourceGridCount(),
    rendered: window.wangge.renderedGridCount(),
    labels: window.wangge.renderedLabelCount(),
    webgl: !!window.wangge.map.painter?.context?.gl,
  }));
  log(`grids: ${JSON.stringify(counts)}`);
  check(counts.loaded === probe.grids, `all ${probe.grids} grids are loaded from /v1/grids (got ${counts.loaded})`);
  check(counts.source >= 200, `200+ grids are in the map's source (got ${counts.source})`);
  check(counts.rendered >= 200, `200+ grids are drawn, by queryRenderedFeatures (got ${counts.rendered})`);
  check(counts.labels > 0, `grid labels are placed (got ${counts.labels})`);
  const caption = await page.textContent('#caption');
  check(/合成|synthetic/i.test(caption), `the caption says the boundaries are synthetic: ${caption.slice(0, 80)}…`);
  const layers = await page.$$eval('#layer-list input', (els) => els.map((e) => e.dataset.overlay));
  check(layers.includes('grids') && layers.includes('town'), `the layer list has the overlays (${layers.join(', ')})`);
  await page.screenshot({ path: join(artifacts, 'console-town.png') });
  log('console-town.png saved');

  // 2. A click inside a grid shows its leader. The point is room_m metres
  // from the grid's edges; the map zooms in only if that is under 8 pixels.
  const click = probe.click;
  const zoom = await page.evaluate(({ lon, lat, room_m: room }) => new Promise((resolve) => {
    const m = window.wangge.map;
    const metresPerPixel = (z) => (40075016.686 * Math.cos((lat * Math.PI) / 180)) / (512 * 2 ** z);
    if (room / metresPerPixel(m.getZoom()) >= 8) {
      resolve(m.getZoom());
      return;
    }
    m.once('idle', () => resolve(m.getZoom()));
    m.jumpTo({ center: [lon, lat], zoom: Math.log2((40075016.686 * Math.cos((lat * Math.PI) / 180) * 8) / (512 * room)) + 0.5 });
  }), click);
  const at = await page.evaluate(({ lon, lat }) => {
    const p = window.wangge.map.project([lon, lat]);
    const r = window.wangge.map.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, click);
  log(`clicking at (${at.x.toFixed(0)}, ${at.y.toFixed(0)}) at zoom ${zoom.toFixed(2)}`);
  await page.mouse.click(at.x, at.y);
  const grid = `#panel .grid[data-code="${click.code}"]`;
  await page.waitForSelector(`${grid} .leader`, { timeout: 10_000 }).catch(() => {});
  const leader = await page.textContent(`${grid} .leader`).catch(() => null);
  check(leader === click.leader, `a click at (${click.lon}, ${click.lat}) shows grid ${click.code} with leader ${click.leader} (got ${leader})`);
  check(await page.evaluate(() => window.wangge.selected()) === click.code, 'the clicked grid is highlighted');
  const orgs = await page.$$eval(`${grid} .orgs li`, (els) => els.length).catch(() => 0);
  check(orgs > 0, `the panel lists the grid's organizations (${orgs})`);

  log('click checked');

  // 3. The search box routes a GCJ-02 point to its grid.
  const search = probe.search;
  await page.fill('#search-input', search.text);
  await page.selectOption('#search-crs', search.crs);
  await page.click('#search button[type=submit]');
  await page.waitForSelector(`#panel .located + .grid[data-code="${search.code}"]`, { timeout: 10_000 }).catch(() => {});
  log('search answered');
  const found = await page.evaluate(() => ({
    selected: window.wangge.selected(),
    code: document.querySelector('#panel .grid .code')?.textContent,
    match: document.querySelector('#panel .located')?.dataset.match,
    point: window.wangge.located(),
  }));
  check(found.code === search.code && found.selected === search.code,
    `searching "${search.text}" in ${search.crs} shows and highlights grid ${search.code} (got ${found.code}, highlighted ${found.selected})`);
  check(found.match === 'inside', `the match kind is shown (${found.match})`);
  check(found.point && Math.abs(found.point[0] - search.wgs[0]) < 1e-7 && Math.abs(found.point[1] - search.wgs[1]) < 1e-7,
    `the point is marked where it is in WGS-84, ${search.wgs} (got ${found.point})`);
  await page.evaluate(() => new Promise((resolve) => {
    const m = window.wangge.map;
    if (!m.isMoving()) m.triggerRepaint();
    m.once('idle', resolve);
  }));
  log('map idle after the search');
  const highlighted = await page.evaluate((code) => {
    const m = window.wangge.map;
    const point = m.project(window.wangge.located());
    return {
      grid: new Set(m.queryRenderedFeatures({ layers: ['grid-selected-line'] }).map((f) => f.properties.code)).has(code),
      point: m.queryRenderedFeatures([point.x, point.y], { layers: ['located-point'] }).length === 1,
    };
  }, search.code);
  check(highlighted.grid, `grid ${search.code} is drawn highlighted (grid-selected-line)`);
  check(highlighted.point, 'the searched point is drawn (located-point)');
  await page.screenshot({ path: join(artifacts, 'console.png') });
  log('search checked, console.png saved');

  // Nothing went wrong so far.
  check(seen.length === 0, `no console errors, page errors or failed requests${seen.length ? `:\n${seen.map((e) => `       ${e.kind}: ${e.text}`).join('\n')}` : ''}`);
  seen.length = 0;

  // 4. Problems are shown readably. The 4xx answers are expected here,
  // and Chromium logs each as "Failed to load resource".
  allowed = (e) => (/^HTTP 40[04]$/.test(e.kind) && e.text.includes('/v1/locate?'))
    || (e.kind === 'console error' && /Failed to load resource: the server responded with a status of 40[04]/.test(e.text));
  const problem = async (text, crs) => {
    await page.fill('#search-input', text);
    await page.selectOption('#search-crs', crs);
    await page.evaluate(() => document.getElementById('panel-body').replaceChildren());
    await page.click('#search button[type=submit]');
    await page.waitForSelector('#panel .problem', { timeout: 5_000 }).catch(() => {});
    return (await page.textContent('#panel .problem').catch(() => '')) || '';
  };
  let text = await problem('200,27.2', 'wgs84');
  check(/lon: got 200/.test(text) && /400/.test(text), `an out-of-range longitude shows the server's 400 detail: ${text}`);
  text = await problem('116.4,39.9', 'wgs84');
  check(/outside every grid/.test(text) && /404/.test(text), `a point far away shows outside-coverage: ${text}`);
  text = await problem('27.2', 'wgs84');
  check(/lon,lat/.test(text), `a single number asks for lon,lat: ${text}`);
  check(await page.evaluate(() => window.wangge.selected()) === null, 'a failed search clears the highlight');
  check(seen.length === 0, `no unexpected errors while showing problems${seen.length ? `:\n${seen.map((e) => `       ${e.kind}: ${e.text}`).join('\n')}` : ''}`);
  seen.length = 0;

  // 5. The layers that need a token. They are off at first; switched on
  // without a token they say so, and ask for nothing.
  allowed = () => false;
  const overlay = (id) => page.evaluate((i) => window.wangge.overlay(i), id);
  const offAtFirst = await page.$$eval('#layer-list input', (els) => els.filter((e) => ['incidents', 'coverage'].includes(e.dataset.overlay)).map((e) => e.checked));
  check(offAtFirst.length === 2 && offAtFirst.every((c) => !c), `the incidents and coverage layers are listed, off (${offAtFirst})`);
  const requests = [];
  const onRequest = (r) => requests.push(r.url());
  page.on('request', onRequest);
  const message = async (selector) => {
    await page.evaluate(() => document.getElementById('panel-body').replaceChildren());
    if (selector) await page.click(selector);
    await page.waitForSelector('#panel .overlay-problem, #panel .problem', { timeout: 5_000 }).catch(() => {});
    return (await page.textContent('#panel .problem').catch(() => '')) || '';
  };
  for (const id of ['coverage', 'incidents']) {
    text = await message(`#layer-list input[data-overlay="${id}"]`);
    check(/需要令牌|token is needed/i.test(text) && (await overlay(id)).state === 'no-token', `switching ${id} on without a token asks for one: ${text}`);
  }
  check(!requests.some((u) => /\/v1\/(incidents|coverage)/.test(u)), 'without a token nothing is requested');
  page.off('request', onRequest);

  // A bogus token: the layers (still wanted) reload and say 401. Chromium
  // logs each 401 as "Failed to load resource".
  allowed = (e) => (/^HTTP 40[13]|^HTTP 503/.test(e.kind) && /\/v1\/(incidents|coverage)/.test(e.text))
    || (e.kind === 'console error' && /Failed to load resource: the server responded with a status of (401|403|503)/.test(e.text));
  await page.fill('#token-input', 'wg_bogus');
  await page.evaluate(() => document.getElementById('panel-body').replaceChildren());
  await page.click('#token-form button[type=submit]');
  await page.waitForFunction(() => ['incidents', 'coverage'].every((i) => window.wangge.overlay(i).state.startsWith('error')), null, { timeout: 10_000 }).catch(() => {});
  text = (await page.textContent('#panel .problem').catch(() => '')) || '';
  check(/401/.test(text) && (await overlay('incidents')).state === 'error-401' && (await overlay('coverage')).state === 'error-401',
    `a bogus token shows the 401 message: ${text}`);
  check(await page.evaluate(() => sessionStorage.getItem('wangge.token')) === 'wg_bogus' && !page.url().includes('wg_bogus'),
    'the token is kept in sessionStorage, not in the URL');

  // A dispatcher's token: the incidents are drawn (the coverage report
  // needs a plan store, which this server lacks: 503, shown).
  await page.fill('#token-input', probe.token);
  await page.click('#token-form button[type=submit]');
  await page.waitForFunction(() => window.wangge.overlay('incidents').state === 'loaded', null, { timeout: 10_000 }).catch(() => {});
  await page.evaluate(() => new Promise((resolve) => {
    const m = window.wangge.map;
    m.triggerRepaint();
    m.once('idle', resolve);
  }));
  const inc = await page.evaluate(() => ({ ...window.wangge.overlay('incidents'), drawn: window.wangge.renderedCount(['incident-point']) }));
  check(inc.state === 'loaded' && inc.count === 2 && inc.drawn >= 1, `with a dispatcher token the incidents are loaded and drawn (${JSON.stringify(inc)})`);
  const pt = await page.evaluate((wgs) => {
    const p = window.wangge.map.project(wgs);
    const r = window.wangge.map.getCanvas().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, probe.search.wgs);
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector('.maplibregl-popup .popup.incident', { timeout: 5_000 }).catch(() => {});
  const popup = (await page.textContent('.maplibregl-popup .popup.incident').catch(() => '')) || '';
  check(popup.includes(probe.incident) && /dispatched/.test(popup) && popup.includes('测试网格长'),
    `a click on an incident shows its popup: ${popup}`);
  await page.screenshot({ path: join(artifacts, 'console-incidents.png') });
  check(seen.length === 0, `no unexpected errors with the token layers${seen.length ? `:\n${seen.map((e) => `       ${e.kind}: ${e.text}`).join('\n')}` : ''}`);
  await context.close();
} catch (err) {
  check(false, `the test itself failed: ${err.stack || err}`);
} finally {
  await browser.close();
  clearTimeout(deadline);
}

log(`screenshots in ${artifacts}`);
if (failures.length) {
  console.log(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('all browser checks passed');
