// The structure view (组织架构): the working structure of the chosen town
// beside the map. Its 片区 as working bodies (GET
// /v1/towns/{town}/districts: the 党工委 secretary and members, the
// villages), and its 联村 / 驻村 work teams (GET /v1/teams?town=: leader,
// members, villages). A date shows who sat where at the end of that day
// (?at=, the history the API keeps); a village clicked is highlighted on
// the map. Phones are shown when the API sends them, that is to the roles
// that may see them (the token's).
//
// env: {h, getJSON, ProblemError, problemSection, state, chosenTown,
// selectVillage, townName} from app.js.

const TEAM_KINDS = { liaison: '联村工作组', resident: '驻村工作组' };

// dayEnd is the end of a date (YYYY-MM-DD) in China time, as ?at= takes it.
const dayEnd = (date) => `${date}T23:59:59+08:00`;

// today is the date in China time.
function today(d = new Date()) {
  return new Date(d.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10);
}

export function createStructure(env) {
  const { h, getJSON, ProblemError, problemSection, state, chosenTown, selectVillage, townName } = env;
  const root = document.getElementById('structure');
  const view = { open: false, seq: 0, state: 'closed', town: '', at: '', districts: [], teams: [] };
  const el = {};

  function build() {
    el.at = h('input', { type: 'date', id: 'structure-at', max: '9999-12-31',
      title: '日期：显示当日结束时的组成；空为现在 A date: who sat where at the end of that day; empty for now' });
    el.at.addEventListener('change', load);
    el.now = h('button', { type: 'button', id: 'structure-now', onclick: () => { el.at.value = ''; load(); } }, '现在 Now');
    el.note = h('p', { class: 'muted structure-note', 'aria-live': 'polite' });
    el.body = h('div', { id: 'structure-body' });
    root.replaceChildren(
      h('div', { class: 'structure-head' },
        h('h2', {}, '组织架构 ', h('small', {}, 'Structure')),
        h('label', {}, '日期 ', el.at), el.now,
        h('button', { type: 'button', class: 'close', title: '关闭 close', 'aria-label': 'close', onclick: () => toggle(false) }, '×')),
      el.note, el.body);
  }

  // person renders a seat's holder: the name, and the phone when the API
  // sent it.
  const person = (seat, cls) => (seat && seat.person
    ? h('span', { class: `person ${cls || ''}`.trim(), 'data-person': seat.person.id },
      seat.person.name, seat.person.phone ? h('span', { class: 'phone' }, ` ${seat.person.phone}`) : null,
      seat.person.left ? h('span', { class: 'muted' }, ' (已离任 left)') : null)
    : h('span', { class: 'muted vacant' }, '空缺 vacant'));

  const people = (seats, cls) => (seats.length
    ? h('ul', { class: `people ${cls}` }, seats.map((s) => h('li', {}, person(s))))
    : h('p', { class: `muted ${cls}` }, '无 none'));

  const villageButtons = (villages) => (villages.length
    ? h('div', { class: 'villages' }, villages.map((v) => h('button', { type: 'button', class: 'village', 'data-village': v.code,
      'aria-pressed': String(state.village === v.code), title: `${v.code}：在地图上显示 show on the map`, onclick: () => pick(v.code) }, v.name)))
    : h('p', { class: 'muted' }, '无 none'));

  // pick highlights a village on the map (a second click clears it).
  function pick(code) {
    const next = state.village === code ? null : code;
    selectVillage(next);
    for (const b of root.querySelectorAll('button.village')) b.setAttribute('aria-pressed', String(b.dataset.village === next));
  }

  function districtSection(d) {
    const row = (term, cls, value) => [h('dt', {}, term), h('dd', { class: cls }, value)];
    return h('section', { class: 'district', 'data-code': d.code },
      h('h4', {}, d.name, ' ', h('span', { class: 'muted' }, `片区 ${d.code}`), d.retired ? h('span', { class: 'muted' }, ' 已撤销 retired') : null),
      h('dl', {},
        row('党工委书记 Secretary', 'secretary', person(d.secretary, 'secretary')),
        row('委员 Members', 'members', people(d.members, 'members')),
        row(`村(社区) Villages (${d.villages.length})`, 'villages', villageButtons(d.villages))));
  }

  function teamSection(t) {
    const row = (term, cls, value) => [h('dt', {}, term), h('dd', { class: cls }, value)];
    return h('section', { class: 'team', 'data-id': t.id, 'data-kind': t.kind },
      h('h4', {}, t.name, ' ', h('span', { class: `chip kind-${t.kind}` }, TEAM_KINDS[t.kind] || t.kind)),
      h('dl', {},
        row('组长 Leader', 'leader', person(t.leader, 'leader')),
        row('组员 Members', 'members', people(t.members, 'members')),
        row('联系村 Villages', 'villages', villageButtons(t.villages.map((c) => c.village)))));
  }

  async function load() {
    if (!el.body) return;
    const seq = ++view.seq;
    const town = chosenTown();
    const date = el.at.value;
    view.town = town;
    view.at = date;
    if (!town) {
      view.state = 'no-town';
      view.districts = [];
      view.teams = [];
      root.dataset.state = 'no-town';
      el.note.textContent = '';
      el.body.replaceChildren(h('p', { class: 'muted' }, '请先在顶部选择乡镇。Choose a town in the header first.'));
      return;
    }
    view.state = 'loading';
    root.dataset.state = 'loading';
    el.note.textContent = '加载中… loading';
    const at = date && date !== today() ? dayEnd(date) : '';
    const atQuery = at ? `at=${encodeURIComponent(at)}` : '';
    try {
      const options = { token: state.token };
      const [d, t] = await Promise.all([
        getJSON(`/v1/towns/${encodeURIComponent(town)}/districts${atQuery ? `?${atQuery}` : ''}`, options),
        getJSON(`/v1/teams?town=${encodeURIComponent(town)}&status=active${atQuery ? `&${atQuery}` : ''}`, options),
      ]);
      if (seq !== view.seq) return;
      const when = new Date(d.at);
      // A team made after the moment asked for did not exist yet.
      const teams = (t.teams || []).filter((x) => new Date(x.created_at) <= when);
      view.districts = d.districts || [];
      view.teams = teams;
      el.note.textContent = `${townName(town)} · ${view.districts.length} 个片区 districts · ${teams.length} 个工作组 teams · `
        + (at ? `${date} 日终 end of day` : '现在 now');
      el.body.replaceChildren(
        h('h3', {}, `片区党工委 Districts (${view.districts.length})`),
        ...(view.districts.length ? view.districts.map(districtSection) : [h('p', { class: 'muted' }, '无 none')]),
        h('h3', {}, `联村/驻村工作组 Work teams (${teams.length})`),
        ...(teams.length ? teams.map(teamSection) : [h('p', { class: 'muted' }, '无 none')]));
      view.state = 'loaded';
      root.dataset.state = 'loaded';
    } catch (err) {
      if (seq !== view.seq) return;
      view.state = err.status ? `error-${err.status}` : 'error';
      root.dataset.state = 'error';
      el.note.textContent = '';
      el.body.replaceChildren(problemSection(err instanceof ProblemError ? err : new ProblemError(0, { detail: err.message })));
    }
  }

  function toggle(on = !view.open) {
    view.open = on;
    if (on && !el.body) build();
    root.hidden = !on;
    document.body.classList.toggle('structure-open', on);
    document.getElementById('structure-toggle').setAttribute('aria-expanded', String(on));
    if (state.map) state.map.resize();
    if (on) load();
  }

  return {
    toggle,
    // reload follows the token and the chosen town.
    reload: () => view.open && load(),
    // state is for scripts and the browser test: who is listed.
    state: () => ({
      open: view.open,
      state: view.state,
      town: view.town,
      at: view.at,
      districts: view.districts.map((d) => ({ code: d.code, name: d.name, secretary: d.secretary ? d.secretary.person.name : null,
        phone: d.secretary && d.secretary.person.phone ? d.secretary.person.phone : null,
        members: d.members.map((m) => m.person.name), villages: d.villages.map((v) => v.code) })),
      teams: view.teams.map((t) => ({ id: t.id, name: t.name, kind: t.kind, leader: t.leader ? t.leader.person.name : null,
        members: t.members.map((m) => m.person.name), villages: t.villages.map((c) => c.village.code) })),
    }),
  };
}
