// The wangge map console: the grids of the town coloured by village and
// labelled, a click shows a grid's people and organizations, and a search
// box routes a lon,lat (WGS-84, GCJ-02 or BD-09) through GET /v1/locate.
//
// Everything comes from this server: MapLibre GL JS is served beside this
// file, labels are drawn by MapLibre from the browser's own fonts (no
// glyphs URL in the style), and the base map an admin chose (GET
// /v1/basemap: 天地图, AMap, Tencent, or an offline PMTiles file) is
// served by wangge too, under /basemap. Over a GCJ-02 base map (AMap,
// Tencent) the map's coordinates are GCJ-02: the grids are asked for in
// GCJ-02 (/v1/grids?crs=gcj02, shifted by the server as its gcj02 tiles
// are), the other layers are shifted here (crs.js), and clicks are taken
// back to WGS-84.
//
// The map is a list of overlays (OVERLAYS below). An overlay is one
// function returning {id, title, layers, load}: load fetches its data and
// adds its sources and style layers, layers names them for the layer list.
// Overlays with token: true (coverage problems, incidents) are off at first
// and load, with the token of the page's token field, when switched on.
//
// The dispatcher's desk (desk.js, the 调度台 button) is a panel beside the
// map: intake of complaints and the open cases with their messages.
//
// A deployment of several towns (a county) gets a town selector in the
// header (GET /v1/towns; hidden for one town): the chosen town scopes what
// takes ?town= (cases, the incidents and coverage layers), the figures'
// rows, the structure view and the village filter, and the map moves to
// it. A town's token is offered its town only (/console/caller.json).
//
// The structure view (structure.js, the 组织 button) lists the chosen
// town's 片区 with their 党工委 and its 联村/驻村 work teams, at a date;
// a village clicked there is highlighted on the map.

import { AttributionControl, Map as MapLibreMap, NavigationControl, Popup, ScaleControl } from './maplibre-gl.mjs';
import { fromWGS84, shiftGeometry, toWGS84 } from './crs.js';
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

// getJSON fetches path from this server; with a token it is sent as
// Authorization: Bearer (never in the URL).
async function getJSON(path, { token, accept } = {}) {
  let res;
  const headers = { Accept: accept || 'application/json, application/geo+json, application/problem+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    res = await fetch(path, { headers });
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

// sendJSON sends body as JSON with method to path, with the token and an
// Idempotency-Key when given, and returns {status, body}; a problem is
// thrown as a ProblemError with its errors[].
async function sendJSON(method, path, body, { token, key } = {}) {
  let res;
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json, application/problem+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers['Idempotency-Key'] = key;
  try {
    res = await fetch(path, { method, headers, body: JSON.stringify(body) });
  } catch (err) {
    throw new ProblemError(0, { title: '无法连接服务器 Network error', detail: `${path}: ${err.message}` });
  }
  const type = res.headers.get('Content-Type') || '';
  const answer = type.includes('json') ? await res.json().catch(() => ({})) : {};
  if (!res.ok) throw new ProblemError(res.status, { title: res.statusText, ...answer });
  return { status: res.status, body: answer };
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
  token: '', // the bearer token, from sessionStorage
  overlays: {}, // id → {state, loaded, count}
  reloads: [], // reload the token overlays after the token changes
  reloadOverlay: {}, // id → reload of a token overlay, if it is wanted
  popup: null,
  desk: null, // the dispatcher's desk (desk.js)
  basemap: null, // GET /v1/basemap
  display: 'wgs84', // the map's coordinates: wgs84, or gcj02 over AMap and Tencent
  towns: [], // GET /v1/towns: the deployment's towns, with their bbox
  townCode: '', // the town chosen in the selector ('' for every town)
  caller: null, // /console/caller.json for the token: {role, town}
  townChanged: [], // called after the chosen town changes
  village: null, // the village highlighted from the structure view
  structure: null, // the structure view (structure.js)
};

// chosenTown is the town the views are about: the one chosen, else the
// deployment's only town ('' when several and none chosen).
const chosenTown = () => state.townCode || (state.towns.length === 1 ? state.towns[0].code : '');

// townParam is "&town=<code>" when a town is chosen, for the lists that
// take ?town=.
const townParam = () => (state.townCode ? `&town=${encodeURIComponent(state.townCode)}` : '');

// inTown reports whether a code (village, grid, 片区 key) lies in the
// chosen town: its code starts with the town's. Every code does when none
// is chosen.
const inTown = (code) => !state.townCode || String(code || '').startsWith(state.townCode);

// toDisplay takes a WGS-84 [lon, lat] to the map's coordinates; fromDisplay
// takes a map position ({lng, lat}) back to WGS-84 [lon, lat].
const toDisplay = (p) => fromWGS84(state.display, p);
const fromDisplay = (ll) => toWGS84(state.display, [ll.lng, ll.lat]);

// shiftCollection returns a WGS-84 FeatureCollection in the map's
// coordinates.
function shiftCollection(fc) {
  if (state.display === 'wgs84') return fc;
  return { ...fc, features: fc.features.map((f) => ({ ...f, geometry: shiftGeometry(f.geometry, toDisplay) })) };
}

// phone reports whether the page is laid out for a phone.
const phone = () => window.matchMedia('(max-width: 640px)').matches;

// watchSheet keeps --sheet, the height of the panel (a sheet at the
// bottom on a phone), on the page, so that the zoom buttons and the layer
// list stay above it, within the thumb's reach, while it is open.
function watchSheet() {
  const panel = document.getElementById('panel');
  const update = () => document.body.style.setProperty('--sheet', `${panel.hidden ? 0 : panel.offsetHeight}px`);
  new ResizeObserver(update).observe(panel);
  new MutationObserver(update).observe(panel, { attributes: true, attributeFilter: ['hidden'] });
}

// picking reports whether a click on the map sets the desk's intake point
// (then it neither selects a grid nor opens a popup).
const picking = () => !!state.desk && state.desk.picking();

// ---- Overlays -------------------------------------------------------------

// gridsOverlay: the grids from GET /v1/grids, filled by village, outlined,
// labelled at an interior point, with the selected grid highlighted.
function gridsOverlay() {
  return {
    id: 'grids',
    title: '网格 Grids',
    layers: ['grid-fill', 'grid-line', 'village-selected-fill', 'village-selected-line', 'grid-selected-fill', 'grid-selected-line', 'grid-label'],
    async load({ map, villages }) {
      const fc = await getJSON(state.display === 'gcj02' ? '/v1/grids?crs=gcj02' : '/v1/grids');
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
        paint: { 'fill-color': fill, 'fill-opacity': state.basemap && state.basemap.layers.length ? 0.38 : 0.62 } });
      map.addLayer({ id: 'grid-line', type: 'line', source: 'grids',
        paint: { 'line-color': '#ffffff', 'line-opacity': 0.95,
          'line-width': ['interpolate', ['linear'], ['zoom'], 10, 0.5, 14, 1.2, 18, 2.5] } });
      // A village clicked in the structure view: its grids tinted and outlined.
      const noVillage = ['==', ['get', 'village_code'], ''];
      map.addLayer({ id: 'village-selected-fill', type: 'fill', source: 'grids', filter: noVillage,
        paint: { 'fill-color': '#60a5fa', 'fill-opacity': 0.45 } });
      map.addLayer({ id: 'village-selected-line', type: 'line', source: 'grids', filter: noVillage,
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#1d4ed8', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1.5, 16, 3] } });
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
        if (picking()) return;
        const over = POPUP_LAYERS.filter((id) => map.getLayer(id));
        if (over.length && map.queryRenderedFeatures(e.point, { layers: over }).length) return;
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
      map.addSource('town', { type: 'geojson', data: { type: 'Feature', geometry: shiftGeometry(town.outline, toDisplay), properties: {} } });
      map.addLayer({ id: 'town-outline', type: 'line', source: 'town',
        paint: { 'line-color': '#3b3b3b', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 1.5, 16, 3] } });
    },
  };
}

// ---- Overlays that need a token ------------------------------------------
//
// Incidents and coverage problems are not public: they are off at first,
// and load when switched on with a token (the field under the layer list,
// kept in sessionStorage, sent as Authorization: Bearer). Without a token,
// or on 401/403, the panel says what is needed instead.

const TOKEN_KEY = 'wangge.token';

function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage refused (private mode): the token lives for this page only
  }
  state.token = token;
}

const STATUSES = {
  received: ['已受理 received', '#64748b'],
  dispatched: ['已派单 dispatched', '#2563eb'],
  accepted: ['已接单 accepted', '#0891b2'],
  in_progress: ['处理中 in progress', '#7c3aed'],
  resolved: ['已办结 resolved', '#16a34a'],
  verified: ['已核实 verified', '#15803d'],
  closed: ['已关闭 closed', '#6b7280'],
  rejected: ['已驳回 rejected', '#a8a29e'],
  suspended: ['已挂起 suspended', '#b45309'],
  cancelled: ['已撤销 cancelled', '#78716c'],
  merged: ['已合并 merged', '#94a3b8'],
  reopened: ['已重开 reopened', '#ea580c'],
};

const CATEGORIES = {
  dispute: '矛盾纠纷', environment: '环境卫生', safety: '安全隐患', livelihood: '民生诉求', customs: '移风易俗',
  left_behind_children: '留守儿童', other: '其他',
};

const SEVERITY_COLORS = { blocking: '#dc2626', warning: '#f59e0b' };

const isPoint = ['match', ['geometry-type'], ['Point', 'MultiPoint'], true, false];
const isArea = ['match', ['geometry-type'], ['Polygon', 'MultiPolygon'], true, false];

// showPopup opens a popup at e's point with content built by h.
function showPopup(map, e, content) {
  if (state.popup) state.popup.remove();
  state.popup = new Popup({ maxWidth: '280px', focusAfterOpen: false }).setLngLat(e.lngLat).setDOMContent(content).addTo(map);
}

function popupRows(...rows) {
  return h('dl', {}, rows.filter(Boolean).flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

function formatTime(s) {
  if (!s) return '—';
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? s : d.toLocaleString('zh-CN', { hour12: false });
}

// incidentsOverlay: GET /v1/incidents as GeoJSON (dispatcher or admin),
// circles coloured by status, overdue ones red.
function incidentsOverlay() {
  return {
    id: 'incidents',
    title: '事件 Incidents',
    needs: ['调度员或管理员', 'dispatcher or admin'],
    token: true,
    layers: ['incident-point'],
    async load({ map }, token) {
      let fc = await getJSON(`/v1/incidents?limit=1000${townParam()}`, { token, accept: 'application/geo+json, application/problem+json' });
      fc.features = (fc.features || []).filter((f) => f.geometry);
      fc = shiftCollection(fc);
      if (map.getSource('incidents')) {
        map.getSource('incidents').setData(fc);
        return fc.features.length;
      }
      map.addSource('incidents', { type: 'geojson', data: fc });
      const byStatus = ['match', ['get', 'status'], ...Object.entries(STATUSES).flatMap(([k, [, c]]) => [k, c]), '#64748b'];
      map.addLayer({ id: 'incident-point', type: 'circle', source: 'incidents',
        paint: {
          'circle-color': ['case', ['==', ['get', 'overdue'], true], '#dc2626', byStatus],
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 4, 16, 8],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1.5,
        } });
      map.on('click', 'incident-point', (e) => {
        if (picking()) return;
        const f = e.features && e.features[0];
        if (!f) return;
        const p = f.properties;
        const assignee = typeof p.assignee === 'string' ? JSON.parse(p.assignee) : p.assignee;
        showPopup(map, e, h('div', { class: 'popup incident', 'data-number': p.number },
          h('h3', {}, `事件 ${p.number}`),
          popupRows(
            ['类别 Category', `${CATEGORIES[p.category] || ''} ${p.category}`.trim()],
            ['状态 Status', (STATUSES[p.status] || [p.status])[0] + (p.overdue ? ' · 超期 overdue' : '')],
            ['承办 Assignee', assignee && assignee.name ? assignee.name : '—'],
            ['时限 Due', formatTime(p.due_at)])));
      });
      map.on('mouseenter', 'incident-point', () => { map.getCanvas().style.cursor = 'pointer'; });
      map.on('mouseleave', 'incident-point', () => { map.getCanvas().style.cursor = ''; });
      return fc.features.length;
    },
  };
}

// coverageOverlay: GET /v1/coverage/report?f=geojson (planner, dispatcher
// or admin), the current generation's problems (gaps, overlaps, slivers,
// …), translucent areas and points coloured by severity.
function coverageOverlay() {
  return {
    id: 'coverage',
    title: '覆盖问题 Coverage problems',
    needs: ['规划员、调度员或管理员', 'planner, dispatcher or admin'],
    token: true,
    layers: ['coverage-fill', 'coverage-line', 'coverage-point'],
    async load({ map }, token) {
      let fc = await getJSON(`/v1/coverage/report?f=geojson${townParam()}`, { token, accept: 'application/geo+json, application/problem+json' });
      fc.features = (fc.features || []).filter((f) => f.geometry);
      fc = shiftCollection(fc);
      if (map.getSource('coverage')) {
        map.getSource('coverage').setData(fc);
        return fc.features.length;
      }
      map.addSource('coverage', { type: 'geojson', data: fc });
      const color = ['match', ['get', 'severity'], ...Object.entries(SEVERITY_COLORS).flat(), '#6b7280'];
      map.addLayer({ id: 'coverage-fill', type: 'fill', source: 'coverage', filter: isArea,
        paint: { 'fill-color': color, 'fill-opacity': 0.45 } });
      map.addLayer({ id: 'coverage-line', type: 'line', source: 'coverage', filter: isArea,
        paint: { 'line-color': color, 'line-width': 1.5 } });
      map.addLayer({ id: 'coverage-point', type: 'circle', source: 'coverage', filter: isPoint,
        paint: { 'circle-color': color, 'circle-opacity': 0.75, 'circle-radius': 6,
          'circle-stroke-color': '#ffffff', 'circle-stroke-width': 1 } });
      for (const layer of ['coverage-fill', 'coverage-point']) {
        map.on('click', layer, (e) => {
          if (picking()) return;
          const f = e.features && e.features[0];
          if (!f) return;
          const p = f.properties;
          const codes = typeof p.codes === 'string' ? JSON.parse(p.codes) : p.codes;
          showPopup(map, e, h('div', { class: 'popup coverage', 'data-kind': p.kind },
            h('h3', {}, `${p.kind} · ${p.severity}`),
            h('p', { class: 'reason' }, p.reason),
            codes && codes.length ? h('p', { class: 'muted' }, codes.join(', ')) : null));
        });
        map.on('mouseenter', layer, () => { map.getCanvas().style.cursor = 'pointer'; });
        map.on('mouseleave', layer, () => { map.getCanvas().style.cursor = ''; });
      }
      return fc.features.length;
    },
  };
}

// OVERLAYS are drawn in this order.
const OVERLAYS = [gridsOverlay, townOverlay, coverageOverlay, incidentsOverlay];

// POPUP_LAYERS take a click before the grid under them.
const POPUP_LAYERS = ['incident-point', 'coverage-fill', 'coverage-point'];

function setVisible(map, overlay, on) {
  for (const id of overlay.layers) {
    if (map.getLayer(id)) map.setLayoutProperty(id, 'visibility', on ? 'visible' : 'none');
  }
}

function overlayMessage(overlay, ...content) {
  return h('section', { class: 'problem overlay-problem', role: 'alert', 'data-overlay': overlay.id },
    h('h2', {}, overlay.title), ...content);
}

// loadTokenOverlay loads (or reloads) an overlay that needs a token; on
// failure the panel says why and the box is unticked.
async function loadTokenOverlay(ctx, overlay, box) {
  const token = state.token;
  const status = state.overlays[overlay.id];
  if (!token) {
    box.checked = false;
    setVisible(ctx.map, overlay, false);
    status.state = 'no-token';
    openPanel(overlayMessage(overlay,
      h('p', { class: 'detail' }, `需要令牌：请在图层列表下输入${overlay.needs[0]}的令牌。`),
      h('p', { class: 'detail' }, `A token is needed: enter a ${overlay.needs[1]} token under the layer list.`)));
    return;
  }
  status.state = 'loading';
  try {
    status.count = await overlay.load(ctx, token);
    if (state.token !== token) return;
    status.state = 'loaded';
    status.loaded = true;
    setVisible(ctx.map, overlay, box.checked);
  } catch (err) {
    box.checked = false;
    setVisible(ctx.map, overlay, false);
    status.state = err.status ? `error-${err.status}` : 'error';
    const why = err.status === 401 ? '令牌无效或已过期 The token is missing, unknown or expired (401)'
      : err.status === 403 ? `此令牌的角色无权查看，需要${overlay.needs[0]}。This token's role may not see this layer: it needs ${overlay.needs[1]} (403)`
        : null;
    openPanel(why ? overlayMessage(overlay, h('p', { class: 'detail' }, why),
      h('p', { class: 'muted' }, err.problem && err.problem.detail ? err.problem.detail : '')) : problemSection(err));
  }
}

async function addOverlay(ctx, overlay) {
  state.overlays[overlay.id] = { state: overlay.token ? 'off' : 'loaded', loaded: !overlay.token, wanted: !overlay.token, count: 0 };
  if (!overlay.token) await overlay.load(ctx);
  const box = h('input', { type: 'checkbox', checked: !overlay.token, 'data-overlay': overlay.id,
    onchange: (e) => {
      state.overlays[overlay.id].wanted = e.target.checked;
      if (overlay.token && e.target.checked) {
        loadTokenOverlay(ctx, overlay, e.target);
        return;
      }
      setVisible(ctx.map, overlay, e.target.checked);
    } });
  if (overlay.token) {
    const reload = () => {
      if (!state.overlays[overlay.id].wanted) return;
      box.checked = true;
      loadTokenOverlay(ctx, overlay, box);
    };
    state.reloads.push(reload);
    state.reloadOverlay[overlay.id] = reload;
  }
  document.getElementById('layer-list').append(h('li', {}, h('label', {}, box, ' ', overlay.title)));
}

function wireToken() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  state.token = getToken();
  input.value = state.token;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setToken(input.value.trim());
    // A town's token is offered its town only: learn which before the
    // layers and lists reload with ?town=.
    const before = state.townCode;
    await loadCaller();
    setTown(state.townCode, { quiet: true });
    if (state.townCode !== before && state.desk) state.desk.onTown({ reload: false });
    for (const reload of state.reloads) reload();
  });
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

// fitGrid shows a grid with its neighbours around it, beside the panel
// (above it on a phone, where the panel is a sheet at the bottom).
function fitGrid(code) {
  const f = state.grids.get(code);
  if (!f) return;
  const [w, s, e, n] = bbox(f.geometry);
  const dx = (e - w) * 0.8;
  const dy = (n - s) * 0.8;
  const panel = document.getElementById('panel');
  const padding = { top: 40, bottom: 40, left: 40, right: 40 };
  if (!panel.hidden && phone()) padding.bottom = Math.min(panel.offsetHeight + 20, window.innerHeight / 2);
  else if (!panel.hidden) padding.left = Math.min(panel.offsetWidth + 40, window.innerWidth / 2);
  state.map.fitBounds([[w - dx, s - dy], [e + dx, n + dy]], { padding, maxZoom: 16 });
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
  const data = { type: 'FeatureCollection', features: at ? [{ type: 'Feature', geometry: { type: 'Point', coordinates: toDisplay(at) }, properties: {} }] : [] };
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

// selectVillage highlights a village's grids (or clears the highlight)
// and shows them all.
function selectVillage(code) {
  const map = state.map;
  state.village = code || null;
  document.body.dataset.village = code || '';
  if (!map || !map.getLayer('village-selected-fill')) return;
  const filter = ['==', ['get', 'village_code'], code || ''];
  map.setFilter('village-selected-fill', filter);
  map.setFilter('village-selected-line', filter);
  if (!code) return;
  let box = null;
  for (const f of state.grids.values()) {
    if (f.properties.village_code !== code) continue;
    const [w, s, e, n] = bbox(f.geometry);
    box = box ? [Math.min(box[0], w), Math.min(box[1], s), Math.max(box[2], e), Math.max(box[3], n)] : [w, s, e, n];
  }
  if (box) map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { padding: 40, maxZoom: 16 });
}

// ---- The town selector -------------------------------------------------------

const TOWN_KEY = 'wangge.town';

function savedTown() {
  try {
    return sessionStorage.getItem(TOWN_KEY) || '';
  } catch {
    return '';
  }
}

// loadCaller reads what the token is (/console/caller.json): a town's
// token is limited to its town. Without a token, or with one the server
// refuses (the layers say so), the caller is not limited; in a deployment
// of one town it does not matter, and nothing is asked.
async function loadCaller() {
  if (!state.token || state.towns.length < 2) {
    state.caller = null;
    return;
  }
  try {
    state.caller = await getJSON('/console/caller.json', { token: state.token });
  } catch {
    state.caller = null;
  }
}

// renderTownChoice fills the selector: every town and 全部乡镇, or a town's
// token's own town alone. It is hidden when the deployment holds one town.
function renderTownChoice() {
  const choice = document.getElementById('town-choice');
  const select = document.getElementById('town-select');
  const scope = state.caller && state.caller.town ? state.caller.town.code : '';
  const towns = scope ? state.towns.filter((t) => t.code === scope) : state.towns;
  const all = scope ? [] : [h('option', { value: '' }, `全部乡镇 All ${state.towns.length} towns`)];
  select.replaceChildren(...all, ...towns.map((t) => h('option', { value: t.code }, t.name)));
  select.value = state.townCode;
  select.disabled = !!scope;
  select.title = scope ? `此令牌限于${state.caller.town.name || scope} This token is limited to its town` : '';
  choice.hidden = state.towns.length < 2;
}

// setTown chooses a town ('' for every town): a town's token keeps its
// own. Unless quiet, the map moves to the town, its outline is drawn, and
// the views that depend on the town reload.
async function setTown(code, { quiet = false } = {}) {
  const scope = state.caller && state.caller.town ? state.caller.town.code : '';
  if (scope) code = scope;
  if (!state.towns.some((t) => t.code === code) || state.towns.length < 2) code = '';
  const changed = code !== state.townCode;
  state.townCode = code;
  try {
    if (code) sessionStorage.setItem(TOWN_KEY, code);
    else sessionStorage.removeItem(TOWN_KEY);
  } catch {
    // storage refused: the choice lasts for this page
  }
  document.body.dataset.town = code;
  renderTownChoice();
  if (!changed || !state.map) return;
  fitTown();
  drawTownOutline();
  if (!quiet) for (const f of state.townChanged) f();
}

// townBounds is the chosen town's [w, s, e, n] (the whole area's when
// none is chosen), WGS-84.
function townBounds() {
  const t = state.towns.find((x) => x.code === state.townCode);
  return t && t.bbox ? t.bbox : state.town.bbox;
}

function fitTown() {
  const [w, s, e, n] = townBounds();
  const sw = toDisplay([w, s]);
  const ne = toDisplay([e, n]);
  state.map.fitBounds([sw, ne], { padding: 30 });
}

// drawTownOutline draws the chosen town's outline (the area's when none
// is chosen), from /console/town.json?town=.
async function drawTownOutline() {
  const code = state.townCode;
  try {
    const t = code ? await getJSON(`/console/town.json?town=${encodeURIComponent(code)}`) : state.town;
    const source = state.map.getSource('town');
    if (code === state.townCode && source && t.outline) {
      source.setData({ type: 'Feature', geometry: shiftGeometry(t.outline, toDisplay), properties: { code: t.code } });
    }
  } catch (err) {
    openPanel(problemSection(err));
  }
}

function wireTowns() {
  document.getElementById('town-select').addEventListener('change', (e) => setTown(e.target.value));
  state.townChanged.push(() => {
    for (const id of ['incidents', 'coverage']) if (state.reloadOverlay[id]) state.reloadOverlay[id]();
    if (state.desk) state.desk.onTown();
  });
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
  // (replaceChildren would write a null as the text "null")
  el.replaceChildren(...[h('span', {}, first ? `${town.name || ''} · ${first}` : town.name || ''),
    note && note !== first ? h('details', {}, h('summary', {}, '数据来源 About the data'), h('p', {}, note)) : null].filter(Boolean));
}

// ---- Start ------------------------------------------------------------------

// NO_BASEMAP is the setting when /v1/basemap cannot be read: the map is
// drawn without one rather than not at all.
const NO_BASEMAP = { provider: 'none', crs: 'wgs84', layers: [], attribution: '' };

// mapStyle is the map's style: a plain background, and the base map's
// raster layers (labels over the base) served by wangge under /basemap.
function mapStyle(basemap) {
  const style = { version: 8, sources: {}, layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef0eb' } }] };
  for (const l of basemap.layers) {
    style.sources[`basemap-${l.id}`] = { type: 'raster', tiles: l.tiles, tileSize: basemap.tile_size || 256,
      minzoom: basemap.minzoom || 0, maxzoom: basemap.maxzoom || 18, bounds: basemap.bounds,
      attribution: l.id === 'base' ? basemap.attribution : undefined };
    style.layers.push({ id: `basemap-${l.id}`, type: 'raster', source: `basemap-${l.id}` });
  }
  return style;
}

async function start() {
  performance.mark('wangge:start');
  const [town, villages, basemap, towns] = await Promise.all([getJSON('/console/town.json'), getJSON('/v1/villages'),
    getJSON('/v1/basemap').catch(() => NO_BASEMAP), getJSON('/v1/towns')]);
  state.town = town;
  state.towns = towns.towns || [];
  await loadCaller();
  await setTown(savedTown(), { quiet: true });
  state.villages = villages.villages || [];
  state.basemap = basemap;
  state.display = basemap.layers.length && basemap.crs === 'gcj02' ? 'gcj02' : 'wgs84';
  document.body.dataset.basemap = basemap.provider;
  document.getElementById('town-name').textContent = `${town.name}网格地图`;
  document.title = `${town.name}网格地图 · wangge`;
  caption(town);

  const [w, s, e, n] = townBounds();
  const sw = toDisplay([w, s]);
  const ne = toDisplay([e, n]);
  const map = new MapLibreMap({
    container: 'map',
    style: mapStyle(basemap),
    bounds: [sw[0], sw[1], ne[0], ne[1]],
    fitBoundsOptions: { padding: 30 },
    maxZoom: 19,
    attributionControl: false,
  });
  state.map = map;
  // On a phone the zoom buttons sit at the bottom, under the thumb.
  map.addControl(new NavigationControl({ showCompass: false }), phone() ? 'bottom-right' : 'top-right');
  map.addControl(new ScaleControl({ unit: 'metric' }), phone() ? 'bottom-left' : 'bottom-right');
  map.addControl(new AttributionControl({ compact: true, customAttribution: `${town.name}网格 · wangge` }), 'bottom-right');
  await map.once('load');
  performance.mark('wangge:map-load');
  map.on('click', (ev) => {
    if (picking()) {
      const [lng, lat] = fromDisplay(ev.lngLat);
      state.desk.pick({ lng, lat });
    }
  });

  const ctx = { map, town, villages: state.villages };
  for (const overlay of OVERLAYS) {
    await addOverlay(ctx, overlay());
    performance.mark(`wangge:overlay-${overlay.name}`);
  }
  if (state.townCode) await drawTownOutline();
  await map.once('idle');
  performance.mark('wangge:idle');
}

// loadDesk loads the dispatcher's desk (desk.js, links.js) when it is
// first opened: a page that only looks at the map never fetches it.
let deskLoading = null;
function loadDesk() {
  deskLoading ||= import('./desk.js').then(({ createDesk }) => {
    state.desk = createDesk({
      h, getJSON, sendJSON, ProblemError, problemSection, state, formatTime, toWGS84, STATUSES, CATEGORIES,
      select: (code) => state.map && state.map.getLayer('grid-selected-fill') && select(code),
      inTown, townParam,
      toDisplay,
      // incidentsChanged redraws the incidents layer, if it is on.
      incidentsChanged: () => state.reloadOverlay.incidents && state.reloadOverlay.incidents(),
    });
    return state.desk;
  });
  return deskLoading;
}

function wireDesk() {
  state.reloads.push(() => state.desk && state.desk.onToken());
  document.getElementById('desk-toggle').addEventListener('click', async () => {
    try {
      (await loadDesk()).toggle();
    } catch (err) {
      deskLoading = null;
      openPanel(problemSection(new ProblemError(0, { title: '调度台加载失败 The desk did not load', detail: err.message })));
    }
  });
}

// loadStructure loads the structure view (structure.js) when first opened.
let structureLoading = null;
function loadStructure() {
  structureLoading ||= import('./structure.js').then(({ createStructure }) => {
    state.structure = createStructure({ h, getJSON, ProblemError, problemSection, state, chosenTown, selectVillage,
      townName: (code) => (state.towns.find((t) => t.code === code) || {}).name || code });
    return state.structure;
  });
  return structureLoading;
}

function wireStructure() {
  state.reloads.push(() => state.structure && state.structure.reload());
  state.townChanged.push(() => state.structure && state.structure.reload());
  document.getElementById('structure-toggle').addEventListener('click', async () => {
    try {
      (await loadStructure()).toggle();
    } catch (err) {
      structureLoading = null;
      openPanel(problemSection(new ProblemError(0, { title: '组织架构加载失败 The structure view did not load', detail: err.message })));
    }
  });
}

// ---- The base map: an admin's setting --------------------------------------

const PROVIDERS = {
  none: '无底图 None',
  tianditu: '天地图 Tianditu (WMTS, CGCS2000)',
  amap: '高德 AMap (GCJ-02)',
  tencent: '腾讯 Tencent (GCJ-02)',
  xyz: '其他 XYZ 瓦片 Other XYZ tiles',
  pmtiles: '离线 PMTiles 文件 Offline PMTiles file',
};

// basemapForm shows the setting (GET /v1/basemap with the token: an
// admin sees the template, the file list and the key's last four
// characters) and saves it with PUT /v1/basemap; the page then reloads,
// since the map's coordinates may change with the base map.
async function basemapForm() {
  let current;
  try {
    current = await getJSON('/v1/basemap', { token: state.token });
  } catch (err) {
    openPanel(problemSection(err));
    return;
  }
  const field = (label, input, hint) => h('div', { class: 'field' }, h('label', {}, label, input), hint ? h('p', { class: 'muted' }, hint) : null);
  const provider = h('select', { name: 'provider' },
    Object.entries(PROVIDERS).map(([k, v]) => h('option', { value: k, selected: k === current.provider }, v)));
  const key = h('input', { name: 'key', type: 'password', autocomplete: 'off', placeholder: current.key_hint ? `已保存 saved ${current.key_hint}` : 'tk' });
  const layer = h('select', { name: 'layer' }, ['vec', 'img', 'ter'].map((l) => h('option', { value: l, selected: l === current.layer }, l)));
  const url = h('input', { name: 'url', type: 'text', value: current.url || '', placeholder: 'https://…/{z}/{x}/{y}.png' });
  const file = h('select', { name: 'file' }, (current.files || []).map((f) => h('option', { value: f, selected: f === current.file }, f)));
  const crs = h('select', { name: 'crs' }, ['wgs84', 'gcj02'].map((c) => h('option', { value: c, selected: c === current.crs }, c)));
  const errors = h('div', { class: 'form-problem', hidden: true });
  const form = h('form', { class: 'basemap-form desk-form' },
    h('h2', {}, '底图设置 Base map'),
    field('来源 Provider ', provider),
    field('天地图密钥 Tianditu key ', key, '服务端密钥；只保存在服务器，地图瓦片经本服务转发。A server key; it stays on the server, tiles come through wangge.'),
    field('天地图图层 Tianditu layer ', layer),
    field('瓦片地址 Tile URL ', url, '留空用默认地址 Empty: the provider\'s own. {z} {x} {y} ({-y} from the south)'),
    field('离线文件 File ', file, (current.files || []).length ? null : '数据目录 maps/ 中没有 .pmtiles 文件 No .pmtiles file in the maps folder'),
    field('坐标系 CRS ', crs),
    errors,
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary' }, '保存 Save')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const p = provider.value;
    const body = { provider: p };
    if (p === 'tianditu') {
      body.layer = layer.value;
      if (key.value.trim()) body.key = key.value.trim();
    }
    if (['tianditu', 'amap', 'tencent', 'xyz'].includes(p) && url.value.trim()) body.url = url.value.trim();
    if (p === 'pmtiles') body.file = file.value;
    if (p === 'xyz' || p === 'pmtiles') body.crs = crs.value;
    try {
      await sendJSON('PUT', '/v1/basemap', body, { token: state.token });
      window.location.reload();
    } catch (err) {
      errors.hidden = false;
      const where = (err.problem && err.problem.errors || []).map((x) => `${x.where}: ${x.reason}`);
      errors.replaceChildren(problemSection(err), ...where.map((t) => h('p', { class: 'field-error' }, t)));
    }
  });
  openPanel(form);
}

function wire() {
  wireToken();
  wireDesk();
  wireStructure();
  wireTowns();
  watchSheet();
  document.getElementById('basemap-settings').addEventListener('click', () => {
    if (!state.token) {
      openPanel(problemSection(new ProblemError(0, { title: '需要管理员令牌 An admin token is needed',
        detail: '请在图层列表下输入管理员令牌。Enter an admin token under the layer list.' })));
      return;
    }
    basemapForm();
  });
  // The layer list starts folded on a phone, where the map needs the room.
  if (phone()) document.getElementById('layers').open = false;
  document.getElementById('figures-toggle').addEventListener('click', () => import('./figures.js') // 考核 figures
    .then(({ toggleFigures }) => toggleFigures({ h, getJSON, ProblemError, problemSection, state }))
    .catch((err) => openPanel(problemSection(new ProblemError(0, { title: '考核加载失败', detail: err.message })))));
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
  // overlay is the state of an overlay: {state: off|no-token|loading|loaded|error-401…, loaded, wanted, count}.
  overlay: (id) => state.overlays[id],
  // renderedCount is the number of features drawn in the view on these layers.
  renderedCount: (layers) => {
    const present = layers.filter((id) => state.map.getLayer(id));
    return present.length ? state.map.queryRenderedFeatures({ layers: present }).length : 0;
  },
  // located is the searched point as marked on the map, WGS-84.
  located: () => state.located,
  // display is the map's coordinate system (wgs84 or gcj02); basemap the
  // setting read at start.
  display: () => state.display,
  basemap: () => state.basemap,
  // project returns the screen pixel of a WGS-84 point, through the map's
  // coordinates.
  project: (wgs) => state.map.project(toDisplay(wgs)),
  // gridsNear returns the codes of the grids drawn within r pixels of x, y.
  gridsNear: (x, y, r) => [...new Set(state.map.queryRenderedFeatures([[x - r, y - r], [x + r, y + r]], { layers: ['grid-fill'] })
    .map((f) => f.properties.code))].sort(),
  // desk is the dispatcher's desk once opened (null before): toggle(on),
  // openCase(number), state().
  get desk() { return state.desk; },
  // towns are the deployment's towns; town the chosen one ('' for all);
  // setTown(code) chooses one as the selector does.
  towns: () => state.towns.map((t) => ({ code: t.code, name: t.name })),
  town: () => state.townCode,
  setTown: (code) => setTown(code),
  // village is the village highlighted from the structure view.
  village: () => state.village,
  // structure is the structure view once opened (null before): state().
  get structure() { return state.structure; },
};
