/**
 * The dashboard in Firefox (Debian's firefox-esr, driven by puppeteer-core over WebDriver
 * BiDi): one demo and one browser for the file. Each page must load without a console error,
 * an uncaught exception or a failed request, and show its content: the overview the three demo
 * workloads with their figures, the workload page its charts, the targets page every active
 * target, the query explorer a graph and a table for a simple query (also when typed into its
 * editor), and the export page the federation config with this collector's host:port. The deeper behaviour of each page is
 * tested in chromium (dashboard.test.ts, dashboard-query.test.ts); this file checks that the
 * same pages work in the other engine. Screenshots: artifacts/screenshots/firefox-<page>.png.
 *
 * Needs `npm run build:web` first (the demo serves dist/dashboard).
 * @module
 */

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'puppeteer-core';
import { parse as parseYaml } from 'yaml';
import {
  launchFirefox,
  openPuppeteerPage,
  screenshotPuppeteer,
  startDemo,
} from './support/browser.js';
import { waitForValue } from './support/wait.js';

const WORKLOADS = ['demo/authors', 'demo/books', 'demo/web'];
const EXPR = 'sum(rate(request_total[1m])) by (deployment)';

interface Vector {
  result: { metric: Record<string, string>; value: [number, string] }[];
}
interface Targets {
  activeTargets: { scrapeUrl: string; health: string }[];
}

async function apiGet<T>(base: string, path: string, params: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}?${new URLSearchParams(params)}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  assert.equal(body.status, 'success', `${path}: ${body.error}`);
  return body.data;
}

/** Sizes (width, height) of the canvases under `selector`, as laid out. */
function canvasSizes(page: Page, selector: string): Promise<[number, number][]> {
  return page.$$eval(selector, (cs) =>
    cs.map((c): [number, number] => {
      const r = c.getBoundingClientRect();
      return [r.width, r.height];
    }),
  );
}

/** What one page must show once loaded (checked after the hash route is opened). */
interface PageCase {
  name: string;
  hash: string;
  check(page: Page, base: string): Promise<void>;
}

const PAGES: PageCase[] = [
  {
    name: 'overview',
    hash: '#/',
    async check(page) {
      // Rows with an RPS figure (a row can show up before its figures).
      await page.waitForFunction(
        `[...document.querySelectorAll('tr[data-workload] td[data-col="rps"]')]
          .filter((td) => /\\d/.test(td.textContent)).length >= 3`,
        { timeout: 20_000 },
      );
      const rows = await page.$$eval('tr[data-workload]', (trs) =>
        trs.map((tr) => ({
          name: tr.getAttribute('data-workload')!,
          success: tr.querySelector('td[data-col="success"]')!.textContent!.trim(),
          rps: tr.querySelector('td[data-col="rps"]')!.textContent!.trim(),
        })),
      );
      assert.deepEqual(
        rows.map((r) => r.name),
        WORKLOADS,
      );
      for (const r of rows) {
        assert.match(r.success, /^\d+(\.\d+)?%$/, `${r.name} success`);
        assert.ok(Number(r.rps) > 0, `${r.name} RPS ${r.rps}`);
      }
      // The sparklines: one range query for all rows, drawn as SVG paths.
      await page.waitForSelector('tr[data-workload] svg.sparkline path[d^="M"]');
    },
  },
  {
    name: 'workload',
    // Five minutes, so that the seconds-old demo's lines show in the screenshot.
    hash: '#/workload/demo/web?range=5m',
    async check(page) {
      await page.waitForSelector('h1 ::-p-text(web)');
      // The charts are drawn as their range queries answer, one after another.
      await page.waitForFunction(`document.querySelectorAll('.chart-panel canvas').length >= 5`, {
        timeout: 20_000,
      });
      const sizes = await canvasSizes(page, '.chart-panel canvas');
      assert.ok(sizes.length >= 5, `${sizes.length} charts`);
      for (const [w, h] of sizes) assert.ok(w > 100 && h > 50, `canvas ${w}×${h}`);
      await page.waitForSelector('[data-edges="Calls"] tr[data-edge]');
      const callees = await page.$$eval('[data-edges="Calls"] tr[data-edge]', (trs) =>
        trs.map((tr) => tr.getAttribute('data-edge')).sort(),
      );
      assert.deepEqual(callees, ['demo/authors', 'demo/books']);
    },
  },
  {
    name: 'targets',
    hash: '#/targets',
    async check(page, base) {
      await page.waitForSelector('tr[data-target]');
      const api = await apiGet<Targets>(base, '/api/v1/targets');
      assert.ok(api.activeTargets.length >= 3);
      const shown = await page.$$eval('tr[data-target]', (trs) =>
        trs.map((tr) => [tr.getAttribute('data-target')!, tr.getAttribute('data-health')!]),
      );
      assert.deepEqual(shown.sort(), api.activeTargets.map((x) => [x.scrapeUrl, x.health]).sort());
    },
  },
  {
    name: 'query-graph',
    hash: `#/query?${new URLSearchParams({ expr: EXPR, tab: 'graph', range: '5m' })}`,
    async check(page) {
      await page.waitForSelector('.cm-content');
      await page.waitForSelector('[data-testid=query-graph] canvas');
      await page.waitForSelector('.q-legend li');
      const legend = await page.$$eval('.q-legend li', (lis) => lis.length);
      assert.equal(legend, 3, 'one legend entry per deployment');
      const [size] = await canvasSizes(page, '[data-testid=query-graph] canvas');
      assert.ok(size && size[0] > 100 && size[1] > 50, `graph canvas ${size}`);
      assert.equal(
        await page.$eval('.cm-content', (e) => e.textContent),
        EXPR,
        'the editor holds the expression from the URL',
      );
    },
  },
  {
    name: 'query-table',
    hash: `#/query?${new URLSearchParams({ expr: EXPR, tab: 'table' })}`,
    async check(page, base) {
      await page.waitForSelector('.q-table tbody tr');
      const shown = await page.$$eval('.q-table tbody tr', (trs) =>
        trs.map((tr) => [
          tr.querySelector('.q-series')?.textContent ?? '',
          tr.querySelector('.q-value')?.textContent ?? '',
        ]),
      );
      const api = await apiGet<Vector>(base, '/api/v1/query', { query: EXPR });
      assert.deepEqual(
        shown.map(([s]) => s).sort(),
        api.result.map((s) => `{deployment=${JSON.stringify(s.metric.deployment)}}`).sort(),
      );
      for (const [s, v] of shown) assert.ok(parseFloat(v!) > 0, `${s} = ${v}`);
    },
  },
  {
    // CodeMirror's input handling differs between engines: type the query as a user would.
    name: 'query-typed',
    hash: '#/query',
    async check(page) {
      await page.waitForSelector('.cm-content');
      await page.click('.cm-content');
      await page.keyboard.type('sum(rate(request_total[1m])) by (deployment)', { delay: 5 });
      await page.keyboard.press('Escape'); // close a completion list, if one is open
      await page.keyboard.press('Enter');
      await page.waitForSelector('.q-table tbody tr');
      assert.equal(await page.$eval('.cm-content', (e) => e.textContent), EXPR);
      assert.equal(await page.$$eval('.q-table tbody tr', (trs) => trs.length), 3);
      assert.equal(
        new URLSearchParams(new URL(page.url()).hash.replace(/^#\/query\?/, '')).get('expr'),
        EXPR,
        'the URL carries the query',
      );
    },
  },
  {
    name: 'export',
    hash: '#/export',
    async check(page, base) {
      await page.waitForSelector('[data-testid=federation-config]');
      await page.waitForSelector('.ex-job');
      const text = await page.$eval('[data-testid=federation-config]', (e) => e.textContent ?? '');
      const cfg = parseYaml(text) as {
        scrape_configs: {
          honor_labels: boolean;
          metrics_path: string;
          params: Record<string, string[]>;
          static_configs: { targets: string[] }[];
        }[];
      };
      const job = cfg.scrape_configs[0]!;
      assert.deepEqual(job.static_configs[0]!.targets, [new URL(base).host]);
      assert.equal(job.metrics_path, '/federate');
      assert.equal(job.honor_labels, true);
      assert.deepEqual(job.params['match[]'], ['{job="linkerd-proxy"}']);
    },
  },
];

test('the dashboard pages in Firefox', { timeout: 120_000 }, async (t: TestContext) => {
  const browser = await launchFirefox(t);
  if (browser === null) return;
  const demo = await startDemo(t);
  const base = demo.url;
  // The pages show figures once the three workloads have answered requests.
  await waitForValue('request rates of the three demo workloads', async () => {
    const v = await apiGet<Vector>(base, '/api/v1/query', { query: EXPR });
    return v.result.length >= 3 && v.result.every((s) => parseFloat(s.value[1]) > 0) ? v : null;
  });
  // Rates over the last minute need two samples of each series in that minute.
  await new Promise((r) => setTimeout(r, 2000));

  for (const p of PAGES) {
    await t.test(`${p.name} (${p.hash}) loads without errors and shows its content`, async () => {
      const { page, errors } = await openPuppeteerPage(browser);
      try {
        await page.goto(`${base}/${p.hash}`);
        await p.check(page, base);
        await screenshotPuppeteer(page, `firefox-${p.name}`);
        assert.deepEqual(errors, []);
      } finally {
        await page.close();
      }
    });
  }
});
