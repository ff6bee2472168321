// The 考核 figures in the console: a league table (GET /v1/figures) drawn as
// bars and listed, the year's trend by month as lines, and the downloads of
// the .xlsx 通报 and the CSV. Chart.js (chart.umd.min.js, copied into dist/
// by build.mjs like MapLibre) is loaded the first time the panel opens; a
// page that never opens it fetches neither.
//
// The panel is its own <section id="figures"> over the map, styled by
// figures.css (linked from index.html); app.js only gives it the page's
// helpers and the token.

const LEVELS = [
  ['county', '县（市、区）'], ['town', '乡镇（街道）'], ['district', '片区'], ['village', '村（社区）'], ['grid', '网格'], ['person', '责任人'], ['item', '服务事项'],
  ['day', '按日'], ['week', '按周'], ['month', '按月'], ['quarter', '按季度'],
];

// PLACE_LEVELS are the levels whose rows are places with codes that nest
// (a grid's code starts with its village's, its town's): a town chosen in
// the header asks for its own (?town=).
const PLACE_LEVELS = ['town', 'district', 'village', 'grid'];

// BAR_ROWS bounds the bars: a league table of 200 grids is read as a list,
// the chart shows its top.
const BAR_ROWS = 20;

let panel = null;

// toggleFigures opens the panel (building it on first use) or closes it.
// env: {h, getJSON, ProblemError, problemSection, state} from app.js.
export async function toggleFigures(env) {
  if (!panel) panel = await createPanel(env);
  panel.toggle();
  return panel;
}

async function loadChart() {
  if (!globalThis.Chart) {
    // The UMD build sets globalThis.Chart when imported as a module.
    await import('./chart.umd.min.js');
  }
  return globalThis.Chart;
}

// monthSpec is the period of this month in China time, e.g. 2026-12.
function monthSpec(d = new Date()) {
  const china = new Date(d.getTime() + 8 * 3600 * 1000);
  return `${china.getUTCFullYear()}-${String(china.getUTCMonth() + 1).padStart(2, '0')}`;
}

// lastTwelveMonths is the custom period of the twelve whole months before
// this one, for the trend.
function lastTwelveMonths(d = new Date()) {
  const china = new Date(d.getTime() + 8 * 3600 * 1000);
  const y = china.getUTCFullYear();
  const m = china.getUTCMonth(); // 0-based: this month
  const from = new Date(Date.UTC(y, m - 12, 1));
  const to = new Date(Date.UTC(y, m, 0));
  const day = (t) => t.toISOString().slice(0, 10);
  return { from: day(from), to: day(to) };
}

function formatValue(fig, v) {
  if (v === null || v === undefined) return '—';
  if (fig.kind === 'rate') return `${(v * 100).toFixed(1)}%`;
  if (fig.kind === 'hours') return v.toFixed(1);
  return String(Math.round(v));
}

async function createPanel(env) {
  const { h, getJSON, ProblemError, problemSection, state } = env;
  const Chart = await loadChart();

  const el = {};
  const view = { table: null, trend: null, bars: null, line: null, seq: 0 };

  el.level = h('select', { id: 'figures-level', title: '层级 level' },
    LEVELS.map(([v, label]) => h('option', { value: v, selected: v === 'village' }, label)));
  el.period = h('input', { id: 'figures-period', value: monthSpec(), spellcheck: 'false', size: 10,
    title: '时段：2026-11-03、2026-W48、2026-11、2026-Q4、2026，或 2026-01-01..2026-06-30' });
  el.sort = h('select', { id: 'figures-sort', title: '排名依据 rank by' }, h('option', { value: 'accepted' }, '受理数'));
  el.status = h('p', { class: 'figures-status', 'aria-live': 'polite' });
  el.bars = h('canvas', { id: 'figures-bars', 'aria-label': '排名 league table' });
  el.line = h('canvas', { id: 'figures-trend', 'aria-label': '近十二个月趋势 trend' });
  el.table = h('div', { class: 'figures-table' });
  el.section = h('section', { id: 'figures', hidden: true, 'aria-label': '考核 figures' },
    h('header', {},
      h('h2', {}, '考核 Figures'),
      h('form', { id: 'figures-form', onsubmit: (e) => { e.preventDefault(); load(); } },
        h('label', {}, '层级 ', el.level), h('label', {}, '时段 ', el.period), h('label', {}, '排名 ', el.sort),
        h('button', { type: 'submit' }, '刷新 Refresh'),
        h('button', { type: 'button', onclick: () => download('xlsx') }, '下载通报 .xlsx'),
        h('button', { type: 'button', onclick: () => download('csv') }, 'CSV')),
      h('button', { type: 'button', class: 'figures-close', title: '关闭 close', 'aria-label': 'close', onclick: () => toggle(false) }, '×')),
    el.status,
    h('div', { class: 'figures-charts' },
      h('figure', {}, h('div', { class: 'figures-canvas' }, el.bars), h('figcaption', { id: 'figures-bars-caption' })),
      h('figure', {}, h('div', { class: 'figures-canvas' }, el.line), h('figcaption', {}, '近十二个月：受理、办结（柱）与按时办结率、满意率（线）'))),
    el.table);
  document.body.append(el.section);
  el.level.addEventListener('change', load);
  el.sort.addEventListener('change', load);

  // periodQuery turns the period field into query parameters: a range
  // "from..to" is a custom period.
  function periodQuery() {
    const p = el.period.value.trim();
    const [from, to] = p.split('..');
    if (to !== undefined) return `from=${encodeURIComponent(from.trim())}&to=${encodeURIComponent(to.trim())}`;
    return p ? `period=${encodeURIComponent(p)}` : '';
  }

  // townQuery limits a table of a place level (or the 通报, with its
  // place sheets only) to the town chosen in the header; time, person and
  // item tables are the deployment's.
  function townQuery(level) {
    return state.townCode && (level === undefined || PLACE_LEVELS.includes(level)) ? `town=${state.townCode}` : '';
  }

  function query(withLevel = true) {
    return [withLevel ? `level=${el.level.value}` : '', periodQuery(), `sort=${el.sort.value}`,
      townQuery(withLevel ? el.level.value : undefined)].filter(Boolean).join('&');
  }

  function showError(err) {
    el.status.replaceChildren(problemSection(err instanceof ProblemError ? err : new ProblemError(0, { detail: err.message })));
    el.section.dataset.state = 'error';
  }

  async function load() {
    const seq = ++view.seq;
    if (!state.token) {
      el.status.textContent = '考核数据需要调度员或管理员令牌：请在左侧“令牌 Token”处设置。A dispatcher or admin token is needed.';
      el.section.dataset.state = 'no-token';
      return;
    }
    el.status.textContent = '加载中… loading';
    el.section.dataset.state = 'loading';
    try {
      const { from, to } = lastTwelveMonths();
      const [table, trend] = await Promise.all([
        getJSON(`/v1/figures?${query()}`, { token: state.token }),
        getJSON(`/v1/figures?level=month&from=${from}&to=${to}&sort=accepted`, { token: state.token }),
      ]);
      if (seq !== view.seq) return;
      // A town chosen in the header: the server kept its places and made
      // its own row the total.
      if (townQuery(table.level)) {
        table.total = { ...table.total, name: `${table.total.name}合计` };
        table.town = state.townCode;
      }
      view.table = table;
      view.trend = trend;
      fillSort(table);
      draw();
      el.status.textContent = `${table.period.label}（${table.period.from} 至 ${table.period.to}）· ${table.level_title} · ${table.rows.length} 行`
        + (table.town ? ` · ${table.total.name.replace(/合计$/, '')}` : '');
      el.section.dataset.state = 'ready';
    } catch (err) {
      if (seq === view.seq) showError(err);
    }
  }

  function fillSort(table) {
    if (el.sort.options.length > 1) return;
    const chosen = el.sort.value;
    el.sort.replaceChildren(...table.figures.map((f) => h('option', { value: f.name, selected: f.name === chosen, title: f.definition }, f.title)));
  }

  function draw() {
    const t = view.table;
    const fig = t.figures.find((f) => f.name === t.sort);
    const isTime = ['day', 'week', 'month', 'quarter'].includes(t.level);
    const rows = isTime ? t.rows : t.rows.filter((r) => r.figures[fig.name] !== null).slice(0, BAR_ROWS);
    const scale = fig.kind === 'rate' ? 100 : 1;
    document.getElementById('figures-bars-caption').textContent = isTime
      ? `${t.level_title}：${fig.title}`
      : `${t.level_title}排名（前 ${rows.length} 名）：${fig.title}${fig.higher_is_better ? '（越高越好）' : '（越低越好）'}`;
    if (view.bars) view.bars.destroy();
    view.bars = new Chart(el.bars, {
      type: 'bar',
      data: {
        labels: rows.map((r) => (r.parent && t.level === 'grid' ? `${r.parent} ${r.name}` : r.name)),
        datasets: [{ label: fig.title, data: rows.map((r) => (r.figures[fig.name] === null ? null : r.figures[fig.name] * scale)),
          backgroundColor: '#2f6fb0' }],
      },
      options: {
        indexAxis: isTime ? 'x' : 'y', animation: false, maintainAspectRatio: false,
        plugins: { legend: { display: false },
          tooltip: { callbacks: { label: (c) => `${fig.title}: ${formatValue(fig, rows[c.dataIndex].figures[fig.name])}` } } },
        scales: { [isTime ? 'y' : 'x']: { beginAtZero: true, title: { display: true, text: fig.kind === 'rate' ? `${fig.title} (%)` : fig.title } } },
      },
    });

    const tr = view.trend;
    const val = (r, name) => r.figures[name];
    if (view.line) view.line.destroy();
    view.line = new Chart(el.line, {
      data: {
        labels: tr.rows.map((r) => r.name),
        datasets: [
          { type: 'bar', label: '受理数', data: tr.rows.map((r) => val(r, 'accepted')), backgroundColor: '#9dc3e6', yAxisID: 'n' },
          { type: 'bar', label: '办结数', data: tr.rows.map((r) => val(r, 'completed')), backgroundColor: '#2f6fb0', yAxisID: 'n' },
          { type: 'line', label: '按时办结率 %', data: tr.rows.map((r) => (val(r, 'on_time_rate') ?? NaN) * 100), borderColor: '#c55a11', yAxisID: 'p' },
          { type: 'line', label: '满意率 %', data: tr.rows.map((r) => (val(r, 'satisfaction_rate') ?? NaN) * 100), borderColor: '#548235', yAxisID: 'p' },
        ],
      },
      options: {
        animation: false, maintainAspectRatio: false,
        scales: { n: { position: 'left', beginAtZero: true, title: { display: true, text: '件' } },
          p: { position: 'right', min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: '%' } } },
      },
    });

    const cols = t.figures;
    el.table.replaceChildren(h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, '名次'), h('th', {}, t.level_title), cols.map((f) => h('th', { title: f.definition }, f.title)))),
      h('tbody', {},
        t.rows.map((r) => h('tr', {}, h('td', {}, r.rank || ''), h('td', { title: r.key }, r.parent ? `${r.name}（${r.parent}）` : r.name),
          cols.map((f) => h('td', { class: f.name === t.sort ? 'sorted' : '' }, formatValue(f, r.figures[f.name]))))),
        h('tr', { class: 'total' }, h('td', {}, ''), h('td', {}, t.total.name),
          cols.map((f) => h('td', {}, formatValue(f, t.total.figures[f.name])))))));
  }

  // download fetches the .xlsx or CSV with the token (a plain link could
  // not send it) and saves it under the server's file name.
  async function download(kind) {
    if (!state.token) return load();
    const path = kind === 'xlsx' ? `/v1/figures.xlsx?${query(false)}` : `/v1/figures.csv?${query()}`;
    try {
      const res = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
      if (!res.ok) throw new ProblemError(res.status, await res.json().catch(() => ({ title: res.statusText })));
      const cd = res.headers.get('Content-Disposition') || '';
      const star = /filename\*=UTF-8''([^;]+)/.exec(cd);
      const plain = /filename="([^"]+)"/.exec(cd);
      const name = star ? decodeURIComponent(star[1]) : plain ? plain[1] : `figures.${kind}`;
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      el.section.dataset.downloaded = name;
    } catch (err) {
      showError(err);
    }
  }

  function toggle(on = el.section.hidden) {
    el.section.hidden = !on;
    if (on) load();
  }

  state.reloads.push(() => !el.section.hidden && load());
  state.townChanged.push(() => !el.section.hidden && load());
  return { toggle, load, get view() { return view; } };
}
