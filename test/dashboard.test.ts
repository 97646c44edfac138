/**
 * Browser tests of the dashboard's overview, workload and targets pages: chromium (via
 * playwright-core) against `meshmetrics demo`, one demo and one browser for the whole file.
 * Each page must load without console errors and show what the API says: the demo's three
 * workloads with the success rate and RPS the same queries return, the workload's charts,
 * edges and pods, and every active target with its health. Screenshots of each page go to
 * `artifacts/screenshots/` (overview.png, workload.png, targets.png).
 *
 * A first test, without a browser, checks that the overview sends the queries `meshmetrics stat
 * deploy -A` sends and reads their answers into the same figures.
 *
 * Needs `npm run build:web` first (the demo serves dist/dashboard).
 * @module
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser, openPage, screenshot, startDemo } from './support/browser.js';
import {
  buildStatQueries,
  parseResources,
  statSummary,
  type StatOptions,
} from '../src/cli/stat.js';
import type { PromApiClient } from '../src/cli/prom-api.js';
import { waitForValue } from './support/wait.js';

interface ApiAnswer<T> {
  status: string;
  data: T;
  error?: string;
}
interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}
interface Target {
  scrapeUrl: string;
  health: string;
  scrapePool: string;
  labels: Record<string, string>;
}

async function apiGet<T>(base: string, path: string, params: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as ApiAnswer<T>;
  assert.equal(body.status, 'success', `${path}: ${body.error}`);
  return body.data;
}

/**
 * Success share and RPS per workload, computed here from the API as `stat` does (the same
 * query the overview sends, written out again so the test does not trust the page's code).
 */
async function statFromApi(base: string): Promise<Map<string, { success: number; rps: number }>> {
  const data = await apiGet<{ result: Sample[] }>(base, '/api/v1/query', {
    query:
      'sum(increase(response_total{direction="inbound", deployment!=""}[1m])) by (namespace, deployment, classification)',
  });
  const acc = new Map<string, { ok: number; failed: number }>();
  for (const s of data.result) {
    const key = `${s.metric.namespace}/${s.metric.deployment}`;
    const a = acc.get(key) ?? { ok: 0, failed: 0 };
    const v = Number(s.value[1]);
    if (s.metric.classification === 'success') a.ok += v;
    else if (s.metric.classification === 'failure') a.failed += v;
    acc.set(key, a);
  }
  const out = new Map<string, { success: number; rps: number }>();
  for (const [k, a] of acc)
    out.set(k, { success: a.ok / (a.ok + a.failed), rps: (a.ok + a.failed) / 60 });
  return out;
}

/** The overview's rows as shown: name, success (share) and RPS cell values. */
async function overviewRows(page: Page) {
  return page.$$eval('tr[data-workload]', (trs) =>
    trs.map((tr) => ({
      name: tr.getAttribute('data-workload')!,
      success: tr.querySelector('td[data-col="success"]')!.textContent!.trim(),
      rps: tr.querySelector('td[data-col="rps"]')!.textContent!.trim(),
    })),
  );
}

const WORKLOADS = ['demo/authors', 'demo/books', 'demo/web'];

/** What the test uses of web/src/linkerd-queries.ts (loaded at run time: it is browser code). */
interface LinkerdQueries {
  OVERVIEW_PLAN: {
    by: string[];
    requests: string;
    latency: [string, string, string];
    tcpConnections: string;
  };
  POD_COUNT_QUERIES: { meshed: string; total: string };
  statFigures(
    plan: LinkerdQueries['OVERVIEW_PLAN'],
    answers: {
      requests: Sample[];
      latency: [Sample[], Sample[], Sample[]];
      tcpConnections: Sample[];
    },
  ): Map<
    string,
    {
      labels: Record<string, string>;
      success: number | null;
      rps: number | null;
      p50: number | null;
      p95: number | null;
      p99: number | null;
      tcpConnections: number | null;
    }
  >;
}

test('the overview asks what `stat deploy -A` asks and reads the answers the same way', async () => {
  const web = (await import(
    pathToFileURL(join(import.meta.dirname, '..', 'web', 'src', 'linkerd-queries.ts')).href
  )) as LinkerdQueries;
  const resources = parseResources(['deploy']);
  const o: StatOptions = {
    resources,
    namespace: 'default',
    allNamespaces: true,
    windowMs: 60_000,
    to: null,
    toNamespace: '',
    from: null,
    fromNamespace: '',
    selector: '',
    accurate: false,
    clusterDomain: 'cluster.local',
  };
  const stat = buildStatQueries(resources[0]!, o);
  const plan = web.OVERVIEW_PLAN;
  // stat also groups requests by tls, which it then ignores.
  assert.equal(plan.requests, stat.requests.replace(', classification, tls)', ', classification)'));
  assert.deepEqual(plan.latency, stat.latency);
  assert.equal(plan.tcpConnections, stat.tcpConnections);
  assert.equal(web.POD_COUNT_QUERIES.meshed, stat.meshed);
  assert.equal(web.POD_COUNT_QUERIES.total, stat.total);

  const m = (deployment: string, extra: Record<string, string> = {}) => ({
    namespace: 'demo',
    deployment,
    ...extra,
  });
  const v = (metric: Record<string, string>, x: string): Sample => ({ metric, value: [1, x] });
  const cases: { name: string; requests: Sample[]; latency: Sample[][]; tcp: Sample[] }[] = [
    {
      name: 'success and failure over two tls values, latency and connections',
      requests: [
        v(m('web', { classification: 'success', tls: 'true' }), '540'),
        v(m('web', { classification: 'success', tls: 'no_identity' }), '6'),
        v(m('web', { classification: 'failure', tls: 'true' }), '54.5'),
      ],
      latency: [[v(m('web'), '4.6')], [v(m('web'), '95.2')], [v(m('web'), '99.5')]],
      tcp: [v(m('web'), '7')],
    },
    {
      name: 'NaN latency reads as 0, a missing connection count as 0',
      requests: [v(m('books', { classification: 'success', tls: 'true' }), '60')],
      latency: [[v(m('books'), 'NaN')], [], [v(m('books'), 'NaN')]],
      tcp: [],
    },
    {
      name: 'connections without requests make a row without figures',
      requests: [],
      latency: [[], [], []],
      tcp: [v(m('idle'), '3')],
    },
    {
      name: 'zero requests: no success rate, 0 RPS',
      requests: [v(m('quiet', { classification: 'success', tls: 'true' }), '0')],
      latency: [[], [], []],
      tcp: [v(m('quiet'), '1')],
    },
  ];
  for (const c of cases) {
    const answers = new Map<string, Sample[]>([
      [stat.requests, c.requests],
      [stat.latency[0], c.latency[0]!],
      [stat.latency[1], c.latency[1]!],
      [stat.latency[2], c.latency[2]!],
      [stat.tcpConnections!, c.tcp],
    ]);
    const client = {
      query: async (q: string) => ({
        data: { resultType: 'vector', result: answers.get(q) ?? [] },
        warnings: [],
      }),
    } as unknown as PromApiClient;
    const rows = await statSummary(client, o);
    const figures = web.statFigures(plan, {
      requests: c.requests,
      latency: [c.latency[0]!, c.latency[1]!, c.latency[2]!],
      tcpConnections: c.tcp,
    });
    assert.equal(figures.size, rows.length, c.name);
    for (const r of rows) {
      const f = figures.get(`${r.namespace}\x00${r.name}`);
      assert.ok(f, `${c.name}: ${r.namespace}/${r.name}`);
      assert.deepEqual(
        [f.success, f.rps, f.p50, f.p95, f.p99, f.tcpConnections],
        [r.success, r.rps, r.latencyP50, r.latencyP95, r.latencyP99, r.tcpOpenConnections],
        c.name,
      );
    }
  }
});

test('dashboard pages against the demo', { timeout: 180_000 }, async (t: TestContext) => {
  const browser = await launchBrowser(t);
  if (browser === null) return;
  const demo = await startDemo(t);
  const base = demo.url;
  // Pages against a mocked API first, while the demo's traffic builds up.
  await t.test('empty states say what is missing', async () => {
    const { page, errors } = await openPage(browser);
    let targets: unknown = { activeTargets: [], droppedTargets: [] };
    await page.route('**/api/v1/query?**', (route) =>
      route.fulfill({ json: { status: 'success', data: { resultType: 'vector', result: [] } } }),
    );
    await page.route('**/api/v1/query_range?**', (route) =>
      route.fulfill({ json: { status: 'success', data: { resultType: 'matrix', result: [] } } }),
    );
    await page.route('**/api/v1/targets**', (route) =>
      route.fulfill({ json: { status: 'success', data: targets } }),
    );
    await page.goto(`${base}/#/`);
    await page.waitForSelector('.state.empty:has-text("No targets yet")');
    assert.match((await page.textContent('.state.empty'))!, /lists no active target/);
    await page.goto(`${base}/#/targets`);
    await page.waitForSelector('.state.empty:has-text("No targets yet")');
    // Targets but no traffic.
    targets = await apiGet(base, '/api/v1/targets');
    await page.goto(`${base}/#/`);
    await page.reload();
    await page.waitForSelector('.state.empty:has-text("No traffic yet")');
    const t3 = targets as { activeTargets: Target[] };
    const up = t3.activeTargets.filter((x) => x.health === 'up').length;
    assert.match(
      (await page.textContent('.state.empty'))!,
      new RegExp(`${t3.activeTargets.length} targets are scraped \\(${up} up\\)`),
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test('the overview of 500 workloads costs a few requests and renders fast', async () => {
    const { page, errors } = await openPage(browser);
    const N = 500;
    const names = Array.from({ length: N }, (_, i) => `app-${String(i).padStart(3, '0')}`);
    const now = Date.now() / 1000;
    const vector = (f: (m: Record<string, string>, i: number) => Sample[]) => ({
      status: 'success',
      data: {
        resultType: 'vector',
        result: names.flatMap((d, i) => f({ namespace: `ns-${i % 7}`, deployment: d }, i)),
      },
    });
    const requests: string[] = [];
    await page.route('**/api/v1/query?**', (route) => {
      const q = new URL(route.request().url()).searchParams.get('query')!;
      requests.push(q);
      const at = (v: number): [number, string] => [now, String(v)];
      if (q.includes('increase(response_total'))
        return route.fulfill({
          json: vector((m, i) => [
            { metric: { ...m, classification: 'success' }, value: at(600 - i) },
            { metric: { ...m, classification: 'failure' }, value: at(i % 10) },
          ]),
        });
      return route.fulfill({ json: vector((m, i) => [{ metric: m, value: at(1 + (i % 5)) }]) });
    });
    await page.route('**/api/v1/query_range?**', (route) => {
      requests.push('range');
      const u = new URL(route.request().url()).searchParams;
      const start = Number(u.get('start'));
      const step = Number(u.get('step'));
      return route.fulfill({
        json: {
          status: 'success',
          data: {
            resultType: 'matrix',
            result: names.map((d, i) => ({
              metric: { namespace: `ns-${i % 7}`, deployment: d },
              values: Array.from({ length: 121 }, (_, k) => [
                start + k * step,
                String(5 + Math.sin(k / 10 + i)),
              ]),
            })),
          },
        },
      });
    });
    const t0 = Date.now();
    await page.goto(`${base}/#/`);
    await page.waitForFunction(`document.querySelectorAll('tr[data-workload]').length === ${N}`);
    await page.waitForSelector('tr[data-workload] svg.sparkline path[d^="M"]', {
      state: 'attached',
    });
    const loadMs = Date.now() - t0;
    // One refresh: the stat queries, two pod counts and one range query, whatever N is.
    assert.ok(requests.length <= 8, `${requests.length} requests: ${requests.join('\n')}`);
    const t1 = Date.now();
    await page.fill('input[aria-label="Filter workloads"]', 'app-49');
    await page.waitForFunction(`document.querySelectorAll('tr[data-workload]').length === 10`);
    const filterMs = Date.now() - t1;
    t.diagnostic(`500 workloads: loaded and drawn in ${loadMs} ms, filtered in ${filterMs} ms`);
    assert.ok(loadMs < 15_000 && filterMs < 5_000, `load ${loadMs} ms, filter ${filterMs} ms`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test(
    'targets page: a down target shows its error and passes the unhealthy filter',
    async () => {
      const { page, errors } = await openPage(browser);
      const real = await apiGet<{ activeTargets: Target[]; droppedTargets: unknown[] }>(
        base,
        '/api/v1/targets',
      );
      const down = {
        ...real.activeTargets[0]!,
        scrapeUrl: 'http://127.0.0.1:9/metrics',
        health: 'down',
        lastError: 'Get "http://127.0.0.1:9/metrics": connection refused',
        labels: { ...real.activeTargets[0]!.labels, instance: '127.0.0.1:9', pod: 'gone-1' },
      };
      const dropped = { discoveredLabels: { __address__: '10.0.0.9:8080', job: 'linkerd-proxy' } };
      await page.route('**/api/v1/targets**', (route) =>
        route.fulfill({
          json: {
            status: 'success',
            data: { activeTargets: [...real.activeTargets, down], droppedTargets: [dropped] },
          },
        }),
      );
      await page.goto(`${base}/#/targets?unhealthy=1`);
      await page.waitForSelector('tr[data-target="http://127.0.0.1:9/metrics"]');
      assert.equal(await page.$$eval('tr[data-target]', (trs) => trs.length), 1);
      assert.match((await page.textContent('tr[data-health="down"]'))!, /connection refused/);
      const n = real.activeTargets.length;
      assert.equal((await page.textContent('.pool .counts'))!.trim(), `${n}/${n + 1} up`);
      // Dropped targets: collapsed with their count, then their discovered labels.
      assert.equal((await page.textContent('.dropped .counts'))!.trim(), '1');
      await page.click('.dropped .group-header');
      await page.waitForSelector('.dropped .label-chip:has-text("__address__")');
      assert.deepEqual(errors, []);
      await page.close();
    },
  );

  await t.test('a failing API shows its message and the request', async () => {
    const { page } = await openPage(browser);
    await page.route('**/api/v1/query?**', (route) =>
      route.fulfill({
        status: 422,
        contentType: 'application/json',
        body: JSON.stringify({
          status: 'error',
          errorType: 'execution',
          error: 'query processing would load too many samples into memory',
        }),
      }),
    );
    await page.route('**/api/v1/targets**', (route) =>
      route.fulfill({ status: 503, contentType: 'text/plain', body: 'Service Unavailable' }),
    );
    await page.goto(`${base}/#/`);
    const overviewError = await page.waitForSelector('.state.error');
    const text = (await overviewError.textContent())!;
    assert.match(text, /Cannot load the workloads/);
    assert.match(text, /execution/);
    assert.match(text, /too many samples/);
    assert.match(text, /curl -sG '.*\/api\/v1\/query' --data-urlencode 'query=/);

    await page.goto(`${base}/#/targets`);
    await page.waitForSelector('.state.error:has-text("Cannot load the targets")');
    assert.match(
      (await page.textContent('.state.error'))!,
      /HTTP 503.*not JSON[\s\S]*\/api\/v1\/targets/,
    );

    await page.goto(`${base}/#/workload/demo/web`);
    await page.waitForSelector('.state.error:has-text("Cannot load the workload")');
    await page.close();
  });

  // Wait until all three workloads have answered requests and have a pod scraped.
  await waitForValue('traffic to the three demo workloads', async () => {
    const s = await statFromApi(base);
    return WORKLOADS.every((w) => (s.get(w)?.rps ?? 0) > 0) ? s : null;
  });

  await t.test('overview lists the workloads with the API numbers', async () => {
    const { page, errors } = await openPage(browser);
    // The page's request query and ours at about the same moment: the demo runs live.
    const answered = page.waitForResponse(
      (r) => r.url().includes('/api/v1/query?') && r.url().includes('increase%28response_total'),
    );
    await page.goto(`${base}/#/`);
    await answered;
    const api = await statFromApi(base);
    await page.waitForSelector('tr[data-workload]');
    const rows = await overviewRows(page);
    assert.deepEqual(
      rows.map((r) => r.name),
      WORKLOADS,
    );
    for (const r of rows) {
      const want = api.get(r.name)!;
      const success = Number(r.success.replace('%', '')) / 100;
      const rps = Number(r.rps);
      assert.ok(
        Math.abs(success - want.success) <= 0.02,
        `${r.name}: page success ${r.success}, API ${(want.success * 100).toFixed(2)}%`,
      );
      assert.ok(
        Math.abs(rps - want.rps) <= 0.2 * want.rps + 0.05,
        `${r.name}: page RPS ${r.rps}, API ${want.rps.toFixed(2)}`,
      );
    }
    // Health colours follow the success thresholds.
    for (const r of rows) {
      const cls = await page.getAttribute(`tr[data-workload="${r.name}"]`, 'class');
      const s = Number(r.success.replace('%', ''));
      const want = s >= 99 ? 'good' : s >= 95 ? 'warn' : 'bad';
      assert.match(cls!, new RegExp(`health-${want}`), `${r.name} ${r.success}`);
    }
    // Sparklines: one query_range for all rows, drawn once it answers.
    await page.waitForSelector('tr[data-workload] svg.sparkline path[d^="M"]', {
      state: 'attached',
    });
    await screenshot(page, 'overview');
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test('overview sorts and filters', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/#/`);
    await page.waitForSelector('tr[data-workload]');
    const rpsOf = async () => (await overviewRows(page)).map((r) => Number(r.rps));
    await page.click('th[data-col="rps"]');
    await page.waitForFunction(`location.hash.includes('sort=rps')`);
    const desc = await rpsOf();
    assert.deepEqual(
      desc,
      [...desc].sort((a, b) => b - a),
      'RPS descending',
    );
    await page.click('th[data-col="rps"]');
    await page.waitForFunction(`location.hash.includes('desc=0')`);
    const asc = await rpsOf();
    assert.deepEqual(
      asc,
      [...asc].sort((a, b) => a - b),
      'RPS ascending',
    );
    await page.click('th[data-col="name"]');
    await page.waitForFunction(`location.hash.includes('sort=name')`);
    assert.deepEqual(
      (await overviewRows(page)).map((r) => r.name),
      WORKLOADS,
    );
    await page.click('th[data-col="name"]');
    await page.waitForFunction(`location.hash.includes('desc=1')`);
    assert.deepEqual(
      (await overviewRows(page)).map((r) => r.name),
      [...WORKLOADS].reverse(),
    );

    await page.fill('input[aria-label="Filter workloads"]', 'boo');
    await page.waitForFunction(`document.querySelectorAll('tr[data-workload]').length === 1`);
    assert.deepEqual(
      (await overviewRows(page)).map((r) => r.name),
      ['demo/books'],
    );
    await page.fill('input[aria-label="Filter workloads"]', 'nothing-like-this');
    await page.waitForSelector('text=No workload matches');
    await page.click('text=Clear the filters.');
    await page.waitForFunction(`document.querySelectorAll('tr[data-workload]').length === 3`);
    await page.selectOption('select[aria-label="Namespace"]', 'demo');
    assert.equal((await overviewRows(page)).length, 3);
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test('a row opens the workload page: charts, edges and pods', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/#/`);
    await page.click('tr[data-workload="demo/web"] td.num >> nth=0');
    await page.waitForFunction(`location.hash.startsWith('#/workload/demo/web')`);
    await page.waitForSelector('h1:has-text("web")');
    // Charts: each drawn on a canvas with a size, once its query has answered.
    await page
      .waitForFunction(`document.querySelectorAll('.chart-panel canvas').length >= 5`, null, {
        timeout: 15_000,
      })
      .catch(() => {}); // the count is asserted below, with the number found
    const sizes = await page.$$eval('.chart-panel canvas', (cs) =>
      cs.map((c) => [c.getBoundingClientRect().width, c.getBoundingClientRect().height]),
    );
    assert.ok(sizes.length >= 5, `${sizes.length} charts`);
    for (const [w, h] of sizes) assert.ok(w > 100 && h > 50, `canvas ${w}×${h}`);
    // web calls books and authors.
    await page.waitForSelector('[data-edges="Calls"] tr[data-edge]');
    const callees = await page.$$eval('[data-edges="Calls"] tr[data-edge]', (trs) =>
      trs.map((tr) => tr.getAttribute('data-edge')).sort(),
    );
    assert.deepEqual(callees, ['demo/authors', 'demo/books']);
    // Its pod, with the target's /metrics link.
    const targets = await apiGet<{ activeTargets: Target[] }>(base, '/api/v1/targets');
    const webTarget = targets.activeTargets.find((x) => x.labels.deployment === 'web')!;
    const podLink = await page.getAttribute(`tr[data-pod="${webTarget.labels.pod}"] a`, 'href');
    assert.equal(podLink, webTarget.scrapeUrl);
    // Time range picker.
    await page.click('button:has-text("15m")');
    await page.waitForFunction(`location.hash.includes('range=15m')`);
    await page.waitForSelector('text=Step 3s');
    await screenshot(page, 'workload');

    // books is called by web; the edge links back to web's page.
    await page.goto(`${base}/#/workload/demo/books?range=5m`);
    await page.waitForSelector('[data-edges="Called by"] tr[data-edge="demo/web"]');
    await page.click('[data-edges="Called by"] tr[data-edge="demo/web"] a');
    await page.waitForFunction(`location.hash.startsWith('#/workload/demo/web')`);
    // The outbound tab.
    await page.click('button[role="tab"]:has-text("Outbound")');
    await page.waitForFunction(`location.hash.includes('dir=outbound')`);
    await page.waitForSelector('.chart-panel canvas');
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test('targets page shows every active target with its health', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/#/targets`);
    await page.waitForSelector('tr[data-target]');
    const targets = await apiGet<{ activeTargets: Target[]; droppedTargets: unknown[] }>(
      base,
      '/api/v1/targets',
    );
    assert.ok(targets.activeTargets.length >= 3);
    for (const x of targets.activeTargets) {
      const health = await page.getAttribute(`tr[data-target="${x.scrapeUrl}"]`, 'data-health');
      assert.equal(health, x.health, x.scrapeUrl);
    }
    const shown = await page.$$eval('tr[data-target]', (trs) => trs.length);
    assert.equal(shown, targets.activeTargets.length);
    assert.match(
      (await page.textContent('.pool .counts'))!,
      new RegExp(`${targets.activeTargets.length}/${targets.activeTargets.length} up`),
    );
    await screenshot(page, 'targets');
    // Filters: the demo's targets are all up.
    await page.check('text=Unhealthy only');
    await page.waitForSelector('text=Every target is up');
    await page.uncheck('text=Unhealthy only');
    await page.fill('input[aria-label="Filter targets"]', 'books');
    await page.waitForFunction(`document.querySelectorAll('tr[data-target]').length === 1`);
    // Groups collapse; dropped targets are collapsed with their count.
    await page.fill('input[aria-label="Filter targets"]', '');
    await page.click('.pool .group-header');
    assert.equal(await page.$$eval('tr[data-target]', (trs) => trs.length), 0);
    assert.equal(
      (await page.textContent('.dropped .counts'))!.trim(),
      String(targets.droppedTargets.length),
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test('the top bar navigates between pages', async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(`${base}/`);
    await page.waitForSelector('tr[data-workload]');
    await page.click('.topbar nav a:has-text("Targets")');
    await page.waitForSelector('h1:has-text("Targets")');
    assert.equal(await page.evaluate('location.hash'), '#/targets');
    assert.equal(await page.title(), 'Targets — meshmetrics');
    assert.equal(await page.textContent('.topbar nav a.active'), 'Targets');
    await page.click('.topbar nav a:has-text("Workloads")');
    await page.waitForSelector('tr[data-workload]');
    assert.equal(await page.evaluate('location.hash'), '#/');
    await page.click('.topbar .brand');
    await page.waitForSelector('h1:has-text("Workloads")');
    // The collector's Prometheus paths lead to the pages.
    await page.goto(`${base}/targets`);
    await page.waitForSelector('h1:has-text("Targets")');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
