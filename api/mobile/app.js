// 网格工作台: the work screen of grid leaders, deputies, liaison leaders
// and organization chairs. One small script, no framework, nothing loaded
// from elsewhere. Every action goes through a queue kept in localStorage
// (photos in IndexedDB), each with its Idempotency-Key, sent in order
// whenever the network is there: an action typed offline is sent once when
// it returns, and a 409 (the step was taken already) counts as done.
'use strict';
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const view = $('#view');

  // ---- words ------------------------------------------------------------
  const CATEGORY = { dispute: '矛盾纠纷', environment: '环境卫生', safety: '安全隐患', livelihood: '民生诉求',
    customs: '移风易俗', left_behind_children: '留守儿童', other: '其他' };
  const SEVERITY = { urgent: '紧急', major: '重要', minor: '一般' };
  const STATUS = { received: '待派单', dispatched: '待接单', accepted: '已接单', in_progress: '处理中', resolved: '已办结',
    verified: '已核实', closed: '已结案', rejected: '已退回', reopened: '重新打开',
    suspended: '挂起', cancelled: '已撤销', merged: '已合并' };
  const ACTION = { receive: '受理', dispatch: '派单', accept: '接单', start: '开始处理', resolve: '办结', verify: '核实',
    close: '结案', reject: '退回', reopen: '重新打开', reassign: '改派', escalate: '上报', comment: '备注',
    request_reassign: '申请改派', request_escalate: '申请上报', photo: '上传照片',
    correct: '更正', suspend: '挂起', resume: '恢复办理', cancel: '撤销', merge: '合并', reroute: '重新派单', handover: '工作交接' };
  const ROLE = { leader: '网格长', deputy: '副网格长', member: '网格员', liaison_leader: '联村组长', duty_desk: '镇值班室' };
  const SOURCE = { hotline_12345: '12345 热线', wechat: '微信', walk_in: '来访', patrol: '巡查', other: '其他', open311: 'Open311 接口' };
  const MATCH = { inside: '网格内', boundary: '网格边界上', nearest: '网格外附近', code: '按网格编码派单', outside: '不在任何网格内' };
  const CHECK = { inside: '网格内拍摄', near: '网格附近拍摄', outside: '不在网格内拍摄', none: '无位置信息' };
  const SENT = { pending: '待发送', sending: '发送中', sent: '已送达', dead: '发送失败' };
  // What the screen shows a step leads to while it waits in the queue.
  const LEADS_TO = { accept: 'accepted', start: 'in_progress', resolve: 'resolved' };
  const MAX_PHOTO = 5 << 20;

  // ---- storage ----------------------------------------------------------
  const KEY = { session: 'wg.m.session', queue: 'wg.m.queue', list: 'wg.m.list', cases: 'wg.m.cases', grids: 'wg.m.grids' };
  function load(key, fallback) {
    try {
      const v = localStorage.getItem(key);
      return v ? JSON.parse(v) : fallback;
    } catch (e) {
      return fallback;
    }
  }
  function save(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      toast('手机存储空间不足，部分数据未能保存');
    }
  }

  // Photos waiting to be sent are kept in IndexedDB (localStorage holds
  // text only, and too little of it); in memory if IndexedDB is missing.
  const memoryPhotos = new Map();
  let idbOpen;
  function idb() {
    if (!idbOpen) {
      idbOpen = new Promise((resolve, reject) => {
        const r = indexedDB.open('wangge-m', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('photos');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
    }
    return idbOpen;
  }
  async function photoStore(mode, fn) {
    const db = await idb();
    return new Promise((resolve, reject) => {
      const tx = db.transaction('photos', mode);
      const req = fn(tx.objectStore('photos'));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  }
  const photos = {
    put: (id, blob) => photoStore('readwrite', (s) => s.put(blob, id)).catch(() => memoryPhotos.set(id, blob)),
    get: (id) => photoStore('readonly', (s) => s.get(id)).catch(() => undefined).then((b) => b || memoryPhotos.get(id)),
    del: (id) => { memoryPhotos.delete(id); return photoStore('readwrite', (s) => s.delete(id)).catch(() => {}); },
  };

  // ---- the session -------------------------------------------------------
  function session() {
    const s = load(KEY.session, null);
    if (s && s.token && Date.parse(s.expires_at) > Date.now()) return s;
    return null;
  }
  function signedOut(message) {
    localStorage.removeItem(KEY.session);
    location.hash = '#/login';
    if (message) setTimeout(() => showError(message), 0);
  }

  // ---- the API -----------------------------------------------------------
  class NetError extends Error {}
  let skew = 0; // server clock − this phone's clock, from the Date header
  const now = () => Date.now() + skew;

  async function api(method, path, { body, form, headers = {}, cache = 'no-store' } = {}) {
    const h = { Accept: 'application/json', ...headers };
    const s = session();
    if (s) h.Authorization = 'Bearer ' + s.token;
    let payload;
    if (form) {
      payload = form;
    } else if (body !== undefined) {
      h['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, { method, headers: h, body: payload, cache });
    } catch (e) {
      throw new NetError(String(e && e.message));
    }
    const date = Date.parse(res.headers.get('Date') || '');
    if (date) skew = date - Date.now();
    let data = null;
    if ((res.headers.get('Content-Type') || '').includes('json')) {
      try {
        data = await res.json();
      } catch (e) {
        data = null;
      }
    }
    return { status: res.status, ok: res.ok, data, headers: res.headers, res };
  }

  // problemText says in Chinese what went wrong, by the problem's type
  // (the detail is English, for the log).
  function problemText(r, what) {
    const p = r.data || {};
    const detail = p.detail || '';
    switch (p.type) {
      case '/problems/login-failed': {
        if (what === 'link') return '登录链接无效，请联系管理员重新获取';
        const m = /(\d+) tr(?:y|ies) left/.exec(detail);
        return m ? `验证码不正确，还可尝试 ${m[1]} 次` : '验证码不正确，或该手机号不能登录';
      }
      case '/problems/login-expired':
        return what === 'link' ? '登录链接已过期，请联系管理员重新获取' : '验证码已过期，请重新获取';
      case '/problems/login-locked': return '验证码错误次数过多，已失效，请重新获取';
      case '/problems/login-link-used': return '该登录链接已使用过，请联系管理员重新获取';
      case '/problems/no-sms-channel': return '暂时无法发送短信验证码，请联系管理员获取登录链接';
      case '/problems/unauthorized': return '登录已失效，请重新登录';
      case '/problems/forbidden': return '您无权查看或办理此事件';
      case '/problems/not-found': return '找不到此事件';
      case '/problems/conflict': return '当前状态不能进行此操作';
      case '/problems/payload-too-large': return '照片太大（不能超过 5 MiB）';
      case '/problems/unsupported-media-type': return '只能上传 JPG 或 PNG 照片';
      case '/problems/invalid-photo': return '照片已损坏或像素过多，请重新拍摄';
      case '/problems/unavailable': return '服务器暂时不可用，稍后自动重试';
    }
    if (r.status === 429) {
      const wait = +r.headers.get('Retry-After');
      return wait ? `请求过于频繁，请 ${wait >= 60 ? Math.ceil(wait / 60) + ' 分钟' : wait + ' 秒'}后再试` : '请求过于频繁，请稍后再试';
    }
    if (r.status === 400) return '填写的内容有误' + (detail ? `（${detail}）` : '');
    return `操作失败（${r.status}）`;
  }

  // ---- building the page --------------------------------------------------
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    setAttrs(e, attrs);
    append(e, kids);
    return e;
  }
  function svg(tag, attrs, ...kids) {
    const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    setAttrs(e, attrs);
    append(e, kids);
    return e;
  }
  function setAttrs(e, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k === 'className' ? 'class' : k, v === true ? '' : v);
    }
  }
  function append(e, kids) {
    for (const k of kids.flat(Infinity)) {
      if (k == null || k === false) continue;
      e.append(k.nodeType ? k : String(k));
    }
  }

  let toastTimer = 0;
  function toast(text) {
    const t = $('#toast');
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 3500);
  }
  function showError(text) {
    const e = $('#login-error') || $('#page-error');
    if (e) e.textContent = text;
    else toast(text);
  }

  function setBar(title, back) {
    $('#title').textContent = title;
    $('#back').hidden = !back;
    $('#refresh').hidden = !session();
    netState();
  }
  $('#back').addEventListener('click', () => {
    const m = /^#\/incidents\/([^/]+)\/\w+/.exec(location.hash);
    location.hash = m ? '#/incidents/' + m[1] : '#/';
  });
  $('#refresh').addEventListener('click', () => { flush(); route(); });

  function netState() {
    $('#net').hidden = navigator.onLine;
  }

  // ---- time ---------------------------------------------------------------
  function duration(ms) {
    const m = Math.floor(Math.abs(ms) / 60000);
    const d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mi = m % 60;
    if (d) return `${d}天${h}小时`;
    if (h) return `${h}小时${mi}分`;
    return `${mi}分钟`;
  }
  function timeLeft(inc) {
    const ms = Date.parse(inc.due_at) - now();
    // A suspended case's clock stands: it is neither running out nor over.
    if (inc.status === 'suspended') return { over: false, ms, text: '计时暂停' };
    const over = STATUS_OPEN.has(inc.status) && (inc.overdue || ms <= 0);
    return { over, ms, text: over ? '已超时 ' + duration(ms) : '剩余 ' + duration(ms) };
  }
  // STATUS_OPEN are geo.Status.Open's: still to be handled, a suspended
  // case too (a person may still comment or ask to reassign or escalate).
  const STATUS_OPEN = new Set(['received', 'dispatched', 'accepted', 'in_progress', 'rejected', 'reopened', 'suspended']);
  const two = (n) => String(n).padStart(2, '0');
  function when(t) {
    if (!t) return '';
    const d = new Date(t);
    return `${d.getMonth() + 1}月${d.getDate()}日 ${two(d.getHours())}:${two(d.getMinutes())}`;
  }

  // ---- the queue -----------------------------------------------------------
  const queue = () => load(KEY.queue, []);
  function setQueue(q) {
    save(KEY.queue, q);
    renderQueue();
  }
  function patch(id, fields) {
    setQueue(queue().map((e) => (e.id === id ? { ...e, ...fields } : e)));
  }
  function newKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return 'wgm-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }
  const queuedFor = (number) => queue().filter((e) => e.number === number);

  // enqueue adds steps (photos first, in the order given) and sends them.
  async function enqueue(items) {
    const add = [];
    for (const it of items) {
      const e = { id: newKey(), number: it.number, kind: it.kind, action: it.action || 'photo', note: it.note || '',
        name: it.name || '', bytes: it.bytes || 0, created: new Date().toISOString(), state: 'waiting', error: '', tries: 0 };
      if (it.blob) await photos.put(e.id, it.blob);
      add.push(e);
    }
    setQueue(queue().concat(add));
    flush();
  }

  function renderQueue() {
    const q = queue();
    const box = $('#queue');
    box.hidden = q.length === 0;
    if (!q.length) {
      box.replaceChildren();
      return;
    }
    const waiting = q.filter((e) => e.state !== 'failed').length;
    box.replaceChildren(
      el('h2', null, `待发送 ${waiting} 项` + (navigator.onLine ? '' : '（离线，联网后自动发送）')),
      el('ul', null, q.map((e) => el('li', { className: e.state === 'failed' ? 'failed' : '', 'data-key': e.id },
        el('span', { className: 'what' }, `${ACTION[e.action] || e.action}${e.kind === 'photo' && e.name ? ' ' + e.name : ''} · ${e.number}`),
        el('span', { className: 'small' }, e.state === 'failed' ? '未能发送：' + e.error
          : e.state === 'sending' ? '发送中…' : e.error || (navigator.onLine ? '排队中' : '等待网络')),
        e.state === 'failed' && el('button', { type: 'button', onclick: () => { patch(e.id, { state: 'waiting', error: '' }); flush(); } }, '重试'),
        e.state === 'failed' && el('button', { type: 'button', onclick: () => drop(e) }, '删除')))));
  }
  function drop(e) {
    photos.del(e.id);
    setQueue(queue().filter((x) => x.id !== e.id));
  }

  let flushing = false, retryTimer = 0, backoff = 0;
  function scheduleRetry(r) {
    clearTimeout(retryTimer);
    backoff = Math.min(60000, backoff ? backoff * 2 : 2000);
    const after = r ? +r.headers.get('Retry-After') * 1000 : 0;
    retryTimer = setTimeout(flush, Math.max(backoff, after || 0));
  }

  // flush sends the queue in order, one step at a time, until it is empty,
  // the network is gone or the server cannot take more now.
  async function flush() {
    if (flushing || !session()) return;
    flushing = true;
    let sent = 0;
    try {
      for (;;) {
        const e = queue().find((x) => x.state !== 'failed');
        if (!e) break;
        if (!navigator.onLine) break;
        patch(e.id, { state: 'sending' });
        let r;
        try {
          r = await send(e);
        } catch (err) {
          if (!(err instanceof NetError)) throw err;
          patch(e.id, { state: 'waiting', error: '网络中断，稍后重试', tries: e.tries + 1 });
          scheduleRetry();
          break;
        }
        if (r.missing) {
          patch(e.id, { state: 'failed', error: '照片数据已丢失，请重新选择' });
          continue;
        }
        if (r.ok || (r.status === 409 && e.kind === 'event')) {
          backoff = 0;
          photos.del(e.id);
          setQueue(queue().filter((x) => x.id !== e.id));
          sent++;
          if (e.kind === 'photo' && r.data) toast(`照片已上传：${CHECK[r.data.location_check] || ''}`);
          else toast(r.ok ? `已发送：${ACTION[e.action]}` : `「${ACTION[e.action]}」已办理过`);
          continue;
        }
        if (r.status === 401) {
          patch(e.id, { state: 'waiting', error: '登录已失效，重新登录后自动发送' });
          signedOut('登录已失效，请重新登录，未发送的操作会在登录后自动发送');
          break;
        }
        if (r.status === 429 || r.status === 408 || r.status >= 500) {
          patch(e.id, { state: 'waiting', error: problemText(r) });
          scheduleRetry(r);
          break;
        }
        patch(e.id, { state: 'failed', error: problemText(r) });
      }
    } finally {
      flushing = false;
      renderQueue();
    }
    // What was sent changed the cases: show them as the server has them,
    // unless a form is open.
    if (sent && !/\/(resolve|reassign|escalate|comment)$/.test(location.hash)) route();
  }

  async function send(e) {
    const headers = { 'Idempotency-Key': e.id };
    const path = '/v1/incidents/' + encodeURIComponent(e.number);
    if (e.kind === 'photo') {
      const blob = await photos.get(e.id);
      if (!blob) return { missing: true };
      const form = new FormData();
      form.append('photo', blob, e.name || 'photo.jpg');
      return api('POST', path + '/photos', { form, headers });
    }
    return api('POST', path + '/events', { body: { action: e.action, note: e.note }, headers });
  }

  window.addEventListener('online', () => {
    backoff = 0;
    netState();
    renderQueue();
    flush();
  });
  window.addEventListener('offline', () => {
    netState();
    renderQueue();
  });

  // ---- maps ------------------------------------------------------------------
  // Grid outlines come from GET /v1/grids/{code} and are kept on the phone.
  const gridsPending = new Map();
  function gridOf(code) {
    const cached = load(KEY.grids, {})[code];
    if (cached) return Promise.resolve(cached);
    if (!gridsPending.has(code)) {
      gridsPending.set(code, api('GET', '/v1/grids/' + code + '?precision=6', { cache: 'default' }).then((r) => {
        if (!r.ok || !r.data || !r.data.geometry) return null;
        const g = { code, name: r.data.properties.name, village: r.data.properties.village_name, rings: [] };
        const geom = r.data.geometry;
        const polys = geom.type === 'Polygon' ? [geom.coordinates] : geom.coordinates;
        for (const poly of polys) for (const ring of poly) g.rings.push(ring);
        const all = load(KEY.grids, {});
        all[code] = g;
        save(KEY.grids, all);
        return g;
      }).catch(() => null).finally(() => gridsPending.delete(code)));
    }
    return gridsPending.get(code);
  }

  // drawMap draws the grid's outline, the incident's point and the photos'
  // points into an SVG w×h (equirectangular at the middle latitude, north
  // up) with a scale bar.
  function drawMap(target, grid, inc, shots, w, h) {
    const pts = [];
    if (inc.location) pts.push({ p: inc.location, kind: 'incident' });
    for (const s of shots || []) if (s.location) pts.push({ p: s.location, kind: 'photo', check: s.location_check });
    const coords = pts.map((x) => x.p);
    if (grid) for (const r of grid.rings) coords.push(...r);
    if (!coords.length) return target.replaceChildren(svg('text', { x: w / 2, y: h / 2, 'text-anchor': 'middle', fill: '#66707a', 'font-size': 13 }, '无位置'));
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const [x, y] of coords) {
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    const kx = Math.cos(((y0 + y1) / 2) * Math.PI / 180);
    const span = Math.max((x1 - x0) * kx, y1 - y0, 0.002); // at least ~200 m
    const pad = Math.min(w, h) * 0.1;
    const scale = Math.min((w - 2 * pad) / Math.max((x1 - x0) * kx, span * 0.2), (h - 2 * pad) / Math.max(y1 - y0, span * 0.2));
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    const X = (lon) => w / 2 + (lon - cx) * kx * scale;
    const Y = (lat) => h / 2 - (lat - cy) * scale;
    const kids = [];
    if (grid) {
      const d = grid.rings.map((r) => 'M' + r.map(([x, y]) => X(x).toFixed(1) + ' ' + Y(y).toFixed(1)).join('L') + 'Z').join('');
      kids.push(svg('path', { d, fill: '#cfe3f7', stroke: '#0b5cad', 'stroke-width': 2, 'fill-rule': 'evenodd' }));
    }
    for (const x of pts.filter((q) => q.kind === 'photo')) {
      kids.push(svg('circle', { cx: X(x.p[0]), cy: Y(x.p[1]), r: 5, fill: x.check === 'outside' ? '#c62828' : '#2e7d32', stroke: '#fff', 'stroke-width': 2 }));
    }
    for (const x of pts.filter((q) => q.kind === 'incident')) {
      kids.push(svg('circle', { cx: X(x.p[0]), cy: Y(x.p[1]), r: 7, fill: '#e53935', stroke: '#fff', 'stroke-width': 2.5 }));
    }
    if (w >= 200) {
      const mPerPx = 111320 / scale;
      const nice = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000].find((m) => m / mPerPx >= w / 6) || 5000;
      const len = nice / mPerPx;
      kids.push(svg('path', { d: `M10 ${h - 10}h${len.toFixed(1)}`, stroke: '#1b1f24', 'stroke-width': 2 }),
        svg('text', { x: 10, y: h - 14, 'font-size': 12, fill: '#1b1f24' }, nice >= 1000 ? nice / 1000 + ' 公里' : nice + ' 米'));
    }
    target.replaceChildren(...kids);
  }

  function mapFor(inc, shots, w, h, className) {
    const box = svg('svg', { viewBox: `0 0 ${w} ${h}`, className, role: 'img', 'aria-label': '位置示意图' });
    drawMap(box, null, inc, shots, w, h);
    if (inc.grid && inc.grid.code) {
      gridOf(inc.grid.code).then((g) => { if (g) drawMap(box, g, inc, shots, w, h); });
    }
    return box;
  }

  // ---- routes ------------------------------------------------------------------
  let page = 0; // bumps on every route, so late answers do not draw over a newer page
  function route() {
    const n = ++page;
    const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
    renderQueue();
    if (parts[0] === 'login' && parts[1]) return linkLogin(parts[1], n);
    if (!session()) return showLogin();
    if (parts[0] === 'login') {
      location.hash = '#/';
      return;
    }
    if (parts[0] === 'incidents' && parts[1]) return showIncident(parts[1], parts[2] || '', n);
    return showList(n);
  }
  window.addEventListener('hashchange', () => {
    window.scrollTo(0, 0);
    route();
  });

  // ---- sign in -----------------------------------------------------------------
  function showLogin() {
    setBar('登录', false);
    const phone = el('input', { type: 'tel', id: 'phone', inputmode: 'numeric', autocomplete: 'tel', maxlength: 11, placeholder: '11 位手机号', required: true });
    const code = el('input', { type: 'text', id: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, placeholder: '6 位验证码', pattern: '[0-9]*' });
    const sendBtn = el('button', { type: 'button', className: 'btn', id: 'send-code' }, '获取验证码');
    const info = el('p', { className: 'hint', id: 'login-info' });
    const err = el('p', { className: 'error', id: 'login-error', role: 'alert' });
    const submit = el('button', { type: 'submit', className: 'btn primary block', id: 'login' }, '登录');
    let countdown = 0;
    sendBtn.addEventListener('click', async () => {
      err.textContent = '';
      const p = phone.value.replace(/\D/g, '');
      if (!/^1\d{10}$/.test(p)) return void (err.textContent = '请输入 11 位手机号');
      sendBtn.disabled = true;
      try {
        const r = await api('POST', '/v1/login/code', { body: { phone: p } });
        if (!r.ok) {
          err.textContent = problemText(r);
          sendBtn.disabled = false;
          return;
        }
        const mins = Math.round(((r.data && r.data.expires_in) || 600) / 60);
        info.textContent = `验证码已发送至 ${p.slice(0, 3)}****${p.slice(7)}，${mins} 分钟内有效`;
        code.focus();
        countdown = 60;
        const tick = () => {
          if (--countdown <= 0) {
            sendBtn.disabled = false;
            sendBtn.textContent = '重新获取';
            return;
          }
          sendBtn.textContent = `${countdown} 秒`;
          setTimeout(tick, 1000);
        };
        tick();
      } catch (e) {
        err.textContent = '网络不通，请联网后再获取验证码';
        sendBtn.disabled = false;
      }
    });
    const form = el('form', { className: 'login', novalidate: true },
      el('h2', null, '网格工作台'),
      el('p', { className: 'muted' }, '网格长、联村干部、组织负责人用本人手机号登录'),
      el('label', { for: 'phone' }, '手机号'), phone,
      el('label', { for: 'code' }, '验证码'), el('div', { className: 'row' }, code, sendBtn),
      submit, err, info,
      el('p', { className: 'hint' }, '收不到短信？请联系镇里管理员发送登录链接。'));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      err.textContent = '';
      const p = phone.value.replace(/\D/g, ''), c = code.value.replace(/\D/g, '');
      if (!/^1\d{10}$/.test(p)) return void (err.textContent = '请输入 11 位手机号');
      if (c.length !== 6) return void (err.textContent = '请输入短信中的 6 位验证码');
      submit.disabled = true;
      try {
        const r = await api('POST', '/v1/login', { body: { phone: p, code: c } });
        if (!r.ok) {
          err.textContent = problemText(r, 'code');
          return;
        }
        signedIn(r.data);
      } catch (e) {
        err.textContent = '网络不通，请联网后再登录';
      } finally {
        submit.disabled = false;
      }
    });
    view.replaceChildren(form);
  }

  async function linkLogin(token, n) {
    setBar('登录', false);
    view.replaceChildren(el('p', { className: 'muted pad' }, '正在用登录链接登录…'));
    try {
      const r = await api('POST', '/v1/login/link', { body: { token } });
      if (n !== page) return;
      if (!r.ok) {
        history.replaceState(null, '', '#/login');
        showLogin();
        showError(problemText(r, 'link'));
        return;
      }
      signedIn(r.data, true);
    } catch (e) {
      view.replaceChildren(el('p', { className: 'error pad' }, '网络不通，请联网后重新打开登录链接'));
    }
  }

  function signedIn(data, replace) {
    save(KEY.session, { token: data.token, expires_at: data.expires_at, person: data.person });
    // The link's token must not stay in the history.
    if (replace) history.replaceState(null, '', '#/');
    else location.hash = '#/';
    route();
    flush();
  }

  // ---- my cases ------------------------------------------------------------------
  async function showList(n) {
    const s = session();
    setBar('我的待办', false);
    const cached = load(KEY.list, null);
    if (cached) renderList(cached, true);
    else view.replaceChildren(el('p', { className: 'muted pad' }, '加载中…'));
    try {
      const [r, me] = await Promise.all([api('GET', '/v1/me/incidents?status=open'), s.me ? null : api('GET', '/v1/me')]);
      if (n !== page) return;
      if (r.status === 401) return signedOut('登录已失效，请重新登录');
      if (me && me.ok) save(KEY.session, { ...session(), me: me.data });
      if (!r.ok) {
        if (!cached) view.replaceChildren(el('p', { className: 'error pad', id: 'page-error' }, problemText(r)));
        else toast(problemText(r));
        return;
      }
      const list = { incidents: r.data.incidents || [], at: new Date().toISOString() };
      save(KEY.list, list);
      renderList(list, false);
    } catch (e) {
      if (!(e instanceof NetError)) throw e;
      if (n !== page) return;
      if (!cached) view.replaceChildren(el('p', { className: 'muted pad' }, '无法连接服务器，联网后自动刷新。'));
    }
  }

  // What the case will be once the queued steps are sent.
  function withQueued(inc) {
    let status = inc.status;
    for (const e of queuedFor(inc.number)) if (e.kind === 'event' && LEADS_TO[e.action]) status = LEADS_TO[e.action];
    return status;
  }

  function renderList(list, stale) {
    const s = session();
    const me = s && s.me;
    const cases = list.incidents.slice().sort((a, b) => Date.parse(a.due_at) - Date.parse(b.due_at));
    const overdue = cases.filter((i) => timeLeft(i).over).length;
    const who = me && me.person ? me.person.name : s && s.person ? s.person.name : '';
    const roles = me && me.roles ? me.roles.map((r) => (ROLE[r.role] || r.role) + (r.grid ? ' · ' + r.grid.name : r.village ? ' · ' + r.village.name : '')).join('，') : '';
    view.replaceChildren(...[
      el('div', { className: 'summary' },
        el('span', null, who ? `${who}${roles ? '（' + roles + '）' : ''}` : ''),
        el('span', { id: 'counts' }, `共 ${cases.length} 件${overdue ? '，超时 ' + overdue + ' 件' : ''}`)),
      stale && el('p', { className: 'hint pad' }, `${navigator.onLine ? '正在刷新' : '离线'}，显示 ${when(list.at)} 的数据`),
      cases.length ? el('div', { className: 'cards', id: 'cases' }, cases.map(card))
        : el('p', { className: 'empty' }, '暂无待办事件 👍'),
      el('p', { className: 'pad small muted' }, el('a', { href: '#/', id: 'logout', onclick: logout }, '退出登录')),
    ].filter(Boolean));
  }

  function card(inc) {
    const l = timeLeft(inc);
    const pending = queuedFor(inc.number).length;
    const status = withQueued(inc);
    return el('a', { href: '#/incidents/' + encodeURIComponent(inc.number), className: 'card' + (l.over ? ' overdue' : ''), 'data-number': inc.number },
      el('div', { className: 'body' },
        el('div', { className: 'top' },
          el('span', { className: 'chip ' + inc.severity }, SEVERITY[inc.severity] || inc.severity),
          el('span', { className: 'chip' }, CATEGORY[inc.category] || inc.category),
          el('span', { className: 'chip status' }, STATUS[status] || status),
          pending > 0 && el('span', { className: 'chip queued' }, `待发送 ${pending}`)),
        el('p', { className: 'desc' }, inc.description),
        el('div', { className: 'meta' },
          el('span', { className: 'left' }, l.text),
          el('span', null, inc.number))),
      mapFor(inc, [], 72, 72, 'thumb'));
  }

  function logout(ev) {
    ev.preventDefault();
    const q = queue();
    if (q.length && !confirm(`还有 ${q.length} 项操作未发送，退出后将丢失。确定退出？`)) return;
    for (const e of q) photos.del(e.id);
    for (const k of Object.values(KEY)) localStorage.removeItem(k);
    signedOut();
  }

  // ---- one case --------------------------------------------------------------------
  function cachedCase(number) {
    return load(KEY.cases, {})[number] || null;
  }
  function cacheCase(number, data) {
    const all = load(KEY.cases, {});
    all[number] = { ...data, at: new Date().toISOString() };
    const keep = Object.entries(all).sort((a, b) => (a[1].at < b[1].at ? 1 : -1)).slice(0, 30);
    save(KEY.cases, Object.fromEntries(keep));
  }

  async function showIncident(number, sub, n) {
    setBar(number, true);
    const cached = cachedCase(number);
    if (cached) renderIncident(cached, sub);
    else view.replaceChildren(el('p', { className: 'muted pad' }, '加载中…'));
    try {
      const path = '/v1/incidents/' + encodeURIComponent(number);
      const [r, ph] = await Promise.all([api('GET', path), api('GET', path + '/photos')]);
      if (n !== page) return;
      if (r.status === 401) return signedOut('登录已失效，请重新登录');
      if (!r.ok) {
        view.replaceChildren(el('p', { className: 'error pad', id: 'page-error' }, problemText(r)));
        return;
      }
      const data = { inc: r.data, photos: ph.ok && ph.data ? ph.data.photos : [] };
      cacheCase(number, data);
      // An open form keeps what is being typed in it.
      if (!(cached && sub)) renderIncident(data, sub);
    } catch (e) {
      if (!(e instanceof NetError)) throw e;
      if (n !== page) return;
      if (!cached) view.replaceChildren(el('p', { className: 'muted pad' }, '离线，且此事件没有缓存。联网后再打开。'));
    }
  }

  function renderIncident({ inc, photos: shots }, sub) {
    const l = timeLeft(inc);
    const status = withQueued(inc);
    const pending = queuedFor(inc.number);
    const panels = [];
    panels.push(el('section', { className: 'panel' + (l.over ? ' overdue' : ''), id: 'status' },
      el('div', { className: 'top' },
        el('span', { className: 'chip ' + inc.severity }, SEVERITY[inc.severity] || inc.severity),
        el('span', { className: 'chip' }, CATEGORY[inc.category] || inc.category),
        el('span', { className: 'chip status', id: 'status-text' }, STATUS[status] || status),
        pending.length > 0 && el('span', { className: 'chip queued' }, `待发送 ${pending.length}`)),
      STATUS_OPEN.has(status) && el('p', null, el('span', { className: 'left' + (l.over ? ' overdue' : ''), id: 'time-left' }, l.text),
        el('span', { className: 'muted small' }, `　期限 ${when(inc.due_at)}`)),
      !STATUS_OPEN.has(status) && inc.resolved_at && el('p', { className: 'small muted' }, `办结于 ${when(inc.resolved_at)}`),
      outcome(inc)));

    panels.push(el('section', { className: 'panel' },
      el('h3', null, '群众反映'),
      el('p', { className: 'said', id: 'said' }, inc.description),
      inc.reporter && el('p', { className: 'small' }, '反映人：', inc.reporter.name || '未留姓名',
        inc.reporter.phone && ['　', el('a', { href: 'tel:' + inc.reporter.phone }, inc.reporter.phone)])));

    panels.push(el('section', { className: 'panel' }, el('h3', null, '办理'), actions(inc, status, sub)));

    const g = inc.grid;
    panels.push(el('section', { className: 'panel' },
      el('h3', null, '位置'),
      mapFor(inc, shots, 360, 200, 'map'),
      el('div', { className: 'maplegend' },
        inc.location && el('span', null, `${inc.location[1].toFixed(5)}, ${inc.location[0].toFixed(5)}`),
        g && g.code && gridLabel(g.code),
        g && el('span', null, MATCH[g.match] || g.match, g.distance_m ? ` ${Math.round(g.distance_m)} 米` : ''))));

    if (shots && shots.length) {
      panels.push(el('section', { className: 'panel' }, el('h3', null, `照片（${shots.length}）`),
        el('div', { className: 'photos', id: 'photos' }, shots.map((s) => {
          const img = el('img', { alt: '现场照片', 'data-id': s.id });
          photoURL(s.url).then((u) => { if (u) img.src = u; });
          return el('figure', null, img, el('figcaption', { className: 'check-' + s.location_check },
            CHECK[s.location_check] || s.location_check, s.distance_m ? ` ${Math.round(s.distance_m)} 米` : ''));
        }))));
    }

    panels.push(el('section', { className: 'panel' },
      el('dl', { className: 'facts' },
        el('dt', null, '编号'), el('dd', null, inc.number),
        el('dt', null, '来源'), el('dd', null, SOURCE[inc.source] || inc.source || ''),
        el('dt', null, '受理'), el('dd', null, when(inc.received_at)),
        el('dt', null, '期限'), el('dd', null, when(inc.due_at)),
        inc.assignee && [el('dt', null, '承办'), el('dd', null, `${inc.assignee.name}（${ROLE[inc.assignee.role] || inc.assignee.role}）`)],
        inc.co_notified && inc.co_notified.length > 0 && [el('dt', null, '协办'), el('dd', null, inc.co_notified.map((o) => o.name).join('、'))])));

    const events = (inc.events || []).slice().reverse();
    panels.push(el('section', { className: 'panel' }, el('h3', null, '办理记录'),
      el('ul', { className: 'timeline', id: 'history' }, events.map((e) => el('li', null,
        el('div', null, el('strong', null, ACTION[e.action] || e.action), e.to && e.from !== e.to ? ` → ${STATUS[e.to] || e.to}` : ''),
        el('div', { className: 'when' }, `${when(e.at)} · ${actorName(e.actor)}`),
        eventNote(e) && el('div', { className: 'note' }, eventNote(e)))))));

    if (inc.messages && inc.messages.length) {
      panels.push(el('section', { className: 'panel' }, el('h3', null, '通知'),
        el('ul', { className: 'msgs' }, inc.messages.map((m) => el('li', null,
          el('span', null, `${m.channel} → ${m.recipient.name}`),
          el('span', { className: 'small muted' }, SENT[m.status] || m.status))))));
    }
    const keepScroll = window.scrollY;
    view.replaceChildren(...panels);
    window.scrollTo(0, keepScroll);
    const form = sub && $('#form-' + sub);
    if (form) form.scrollIntoView({ block: 'start' });
  }

  // outcome says why a case stands still or ended without being handled:
  // suspended (挂起) with the reason it was suspended for, cancelled or
  // merged (both closed for the grid) with the dispatcher's reason.
  function outcome(inc) {
    const last = (action) => (inc.events || []).filter((e) => e.action === action).pop();
    if (inc.status === 'suspended') {
      const e = last('suspend');
      return el('p', { className: 'outcome', id: 'outcome' }, `已挂起${inc.suspended_at ? `（${when(inc.suspended_at)}起）` : ''}，计时暂停。`,
        e && e.note ? el('span', { className: 'reason' }, `原因：${e.note}`) : null);
    }
    if (inc.status === 'cancelled') {
      return el('p', { className: 'outcome', id: 'outcome' }, '已撤销，无需办理。',
        el('span', { className: 'reason' }, `原因：${inc.outcome_reason || (last('cancel') || {}).note || '—'}`));
    }
    if (inc.status === 'merged') {
      const e = last('merge');
      return el('p', { className: 'outcome', id: 'outcome' }, `已合并到 ${inc.merged_into ? inc.merged_into.number : '另一事件'}，按该事件办理。`,
        e && e.note ? el('span', { className: 'reason' }, `原因：${e.note}`) : null);
    }
    return null;
  }

  // actorName is who did a step, as people say it: the person's name
  // without the server's "(person 7)", the router and escalator in Chinese.
  function actorName(a) {
    return { router: '系统派单', escalator: '系统上报', resident: '反映人', system: '系统' }[a] || String(a || '').replace(/ \(person \d+\)$/, '');
  }

  // gridLabel names a grid as people know it (village and grid name)
  // once its outline is on the phone, by its code until then.
  function gridLabel(code) {
    const label = el('span', { id: 'grid-name' }, `网格 ${code}`);
    gridOf(code).then((g) => { if (g) label.textContent = `${g.village || ''} ${g.name}`.trim(); });
    return label;
  }

  // eventNote says what an event's note says; the router's own notes
  // (where the case came from, why this assignee) are said in Chinese.
  function eventNote(e) {
    const via = e.action === 'receive' && /^via (\w+)$/.exec(e.note || '');
    if (via) return '来源：' + (SOURCE[via[1]] || via[1]);
    const to = e.assignee ? `派给 ${e.assignee.name}（${ROLE[e.assignee.role] || e.assignee.role}）` : '';
    if (e.action === 'dispatch') return to;
    return [to, e.note].filter(Boolean).join('　');
  }

  // The steps a person may take from a status, and their forms.
  function actions(inc, status, sub) {
    const go = (s) => {
      const h = '#/incidents/' + encodeURIComponent(inc.number) + (s ? '/' + s : '');
      if (location.hash === h) route(); // show the queued step now, online or not
      else location.hash = h;
    };
    const step = (action, note) => enqueue([{ number: inc.number, kind: 'event', action, note }]).then(() => go(''));
    if (sub === 'resolve') return resolveForm(inc, go);
    if (sub === 'reassign' || sub === 'escalate' || sub === 'comment') return reasonForm(inc, sub, go);
    const open = STATUS_OPEN.has(status);
    const buttons = [];
    if (status === 'dispatched' || status === 'reopened') {
      buttons.push(el('button', { type: 'button', className: 'btn primary wide', id: 'do-accept', onclick: () => step('accept', '') }, '接单'));
    }
    if (status === 'accepted') {
      buttons.push(el('button', { type: 'button', className: 'btn primary', id: 'do-start', onclick: () => step('start', '') }, '开始处理'));
    }
    if (status === 'accepted' || status === 'in_progress') {
      buttons.push(el('button', { type: 'button', className: 'btn ok' + (status === 'in_progress' ? ' wide' : ''), id: 'do-resolve', onclick: () => go('resolve') }, '办结'));
    }
    if (open) {
      buttons.push(el('button', { type: 'button', className: 'btn', id: 'do-reassign', onclick: () => go('reassign') }, '申请改派'),
        el('button', { type: 'button', className: 'btn', id: 'do-escalate', onclick: () => go('escalate') }, '申请上报'));
    }
    buttons.push(el('button', { type: 'button', className: 'btn' + (open ? ' wide' : ''), id: 'do-comment', onclick: () => go('comment') }, '备注'));
    return el('div', null,
      !open && el('p', { className: 'hint' }, status === 'resolved' ? '已办结，等待核实。' : '此事件已不在办理中。'),
      status === 'suspended' && el('p', { className: 'hint' }, '已挂起：恢复前无需处理，可备注或申请改派、上报。'),
      el('div', { className: 'actions' }, buttons));
  }

  function reasonForm(inc, kind, go) {
    const words = {
      reassign: ['申请改派', '改派理由', '例如：不属于本网格，应由某某网格办理', 'request_reassign'],
      escalate: ['申请上报', '上报理由', '例如：需要镇里协调执法部门', 'request_escalate'],
      comment: ['备注', '备注内容', '例如：已电话联系反映人，约定明天上午上门', 'comment'],
    }[kind];
    const note = el('textarea', { id: 'note', maxlength: 2000, placeholder: words[2] });
    const err = el('p', { className: 'error', role: 'alert' });
    const form = el('form', { id: 'form-' + kind },
      el('label', { for: 'note' }, words[1]), note, err,
      el('div', { className: 'actions' },
        el('button', { type: 'button', className: 'btn', onclick: () => go('') }, '取消'),
        el('button', { type: 'submit', className: 'btn primary', id: 'submit' }, '提交')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!note.value.trim()) return void (err.textContent = `请填写${words[1]}`);
      await enqueue([{ number: inc.number, kind: 'event', action: words[3], note: note.value.trim() }]);
      go('');
    });
    setTimeout(() => note.focus(), 0);
    return form;
  }

  function resolveForm(inc, go) {
    const note = el('textarea', { id: 'note', maxlength: 2000, placeholder: '处理结果，例如：垃圾已清运，路面已冲洗' });
    const file = el('input', { type: 'file', id: 'photo', className: 'file', accept: 'image/jpeg,image/png', multiple: true });
    const picked = el('div', { className: 'picked', id: 'picked' });
    const err = el('p', { className: 'error', role: 'alert', id: 'form-error' });
    let chosen = [];
    file.addEventListener('change', () => {
      err.textContent = '';
      chosen = [];
      const previews = [];
      for (const f of Array.from(file.files).slice(0, 9)) {
        if (!/^image\/(jpeg|png)$/.test(f.type)) {
          err.textContent = `「${f.name}」不是 JPG 或 PNG 照片`;
          continue;
        }
        if (f.size > MAX_PHOTO) {
          err.textContent = `「${f.name}」超过 5 MiB`;
          continue;
        }
        chosen.push(f);
        previews.push(el('img', { src: URL.createObjectURL(f), alt: f.name }));
      }
      picked.replaceChildren(...previews);
    });
    const form = el('form', { id: 'form-resolve' },
      el('label', { for: 'note' }, '办结说明'), note,
      el('p', { className: 'label' }, '现场照片（可多张，每张不超过 5 MiB）'),
      file, el('label', { for: 'photo', className: 'btn block pick' }, '拍照或选择照片'), picked, err,
      el('div', { className: 'actions' },
        el('button', { type: 'button', className: 'btn', onclick: () => go('') }, '取消'),
        el('button', { type: 'submit', className: 'btn ok', id: 'submit' }, '提交办结')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (!note.value.trim()) return void (err.textContent = '请填写办结说明');
      const items = chosen.map((f) => ({ number: inc.number, kind: 'photo', blob: f, name: f.name, bytes: f.size }));
      items.push({ number: inc.number, kind: 'event', action: 'resolve', note: note.value.trim() });
      await enqueue(items);
      go('');
    });
    return form;
  }

  // Photos are fetched with the session's token and shown from memory.
  const photoURLs = new Map();
  function photoURL(url) {
    if (!photoURLs.has(url)) {
      photoURLs.set(url, (async () => {
        try {
          const s = session();
          const res = await fetch(url, { headers: s ? { Authorization: 'Bearer ' + s.token } : {} });
          return res.ok ? URL.createObjectURL(await res.blob()) : null;
        } catch (e) {
          photoURLs.delete(url);
          return null;
        }
      })());
    }
    return photoURLs.get(url);
  }

  // ---- start ------------------------------------------------------------------------
  // Keep the time left current, and the list fresh while it is shown.
  setInterval(() => {
    if (document.visibilityState !== 'visible' || !session()) return;
    if (/^#?\/?$/.test(location.hash)) route();
  }, 60000);
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') flush();
  });
  route();
  flush();
})();
