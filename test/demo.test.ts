// End to end: `meshmetrics demo` as a child process. Once the collector has scraped a few
// times, `stat deploy` reports traffic for every demo deployment; SIGINT then stops
// proxies, collector and apps, and the process exits 0 within a few seconds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startDemo } from './support/browser.js';
import { runCli } from './support/cli.js';

const cli = runCli;

test('demo: traffic shows up in stat for every deployment, and SIGINT stops it cleanly', async (t) => {
  const demo = await startDemo(t, ['--rps=20'], '2s');
  const { child, exited } = demo;
  const api = demo.url;
  const deadline = Date.now() + 45_000;

  // The dashboard is where the demo says, served by the collector.
  assert.match(demo.stdout(), new RegExp(`dashboard: +${api.replace(/[.]/g, '\\.')}/\n`));
  const page = await fetch(`${api}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await page.text(), /<div id="app">/);

  // Wait until every deployment has request data (irate needs two scrapes after the first
  // request), at most 45 s.
  let rows: {
    name: string;
    meshed: string;
    success: number | null;
    rps: number | null;
    latency_ms_p95: number | null;
  }[] = [];
  for (;;) {
    const r = await cli([
      'stat',
      'deploy',
      '-n',
      'demo',
      '-t',
      '15s',
      '-o',
      'json',
      `--prometheus-url=${api}`,
    ]);
    if (r.code === 0 && r.stdout.trim().startsWith('[')) rows = JSON.parse(r.stdout) as typeof rows;
    if (rows.length === 3 && rows.every((x) => (x.rps ?? 0) > 0)) break;
    assert.ok(
      Date.now() < deadline,
      `no traffic for every deployment: ${JSON.stringify(rows)}\n${r.stderr}\n${demo.stderr()}`,
    );
    await new Promise((res) => setTimeout(res, 1000));
  }
  assert.deepEqual(
    rows.map((x) => x.name),
    ['authors', 'books', 'web'],
  );
  for (const x of rows) {
    assert.equal(x.meshed, '1/1', x.name);
    assert.ok(
      x.success !== null && x.success > 0.5 && x.success <= 1,
      `${x.name} success ${x.success}`,
    );
  }
  // The table form too.
  const table = await cli(['stat', 'deploy', '-n', 'demo', '-t', '15s', `--prometheus-url=${api}`]);
  assert.match(table.stdout, /^NAME\s+MESHED\s+SUCCESS\s+RPS/);
  assert.match(table.stdout, /^web\s+1\/1\s+\d+\.\d\d%\s+\d+\.\drps\s+\d+ms/m);
  // proxy-metrics finds web's proxy through the collector's targets.
  const pm = await cli([
    'diagnostics',
    'proxy-metrics',
    '-n',
    'demo',
    'deploy/web',
    '--metric',
    'request_total',
    `--prometheus-url=${api}`,
  ]);
  assert.equal(pm.code, 0, pm.stderr);
  assert.match(pm.stdout, /^#\n# POD web-[0-9a-f]+-[0-9a-f]+ \(1 of 1\)\n#\n/);
  assert.match(pm.stdout, /^request_total\{/m);

  // query and federate against our own collector.
  const q = await cli([
    'query',
    'sum(increase(request_total{namespace="demo",direction="outbound"}[15s])) by (dst_deployment)',
    '-o',
    'json',
    `--prometheus-url=${api}`,
  ]);
  assert.equal(q.code, 0, q.stderr);
  const vec = JSON.parse(q.stdout) as {
    resultType: string;
    result: { metric: Record<string, string> }[];
  };
  assert.equal(vec.resultType, 'vector');
  assert.deepEqual(vec.result.map((x) => x.metric.dst_deployment).sort(), ['authors', 'books']);
  const fed = await cli([
    'federate',
    '--match',
    '{__name__="process_start_time_seconds",namespace="demo"}',
    `--prometheus-url=${api}`,
  ]);
  assert.equal(fed.code, 0, fed.stderr);
  assert.equal(
    fed.stdout.split('\n').filter((l) => l.startsWith('process_start_time_seconds{')).length,
    3,
  );

  // The status line (every 2 s) reports each deployment once its window has data; on a
  // loaded machine the first lines may still miss one, so wait for a line that has web.
  const statusLine = /^\[\d\d:\d\d:\d\d\] .*web \d+\.\d% \d+\.\drps/m;
  const statusDeadline = Date.now() + 30_000;
  while (!statusLine.test(demo.stdout())) {
    assert.ok(Date.now() < statusDeadline, `no status line with web's traffic:\n${demo.stdout()}`);
    await new Promise((res) => setTimeout(res, 500));
  }

  const t0 = Date.now();
  child.kill('SIGINT');
  const { code: exitCode, signal } = await exited;
  const tookMs = Date.now() - t0;
  assert.equal(signal, null);
  assert.equal(exitCode, 0, demo.stderr());
  assert.ok(tookMs < 8000, `stopping took ${tookMs} ms`);
  assert.match(demo.stdout(), /demo: stopped\./);
  assert.ok(existsSync(join(demo.dataDir, 'wal')), 'the collector wrote its WAL');
});
