package api_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"wangge/fixtures"
	"wangge/geo"
	"wangge/geo/figures"
	"wangge/geo/townfile"
)

// runConsoleScript runs script, between consoleScriptPrelude and
// consoleScriptEnd, as runBrowserScript does.
func runConsoleScript(t *testing.T, node, chromium string, srv *httptest.Server, script string, probe any) {
	t.Helper()
	runBrowserScript(t, node, chromium, srv, consoleScriptPrelude+script+consoleScriptEnd, probe)
}

// runBrowserScript runs a node module (node --input-type=module - URL
// ARTIFACT_DIR PROBE_JSON) that drives Chromium against srv, and fails the
// test unless it says PASS.
func runBrowserScript(t *testing.T, node, chromium string, srv *httptest.Server, source string, probe any) {
	t.Helper()
	raw, err := json.Marshal(probe)
	if err != nil {
		t.Fatal(err)
	}
	artifacts := consoleArtifacts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--input-type=module", "-", srv.URL, artifacts, string(raw))
	cmd.Dir = consoleDir
	cmd.Stdin = strings.NewReader(source)
	cmd.Env = append(os.Environ(), "WANGGE_CHROMIUM="+chromium)
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node (%.1f s):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("the browser script failed: %v; screenshots, if any, in %s", err, artifacts)
	}
	if !strings.Contains(string(out), "\nPASS") {
		t.Fatal("the browser script did not say PASS")
	}
}

// consoleScriptPrelude starts Chromium (headless, no sandbox, no
// background networking, a fresh profile of its own), opens the page with
// every request to another origin refused and counted, and gives the
// script check, text, waitFor, setToken, settle and nothingUnexpected.
const consoleScriptPrelude = `
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, artifacts, probeJSON] = process.argv.slice(2);
const probe = JSON.parse(probeJSON);
const origin = new URL(url).origin;
setTimeout(() => { console.error('FAIL: the browser script took more than 130 s'); process.exit(1); }, 130000);
const failures = [];
function check(ok, message) {
  if (!ok) failures.push(message);
  console.log((ok ? 'ok   ' : 'FAIL ') + message);
  return ok;
}
const seen = [];
function nothingUnexpected(when) {
  check(seen.length === 0, 'no console errors, page errors, failed requests or requests elsewhere ' + when +
    (seen.length ? ':\n       ' + seen.join('\n       ') : ''));
  seen.length = 0;
}
mkdirSync(artifacts, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'wangge-console-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.WANGGE_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-gpu', '--disable-quic',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--lang=zh-CN'],
  viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1, locale: 'zh-CN', reducedMotion: 'reduce',
});
const page = context.pages()[0] || await context.newPage();
page.on('console', (m) => { if (m.type() === 'error') seen.push('console error: ' + m.text()); });
page.on('pageerror', (err) => seen.push('page error: ' + (err.stack || err.message)));
page.on('requestfailed', (r) => seen.push('failed request: ' + r.url() + ' ' + ((r.failure() || {}).errorText || '')));
page.on('response', (r) => { if (r.status() >= 400) seen.push('HTTP ' + r.status() + ' ' + r.url()); });
await page.route('**/*', (route) => {
  const u = route.request().url();
  if (u.startsWith(origin) || u.startsWith('data:') || u.startsWith('blob:')) return route.continue();
  seen.push('request to another origin: ' + u);
  return route.abort();
});
const text = async (selector) => (await page.textContent(selector).catch(() => '')) || '';
const waitFor = (selector, timeout = 15000) => page.waitForSelector(selector, { timeout }).then(() => true, () => false);
const until = (fn, arg, timeout = 15000) => page.waitForFunction(fn, arg, { timeout }).then(() => true, () => false);
async function setToken(token) {
  await page.fill('#token-input', token);
  await page.click('#token-form button[type=submit]');
}
// settle waits until the map has stopped moving and drawn.
const settle = () => until(() => !wangge.map.isMoving() && wangge.map.loaded() && wangge.map.areTilesLoaded());
// structure is the structure view's state once it is loaded.
async function structure() {
  await until(() => wangge.structure && ['loaded', 'no-town'].includes(wangge.structure.state().state)
    && document.getElementById('structure').dataset.state !== 'loading');
  return page.evaluate(() => wangge.structure.state());
}
try {
  await page.goto(url + '/', { waitUntil: 'load' });
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: 30000 });
  check(await page.evaluate(() => document.body.dataset.state) === 'ready', 'the console is ready');
`

const consoleScriptEnd = `
} catch (err) {
  check(false, 'the script itself failed: ' + (err.stack || err));
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(failures.length ? 'FAILED ' + failures.length : 'PASS');
process.exit(failures.length ? 1 : 0);
`

// structureProbe is what TestConsole_structure expects, worked out from
// the demo structure file and the API, not from the page.
type structureProbe struct {
	Town      string `json:"town"`
	TownName  string `json:"town_name"`
	Token     string `json:"token"`
	Districts []struct {
		Code      string   `json:"code"`
		Secretary string   `json:"secretary"` // now
		Before    string   `json:"before"`    // at the end of Mid
		Phone     string   `json:"phone"`     // the secretary's phone now
		Members   []string `json:"members"`
		Villages  []string `json:"villages"`
	} `json:"districts"`
	// Teams maps each village to the name of the team covering it.
	Teams map[string]string `json:"teams"`
	// Mid is a date (China) after the seeding and before the change of
	// secretary; Early one before the seeding.
	Mid   string `json:"mid"`
	Early string `json:"early"`
	// Village is clicked; Grids are its grids, which the map then
	// highlights.
	Village string   `json:"village"`
	Grids   []string `json:"grids"`
}

// TestConsole_structure opens the structure view (组织) in Chromium over
// the demo town with its 片区 党工委 and a work team per village
// (fixtures/heye/structure.json, seeded 60 days before the clock), and
// the first 片区's secretary changed 10 days before it: the three 片区 are
// listed with their secretaries, members and villages, and a team for
// every village; no phone is shown without a token, the secretaries'
// phones with a dispatcher's; a date before the change shows the former
// secretary, one before the seeding nobody; a village clicked is
// highlighted on the map with all of its grids. The town selector is
// hidden: the deployment holds one town. Screenshot structure.png.
func TestConsole_structure(t *testing.T) {
	t.Parallel()
	node, chromium := consoleBrowserTools(t)
	td, err := townfile.ReadFS(fixtures.Heye, fixtures.HeyeDir)
	if err != nil {
		t.Fatal(err)
	}
	e := newDispatchEnv(t, td)
	ctx := context.Background()
	seed, err := fixtures.HeyeStructure()
	if err != nil {
		t.Fatal(err)
	}
	seeded := t0.Add(-60 * 24 * time.Hour)
	if ok, err := e.db.SeedStructure(ctx, seed, seeded, "demo"); err != nil || !ok {
		t.Fatalf("seeding the demo structure: %v, %v", ok, err)
	}
	changed := t0.Add(-10 * 24 * time.Hour)
	district := "/v1/towns/" + td.Town.Code + "/districts/01/secretary"
	if code := e.do(geo.AccessAdmin, "PUT", district, map[string]any{"name": "新书记", "phone": "13700001234", "from": changed.Format(time.RFC3339)}, nil); code != 200 {
		t.Fatalf("PUT %s: %d", district, code)
	}
	if err := e.reload(ctx); err != nil {
		t.Fatal(err)
	}

	var p structureProbe
	p.Town, p.TownName, p.Token = td.Town.Code, td.Town.Name, e.secrets[geo.AccessDispatcher]
	day := func(at time.Time) string { return at.In(figures.China).Format(time.DateOnly) }
	p.Mid, p.Early = day(t0.Add(-30*24*time.Hour)), day(seeded.Add(-30*24*time.Hour))
	if len(seed.Districts) != 3 {
		t.Fatalf("the demo structure has %d 片区, want 3", len(seed.Districts))
	}
	for _, d := range seed.Districts {
		var want struct {
			Code      string   `json:"code"`
			Secretary string   `json:"secretary"`
			Before    string   `json:"before"`
			Phone     string   `json:"phone"`
			Members   []string `json:"members"`
			Villages  []string `json:"villages"`
		}
		want.Code, want.Secretary, want.Before, want.Phone = d.Code, d.Secretary.Name, d.Secretary.Name, d.Secretary.Phone
		if d.Code == "01" {
			want.Secretary, want.Phone = "新书记", "13700001234"
		}
		for _, m := range d.Members {
			want.Members = append(want.Members, m.Name)
		}
		for _, v := range td.Villages {
			if v.DistrictCode == d.Code {
				want.Villages = append(want.Villages, v.Code)
			}
		}
		p.Districts = append(p.Districts, want)
	}
	p.Teams = map[string]string{}
	for _, team := range seed.Teams {
		for _, v := range team.Villages {
			p.Teams[v] = team.Name
		}
	}
	if len(p.Teams) != len(td.Villages) {
		t.Fatalf("the demo structure covers %d villages of %d", len(p.Teams), len(td.Villages))
	}
	p.Village = seed.Teams[len(seed.Teams)/2].Villages[0]
	for _, g := range e.snap.Grids {
		if g.VillageCode == p.Village {
			p.Grids = append(p.Grids, g.Code)
		}
	}
	slices.Sort(p.Grids)
	if len(p.Grids) == 0 {
		t.Fatalf("village %s has no grids", p.Village)
	}

	srv := httptest.NewServer(e.srv)
	defer srv.Close()
	runConsoleScript(t, node, chromium, srv, structureScript, p)
}

// structureScript is TestConsole_structure's browser part.
const structureScript = `
  check(await page.isHidden('#town-choice'), 'one town: the town selector is hidden');
  await page.click('#structure-toggle');
  let s = await structure();
  check(s.state === 'loaded' && s.town === probe.town, 'the structure view shows ' + probe.town + ': ' + s.state + ' ' + s.town);
  check(s.districts.length === 3, 'three 片区 are listed: ' + s.districts.map((d) => d.name).join('、'));
  for (const want of probe.districts) {
    const got = s.districts.find((d) => d.code === want.code) || {};
    check(got.secretary === want.secretary, '片区 ' + want.code + ': secretary ' + got.secretary + ', want ' + want.secretary);
    check(JSON.stringify([...(got.members || [])].sort()) === JSON.stringify([...want.members].sort()),
      '片区 ' + want.code + ': members ' + (got.members || []).join('、'));
    check(JSON.stringify([...(got.villages || [])].sort()) === JSON.stringify([...want.villages].sort()),
      '片区 ' + want.code + ': its ' + want.villages.length + ' villages');
    check((await text('#structure section.district[data-code="' + want.code + '"] dd.secretary')).includes(want.secretary),
      '片区 ' + want.code + ' shows its secretary ' + want.secretary + ' on the page');
  }
  const covered = {};
  for (const team of s.teams) for (const v of team.villages) covered[v] = (covered[v] || []).concat(team.name);
  const villages = Object.keys(probe.teams);
  check(s.teams.length === villages.length && villages.every((v) => covered[v] && covered[v].length === 1 && covered[v][0] === probe.teams[v]),
    'a team per village: ' + s.teams.length + ' teams for ' + villages.length + ' villages, each village under its team');
  check(s.teams.every((team) => team.leader && team.members.length === 2), 'every team has its leader and two members');
  check((await page.$$('#structure section.team')).length === villages.length, 'every team is drawn');
  const anonymous = await text('#structure');
  check(probe.districts.every((d) => !anonymous.includes(d.phone)) && s.districts.every((d) => d.phone === null),
    'no phone is shown without a token');
  nothingUnexpected('listing the structure');

  // A village clicked: its grids highlighted, all of them in view.
  await page.click('#structure section.team button.village[data-village="' + probe.village + '"]');
  await until((v) => wangge.village() === v, probe.village);
  await settle();
  const lit = await page.evaluate(() => [...new Set(wangge.map.queryRenderedFeatures({ layers: ['village-selected-fill'] })
    .map((f) => f.properties.code))].sort());
  check(JSON.stringify(lit) === JSON.stringify(probe.grids),
    'village ' + probe.village + ' is highlighted with its ' + probe.grids.length + ' grids: ' + lit.length + ' lit');
  check(await page.getAttribute('#structure section.team button.village[data-village="' + probe.village + '"]', 'aria-pressed') === 'true',
    'its button is pressed');
  await page.screenshot({ path: join(artifacts, 'structure.png') });

  // With a dispatcher's token the secretaries' phones are shown.
  await setToken(probe.token);
  await until(() => wangge.structure.state().districts.some((d) => d.phone));
  s = await structure();
  check(probe.districts.every((want) => (s.districts.find((d) => d.code === want.code) || {}).phone === want.phone),
    "a dispatcher's token shows the secretaries' phones");
  check((await text('#structure section.district[data-code="01"] dd.secretary')).includes('13700001234'), 'the phone is on the page');

  // History: before the change, the former secretary; before the seeding, nobody.
  await page.fill('#structure-at', probe.mid);
  await until((d) => wangge.structure.state().at === d && wangge.structure.state().state === 'loaded', probe.mid);
  s = await structure();
  check(probe.districts.every((want) => (s.districts.find((d) => d.code === want.code) || {}).secretary === want.before),
    'on ' + probe.mid + ' the secretaries were ' + s.districts.map((d) => d.secretary).join('、'));
  check(s.teams.length === villages.length, 'and the teams were there');
  await page.fill('#structure-at', probe.early);
  await until((d) => wangge.structure.state().at === d && wangge.structure.state().state === 'loaded', probe.early);
  s = await structure();
  check(s.districts.length === 3 && s.districts.every((d) => d.secretary === null) && s.teams.length === 0,
    'on ' + probe.early + ', before the seeding, no secretary and no team: ' + JSON.stringify(s.districts.map((d) => d.secretary)) + ', ' + s.teams.length + ' teams');
  check((await text('#structure section.district[data-code="01"] dd.secretary')).includes('空缺'), 'a seat nobody held says 空缺');
  await page.click('#structure-now');
  await until(() => wangge.structure.state().at === '' && wangge.structure.state().state === 'loaded');
  s = await structure();
  check((s.districts.find((d) => d.code === '01') || {}).secretary === '新书记', 'now again: 新书记');
  nothingUnexpected('with a token and at past dates');
`

// countyProbe is what TestConsole_townSelector expects.
type countyProbe struct {
	Towns []struct {
		Code      string     `json:"code"`
		Name      string     `json:"name"`
		Secretary string     `json:"secretary"`
		Team      string     `json:"team"`
		Incidents []string   `json:"incidents"`
		Villages  []string   `json:"villages"`
		BBox      [4]float64 `json:"bbox"`
	} `json:"towns"`
	Token     string `json:"token"`      // a county dispatcher
	TownToken string `json:"town_token"` // a dispatcher of the second town
}

// TestConsole_townSelector drives the town selector in Chromium over two
// towns (newCountyEnv), each with its 片区 secretary, a work team and
// incidents of its own: the selector lists both towns; choosing one moves
// the map into it, and the structure view, the desk's cases and village
// filter, the incidents layer and the figures' village rows become that
// town's; switching to the other town changes all of them. A dispatcher
// limited to the second town is offered that town only, and sees its
// cases only. Screenshot town-selector.png.
func TestConsole_townSelector(t *testing.T) {
	t.Parallel()
	node, chromium := consoleBrowserTools(t)
	e := newCountyEnv(t)
	var p countyProbe
	p.Token = e.secrets[geo.AccessDispatcher]

	// A dispatcher's token limited to the second town, beside the env's.
	tokens := map[[32]byte]geo.Token{}
	for role, secret := range e.secrets {
		h := geo.HashToken(secret)
		tokens[h] = geo.Token{Name: string(role) + "-1", Role: role, Hash: h}
	}
	secret, hash := geo.NewTokenSecret()
	tokens[hash] = geo.Token{Name: "east-dispatcher", Role: geo.AccessDispatcher, Hash: hash, TownCode: "431321105"}
	e.tokens.Store(tokens)
	p.TownToken = secret

	points := map[string][]struct{ lon, lat float64 }{
		"431321101": {{112.005, 27.005}, {112.015, 27.015}},
		"431321105": {{112.045, 27.01}},
	}
	for i, town := range e.snap.Towns {
		secretary := []string{"西书记", "东书记"}[i]
		team := town.Name + "联村工作组"
		path := "/v1/towns/" + town.Code + "/districts/01/secretary"
		if code := e.do(geo.AccessAdmin, "PUT", path, map[string]any{"name": secretary, "phone": "1370000120" + string(rune('1'+i))}, nil); code != 200 {
			t.Fatalf("PUT %s: %d", path, code)
		}
		var created struct{ ID int64 }
		if code := e.do(geo.AccessAdmin, "POST", "/v1/teams", map[string]any{"town": town.Code, "kind": "liaison", "name": team}, &created); code != 201 {
			t.Fatalf("POST /v1/teams in %s: %d", town.Code, code)
		}
		var villages []string
		for _, v := range e.snap.Villages {
			if geo.TownCodeOf(v.Code) == town.Code {
				villages = append(villages, v.Code)
			}
		}
		if code := e.do(geo.AccessAdmin, "POST", "/v1/teams/"+jsonNumber(created.ID)+"/villages", map[string]any{"village": villages[0]}, nil); code != 201 && code != 200 {
			t.Fatalf("covering %s: %d", villages[0], code)
		}
		var incidents []string
		for _, pt := range points[town.Code] {
			var inc struct{ Number, Town string }
			body := newIncident([2]float64{pt.lon, pt.lat}, "dispute", "minor")
			if code := e.do(geo.AccessDispatcher, "POST", "/v1/incidents", body, &inc); code != 201 || inc.Town != town.Code {
				t.Fatalf("an incident at %v: %d in town %q, want %s", pt, code, inc.Town, town.Code)
			}
			incidents = append(incidents, inc.Number)
		}
		b := town.Outline.Bound()
		p.Towns = append(p.Towns, struct {
			Code      string     `json:"code"`
			Name      string     `json:"name"`
			Secretary string     `json:"secretary"`
			Team      string     `json:"team"`
			Incidents []string   `json:"incidents"`
			Villages  []string   `json:"villages"`
			BBox      [4]float64 `json:"bbox"`
		}{town.Code, town.Name, secretary, team, incidents, villages, [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}})
	}
	if err := e.reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The server agrees: each town's token-free list of teams is its own.
	for _, town := range p.Towns {
		var teams struct{ Teams []struct{ Name string } }
		if code := e.do("", "GET", "/v1/teams?town="+town.Code, nil, &teams); code != 200 || len(teams.Teams) != 1 || teams.Teams[0].Name != town.Team {
			t.Fatalf("GET /v1/teams?town=%s: %d %+v", town.Code, code, teams)
		}
	}

	srv := httptest.NewServer(e.srv)
	defer srv.Close()
	runConsoleScript(t, node, chromium, srv, townSelectorScript, p)
}

// townSelectorScript is TestConsole_townSelector's browser part.
const townSelectorScript = `
  const [west, east] = probe.towns;
  check(await page.isVisible('#town-select'), 'two towns: the town selector is shown');
  const options = await page.$$eval('#town-select option', (os) => os.map((o) => [o.value, o.textContent]));
  check(JSON.stringify(options.map((o) => o[0])) === JSON.stringify(['', west.code, east.code]) &&
    options[1][1] === west.name && options[2][1] === east.name,
    'it lists every town and 全部乡镇: ' + JSON.stringify(options));
  const centreIn = (town) => page.evaluate((b) => {
    const c = wangge.map.getCenter();
    return c.lng >= b[0] && c.lng <= b[2] && c.lat >= b[1] && c.lat <= b[3];
  }, town.bbox);
  const lists = async () => {
    const s = await structure();
    return { town: s.town, secretaries: s.districts.map((d) => d.secretary), teams: s.teams.map((x) => x.name) };
  };

  // Anonymous: the structure follows the town.
  await page.click('#structure-toggle');
  let s = await structure();
  check(s.state === 'no-town', 'with every town chosen the structure view asks for a town');
  for (const town of [east, west]) {
    await page.selectOption('#town-select', town.code);
    await until((c) => document.body.dataset.town === c, town.code);
    await until((c) => wangge.structure.state().town === c && wangge.structure.state().state === 'loaded', town.code);
    const got = await lists();
    check(got.town === town.code && JSON.stringify(got.secretaries) === JSON.stringify([town.secretary]) &&
      JSON.stringify(got.teams) === JSON.stringify([town.team]),
      town.name + ': its secretary and team are listed: ' + JSON.stringify(got));
    await settle();
    check(await centreIn(town), 'the map moved into ' + town.name);
  }
  nothingUnexpected('switching towns without a token');

  // A county dispatcher: cases, the village filter, the incidents layer and the figures follow the town.
  await setToken(probe.token);
  await page.click('#desk-toggle');
  await page.click('#desk-tab-cases');
  const shown = async (town) => {
    await until((c) => document.body.dataset.town === c, town.code);
    await until((n) => {
      const d = wangge.desk && wangge.desk.state();
      return d && d.casesState === 'loaded' && d.cases.length === n;
    }, town.incidents.length);
    return page.evaluate(() => wangge.desk.state().cases.slice().sort());
  };
  for (const town of [west, east]) {
    await page.selectOption('#town-select', town.code);
    const cases = await shown(town);
    check(JSON.stringify(cases) === JSON.stringify([...town.incidents].sort()), town.name + "'s cases only: " + cases.join(', '));
    const villages = await page.$$eval('#cases-village option', (os) => os.map((o) => o.value).filter(Boolean));
    check(JSON.stringify(villages) === JSON.stringify(town.villages), town.name + "'s villages in the filter: " + villages.join(', '));
  }
  await page.check('#layer-list input[data-overlay=incidents]');
  await until((n) => wangge.overlay('incidents').state === 'loaded' && wangge.overlay('incidents').count === n, east.incidents.length);
  check(await page.evaluate(() => wangge.overlay('incidents').count) === east.incidents.length,
    'the incidents layer holds ' + east.name + "'s incidents");
  await page.selectOption('#town-select', west.code);
  check(await until((n) => wangge.overlay('incidents').state === 'loaded' && wangge.overlay('incidents').count === n, west.incidents.length),
    'switching to ' + west.name + ' reloads the incidents layer with its incidents');
  await page.click('#figures-toggle');
  await page.waitForSelector('#figures:not([hidden]) #figures-period');
  await page.fill('#figures-period', '2026-11');
  await page.selectOption('#figures-level', 'village');
  await until(() => document.getElementById('figures').dataset.state === 'ready' && document.querySelectorAll('#figures .figures-table tbody tr').length > 0);
  const keys = async () => page.$$eval('#figures .figures-table tbody tr:not(.total) td:nth-child(2)', (ts) => ts.map((t) => t.title));
  let rows = await keys();
  check(rows.length === west.villages.length && rows.every((k) => k.startsWith(west.code)), 'the figures list ' + west.name + "'s villages: " + rows.join(', '));
  await page.selectOption('#town-select', east.code);
  await until((c) => document.getElementById('figures').dataset.state === 'ready' &&
    [...document.querySelectorAll('#figures .figures-table tbody tr:not(.total) td:nth-child(2)')].every((t) => t.title.startsWith(c)), east.code);
  rows = await keys();
  check(rows.length === east.villages.length && rows.every((k) => k.startsWith(east.code)), 'then ' + east.name + "'s: " + rows.join(', '));
  check((await text('#figures .figures-table tr.total')).includes(east.name), 'the total is ' + east.name + "'s: " + (await text('#figures .figures-table tr.total')).slice(0, 40));
  await page.click('#figures .figures-close');
  await page.screenshot({ path: join(artifacts, 'town-selector.png') });
  nothingUnexpected('as a county dispatcher');

  // A dispatcher of the east town: offered that town only, its cases only.
  await page.selectOption('#town-select', west.code);
  await shown(west);
  await setToken(probe.town_token);
  check(await until((c) => document.body.dataset.town === c, east.code), "a town's token moves the selection to its town");
  const scoped = await page.$$eval('#town-select option', (os) => os.map((o) => o.value));
  check(JSON.stringify(scoped) === JSON.stringify([east.code]) && await page.isDisabled('#town-select'),
    "the selector offers the token's town only: " + JSON.stringify(scoped));
  const cases = await shown(east);
  check(JSON.stringify(cases) === JSON.stringify([...east.incidents].sort()), 'and its cases only: ' + cases.join(', '));
  const own = await page.$$eval('#cases-village option', (os) => os.map((o) => o.value).filter(Boolean));
  check(JSON.stringify(own) === JSON.stringify(east.villages), 'and its villages in the filter: ' + own.join(', '));
  s = await lists();
  check(s.town === east.code && JSON.stringify(s.teams) === JSON.stringify([east.team]), 'and its structure: ' + JSON.stringify(s));
  nothingUnexpected("with a town's token");
`

// TestConsole_townAndCaller checks the two console files the town
// selector reads: /console/town.json?town= (one town's name, box and
// outline; an unknown town or parameter is a 400 naming it) and
// /console/caller.json (the bearer token's role and the town it is
// limited to; anonymous is a viewer of every town, an unknown token 401).
func TestConsole_townAndCaller(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t, dispatchTown())
	town := e.snap.Towns[0]
	tokens := map[[32]byte]geo.Token{}
	for role, secret := range e.secrets {
		h := geo.HashToken(secret)
		tokens[h] = geo.Token{Name: string(role) + "-1", Role: role, Hash: h}
	}
	scoped, hash := geo.NewTokenSecret()
	tokens[hash] = geo.Token{Name: "town-admin", Role: geo.AccessAdmin, Hash: hash, TownCode: town.Code}
	e.tokens.Store(tokens)

	var one struct {
		Code, Name string
		BBox       [4]float64
		Outline    struct{ Type string }
	}
	if code := e.do("", "GET", "/console/town.json?town="+town.Code, nil, &one); code != 200 {
		t.Fatalf("town.json?town=%s: %d", town.Code, code)
	}
	b := town.Outline.Bound()
	if one.Code != town.Code || one.Name != town.Name || one.BBox != [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]} || one.Outline.Type != "MultiPolygon" {
		t.Errorf("town.json?town=%s: %+v, want %s %s %v", town.Code, one, town.Code, town.Name, b)
	}
	for target, where := range map[string]string{
		"/console/town.json?town=431321999":    "town", // not a town of the deployment
		"/console/town.json?town=431321101201": "town", // a village's code
		"/console/town.json?twon=431321101":    "twon",
	} {
		var p struct{ Errors []struct{ Where string } }
		if code := e.do("", "GET", target, nil, &p); code != 400 || len(p.Errors) != 1 || p.Errors[0].Where != where {
			t.Errorf("GET %s: %d %+v, want 400 naming %s", target, code, p, where)
		}
	}

	type caller struct {
		Role string
		Town *struct{ Code, Name string }
	}
	var anon, dispatcher caller
	if code := e.do("", "GET", "/console/caller.json", nil, &anon); code != 200 || anon.Role != "viewer" || anon.Town != nil {
		t.Errorf("caller.json anonymous: %d %+v", code, anon)
	}
	if code := e.do(geo.AccessDispatcher, "GET", "/console/caller.json", nil, &dispatcher); code != 200 || dispatcher.Role != "dispatcher" || dispatcher.Town != nil {
		t.Errorf("caller.json as a dispatcher of every town: %d %+v", code, dispatcher)
	}
	var town1 caller
	if code := e.do("", "GET", "/console/caller.json", nil, &town1, "Authorization", "Bearer "+scoped); code != 200 ||
		town1.Role != "admin" || town1.Town == nil || town1.Town.Code != town.Code || town1.Town.Name != town.Name {
		t.Errorf("caller.json as a town's admin: %d %+v", code, town1)
	}
	if code := e.do("", "GET", "/console/caller.json", nil, nil, "Authorization", "Bearer wg_unknown"); code != 401 {
		t.Errorf("caller.json with an unknown token: %d, want 401", code)
	}
}
