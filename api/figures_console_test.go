package api_test

import (
	"net/http/httptest"
	"testing"

	"wangge/geo"
)

// TestConsole_figures opens the console's 考核 panel in Chromium over the
// demo year: Chart.js loads from this server (the page's CSP refuses any
// other origin), the league table is drawn as bars and listed, the trend
// drawn, and the 通报 downloads as an .xlsx with the token. Screenshot
// figures.png in the artifacts folder.
func TestConsole_figures(t *testing.T) {
	t.Parallel()
	node, chromium := consoleBrowserTools(t)
	e := figuresEnv(t)
	srv := httptest.NewServer(e.srv)
	defer srv.Close()
	runBrowserScript(t, node, chromium, srv, figuresBrowserScript, map[string]string{"token": e.secrets[geo.AccessDispatcher], "period": "2026-11"})
}

// figuresBrowserScript is TestConsole_figures's browser part:
//
//	node --input-type=module - URL ARTIFACT_DIR PROBE_JSON
const figuresBrowserScript = `
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, artifacts, probeJSON] = process.argv.slice(2);
const probe = JSON.parse(probeJSON);
const origin = new URL(url).origin;
setTimeout(() => { console.error('FAIL: the figures test took more than 120 s'); process.exit(1); }, 120000);
const failures = [];
function check(ok, message) {
  if (!ok) failures.push(message);
  console.log((ok ? 'ok   ' : 'FAIL ') + message);
}
const seen = [];
mkdirSync(artifacts, { recursive: true });
const browser = await chromium.launch({ executablePath: process.env.WANGGE_CHROMIUM || '/usr/bin/chromium', headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--lang=zh-CN'] });
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', acceptDownloads: true });
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
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null, { timeout: 30000 });
  await page.fill('#token-input', probe.token);
  await page.click('#token-form button[type=submit]');
  await page.click('#figures-toggle');
  await page.waitForSelector('#figures[data-state=ready]', { timeout: 30000 });
  await page.fill('#figures-period', probe.period);
  await page.selectOption('#figures-level', 'grid');
  await page.waitForFunction((p) => document.getElementById('figures').dataset.state === 'ready'
    && document.querySelector('.figures-status').textContent.includes('2026年11月') && document.querySelector('.figures-status').textContent.includes('网格'), probe.period, { timeout: 30000 });
  await page.selectOption('#figures-sort', 'on_time_rate');
  await page.waitForFunction(() => document.querySelector('#figures .figures-table td.sorted') !== null
    && document.querySelector('#figures-bars-caption').textContent.includes('按时办结率'), null, { timeout: 30000 });
  const drawn = await page.evaluate(() => {
    const bars = window.Chart && window.Chart.getChart(document.getElementById('figures-bars'));
    const trend = window.Chart && window.Chart.getChart(document.getElementById('figures-trend'));
    return { bars: bars ? bars.data.labels.length : -1, values: bars ? bars.data.datasets[0].data.slice(0, 3) : [],
      trend: trend ? trend.data.datasets.length : -1, rows: document.querySelectorAll('#figures .figures-table tbody tr').length };
  });
  check(drawn.bars === 20, 'the league table draws its top 20 grids as bars: ' + drawn.bars);
  check(drawn.values.length === 3 && drawn.values[0] >= drawn.values[1] && drawn.values[1] >= drawn.values[2],
    'the bars are best first by 按时办结率: ' + drawn.values.join(', '));
  check(drawn.trend === 4, 'the trend has accepted, completed, on-time and satisfaction series: ' + drawn.trend);
  check(drawn.rows > 150, 'the table lists every grid and the total: ' + drawn.rows + ' rows');
  await page.screenshot({ path: join(artifacts, 'figures.png') });
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30000 }),
    page.click('#figures-form button:has-text(".xlsx")')]);
  const name = download.suggestedFilename();
  check(name.endsWith('.xlsx') && name.includes('考核通报'), 'the 通报 downloads as ' + name);
  check(seen.length === 0, 'no console errors, page errors, failed requests or requests elsewhere' +
    (seen.length ? ':\n  ' + seen.join('\n  ') : ''));
} finally {
  await browser.close();
}
console.log(failures.length ? 'FAILED ' + failures.length : 'PASS');
process.exit(failures.length ? 1 : 0);
`
