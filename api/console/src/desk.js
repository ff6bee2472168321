// 调度台, the dispatcher's desk: a panel beside the map with two tabs.
//
// 受理 Intake: a complaint's location comes from a click on the map, typed
// or pasted coordinates, or an AMap / Baidu / Tencent share link (links.js
// recognises the coordinate system); before anything is submitted the
// point is routed with GET /v1/locate and the grid and its leader are
// shown. POST /v1/incidents carries an Idempotency-Key that stays the same
// while the body does, so a double click or a retry after a lost answer
// creates one incident. Problems come back as problem+json and each
// errors[].where is shown beside its field.
//
// 案件 Cases: GET /v1/incidents with filters (status, category, village,
// overdue), paged with next_cursor, most urgent or newest first; a case
// opens its detail (GET /v1/incidents/{number}): the history, every
// message with its delivery status (polled while some are still pending),
// and the closed-loop steps (POST /v1/incidents/{number}/events): reassign
// along the chain or to a named person, escalate with a note, and the
// others the case's status allows. The case also shows its record (first
// due, on time, escalations, missed deadlines and every deadline, why it
// ended, a possible duplicate with its 合并 button, what it was merged
// into, the reporters of merged duplicates) and offers 更正 (category,
// location or grid), 挂起 and 恢复, 撤销 and 合并; the reason those need
// (geo.ReasonRequired) is asked for before anything is sent.
//
// The desk gets everything it needs from app.js through env (the DOM
// helper, the HTTP helpers, the map state), so it holds no copy of them.

import { parseLocation, viaName } from './links.js';

const SEVERITIES = { minor: '一般 minor', major: '较重 major', urgent: '紧急 urgent' };
const CRS_NAMES = { wgs84: 'WGS-84', gcj02: 'GCJ-02', bd09: 'BD-09' };
const SEVERITY_RANK = { urgent: 3, major: 2, minor: 1 };
const SOURCES = {
  hotline_12345: '12345 热线', wechat: '微信 WeChat', walk_in: '来访 walk-in', patrol: '巡查 patrol', other: '其他 other',
  open311: 'Open311 接口',
};
// INTAKE_SOURCES are the sources a dispatcher may pick: open311 incidents
// come in through the Open311 endpoint, and the intake refuses it.
const INTAKE_SOURCES = Object.fromEntries(Object.entries(SOURCES).filter(([k]) => k !== 'open311'));
// OPEN_STATUSES are geo.Status.Open's: a suspended case is still open,
// its clock stopped.
const OPEN_STATUSES = ['received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened', 'suspended'];
// RUNNING are the open statuses with the clock running (geo's openStatuses):
// the ones a case may be suspended from.
const RUNNING = OPEN_STATUSES.filter((s) => s !== 'suspended');
// MORE_STATUSES label the statuses of the honest record where app.js's
// STATUSES has none.
const MORE_STATUSES = {
  suspended: ['已挂起 suspended', '#b45309'],
  cancelled: ['已撤销 cancelled', '#78716c'],
  merged: ['已合并 merged', '#94a3b8'],
};
const LEVELS = ['网格 grid', '村 village', '镇 town'];

const ACTIONS = {
  receive: '受理 received', dispatch: '派单 dispatched', accept: '接单 accept', start: '开始处理 start',
  resolve: '办结 resolve', verify: '核实 verify', close: '关闭 close', reject: '退回 reject', reopen: '重开 reopen',
  reassign: '改派 reassign', escalate: '上报 escalate', comment: '备注 comment',
  request_reassign: '申请改派 asks to reassign', request_escalate: '申请上报 asks to escalate',
  correct: '更正 correct', suspend: '挂起 suspend', resume: '恢复 resume', cancel: '撤销 cancel', merge: '合并 merge',
  reroute: '重新派单 rerouted', handover: '交接 handover',
};

// STEPS are the closed-loop steps and the statuses each may be taken from
// (geo/incident.go's transitions); reassign and escalate have their own forms.
const STEPS = {
  accept: ['dispatched', 'reopened'],
  start: ['accepted'],
  resolve: ['accepted', 'in_progress'],
  verify: ['resolved'],
  close: ['verified', 'rejected'],
  reject: ['dispatched', 'accepted'],
  reopen: ['resolved', 'verified', 'closed'],
  resume: ['suspended'],
};

// MERGEABLE are the statuses a duplicate may be merged from (geo's
// transitions: open, suspended or resolved).
const MERGEABLE = [...OPEN_STATUSES, 'resolved'];

// REASONED are the actions whose note is their reason: the server refuses
// them without one (geo.ReasonRequired), so the desk asks first.
const REASONED = ['reject', 'cancel', 'suspend', 'correct'];

const MESSAGE_KINDS = {
  routed: '派单通知 routed', reassigned: '改派通知 reassigned', escalated: '上报通知 escalated',
  due_soon: '临期提醒 due soon', overdue: '超期提醒 overdue', rating_request: '回访 rating request',
  login_code: '登录验证码 login code', test: '测试 test',
};
const CHANNEL_KINDS = { wecom: '企业微信', dingtalk: '钉钉', feishu: '飞书', sms: '短信 SMS', webhook: 'Webhook' };
const DELIVERY = {
  pending: ['待发送 pending', '#a16207'],
  sending: ['发送中 sending', '#2563eb'],
  sent: ['已送达 sent', '#15803d'],
  dead: ['失败 dead', '#b91c1c'],
};
const ROLES = {
  leader: '网格长', deputy: '副网格长', member: '网格员', liaison_leader: '联村组长', duty_desk: '镇值班室',
};
// HINTS say in Chinese which field is wrong; the server's reason follows.
const HINTS = {
  where: '位置有误', lon: '经度有误', lat: '纬度有误', crs: '坐标系有误', category: '请选择类别', severity: '请选择紧急程度',
  source: '请选择来源', description: '请填写诉求内容', reporter_name: '反映人有误', reporter_phone: '电话号码有误',
  assignee: '请填写姓名和有效的手机号', note: '请填写原因', grid: '网格编码有误', into: '合并目标有误',
};
const MATCH = { inside: '网格内', boundary: '网格边界', nearest: '就近归属', outside: '不在覆盖范围', code: '按网格编码' };

// newKey makes an Idempotency-Key (crypto.getRandomValues works on plain
// http too, where crypto.randomUUID is missing).
function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return `desk-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

export function createDesk(env) {
  const { h, getJSON, sendJSON, ProblemError, problemSection, state, formatTime, CATEGORIES, inTown, townParam } = env;
  const STATUSES = { ...env.STATUSES };
  for (const [k, v] of Object.entries(MORE_STATUSES)) STATUSES[k] ||= v;

  const desk = {
    open: false,
    tab: 'intake',
    intake: {
      point: null, // {lon, lat, crs}: what will be submitted
      route: null, // the /v1/locate answer for it, or {error}
      routeSeq: 0,
      sent: null, // {body, key}: the last body submitted and its key
      created: null, // the incident created
      answers: [], // the statuses of the answers that gave it (201, then 200 for a repeat)
      seq: 0,
    },
    cases: { list: [], next: '', loading: false, seq: 0, error: null },
    detail: null, // the incident shown
    detailSeq: 0,
    poll: 0,
  };

  const el = {};

  // ---- Shared bits -----------------------------------------------------------

  // colored sets a chip's colour through the CSSOM: the page's
  // Content-Security-Policy refuses style attributes.
  const colored = (e, color) => {
    e.style.background = color;
    return e;
  };
  const statusChip = (status) => {
    const [label, color] = STATUSES[status] || [status, '#64748b'];
    return colored(h('span', { class: 'chip status', 'data-status': status }, label), color);
  };
  const gridName = (code) => {
    const f = code && state.grids.get(code);
    return f ? f.properties.name : '';
  };
  const villageName = (code) => {
    const v = state.villages.find((x) => x.code === code);
    return v ? v.name : '';
  };
  const select = (id, options, value, attrs = {}) => {
    const s = h('select', { id, name: id.replace(/^[a-z]+-/, ''), ...attrs },
      Object.entries(options).map(([k, v]) => h('option', { value: k }, v)));
    s.value = value;
    return s;
  };
  const field = (name, label, control, hint) => h('div', { class: 'field', 'data-field': name },
    h('label', { for: control.id }, label), control, hint || null, h('p', { class: 'field-error', hidden: true, role: 'alert' }));

  // showErrors puts a problem's errors[] beside the fields of form (the
  // field whose data-field is errors[].where, or the one where maps it to)
  // and the rest in the form's general box.
  function showErrors(form, err, where = {}) {
    clearErrors(form);
    const box = form.querySelector('.form-problem');
    const errors = (err.problem && err.problem.errors) || [];
    const rest = [];
    for (const e of errors) {
      const name = where[e.where] || e.where;
      const slot = form.querySelector(`.field[data-field="${CSS.escape(name)}"] .field-error`);
      if (slot) {
        slot.hidden = false;
        const said = HINTS[name] ? `${HINTS[name]}：${e.reason}` : e.reason;
        slot.textContent = slot.textContent ? `${slot.textContent}; ${e.reason}` : said;
        slot.closest('.field').classList.add('invalid');
      } else {
        rest.push(e);
      }
    }
    if (!errors.length || rest.length) {
      box.replaceChildren(problemSection(err),
        rest.length ? h('ul', { class: 'muted' }, rest.map((e) => h('li', {}, `${e.where}: ${e.reason}`))) : null);
      box.hidden = false;
    }
  }

  function clearErrors(form) {
    for (const slot of form.querySelectorAll('.field-error')) {
      slot.hidden = true;
      slot.textContent = '';
    }
    for (const f of form.querySelectorAll('.field.invalid')) f.classList.remove('invalid');
    const box = form.querySelector('.form-problem');
    box.hidden = true;
    box.replaceChildren();
  }

  const needToken = () => h('section', { class: 'problem desk-token', role: 'alert' },
    h('h2', {}, '需要调度员令牌 A dispatcher token is needed'),
    h('p', {}, '请在地图右侧“图层”下方的令牌框输入调度员或管理员的令牌。'),
    h('p', { class: 'muted' }, "Enter a dispatcher's or admin's token in the token field under the layer list."));

  // ---- The map: one marker for the desk's point --------------------------------

  function markPoint(wgs) {
    const map = state.map;
    if (!map) return;
    // The map may be in GCJ-02 (over an AMap or Tencent base map).
    const at = wgs && env.toDisplay(wgs);
    const data = { type: 'FeatureCollection', features: at ? [{ type: 'Feature', geometry: { type: 'Point', coordinates: at }, properties: {} }] : [] };
    if (map.getSource('desk-point')) {
      map.getSource('desk-point').setData(data);
      return;
    }
    map.addSource('desk-point', { type: 'geojson', data });
    map.addLayer({ id: 'desk-point', type: 'circle', source: 'desk-point',
      paint: { 'circle-radius': 7, 'circle-color': '#1d4ed8', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2.5 } });
  }

  function showOnMap(wgs, grid) {
    markPoint(wgs);
    env.select(grid || null);
    const map = state.map;
    if (wgs && map && !map.getBounds().contains(env.toDisplay(wgs))) map.jumpTo({ center: env.toDisplay(wgs) });
  }

  // ---- Intake -------------------------------------------------------------------

  function buildIntake() {
    const where = h('textarea', { id: 'intake-where', rows: 2, spellcheck: 'false',
      placeholder: '粘贴“经度,纬度”或高德/百度分享链接，或在地图上点选\n112.12,27.27 · https://uri.amap.com/marker?position=…' });
    const lon = h('input', { id: 'intake-lon', name: 'lon', inputmode: 'decimal', spellcheck: 'false', placeholder: '经度 lon' });
    const lat = h('input', { id: 'intake-lat', name: 'lat', inputmode: 'decimal', spellcheck: 'false', placeholder: '纬度 lat' });
    const crs = select('intake-crs', { wgs84: 'GPS/地图点选 (WGS-84)', gcj02: '高德/腾讯 (GCJ-02)', bd09: '百度 (BD-09)' }, 'wgs84');
    const pick = h('input', { type: 'checkbox', id: 'intake-pick', checked: true });
    el.where = where;
    el.lon = lon;
    el.lat = lat;
    el.crs = crs;
    el.pick = pick;
    el.whereNote = h('p', { class: 'where-note muted', id: 'intake-where-note', 'aria-live': 'polite' });
    el.route = h('div', { class: 'route', id: 'intake-route', 'aria-live': 'polite' },
      h('p', { class: 'muted' }, '尚未选点 No point yet: click the map, or paste coordinates or a link.'));
    el.result = h('div', { class: 'intake-result', id: 'intake-result', 'aria-live': 'polite' });

    let timer = 0;
    where.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => readWhere(where.value), 200);
    });
    for (const input of [lon, lat]) {
      input.addEventListener('change', () => pointFromFields('typed'));
    }
    crs.addEventListener('change', () => pointFromFields('typed'));

    const form = h('form', { id: 'intake-form', class: 'desk-form', novalidate: true, autocomplete: 'off' },
      h('fieldset', { class: 'where' }, h('legend', {}, '位置 Location'),
        field('where', '坐标或分享链接 Coordinates or share link', where),
        el.whereNote,
        h('div', { class: 'row' },
          field('lon', '经度 Lon', lon), field('lat', '纬度 Lat', lat), field('crs', '坐标系 CRS', crs)),
        h('label', { class: 'check' }, pick, ' 点击地图选点 Pick the point on the map'),
        el.route),
      h('div', { class: 'row' },
        field('category', '类别 Category', select('intake-category', { '': '— 请选择 —', ...CATEGORIES }, '')),
        field('severity', '紧急程度 Severity', select('intake-severity', { '': '— 请选择 —', ...SEVERITIES }, ''))),
      field('source', '来源 Source', select('intake-source', INTAKE_SOURCES, 'hotline_12345')),
      field('description', '诉求内容 What the resident said', h('textarea', { id: 'intake-description', name: 'description', rows: 3 })),
      h('div', { class: 'row' },
        field('reporter_name', '反映人 Reporter', h('input', { id: 'intake-reporter-name', name: 'reporter_name' })),
        field('reporter_phone', '联系电话 Phone', h('input', { id: 'intake-reporter-phone', name: 'reporter_phone', inputmode: 'tel' }))),
      h('div', { class: 'form-problem', hidden: true }),
      h('div', { class: 'buttons' },
        h('button', { type: 'submit', id: 'intake-submit', class: 'primary' }, '受理并派单 Submit'),
        h('button', { type: 'button', id: 'intake-clear', onclick: clearIntake }, '新的受理 New')),
      el.result);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      submitIntake(form);
    });
    el.intakeForm = form;
    return form;
  }

  // readWhere parses what was pasted or typed and fills lon, lat and crs.
  function readWhere(text) {
    if (!text.trim()) {
      el.whereNote.textContent = '';
      el.whereNote.className = 'where-note muted';
      return;
    }
    const p = parseLocation(text);
    if (p.error) {
      el.whereNote.textContent = p.error;
      el.whereNote.className = 'where-note error';
      el.whereNote.dataset.via = '';
      return;
    }
    el.lon.value = String(p.lon);
    el.lat.value = String(p.lat);
    if (p.crs) el.crs.value = p.crs;
    el.whereNote.className = 'where-note ok';
    el.whereNote.dataset.via = p.via;
    el.whereNote.textContent = `识别为 ${viaName(p.via)} · ${CRS_NAMES[el.crs.value]} · ${p.lon}, ${p.lat}${p.note ? ` · ${p.note}` : ''}`;
    pointFromFields(p.via);
  }

  // pick sets the point from a click on the map (WGS-84: app.js takes a
  // click on a GCJ-02 map back to WGS-84 first).
  function pick(lngLat) {
    const round = (x) => Math.round(x * 1e7) / 1e7;
    el.lon.value = String(round(lngLat.lng));
    el.lat.value = String(round(lngLat.lat));
    el.crs.value = 'wgs84';
    el.where.value = '';
    el.whereNote.className = 'where-note ok';
    el.whereNote.dataset.via = 'map';
    el.whereNote.textContent = `地图点选 picked on the map · WGS-84 · ${el.lon.value}, ${el.lat.value}`;
    pointFromFields('map');
  }

  function pointFromFields(via) {
    const lon = Number(el.lon.value);
    const lat = Number(el.lat.value);
    if (el.lon.value.trim() === '' || el.lat.value.trim() === '' || !Number.isFinite(lon) || !Number.isFinite(lat)) {
      desk.intake.point = null;
      return;
    }
    desk.intake.point = { lon, lat, crs: el.crs.value, via };
    routePoint(desk.intake.point);
  }

  // routePoint shows where the point goes before anything is submitted.
  async function routePoint(p) {
    const n = ++desk.intake.routeSeq;
    el.route.replaceChildren(h('p', { class: 'muted' }, '正在定位… routing'));
    el.route.dataset.state = 'loading';
    const wgs = env.toWGS84(p.crs, [p.lon, p.lat]);
    markPoint(wgs);
    try {
      const r = await getJSON(`/v1/locate?${new URLSearchParams({ lon: p.lon, lat: p.lat, crs: p.crs })}`);
      if (n !== desk.intake.routeSeq) return;
      desk.intake.route = r;
      el.route.dataset.state = 'routed';
      el.route.dataset.grid = r.grid.code;
      el.route.replaceChildren(h('section', { class: `located match-${r.match}` },
        h('p', { class: 'route-to' }, '派往 Routes to: ', h('strong', { class: 'route-grid' }, r.grid.name),
          ' ', h('span', { class: 'code' }, r.grid.code)),
        h('p', {}, `${r.grid.village ? r.grid.village.name : ''}${r.grid.district ? ` · ${r.grid.district.name}` : ''} · ${MATCH[r.match] || r.match}`,
          r.match === 'nearest' ? ` · 距网格 ${r.distance_m} m` : ''),
        h('p', { class: 'route-leader' }, '网格长 Leader: ', h('strong', {}, r.leader ? r.leader.name : '—'),
          r.deputy ? h('span', { class: 'muted' }, ` · 副网格长 ${r.deputy.name}`) : null),
        h('p', { class: 'muted' }, '网格长不在岗时按责任链派给副网格长、联村组长或镇值班室。If the leader is away the chain picks the deputy, liaison leader or duty desk.')));
      env.select(r.grid.code);
    } catch (err) {
      if (n !== desk.intake.routeSeq) return;
      desk.intake.route = { error: err };
      el.route.dataset.state = 'error';
      el.route.dataset.grid = '';
      el.route.replaceChildren(problemSection(err));
      env.select(null);
    }
  }

  function intakeBody(form) {
    const v = (id) => form.querySelector(`#${id}`).value;
    const body = {
      category: v('intake-category'), severity: v('intake-severity'), source: v('intake-source'),
      description: v('intake-description').trim(), reporter_name: v('intake-reporter-name').trim(),
      reporter_phone: v('intake-reporter-phone').trim(), crs: el.crs.value,
    };
    const num = (s) => (s.trim() === '' ? undefined : Number(s));
    const lon = num(el.lon.value);
    const lat = num(el.lat.value);
    if (lon !== undefined) body.lon = Number.isFinite(lon) ? lon : el.lon.value.trim();
    if (lat !== undefined) body.lat = Number.isFinite(lat) ? lat : el.lat.value.trim();
    return body;
  }

  async function submitIntake(form) {
    if (!state.token) {
      el.result.replaceChildren(needToken());
      return;
    }
    const body = intakeBody(form);
    const text = JSON.stringify(body);
    // The same body keeps its key: a second click, or a retry after a
    // lost answer, gets the same incident back.
    if (!desk.intake.sent || desk.intake.sent.body !== text) desk.intake.sent = { body: text, key: newKey() };
    const { key } = desk.intake.sent;
    const n = ++desk.intake.seq;
    form.classList.add('busy');
    try {
      const res = await sendJSON('POST', '/v1/incidents', body, { token: state.token, key });
      const inc = res.body;
      const again = !!desk.intake.created && desk.intake.created.number === inc.number;
      desk.intake.created = inc;
      desk.intake.answers = again ? desk.intake.answers.concat(res.status) : [res.status];
      clearErrors(form);
      showCreated(inc, desk.intake.answers);
      if (!again) {
        loadCases();
        env.incidentsChanged();
      }
    } catch (err) {
      if (n !== desk.intake.seq) return;
      el.result.replaceChildren();
      showErrors(form, err, { grid: 'where' });
    } finally {
      if (n === desk.intake.seq) form.classList.remove('busy');
    }
  }

  // showCreated shows the incident created; answers are the HTTP statuses
  // that returned it: 201 for the one that created it, 200 for a repeat.
  function showCreated(inc, answers) {
    const a = inc.assignee;
    const fresh = answers.includes(201);
    el.result.replaceChildren(h('section', { class: 'created', 'data-number': inc.number, 'data-answers': answers.join(',') },
      h('h3', {}, fresh ? '已受理 Created' : '已受理（此前已创建）Already created'),
      answers.length > 1 || !fresh
        ? h('p', { class: 'muted dedup' }, `同一受理提交了 ${answers.length} 次，只创建了一件 (Idempotency-Key)。Submitted ${answers.length}×, one incident.`)
        : null,
      h('p', {}, '事件 ', h('strong', { class: 'code number' }, inc.number), ' ', statusChip(inc.status)),
      h('p', {}, `网格 ${gridName(inc.grid && inc.grid.code) || (inc.grid && inc.grid.code) || '—'} · 承办 ${a ? `${ROLES[a.role] || a.role || ''} ${a.name}` : '—'}`),
      h('p', {}, h('button', { type: 'button', class: 'link open-case', onclick: () => openCase(inc.number) }, '查看案件 Open the case'))));
  }

  function clearIntake() {
    const form = el.intakeForm;
    form.reset();
    clearErrors(form);
    el.crs.value = 'wgs84';
    el.pick.checked = true;
    el.whereNote.textContent = '';
    el.result.replaceChildren();
    el.route.replaceChildren(h('p', { class: 'muted' }, '尚未选点 No point yet: click the map, or paste coordinates or a link.'));
    el.route.dataset.state = '';
    desk.intake.point = null;
    desk.intake.route = null;
    desk.intake.created = null;
    desk.intake.answers = [];
    desk.intake.sent = null;
    markPoint(null);
    env.select(null);
  }

  // ---- Cases ----------------------------------------------------------------------

  function buildCases() {
    const status = select('cases-status', { open: '未办结 open', '': '全部 all', ...Object.fromEntries(Object.entries(STATUSES).map(([k, [l]]) => [k, l])) }, 'open');
    const category = select('cases-category', { '': '全部类别 all', ...CATEGORIES }, '');
    const village = select('cases-village', villageOptions(), '');
    const overdue = h('input', { type: 'checkbox', id: 'cases-overdue' });
    const order = select('cases-order', { urgent: '紧急优先 most urgent', newest: '最新优先 newest' }, 'urgent');
    el.filters = { status, category, village, overdue, order };
    for (const c of [status, category, village, overdue]) c.addEventListener('change', () => loadCases());
    order.addEventListener('change', renderCases);
    el.casesList = h('ol', { class: 'cases', id: 'cases-list' });
    el.casesNote = h('p', { class: 'muted cases-note', 'aria-live': 'polite' });
    el.more = h('button', { type: 'button', id: 'cases-more', hidden: true, onclick: () => loadCases(true) }, '加载更多 More');
    el.casesView = h('div', { id: 'cases-view' },
      h('div', { class: 'filters' },
        h('label', {}, '状态 ', status), h('label', {}, '类别 ', category), h('label', {}, '村 ', village),
        h('label', { class: 'check' }, overdue, ' 仅超期 overdue only'), h('label', {}, '排序 ', order),
        h('button', { type: 'button', id: 'cases-refresh', onclick: () => loadCases() }, '刷新 Refresh')),
      el.casesNote, el.casesList, el.more);
    el.detail = h('div', { id: 'case-detail', hidden: true });
    return h('div', {}, el.casesView, el.detail);
  }

  // villageOptions are the village filter's choices: the chosen town's
  // villages (every village when no town is chosen).
  function villageOptions() {
    return { '': '全部村(社区) all villages', ...Object.fromEntries(state.villages.filter((v) => inTown(v.code)).map((v) => [v.code, v.name])) };
  }

  async function loadCases(more = false) {
    if (!el.filters) return;
    if (!state.token) {
      el.casesList.replaceChildren();
      el.casesNote.replaceChildren(needToken());
      el.more.hidden = true;
      return;
    }
    const f = el.filters;
    const q = new URLSearchParams({ limit: '20' });
    const status = f.status.value === 'open' ? OPEN_STATUSES.join(',') : f.status.value;
    if (status) q.set('status', status);
    if (f.category.value) q.set('category', f.category.value);
    if (f.village.value) q.set('village', f.village.value);
    if (f.overdue.checked) q.set('overdue', 'true');
    if (more && desk.cases.next) q.set('cursor', desk.cases.next);
    const n = ++desk.cases.seq;
    desk.cases.loading = true;
    el.casesView.dataset.state = 'loading';
    try {
      const page = await getJSON(`/v1/incidents?${q}${townParam()}`, { token: state.token, accept: 'application/json, application/problem+json' });
      if (n !== desk.cases.seq) return;
      desk.cases.list = more ? desk.cases.list.concat(page.incidents || []) : page.incidents || [];
      desk.cases.next = page.next_cursor || '';
      desk.cases.error = null;
      renderCases();
    } catch (err) {
      if (n !== desk.cases.seq) return;
      desk.cases.error = err;
      el.casesList.replaceChildren();
      el.casesNote.replaceChildren(err.status === 401 || err.status === 403 ? needToken() : problemSection(err));
      el.more.hidden = true;
    } finally {
      if (n === desk.cases.seq) {
        desk.cases.loading = false;
        el.casesView.dataset.state = desk.cases.error ? 'error' : 'loaded';
      }
    }
  }

  // sorted: most urgent first is overdue first, then by severity, then by
  // due time; newest first is the server's order (received, newest first).
  function sorted(list) {
    if (el.filters.order.value !== 'urgent') return list;
    return list.slice().sort((a, b) => (b.overdue - a.overdue)
      || (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0)
      || String(a.due_at).localeCompare(String(b.due_at)));
  }

  function renderCases() {
    const list = sorted(desk.cases.list);
    el.casesNote.textContent = list.length
      ? `${list.length} 件${desk.cases.next ? '（还有更多 more）' : ''}` : '没有符合条件的案件 No cases match.';
    el.casesList.replaceChildren(...list.map((inc) => {
      const grid = inc.grid && inc.grid.code;
      return h('li', { class: `case${inc.overdue ? ' overdue' : ''}`, 'data-number': inc.number },
        h('button', { type: 'button', onclick: () => openCase(inc.number) },
          h('span', { class: 'case-head' }, h('span', { class: 'code number' }, inc.number), ' ', statusChip(inc.status),
            ' ', h('span', { class: `sev sev-${inc.severity}` }, SEVERITIES[inc.severity] || inc.severity),
            inc.overdue ? h('span', { class: 'chip overdue' }, '超期 overdue') : null,
            inc.possible_duplicate_of && MERGEABLE.includes(inc.status)
              ? h('span', { class: 'chip duplicate', title: `疑似重复 ${inc.possible_duplicate_of.number}` }, '疑似重复 duplicate?') : null),
          h('span', { class: 'case-what' }, `${CATEGORIES[inc.category] || inc.category} · ${inc.description}`),
          h('span', { class: 'case-where muted' },
            `${gridName(grid) || grid || '—'}${grid && inc.grid.village_code ? ` · ${villageName(inc.grid.village_code)}` : ''}`,
            ` · 承办 ${inc.assignee ? inc.assignee.name : '—'} · 时限 ${formatTime(inc.due_at)}`)));
    }));
    el.more.hidden = !desk.cases.next;
  }

  // ---- A case --------------------------------------------------------------------

  async function openCase(number) {
    setTab('cases');
    el.casesView.hidden = true;
    el.detail.hidden = false;
    el.detail.replaceChildren(h('p', { class: 'muted' }, `正在打开 ${number}… loading`));
    el.detail.dataset.number = number;
    const n = ++desk.detailSeq;
    try {
      const inc = await getJSON(`/v1/incidents/${encodeURIComponent(number)}`, { token: state.token });
      if (n !== desk.detailSeq) return;
      renderDetail(inc);
      const wgs = inc.location;
      showOnMap(wgs, inc.grid && inc.grid.code);
    } catch (err) {
      if (n === desk.detailSeq) el.detail.replaceChildren(backButton(), problemSection(err));
    }
  }

  function backButton() {
    return h('button', { type: 'button', class: 'back', id: 'case-back', onclick: closeCase }, '← 返回列表 Back to the list');
  }

  function closeCase() {
    desk.detail = null;
    desk.detailSeq++;
    clearTimeout(desk.poll);
    el.detail.hidden = true;
    el.detail.replaceChildren();
    el.casesView.hidden = false;
    markPoint(null);
    env.select(null);
  }

  const shortTime = (s) => {
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? s
      : d.toLocaleTimeString('zh-CN', { hour12: false });
  };
  const row = (term, cls, ...value) => [h('dt', {}, term), h('dd', { class: cls }, ...value)];
  const person = (p) => (p ? [p.name, p.phone ? h('span', { class: 'muted' }, ` ${p.phone}`) : null] : ['—']);
  // duration says a number of seconds in days, hours and minutes.
  const duration = (sec) => {
    const m = Math.round((sec || 0) / 60);
    if (m < 60) return `${m} 分钟`;
    const d = Math.floor(m / 1440);
    const hr = Math.floor((m % 1440) / 60);
    return `${d ? `${d} 天` : ''}${hr ? `${hr} 小时` : ''}${m % 60 ? `${m % 60} 分` : ''}`;
  };
  // caseLink opens another incident in the desk.
  const caseLink = (ref, cls) => h('button', { type: 'button', class: `link code ${cls}`, 'data-number': ref.number,
    onclick: () => openCase(ref.number) }, ref.number);
  const onTime = (inc) => {
    if (inc.on_time === true) return h('span', { class: 'chip on-time', 'data-on-time': 'true' }, '按时办结 on time');
    if (inc.on_time === false) return h('span', { class: 'chip late', 'data-on-time': 'false' }, '超时办结 late');
    return h('span', { class: 'muted', 'data-on-time': '' }, '未办结 not completed');
  };

  // recordRows are the honest record's facts: the first time limit and
  // whether it was kept, escalations, missed deadlines, why it ended, and
  // the duplicates.
  function recordRows(inc) {
    const ended = inc.status === 'cancelled' || inc.status === 'rejected' || inc.status === 'closed';
    const suspendedFor = inc.status === 'suspended' ? (inc.events || []).findLast((e) => e.action === 'suspend') : null;
    return [
      row('首次时限 First due', 'first-due', formatTime(inc.first_due_at)),
      row('按时办结 On time', 'on-time', onTime(inc),
        inc.completed_at ? h('span', { class: 'muted' }, ` · 办结 ${formatTime(inc.completed_at)}`) : null),
      row('上报次数 Escalations', 'escalations', String(inc.escalation_count || 0),
        h('span', { class: 'muted' }, ` · 最高 ${LEVELS[inc.max_level || 0] || inc.max_level}`)),
      row('超期 Missed deadlines', 'missed', `${inc.missed_deadlines || 0} 次`,
        inc.overdue_seconds ? h('span', { class: 'muted' }, ` · 累计超时 ${duration(inc.overdue_seconds)}`) : null),
      inc.suspended_at ? row('挂起 Suspended since', 'suspended', formatTime(inc.suspended_at),
        suspendedFor ? h('div', { class: 'suspend-reason' }, `原因：${suspendedFor.note}`) : null) : null,
      inc.suspended_seconds ? row('挂起时长 Time suspended', 'suspended-for', duration(inc.suspended_seconds)) : null,
      inc.outcome_reason || ended ? row('结果原因 Outcome reason', 'outcome', inc.outcome_reason || '—') : null,
      inc.possible_duplicate_of ? row('疑似重复 Possible duplicate of', 'duplicate',
        caseLink(inc.possible_duplicate_of, 'duplicate-link'),
        MERGEABLE.includes(inc.status)
          ? h('button', { type: 'button', class: 'merge-now', id: 'merge-duplicate',
            onclick: () => {
              // Problems are shown in the merge form, opened for them.
              el.mergeForm.closest('details').open = true;
              act(el.mergeForm, { action: 'merge' });
            } }, '合并 Merge')
          : null) : null,
      inc.merged_into ? row('已并入 Merged into', 'merged-into', caseLink(inc.merged_into, 'merged-link')) : null,
      inc.contacts && inc.contacts.length ? row('其他反映人 Contacts', 'contacts',
        h('ul', { class: 'contacts' }, inc.contacts.map((c) => h('li', { 'data-from': c.from },
          ...person(c.reporter), h('span', { class: 'muted' }, ` · 来自 ${c.from} · ${formatTime(c.at)}`))))) : null,
    ];
  }

  function deadlinesTable(inc) {
    const list = inc.deadlines || [];
    if (!list.length) return null;
    return h('table', { class: 'deadlines-table', id: 'case-deadlines' },
      h('thead', {}, h('tr', {}, ['#', '层级 Level', '时限 Due', '设定 Set', '结果 Outcome'].map((t) => h('th', {}, t)))),
      h('tbody', {}, list.map((d) => h('tr', { class: `deadline${d.missed ? ' missed' : ''}`, 'data-seq': d.seq, 'data-missed': String(!!d.missed) },
        h('td', { class: 'num' }, String(d.seq)),
        h('td', {}, LEVELS[d.level] || String(d.level)),
        h('td', {}, formatTime(d.due_at)),
        h('td', {}, formatTime(d.set_at), h('div', { class: 'muted' }, ACTIONS[d.set_by] || d.set_by)),
        h('td', {}, d.missed ? h('span', { class: 'chip late' }, `超期 missed${d.missed_at ? ` ${shortTime(d.missed_at)}` : ''}`)
          : d.ended_at ? h('span', { class: 'muted' }, `结束 ended ${formatTime(d.ended_at)}`)
            : h('span', { class: 'muted' }, '进行中 in force'))))));
  }

  function renderDetail(inc) {
    desk.detail = inc;
    el.detail.dataset.number = inc.number;
    el.detail.dataset.status = inc.status;
    const a = inc.assignee;
    const grid = inc.grid;
    const where = inc.input
      ? `${inc.input.lon}, ${inc.input.lat} (${inc.input.crs})${inc.location && inc.input.crs !== 'wgs84' ? ` → WGS-84 ${inc.location[0].toFixed(6)}, ${inc.location[1].toFixed(6)}` : ''}`
      : '—';
    el.messages = h('div', { class: 'messages' });
    renderMessages(inc);
    el.detail.replaceChildren(backButton(),
      h('section', { class: 'case-detail' },
        h('h2', {}, '事件 ', h('span', { class: 'code number' }, inc.number), ' ', statusChip(inc.status),
          inc.overdue ? h('span', { class: 'chip overdue' }, '超期 overdue') : null),
        h('p', { class: 'description' }, inc.description),
        h('dl', {},
          row('类别 Category', 'category', `${CATEGORIES[inc.category] || inc.category} · ${SEVERITIES[inc.severity] || inc.severity} · ${SOURCES[inc.source] || inc.source}`),
          row('位置 Location', 'where', where),
          row('网格 Grid', 'grid', grid ? `${gridName(grid.code) || ''} ${grid.code || ''} · ${MATCH[grid.match] || grid.match}` : '—'),
          row('承办 Assignee', 'assignee', a ? `${ROLES[a.role] || a.role || ''} ` : '', ...person(a)),
          a && a.reason ? row('派单依据 Why', 'reason muted', a.reason) : null,
          row('时限 Due', 'due', formatTime(inc.due_at)),
          row('受理 Received', 'received', `${formatTime(inc.received_at)} · ${inc.created_by || ''}`),
          inc.reporter ? row('反映人 Reporter', 'reporter', ...person(inc.reporter)) : null,
          inc.co_notified && inc.co_notified.length ? row('协同组织 Co-notified', 'orgs', inc.co_notified.map((o) => o.name).join('、')) : null,
          ...recordRows(inc)),
        inc.deadlines && inc.deadlines.length ? h('h3', {}, '时限记录 Deadlines') : null,
        deadlinesTable(inc),
        h('h3', {}, '通知送达 Messages ', h('button', { type: 'button', class: 'link', id: 'case-refresh', onclick: () => refreshCase() }, '刷新 refresh')),
        el.messages,
        h('h3', {}, '处置 Actions'),
        actionsFor(inc),
        h('h3', {}, '处理记录 History'),
        h('ol', { class: 'history' }, (inc.events || []).map((e) => h('li', { 'data-action': e.action },
          h('span', { class: 'muted' }, formatTime(e.at)), ' ',
          h('strong', {}, ACTIONS[e.action] || e.action), ' ',
          e.from ? h('span', { class: 'muted' }, `${(STATUSES[e.from] || [e.from])[0]} → `) : null,
          h('span', {}, (STATUSES[e.to] || [e.to])[0]),
          e.assignee ? h('span', {}, ` · ${e.assignee.name}${e.assignee.phone ? ` ${e.assignee.phone}` : ''}`) : null,
          e.note ? h('div', { class: 'note' }, e.note) : null,
          h('div', { class: 'muted actor' }, e.actor))))));
    schedulePoll();
  }

  function renderMessages(inc) {
    const msgs = inc.messages || [];
    if (!msgs.length) {
      el.messages.replaceChildren(h('p', { class: 'muted' }, '无通知 No messages (no channel configured for this case).'));
      return;
    }
    el.messages.replaceChildren(h('table', { class: 'messages-table' },
      h('thead', {}, h('tr', {}, ['渠道 Channel', '通知 Kind', '接收人 To', '状态 Status', '次数 Tries'].map((t) => h('th', {}, t)))),
      h('tbody', {}, msgs.flatMap((m) => {
        const [label, color] = DELIVERY[m.status] || [m.status, '#64748b'];
        return [h('tr', { class: 'message', 'data-id': m.id, 'data-status': m.status, 'data-kind': m.kind, 'data-channel-kind': m.channel_kind },
          h('td', {}, m.channel, h('div', { class: 'muted' }, CHANNEL_KINDS[m.channel_kind] || m.channel_kind)),
          h('td', {}, MESSAGE_KINDS[m.kind] || m.kind),
          h('td', {}, ...person(m.recipient)),
          h('td', { class: 'delivery' }, colored(h('span', { class: 'chip delivery' }, label), color),
            m.sent_at ? h('div', { class: 'muted sent-at', title: `送达时间 sent at ${formatTime(m.sent_at)}` }, shortTime(m.sent_at)) : null),
          h('td', { class: 'num' }, String(m.attempts))),
        m.last_error ? h('tr', { class: 'message-error' }, h('td', { colspan: 5 }, `最近错误 last error: ${m.last_error}`)) : null];
      }))));
  }

  // refreshCase reloads the case; only the messages are redrawn, so a
  // form being filled in is left alone.
  async function refreshCase(full = false) {
    const inc = desk.detail;
    if (!inc) return;
    const n = desk.detailSeq;
    try {
      const fresh = await getJSON(`/v1/incidents/${encodeURIComponent(inc.number)}`, { token: state.token });
      if (n !== desk.detailSeq) return;
      if (full || fresh.status !== inc.status || (fresh.events || []).length !== (inc.events || []).length) {
        renderDetail(fresh);
        return;
      }
      desk.detail = fresh;
      renderMessages(fresh);
      schedulePoll();
    } catch {
      // the next refresh tries again
    }
  }

  // schedulePoll refreshes the messages while some are still on their way.
  function schedulePoll() {
    clearTimeout(desk.poll);
    const inc = desk.detail;
    if (!inc || !(inc.messages || []).some((m) => m.status === 'pending' || m.status === 'sending')) return;
    desk.poll = setTimeout(() => {
      if (desk.open && desk.detail && desk.detail.number === inc.number) refreshCase();
    }, 3000);
  }

  // needReason checks that a reason was given where the server requires
  // one, and says so beside the form's note field otherwise.
  function needReason(form, action, note) {
    if (!REASONED.includes(action) || note.trim()) return true;
    clearErrors(form);
    const slot = form.querySelector('.field[data-field="note"] .field-error');
    slot.hidden = false;
    slot.textContent = `${HINTS.note}：${ACTIONS[action] || action} 需要填写原因 a reason is required`;
    slot.closest('.field').classList.add('invalid');
    form.querySelector('[name=note]').focus();
    return false;
  }

  // reasonForm is a form of one action whose note is its reason.
  function reasonForm(id, action, label, placeholder, ...more) {
    const note = h('textarea', { id: `${id}-note`, name: 'note', rows: 2, required: true, placeholder });
    const form = h('form', { class: 'desk-form act', id: `act-${id}`, novalidate: true },
      ...more.map((m) => m.control),
      field('note', '原因 Reason（必填）', note),
      h('div', { class: 'form-problem', hidden: true }),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', id: `${id}-submit`, 'data-action': action }, label)));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!needReason(form, action, note.value)) return;
      const body = { action, note: note.value.trim() };
      for (const m of more) if (!m.add(body, form)) return;
      act(form, body);
    });
    return form;
  }

  // correctFields are the correction's category and place: a location
  // (lon, lat, crs) or a grid code; only what is filled in is sent.
  function correctFields(inc) {
    const category = select('correct-category', { '': '— 不变 unchanged —', ...CATEGORIES }, '');
    const lon = h('input', { id: 'correct-lon', name: 'lon', inputmode: 'decimal', placeholder: '经度 lon' });
    const lat = h('input', { id: 'correct-lat', name: 'lat', inputmode: 'decimal', placeholder: '纬度 lat' });
    const crs = select('correct-crs', { wgs84: 'WGS-84', gcj02: 'GCJ-02', bd09: 'BD-09' }, 'wgs84');
    const grid = h('input', { id: 'correct-grid', name: 'grid', spellcheck: 'false', placeholder: `网格编码 ${inc.grid ? inc.grid.code : ''}` });
    return {
      control: h('div', {},
        field('category', '类别 Category', category),
        h('div', { class: 'row' }, field('lon', '经度 Lon', lon), field('lat', '纬度 Lat', lat), field('crs', '坐标系 CRS', crs)),
        field('grid', '或网格 or grid code', grid)),
      add(body) {
        if (category.value) body.category = category.value;
        const num = (x) => (x.value.trim() === '' ? undefined : Number(x.value.trim()));
        const [x, y] = [num(lon), num(lat)];
        if (x !== undefined || y !== undefined) {
          body.lon = Number.isFinite(x) ? x : lon.value.trim();
          body.lat = Number.isFinite(y) ? y : lat.value.trim();
          body.crs = crs.value;
        }
        if (grid.value.trim()) body.grid = grid.value.trim();
        return true;
      },
    };
  }

  function mergeFields(inc) {
    const into = h('input', { id: 'merge-into', name: 'into', spellcheck: 'false',
      placeholder: inc.possible_duplicate_of ? `默认 ${inc.possible_duplicate_of.number}` : '并入的事件编号 WG…' });
    return {
      control: field('into', '并入 Into', into),
      add(body) {
        if (into.value.trim()) body.into = into.value.trim();
        return true;
      },
    };
  }

  function actionsFor(inc) {
    const open = OPEN_STATUSES.includes(inc.status);
    const note = h('textarea', { id: 'act-note', name: 'note', rows: 2, placeholder: '说明（退回必填）note (a reject needs its reason)' });
    const steps = Object.entries(STEPS).filter(([, from]) => from.includes(inc.status)).map(([action]) => action);
    const step = (action) => (e) => {
      const form = e.target.closest('form');
      if (needReason(form, action, note.value)) act(form, { action, note: note.value.trim() });
    };
    const stepForm = h('form', { class: 'desk-form act', id: 'act-steps', novalidate: true },
      field('note', '说明 Note', note),
      h('div', { class: 'buttons' },
        steps.map((action) => h('button', { type: 'button', 'data-action': action, onclick: step(action) }, ACTIONS[action])),
        h('button', { type: 'button', 'data-action': 'comment', onclick: step('comment') }, ACTIONS.comment)),
      h('div', { class: 'form-problem', hidden: true }));

    // The record's forms: correct (not once ended), suspend (clock
    // running), cancel (open), merge (open or resolved).
    const boxes = [];
    const box = (id, summary, form) => boxes.push(h('details', { id: `${id}-box`, class: 'act-box' }, h('summary', {}, summary), form));
    const ended = ['closed', 'cancelled', 'merged'].includes(inc.status);
    if (!ended) box('correct', '更正 Correct…', reasonForm('correct', 'correct', '更正并重新派单 Correct', '更正原因 why', correctFields(inc)));
    if (RUNNING.includes(inc.status)) box('suspend', '挂起 Suspend…', reasonForm('suspend', 'suspend', '挂起 Suspend', '挂起原因，如：等待司法鉴定'));
    if (open) box('cancel', '撤销 Cancel…', reasonForm('cancel', 'cancel', '撤销 Cancel', '撤销原因，如：来电人撤回'));
    el.mergeForm = null;
    if (MERGEABLE.includes(inc.status)) {
      const merge = mergeFields(inc);
      const form = h('form', { class: 'desk-form act', id: 'act-merge', novalidate: true },
        merge.control,
        h('div', { class: 'form-problem', hidden: true }),
        h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'merge-submit', 'data-action': 'merge' }, '合并 Merge')));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const body = { action: 'merge' };
        merge.add(body);
        act(form, body);
      });
      el.mergeForm = form;
      box('merge', '合并 Merge…', form);
    }
    if (!RUNNING.includes(inc.status)) return h('div', { class: 'actions' }, stepForm, ...boxes);

    const chain = h('input', { type: 'radio', name: 'to', value: 'chain', id: 'reassign-chain', checked: true });
    const named = h('input', { type: 'radio', name: 'to', value: 'named', id: 'reassign-named' });
    const name = h('input', { id: 'reassign-name', name: 'name', placeholder: '姓名 name' });
    const phone = h('input', { id: 'reassign-phone', name: 'phone', inputmode: 'tel', placeholder: '手机 phone' });
    const rnote = h('input', { id: 'reassign-note', name: 'note', placeholder: '原因（可选）reason' });
    const who = h('div', { class: 'row named', hidden: true },
      field('assignee', '改派给 To', name), field('phone', '电话 Phone', phone));
    for (const r of [chain, named]) r.addEventListener('change', () => { who.hidden = !named.checked; });
    const reassign = h('form', { class: 'desk-form act', id: 'act-reassign', novalidate: true },
      h('label', { class: 'check' }, chain, ' 按责任链重新派单 along the chain (leader → deputy → liaison → duty desk)'),
      h('label', { class: 'check' }, named, ' 指定人员 to a named person'),
      who,
      field('note', '原因 Reason', rnote),
      h('div', { class: 'form-problem', hidden: true }),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'reassign-submit' }, '改派 Reassign')));
    reassign.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = { action: 'reassign', note: rnote.value };
      if (named.checked) body.assignee = { name: name.value.trim(), phone: phone.value.trim() };
      act(reassign, body);
    });

    const enote = h('textarea', { id: 'escalate-note', name: 'note', rows: 2, placeholder: '上报原因 why it goes up a level' });
    const escalate = h('form', { class: 'desk-form act', id: 'act-escalate', novalidate: true },
      field('note', '说明 Note', enote),
      h('div', { class: 'form-problem', hidden: true }),
      h('div', { class: 'buttons' }, h('button', { type: 'submit', id: 'escalate-submit' }, '上报上一级 Escalate')));
    escalate.addEventListener('submit', (e) => {
      e.preventDefault();
      act(escalate, { action: 'escalate', note: enote.value });
    });
    // Reassign and escalate open on demand, so the case stays short.
    return h('div', { class: 'actions' }, stepForm,
      h('details', { id: 'reassign-box', class: 'act-box' }, h('summary', {}, '改派 Reassign…'), reassign),
      h('details', { id: 'escalate-box', class: 'act-box' }, h('summary', {}, '上报 Escalate…'), escalate),
      ...boxes);
  }

  // act posts one step; the answer is the incident as it now is. As with
  // the intake, the same body keeps its Idempotency-Key until it succeeds,
  // so a retry after a lost answer is applied once.
  async function act(form, body) {
    const inc = desk.detail;
    if (!inc) return;
    if (form.classList.contains('busy')) return;
    form.classList.add('busy');
    clearErrors(form);
    const text = JSON.stringify(body);
    if (!form.sent || form.sent.body !== text) form.sent = { body: text, key: newKey() };
    try {
      const res = await sendJSON('POST', `/v1/incidents/${encodeURIComponent(inc.number)}/events`, body, { token: state.token, key: form.sent.key });
      if (desk.detail && desk.detail.number === inc.number) renderDetail(res.body);
      loadCases();
      env.incidentsChanged();
    } catch (err) {
      form.classList.remove('busy');
      showErrors(form, err);
    }
  }

  // ---- The panel ---------------------------------------------------------------------

  function setTab(tab) {
    desk.tab = tab;
    for (const b of el.tabs) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
    el.intakeTab.hidden = tab !== 'intake';
    el.casesTab.hidden = tab !== 'cases';
    document.getElementById('desk').dataset.tab = tab;
    if (tab === 'cases' && !desk.cases.list.length && !desk.cases.loading && !desk.cases.seq) loadCases();
  }

  function build() {
    const root = document.getElementById('desk');
    el.tabs = [['intake', '受理 Intake'], ['cases', '案件 Cases']].map(([id, label]) => h('button', { type: 'button', role: 'tab',
      'data-tab': id, id: `desk-tab-${id}`, onclick: () => {
        setTab(id);
        if (id === 'cases' && !desk.cases.loading) loadCases(); // the list as it is now
      } }, label));
    el.intakeTab = h('div', { id: 'desk-intake', role: 'tabpanel' }, buildIntake());
    el.casesTab = h('div', { id: 'desk-cases', role: 'tabpanel', hidden: true }, buildCases());
    root.replaceChildren(
      h('div', { class: 'desk-head' }, h('h2', {}, '调度台 ', h('small', {}, "Dispatcher's desk")),
        h('div', { role: 'tablist' }, el.tabs),
        h('button', { type: 'button', class: 'close', title: '关闭 close', 'aria-label': 'close', onclick: () => toggle(false) }, '×')),
      el.intakeTab, el.casesTab);
    setTab('intake');
  }

  function toggle(on = !desk.open) {
    desk.open = on;
    const root = document.getElementById('desk');
    if (on && !el.tabs) build();
    root.hidden = !on;
    document.body.classList.toggle('desk-open', on);
    document.getElementById('desk-toggle').setAttribute('aria-expanded', String(on));
    if (!on) {
      clearTimeout(desk.poll);
      markPoint(null);
    }
    if (state.map) state.map.resize();
  }

  return {
    toggle,
    // picking: a click on the map sets the intake point.
    picking: () => desk.open && desk.tab === 'intake' && !!el.pick && el.pick.checked,
    pick,
    openCase,
    // onToken reloads what the token shows.
    onToken() {
      if (!desk.open) return;
      loadCases();
      if (desk.detail) refreshCase(true);
    },
    // onTown follows the town chosen in the header: the village filter
    // offers its villages, and the cases are its own (reloaded unless
    // reload is false).
    onTown({ reload = true } = {}) {
      if (!el.filters) return;
      const f = el.filters.village;
      const keep = inTown(f.value) ? f.value : '';
      f.replaceChildren(...Object.entries(villageOptions()).map(([k, v]) => h('option', { value: k }, v)));
      f.value = keep;
      if (reload && desk.open) loadCases();
    },
    // hooks for scripts and the browser test
    state: () => ({
      open: desk.open,
      tab: desk.tab,
      point: desk.intake.point,
      routed: desk.intake.route && desk.intake.route.grid ? desk.intake.route.grid.code : null,
      created: desk.intake.created ? desk.intake.created.number : null,
      key: desk.intake.sent ? desk.intake.sent.key : null,
      cases: desk.cases.list.map((c) => c.number),
      casesState: el.casesView ? el.casesView.dataset.state : null,
      detail: desk.detail ? desk.detail.number : null,
    }),
    refreshCase: () => refreshCase(),
  };
}
