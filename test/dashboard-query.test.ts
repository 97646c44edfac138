/**
 * Browser tests of the dashboard's query explorer (`#/query`) and export page (`#/export`),
 * against `meshmetrics demo` in Debian's chromium: one demo and one browser for the file.
 * The explorer must show what `/api/v1/query` answers, draw a graph, complete metric names
 * from the collector, show the API's own error text and keep its state in the URL; the
 * export page must hold this collector's address and the jobs it scrapes, as valid YAML.
 * Screenshots: artifacts/screenshots/{query-table,query-graph,export}.png.
 * @module
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { Page } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, openPage, screenshot, startDemo } from './support/browser.js';
import { requirePeer } from './support/peers.js';
import { loadConfig } from '../src/config/index.js';
import {
  autoStepSeconds,
  formatDuration,
  fromLocalInput,
  matrixColumns,
  parseDurationMs,
  seriesName,
  toLocalInput,
} from '../web/src/pages/query/format.js';
import { federationJob, jobMatcher, serviceMonitor } from '../web/src/pages/export/configs.js';

const EXPR = 'sum(rate(request_total[1m])) by (deployment)';

interface ApiBody<T> {
  status: string;
  data: T;
  errorType?: string;
  error?: string;
}
type Vector = {
  resultType: 'vector';
  result: { metric: Record<string, string>; value: [number, string] }[];
};

async function apiGet<T>(
  base: string,
  path: string,
  params: Record<string, string>,
): Promise<ApiBody<T>> {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  return (await res.json()) as ApiBody<T>;
}

/** The query explorer's parameters, from the URL's hash. */
function hashParams(page: Page): URLSearchParams {
  return new URLSearchParams(new URL(page.url()).hash.replace(/^#\/query\?/, ''));
}

/** Replaces the editor's text by typing, as a user would. */
async function typeExpr(page: Page, text: string): Promise<void> {
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(text, { delay: 5 });
}

/** The rows of the Table tab: series text → value. */
async function tableRows(page: Page): Promise<Map<string, number>> {
  const rows = await page
    .locator('.q-table tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => [
        tr.querySelector('.q-series')?.textContent ?? '',
        tr.querySelector('.q-value')?.textContent ?? '',
      ]),
    );
  return new Map(rows.map(([s, v]) => [s!, parseFloat(v!)]));
}

test('durations of the range and step fields', () => {
  const cases: [string, number | undefined][] = [
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['7d', 604_800_000],
    ['15', 15_000],
    ['0.5', 500],
    ['', undefined],
    ['5x', undefined],
    ['m5', undefined],
    ['1h 5m', undefined],
  ];
  for (const [text, want] of cases) assert.equal(parseDurationMs(text), want, text);
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(15_000), '15s');
});

test('the automatic step gives about 250 points, rounded', () => {
  const cases: [string, number][] = [
    ['5m', 2],
    ['1h', 15],
    ['1d', 600],
    ['7d', 3600],
  ];
  for (const [range, want] of cases) {
    const step = autoStepSeconds(parseDurationMs(range)!);
    assert.equal(step, want, range);
    assert.ok(parseDurationMs(range)! / 1000 / step <= 250, range);
  }
});

test('a matrix becomes columns on the steps the API evaluated; missing and non-finite values are gaps', () => {
  const got = matrixColumns(
    [
      {
        values: [
          [110, '1'],
          [130, 'NaN'],
        ],
      },
      { values: [[100, '+Inf']] },
    ],
    100,
    130,
    10,
  );
  assert.deepEqual(got.times, [100, 110, 120, 130]);
  assert.deepEqual(got.values, [
    [null, 1, null, null],
    [null, null, null, null],
  ]);
});

test('series are named as Prometheus prints them', () => {
  const cases: [Record<string, string>, string][] = [
    [{ __name__: 'up', job: 'a', instance: 'b:1' }, 'up{job="a", instance="b:1"}'],
    [{ __name__: 'up' }, 'up'],
    [{}, '{}'],
    [{ path: 'a"b\\c' }, '{path="a\\"b\\\\c"}'],
  ];
  for (const [metric, want] of cases) assert.equal(seriesName(metric), want);
});

test('time fields read local time or Unix seconds', () => {
  const ms = new Date(2026, 10, 27, 15, 4, 5).getTime();
  assert.equal(toLocalInput(ms), '2026-11-27 15:04:05');
  const cases: [string, number | undefined][] = [
    ['2026-11-27 15:04:05', ms],
    ['2026-11-27T15:04:05', ms],
    ['2026-11-27 15:04', ms - 5000],
    ['1700000000', 1_700_000_000_000],
    ['1700000000.5', 1_700_000_000_500],
    ['yesterday', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) assert.equal(fromLocalInput(text), want, text);
});

test('the federation job and ServiceMonitor keep odd job names and a path prefix intact', () => {
  const job = `it's "odd"`;
  const matchers = [jobMatcher(job), '{job="linkerd-proxy"}'];
  const address = { scheme: 'https', host: '10.1.2.3:9443', prefix: '/mm/' };
  const cfg = parseYaml(federationJob(address, matchers)) as {
    scrape_configs: Record<string, unknown>[];
  };
  assert.deepEqual(cfg.scrape_configs[0], {
    job_name: 'linkerd',
    static_configs: [{ targets: ['10.1.2.3:9443'] }],
    scheme: 'https',
    honor_labels: true,
    metrics_path: '/mm/federate',
    params: { 'match[]': matchers },
  });
  const docs = parseAllDocuments(serviceMonitor(address, matchers)).map((d) => d.toJS()) as {
    kind: string;
    subsets?: { addresses: { ip: string }[] }[];
    spec?: { endpoints?: { params: Record<string, string[]>; path: string; scheme: string }[] };
  }[];
  assert.deepEqual(
    docs.map((d) => d.kind),
    ['Service', 'Endpoints', 'ServiceMonitor'],
  );
  assert.equal(docs[1]!.subsets![0]!.addresses[0]!.ip, '10.1.2.3');
  const ep = docs[2]!.spec!.endpoints![0]!;
  assert.deepEqual(ep.params['match[]'], matchers);
  assert.equal(ep.path, '/mm/federate');
  assert.equal(ep.scheme, 'https');
});

test('query explorer and export page', { timeout: 120_000 }, async (t) => {
  const browser = await launchBrowser(t);
  if (browser === null) return;
  const demo = await startDemo(t);
  const base = `${demo.url}/`;

  // rate() over 1m needs two scrapes of every proxy: wait until all deployments have a rate.
  let expected: Vector['result'] = [];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const body = await apiGet<Vector>(base, 'api/v1/query', { query: EXPR });
    expected = body.data.result;
    if (expected.length >= 3 && expected.every((s) => parseFloat(s.value[1]) > 0)) break;
    if (Date.now() > deadline)
      assert.fail(`no request rates after 30 s: ${JSON.stringify(body)}\n${demo.output()}`);
    await new Promise((r) => setTimeout(r, 500));
  }

  const { page, errors } = await openPage(browser);

  await t.test('the query page loads with no console error', async () => {
    await page.goto(`${base}#/query`);
    await page.locator('.cm-content').waitFor();
    await page.locator('.q-start').waitFor();
    assert.deepEqual(errors, []);
  });

  await t.test(
    'Enter runs the query; the table shows the series and values of /api/v1/query',
    async () => {
      await typeExpr(page, EXPR);
      await page.keyboard.press('Escape'); // close a completion list, if one is open
      await page.keyboard.press('Enter');
      await page.locator('.q-table tbody tr').first().waitFor();
      const shown = await tableRows(page);
      const body = await apiGet<Vector>(base, 'api/v1/query', { query: EXPR });
      const want = new Map(
        body.data.result.map((s) => [
          `{deployment=${JSON.stringify(s.metric.deployment)}}`,
          parseFloat(s.value[1]),
        ]),
      );
      assert.deepEqual([...shown.keys()].sort(), [...want.keys()].sort());
      for (const [series, v] of want) {
        const got = shown.get(series)!;
        // Live data: the page ran the query a moment before this test did.
        assert.ok(Math.abs(got - v) <= Math.max(0.5, 0.25 * v), `${series}: page ${got}, API ${v}`);
      }
      const stats = await page.locator('[data-testid=query-stats]').textContent();
      assert.match(stats ?? '', new RegExp(`^${want.size} series · took \\d+ ms`));
      const curl = await page.locator('[data-testid=query-curl]').textContent();
      assert.ok(curl?.startsWith(`curl -sG '${base}api/v1/query'`), curl ?? '');
      assert.ok(curl?.includes(`--data-urlencode 'query=${EXPR}'`), curl ?? '');
      await screenshot(page, 'query-table');
    },
  );

  await t.test('the URL carries the query; a reload runs it again', async () => {
    const url = new URL(page.url());
    const params = new URLSearchParams(url.hash.replace(/^#\/query\?/, ''));
    assert.equal(params.get('expr'), EXPR);
    await page.reload();
    await page.locator('.q-table tbody tr').first().waitFor();
    assert.equal(await page.locator('.cm-content').textContent(), EXPR);
    assert.equal((await tableRows(page)).size, expected.length);
  });

  await t.test('the Graph tab draws a canvas with one legend entry per series', async () => {
    await page.getByRole('tab', { name: 'Graph' }).click();
    await page.locator('[data-testid=query-graph] canvas').waitFor();
    await page.locator('.q-legend li').first().waitFor();
    assert.equal(await page.locator('.q-legend li').count(), expected.length);
    const params = new URLSearchParams(new URL(page.url()).hash.replace(/^#\/query\?/, ''));
    assert.equal(params.get('tab'), 'graph');
    const curl = await page.locator('[data-testid=query-curl]').textContent();
    assert.match(curl ?? '', /api\/v1\/query_range'.*--data-urlencode 'step=\d+'/);
    // A shorter range (the demo is seconds old) re-runs the query with a finer automatic step.
    await page.getByRole('combobox').selectOption('5m');
    await page.locator('[data-testid=query-stats]', { hasText: 'step 2s' }).waitFor();
    assert.equal(hashParams(page).get('range'), '5m');
    await page.locator('[data-testid=query-graph] canvas').waitFor();
    // Hovering reads values into the legend.
    const box = (await page.locator('[data-testid=query-graph] .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width - 4, box.y + box.height / 2);
    await screenshot(page, 'query-graph');
    await page.getByRole('checkbox', { name: 'Stacked' }).check();
    await page.locator('[data-testid=query-graph] canvas').waitFor();
    assert.equal(
      new URLSearchParams(new URL(page.url()).hash.replace(/^#\/query\?/, '')).get('stacked'),
      '1',
    );
  });

  await t.test('completion offers request_total for request_t', async () => {
    await typeExpr(page, 'request_t');
    const option = page.locator('.cm-tooltip-autocomplete li', { hasText: 'request_total' });
    await option.first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Escape');
  });

  await t.test("a bad query shows the API's error text under the editor", async () => {
    const bad = 'sum(rate(request_total[1m]) by';
    await typeExpr(page, bad);
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Execute' }).click();
    const body = await apiGet<unknown>(base, 'api/v1/query_range', {
      query: bad,
      start: '0',
      end: '60',
      step: '15',
    });
    assert.equal(body.status, 'error');
    const shown = page.locator('[data-testid=query-error]');
    await shown.waitFor();
    assert.equal(await shown.textContent(), `${body.errorType}: ${body.error}`);
    assert.match((await shown.textContent()) ?? '', /^bad_data: .*parse error/);
    // Chromium logs the API's 400 answer as a console error; it is this test's expected answer.
    const expected400 = errors.filter((e) => e.includes('status of 400 (Bad Request)'));
    assert.equal(expected400.length, 1, errors.join('\n'));
    errors.splice(errors.indexOf(expected400[0]!), 1);
  });

  await t.test(
    'the export page shows this collector, its linkerd-proxy job, and valid YAML',
    async (st) => {
      await page.goto(`${base}#/export`);
      const fed = page.locator('[data-testid=federation-config]');
      await fed.waitFor();
      await page.locator('.ex-job').first().waitFor();
      const host = new URL(base).host;
      const text = (await fed.textContent()) ?? '';
      const cfg = parseYaml(text) as {
        scrape_configs: {
          job_name: string;
          honor_labels: boolean;
          metrics_path: string;
          params: Record<string, string[]>;
          static_configs: { targets: string[] }[];
        }[];
      };
      const promtool = requirePeer(st, 'promtool', 'prometheus');
      if (promtool !== null) {
        const dir = mkdtempSync(join(tmpdir(), 'mm-export-'));
        try {
          writeFileSync(join(dir, 'prometheus.yml'), text);
          execFileSync(promtool, ['check', 'config', join(dir, 'prometheus.yml')], {
            stdio: 'pipe',
          });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      const job = cfg.scrape_configs[0]!;
      assert.equal(job.honor_labels, true);
      assert.equal(job.metrics_path, '/federate');
      assert.deepEqual(job.static_configs[0]!.targets, [host]);
      assert.deepEqual(job.params['match[]'], ['{job="linkerd-proxy"}']);

      // The job the demo scrapes is listed and picked, and the collector answers that match[].
      const targets = await apiGet<{ activeTargets: { labels: Record<string, string> }[] }>(
        base,
        'api/v1/targets',
        {},
      );
      const jobs = new Set(targets.data.activeTargets.map((x) => x.labels.job));
      assert.deepEqual([...jobs], ['linkerd-proxy']);
      const federated = await fetch(
        `${base}federate?${new URLSearchParams({ 'match[]': '{job="linkerd-proxy"}' })}`,
      );
      assert.match(await federated.text(), /^request_total\{/m);

      const docs = parseAllDocuments(
        (await page.locator('[data-testid=servicemonitor]').textContent()) ?? '',
      );
      assert.deepEqual(
        docs.map((d) => d.errors),
        [[], [], []],
      );
      const sm = docs[2]!.toJS() as {
        kind: string;
        spec: {
          endpoints: { path: string; honorLabels: boolean; params: Record<string, string[]> }[];
        };
      };
      assert.equal(sm.kind, 'ServiceMonitor');
      assert.equal(sm.spec.endpoints[0]!.path, '/federate');
      assert.equal(sm.spec.endpoints[0]!.honorLabels, true);
      assert.deepEqual(sm.spec.endpoints[0]!.params['match[]'], ['{job="linkerd-proxy"}']);

      // The remote_write section loads in the collector's own config parser once filled in.
      const rw = (await page.locator('[data-testid=remote-write-config]').textContent()) ?? '';
      const loaded = loadConfig(rw.replace('<your-store>', 'store.example'), 'remote-write.yml');
      assert.equal(loaded.remoteWrite[0]!.url, 'http://store.example:9090/api/v1/write');
      assert.match(
        (await page.locator('[data-testid=receiver-flag]').textContent()) ?? '',
        /--web\.enable-remote-write-receiver/,
      );

      const curl = (await page.locator('[data-testid=curl-commands]').textContent()) ?? '';
      assert.ok(
        curl.includes(
          `curl -sG '${base}federate' --data-urlencode 'match[]={job="linkerd-proxy"}'`,
        ),
        curl,
      );
      assert.ok(curl.includes(`'${base}api/v1/query_range'`), curl);
      await screenshot(page, 'export');
      assert.deepEqual(errors, []);
    },
  );
});
