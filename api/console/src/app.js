// The wangge map console: the grids of the town coloured by village and
// labelled, a click shows a grid's people and organizations, and a search
// box routes a lon,lat (WGS-84, GCJ-02 or BD-09) through GET /v1/locate.
//
// Everything comes from this server: MapLibre GL JS is served beside this
// file, the map has no base map, and labels are drawn by MapLibre from the
// browser's own fonts (no glyphs URL in the style), so the page works
// offline.
//
// The map is a list of overlays (OVERLAYS below). An overlay is one
// function returning {id, title, layers, load}: load fetches its data and
// adds its sources and style layers, layers names them for the layer list.
// Adding a layer to the console, such as coverage problems or incidents, is
// writing one such function and listing it in OVERLAYS.

import { AttributionControl, Map as MapLibreMap, NavigationControl, ScaleControl } from './maplibre-gl.mjs';
import { toWGS84 } from './crs.js';
import { area, bbox, labelPoint } from './geometry.js';

// FONTS is the CSS font stack labels are drawn with: common Chinese fonts of
// Windows, macOS and Linux, then the browser's default sans-serif.
const FONTS = ['Microsoft YaHei', 'PingFang SC', 'Noto Sans CJK SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei'];

const ORGANIZATION_KINDS = {
  red_white_council: '红白喜事理事会',
  health_committee: '爱卫会',
  left_behind_children: '关心留守儿童工作委员会',
  mediation: '纠纷调解会',
  party_group: '党员小组',
  other: '其他',
};

const MATCHES = {
  inside: '在网格内 inside',
  boundary: '在网格边界上 on a boundary',
  nearest: '网格外，就近归属 nearest grid',
};

const PROBLEM_HINTS = {
  '/problems/invalid-parameter': '输入有误',
  '/problems/outside-coverage': '不在本镇网格覆盖范围内',
  '/problems/not-found': '未找到',
  '/problems/not-ready': '服务尚未就绪',
};

// ---- HTTP ---------------------------------------------------------------

// ProblemError carries an RFC 9457 problem (or a network failure dressed
// as one) to the panel.
class ProblemError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function getJSON(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json, application/geo+json, application/problem+json' } });
  } catch (err) {
    throw new ProblemError(0, { title: '无法连接服务器 Network error', detail: `${path}: ${err.message}` });
  }
  const type = res.headers.get('Content-Type') || '';
  if (!res.ok) {
    const problem = type.includes('json') ? await res.json().catch(() => ({})) : {};
    throw new ProblemError(res.status, { title: res.statusText, ...problem });
  }
  return res.json();
}

// ---- Small DOM helpers --------------------------------------------------

// h builds an element; children are nodes or text (never parsed as HTML).
function h(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

// villageColor is a stable colour for a village code: the hue, saturation
// and lightness come from an FNV-1a hash of the code, so a village keeps its
// colour whatever the order or number of villages.
export function villageColor(code) {
  let x = 0x811c9dc5;
  for (let i = 0; i < code.length; i++) {
    x ^= code.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  const hue = x % 360;
  const sat = 45 + ((x >>> 9) % 30);
  const light = 58 + ((x >>> 17) % 16);
  return `hsl(${hue}, ${sat}%, ${light}%)`;
}

// ---- State shared by the overlays and the panel -------------------------

const state = {
  map: null,
  town: null,
  villages: [],
  grids: new Map(), // code → GeoJSON feature
  selected: null,
  located: null, // [lon, lat] of the searched point, WGS-84
  request: 0, // the panel shows the answer of the latest request only
};

// ---- Overlays -------------------------------------------------------------

// gridsOverlay: the grids from GET /v1/grids, filled by village, outlined,
// labelled at an interior point, with the selected grid highlighted.
function gridsOverlay() {
  return {
    id: 'grids',
    title: '网格 Grids',
    layers: ['grid-fill', 'grid-line', 'grid-selected-fill', 'grid-selected-line', 'grid-label'],
    async load({ map, villages }) {
      const fc = await getJSON('/v1/grids');
      const labels = [];
      for (const f of fc.features) {
        const p = f.properties;
        state.grids.set(p.code, f);
        const at = labelPoint(f.geometry);
        if (!at) continue;
        const short = p.village_name && p.name.startsWith(p.village_name) && p.name.length > p.village_name.length
          ? `${p.village_name}\n${p.name.slice(p.village_name.length)}` : p.name;
        labels.push({ type: 'Feature', geometry: { type: 'Point', coordinates: at },
          properties: { code: p.code, label: short, rank: -area(f.geometry) } });
      }
      map.addSource('grids', { type: 'geojson', data: fc, promoteId: 'code' });
      map.addSource('grid-labels', { type: 'geojson', data: { type: 'FeatureCollection', features: labels } });

      const codes = villages.map((v) => v.code);
      const fill = codes.length
        ? ['match', ['get', 'village_code'], ...codes.flatMap((c) => [c, villageColor(c)]), '#c8c8c8']
        : '#c8c8c8';
      const none = ['==', ['get', 'code'], ''];
      map.addLayer({ id: 'grid-fill', type: 'fill', source: 'grids',
        paint: { 'fill-color': fill, 'fill-opacity': 0.62 } });
      map.addLayer({ id: 'grid-line', type: 'line', source: 'grids',
        paint: { 'line-color': '#ffffff', 'line-opacity': 0.95,
          'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.5, 14, 1.2, 18, 2.5] } });
      map.addLayer({ id: 'grid-selected-fill', type: 'fill', source: 'grids', filter: none,
        paint: { 'fill-color': '#fde047', 'fill-opacity': 0.55 } });
      map.addLayer({ id: 'grid-selected-line', type: 'line', source: 'grids', filter: none,
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#c2410c', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 2, 16, 4] } });
      map.addLayer({ id: 'grid-label', type: 'symbol', source: 'grid-labels', minzoom: 11,
        layout: {
          'text-field': ['get', 'label'],
          'text-font': FONTS,
          'text-size': ['interpolate', ['linear'], ['zoom'], 11, 10, 14, 12, 17, 15],
          'text-line-height': 1.15,
          'text-max-width': 12,
          'text-padding': 3,
          'symbol-sort-key': ['get', 'rank'],
        },
        paint: { 'text-color': '#1c2620', 'text-halo-color': 'rgba(255,255,255,0.92)', 'text-halo-width': 1.4 } });

      map.on('click', 'grid-fill', (e) => {
        const f = e.features && e.features[0];
        if (f) showGrid(f.properties.code);
      });
      map.on('mouseenter', 'grid-fill', () => { map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', 'grid-fill', () => { map.getCanvas().style.cursor = ''; });
    },
  };
}

// townOverlay: the town's outline, from /console/town.json.
function townOverlay() {
  return {
    id: 'town',
    title: '镇界 Town outline',
    layers: ['town-outline'],
    async load({ map, town }) {
      if (!town.outline) return;
      map.addSource('town', { type: 'geojson', data: { type: 'Feature', geometry: town.outline, properties: {} } });
      map.addLayer({ id: 'town-outline', type: 'line', source: 'town',
        paint: { 'line-color': '#3b3b3b', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1.5, 16, 3] } });
    },
  };
}

// OVERLAYS are drawn in this order. Coverage problems and incidents are to
// be added here, one function each, when their endpoints exist.
const OVERLAYS = [gridsOverlay, townOverlay];

async function addOverlay(ctx, overlay) {
  await overlay.load(ctx);
  const box = h('input', { type: 'checkbox', checked: true, 'data-overlay': overlay.id,
    onchange: (e) => {
      for (const id of overlay.layers) {
        if (ctx.map.getLayer(id)) ctx.map.setLayoutProperty(id, 'visibility', e.target.checked ? 'visible' : 'none');
      }
    } });
  document.getElementById('layer-list').append(h('li', {}, h('label', {}, box, ' ', overlay.title)));
}

// ---- Selection and the panel ----------------------------------------------

function select(code) {
  const map = state.map;
  state.selected = code;
  const filter = ['==', ['get', 'code'], code || ''];
  map.setFilter('grid-selected-fill', filter);
  map.setFilter('grid-selected-line', filter);
  document.body.dataset.selected = code || '';
}

// fitGrid shows a grid with its neighbours around it, beside the panel.
function fitGrid(code) {
  const f = state.grids.get(code);
  if (!f) return;
  const [w, s, e, n] = bbox(f.geometry);
  const dx = (e - w) * 0.8;
  const dy = (n - s) * 0.8;
  const panel = document.getElementById('panel');
  const left = panel.hidden ? 40 : Math.min(panel.offsetWidth + 40, window.innerWidth / 2);
  state.map.fitBounds([[w - dx, s - dy], [e + dx, n + dy]], { padding: { top: 40, bottom: 40, left, right: 40 }, maxZoom: 16 });
}

function openPanel(...content) {
  const panel = document.getElementById('panel');
  document.getElementById('panel-body').replaceChildren(...content);
  panel.hidden = false;
}

// showLocated marks the searched point (WGS-84) with a ring, or clears the
// mark. A ring in the map's own layers, rather than an HTML marker pin,
// leaves the grid's label, often right there, readable.
function showLocated(at) {
  const map = state.map;
  state.located = at;
  const data = { type: 'FeatureCollection', features: at ? [{ type: 'Feature', geometry: { type: 'Point', coordinates: at }, properties: {} }] : [] };
  if (map.getSource('located')) {
    map.getSource('located').setData(data);
    return;
  }
  map.addSource('located', { type: 'geojson', data });
  map.addLayer({ id: 'located-point', type: 'circle', source: 'located',
    paint: { 'circle-radius': 9, 'circle-opacity': 0, 'circle-stroke-color': '#b91c1c', 'circle-stroke-width': 3 } });
}

// clearLocated removes the highlight and the searched point's mark.
function clearLocated() {
  select(null);
  if (state.located) showLocated(null);
}

function closePanel() {
  document.getElementById('panel').hidden = true;
  clearLocated();
}

// gridSection renders a grid: from GET /v1/grids/{code} (village_name, …)
// or from GET /v1/locate (village {code, name}, …).
function gridSection(g) {
  const village = g.village ? g.village : { code: g.village_code, name: g.village_name };
  const district = g.district ? g.district : g.district_name ? { code: g.district_code, name: g.district_name } : null;
  const orgs = g.organizations || [];
  const row = (term, cls, ...value) => [h('dt', {}, term), h('dd', { class: cls }, ...value)];
  return h('section', { class: 'grid', 'data-code': g.code },
    h('h2', { class: 'grid-name' }, g.name),
    h('dl', {},
      row('网格编码 Code', 'code', g.code),
      row('村(社区) Village', 'village', village.name || '', ' ', h('span', { class: 'muted' }, village.code)),
      district ? row('片区 District', 'district', district.name) : null,
      row('网格长 Leader', 'leader', g.leader ? g.leader.name : '—'),
      row('副网格长 Deputy', 'deputy', g.deputy ? g.deputy.name : '—'),
      g.households !== undefined ? row('户数 / 人口 Households / people', 'households', `${g.households} 户 / ${g.population} 人`) : null),
    h('h3', {}, '社会组织 Organizations'),
    orgs.length
      ? h('ul', { class: 'orgs' }, orgs.map((o) => {
        const kind = ORGANIZATION_KINDS[o.kind] || o.kind;
        return h('li', { 'data-kind': o.kind }, o.name, o.name.includes(kind) ? null : h('span', { class: 'muted' }, ` ${kind}`));
      }))
      : h('p', { class: 'muted' }, '无 none'));
}

function problemSection(err) {
  const p = err.problem || { title: 'Error', detail: err.message };
  const hint = PROBLEM_HINTS[p.type];
  return h('section', { class: 'problem', role: 'alert' },
    h('h2', {}, hint ? `${hint} · ` : '', p.title || 'Error', err.status ? ` (${err.status})` : ''),
    h('p', { class: 'detail' }, p.detail || err.message),
    p.type || p.request_id ? h('p', { class: 'muted' }, [p.type, p.request_id && `request ${p.request_id}`].filter(Boolean).join(' · ')) : null);
}

async function showGrid(code) {
  const n = ++state.request;
  select(code);
  try {
    const f = await getJSON(`/v1/grids/${encodeURIComponent(code)}`);
    if (n !== state.request) return;
    openPanel(gridSection(f.properties));
  } catch (err) {
    if (n === state.request) openPanel(problemSection(err));
  }
}

// parsePoint splits "lon,lat" (commas, full-width commas, semicolons or
// spaces); the server checks the numbers and says what is wrong.
function parsePoint(text) {
  const parts = text.trim().split(/[\s,，;；]+/).filter(Boolean);
  return parts.length === 2 ? parts : null;
}

async function locate(text, crs) {
  const n = ++state.request;
  const parts = parsePoint(text);
  if (!parts) {
    clearLocated();
    openPanel(problemSection(new ProblemError(0, { title: '请输入“经度,纬度” Enter lon,lat',
      detail: `got "${text.trim()}", want two numbers: longitude, latitude (e.g. 112.12,27.27)` })));
    return;
  }
  const query = new URLSearchParams({ lon: parts[0], lat: parts[1], crs });
  try {
    const r = await getJSON(`/v1/locate?${query}`);
    if (n !== state.request) return;
    const head = h('section', { class: `located match-${r.match}`, 'data-match': r.match },
      h('p', { class: 'match' }, MATCHES[r.match] || r.match),
      h('p', { class: 'muted' }, `${r.point[0]}, ${r.point[1]} (${crs})`),
      r.match === 'nearest' ? h('p', { class: 'distance' }, `距网格 ${r.distance_m} m from the grid`) : null,
      r.also && r.also.length
        ? h('p', { class: 'also' }, '也在 also on: ', r.also.map((c) => h('button', { type: 'button', class: 'link', onclick: () => showGrid(c) }, c)))
        : null);
    openPanel(head, gridSection({ ...r.grid, leader: r.leader, deputy: r.deputy, organizations: r.organizations }));
    select(r.grid.code);
    showLocated(toWGS84(crs, r.point));
    fitGrid(r.grid.code);
  } catch (err) {
    if (n === state.request) {
      clearLocated();
      openPanel(problemSection(err));
    }
  }
}

// ---- The caption: where the data comes from -------------------------------

function caption(town) {
  const note = town.note || '';
  const synthetic = /synthetic|合成|演示/i.test(note);
  const el = document.getElementById('caption');
  el.classList.toggle('synthetic', synthetic);
  const first = synthetic
    ? '演示数据：镇界按县界裁剪，村界、网格和人员均为合成。Demo data: boundaries, grids and people are synthetic.'
    : note.split(/(?<=\.)\s/)[0];
  el.replaceChildren(h('span', {}, `${town.name || ''} · ${first}`),
    note && note !== first ? h('details', {}, h('summary', {}, '数据来源 About the data'), h('p', {}, note)) : null);
}

// ---- Start ------------------------------------------------------------------

async function start() {
  performance.mark('wangge:start');
  const [town, villages] = await Promise.all([getJSON('/console/town.json'), getJSON('/v1/villages')]);
  state.town = town;
  state.villages = villages.villages || [];
  document.getElementById('town-name').textContent = `${town.name}网格地图`;
  document.title = `${town.name}网格地图 · wangge`;
  caption(town);

  const map = new MapLibreMap({
    container: 'map',
    style: { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef0eb' } }] },
    bounds: town.bbox,
    fitBoundsOptions: { padding: 30 },
    maxZoom: 19,
    attributionControl: false,
  });
  state.map = map;
  map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
  map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-right');
  map.addControl(new AttributionControl({ compact: true, customAttribution: `${town.name}网格 · wangge` }), 'bottom-right');
  await map.once('load');
  performance.mark('wangge:map-load');

  const ctx = { map, town, villages: state.villages };
  for (const overlay of OVERLAYS) {
    await addOverlay(ctx, overlay());
    performance.mark(`wangge:overlay-${overlay.name}`);
  }
  await map.once('idle');
  performance.mark('wangge:idle');
}

function wire() {
  document.getElementById('search').addEventListener('submit', (e) => {
    e.preventDefault();
    locate(document.getElementById('search-input').value, document.getElementById('search-crs').value);
  });
  document.getElementById('panel-close').addEventListener('click', closePanel);
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') closePanel();
  });
}

function uniqueCodes(features) {
  return new Set(features.map((f) => f.properties.code)).size;
}

// window.wangge is the console's handle for scripts and the browser test.
const ready = (async () => {
  wire();
  try {
    await start();
    document.body.dataset.state = 'ready';
  } catch (err) {
    document.body.dataset.state = 'error';
    openPanel(problemSection(err instanceof ProblemError ? err : new ProblemError(0, { title: 'Error', detail: err.message })));
    throw err;
  }
})();

window.wangge = {
  ready,
  get map() { return state.map; },
  // gridCount is the number of grids loaded from /v1/grids.
  gridCount: () => state.grids.size,
  // sourceGridCount is the number of distinct grids in the map's loaded tiles.
  sourceGridCount: () => uniqueCodes(state.map.querySourceFeatures('grids')),
  // renderedGridCount is the number of distinct grids drawn in the view.
  renderedGridCount: () => uniqueCodes(state.map.queryRenderedFeatures({ layers: ['grid-fill'] })),
  // renderedLabelCount is the number of grid labels placed in the view.
  renderedLabelCount: () => uniqueCodes(state.map.queryRenderedFeatures({ layers: ['grid-label'] })),
  selected: () => state.selected,
  // located is the searched point as marked on the map, WGS-84.
  located: () => state.located,
};
