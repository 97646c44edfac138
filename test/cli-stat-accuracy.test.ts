// End to end: `meshmetrics stat` reports what a traffic generator with a known rate, failure
// share and delay mix sent through two proxies and a collector.
//
//   generator ──40 req/s──▶ [proxy load: outbound] ──▶ [proxy api: inbound] ──▶ api app
//   collector ──scrapes both admin ports every 2 s──▶ stat (inbound on api, outbound --from load)
//
// The app decides by arrival index k, so every window of n consecutive requests holds the mix
// to within a request or two: k % 5 == 4 answers 503 (exactly 20 %); by k % 50, 35 of 50
// wait 1050 ms, 14 wait 2100 ms, 1 waits 5100 ms. Each delay sits just above the low end of a
// Linkerd bucket, (1000,2000], (2000,3000] and (5000,10000]: timers only fire late, and on
// this shared machine event-loop lag of 100-300 ms was seen (a first version with 210 ms
// delays in (200,300] failed under load), so the margins are 900 ms or more, and each
// quantile's rank sits well inside its class (50 % of 0-70 %, 95 % of 70-98 %, 99 % of
// 98-100 %).
//
// Tolerances, for a 15 s window at 40 req/s (n ≈ 600 responses):
// - RPS counts completed responses (reference §3.2), so the truth is what the generator saw
//   complete in the query's window. increase() extrapolates from the first and last scrape
//   in the window (each within the 2 s scrape interval of an edge) to the edges: one response
//   per edge (2/n ≈ 0.3 %), plus, when the rate changes near an edge (a stall of s seconds
//   on a loaded machine), up to s/W: 0.75 s of stall gives 5 %. We allow 10 %. The generator
//   itself must send within 2 % of its rate.
// - SUCCESS: both classification series are read in the same scrapes and extrapolated by the
//   same factor, so only the failures cut at the two edges count: 2/n ≈ 0.3 pp. We allow
//   3 pp.
// - Latency: histogram_quantile interpolates inside the bucket holding the quantile, so with
//   70 % / 28 % / 2 % in the three buckets p50 must lie in [1000, 2000], p95 in [2000, 3000]
//   and p99 in [5000, 10000] (true quantiles: 1050, 2100, 5100 ms). Checked in the accurate
//   mode (rate over the window); the faithful mode's irate sees only the last scrape interval
//   (~80 requests), so there we check only that the values lie within the injected range's
//   buckets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, createServer, request, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollector } from '../src/cmd/collector.js';
import { DEFAULT_PROXY_OPTIONS, Destinations, Proxy } from '../src/proxy/index.js';
import { runCli } from './support/cli.js';

const RPS = 40;
/** The shortest window stat accepts (as linkerd: 15 s). */
const WINDOW_S = 15;
/** Long enough for the slowest response to complete and be scraped before the window opens. */
const WARMUP_MS = 6500;
const FAILURE_SHARE = 0.2;
const RPS_TOLERANCE = 0.1;
const SUCCESS_TOLERANCE = 0.03;
const NS = 'acc';
const API_AUTHORITY = `api.${NS}.svc.cluster.local:8080`;
const BUILD = { date: '', git_sha: '', profile: 'test', vendor: 'meshmetrics', version: '0' };

/** Delay of the k-th request the app receives, ms. */
function delayOf(k: number): number {
  const c = k % 50;
  return c < 35 ? 1050 : c < 49 ? 2100 : 5100;
}

async function startApp(): Promise<{ server: Server; address: string }> {
  let k = 0;
  const server = createServer((req, res) => {
    const i = k++;
    req.resume();
    setTimeout(() => {
      res.writeHead(i % 5 === 4 ? 503 : 200, { 'content-type': 'text/plain' });
      res.end('ok\n');
    }, delayOf(i));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, address: `127.0.0.1:${(server.address() as { port: number }).port}` };
}

/**
 * Sends `rps` requests a second on an absolute schedule (a late tick catches up), through
 * `proxy` as an HTTP client's outbound proxy.
 */
function startGenerator(proxy: string, rps: number) {
  const [host, port] = [proxy.slice(0, proxy.lastIndexOf(':')), Number(proxy.split(':').pop())];
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  const t0 = performance.now();
  let sent = 0;
  /** Date.now() of every completed response. */
  const completedAt: number[] = [];
  let failed = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const send = (): void => {
    sent++;
    const req = request(
      { host, port, path: '/items', agent, headers: { host: API_AUTHORITY } },
      (res) => {
        res.resume();
        res.on('end', () => completedAt.push(Date.now()));
      },
    );
    req.on('error', () => failed++);
    req.end();
  };
  const tick = (): void => {
    if (stopped) return;
    const due = Math.floor(((performance.now() - t0) * rps) / 1000) + 1;
    while (sent < due) send();
    timer = setTimeout(tick, Math.max(0, t0 + (sent * 1000) / rps - performance.now()));
  };
  tick();
  return {
    stats: () => ({ sent, failed, elapsedMs: performance.now() - t0 }),
    /** Responses completed per second in the `windowS` seconds before `endMs`. */
    completedRate: (endMs: number, windowS: number) =>
      completedAt.filter((t) => t > endMs - windowS * 1000 && t <= endMs).length / windowS,
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      agent.destroy();
    },
  };
}

interface Row {
  name: string;
  success: number | null;
  rps: number | null;
  latency_ms_p50: number | null;
  latency_ms_p95: number | null;
  latency_ms_p99: number | null;
}

test('stat reports the generator rate, success share and latency buckets', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mm-stat-acc-'));
  const cleanups: (() => unknown)[] = [];
  t.after(async () => {
    for (const c of cleanups.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  const app = await startApp();
  cleanups.push(() => new Promise((r) => app.server.close(r)));
  app.server.on('connection', (s) => cleanups.push(() => s.destroy()));
  const opts = {
    ...DEFAULT_PROXY_OPTIONS,
    inboundListen: '127.0.0.1:0',
    outboundListen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    buildInfo: BUILD,
  };
  const apiProxy = new Proxy({
    ...opts,
    inboundApp: app.address,
    identity: { namespace: NS, pod: 'api-0', workload: 'deployment/api' },
  });
  const api = await apiProxy.start();
  cleanups.push(() => apiProxy.stop());
  const loadProxy = new Proxy({
    ...opts,
    identity: { namespace: NS, pod: 'load-0', workload: 'deployment/load' },
    destinations: Destinations.parse(
      JSON.stringify({
        [API_AUTHORITY]: {
          address: api.inbound,
          labels: { namespace: NS, deployment: 'api', service: 'api', pod: 'api-0' },
        },
      }),
    ),
  });
  const load = await loadProxy.start();
  cleanups.push(() => loadProxy.stop());

  const target = (admin: string, name: string): string =>
    `      - targets: ['${admin}']\n        labels: {namespace: ${NS}, deployment: ${name}, pod: ${name}-0}\n`;
  const configFile = join(dir, 'meshmetrics.yml');
  writeFileSync(
    configFile,
    // 2 s (not 1 s) so a scrape survives a second of CPU starvation on a loaded machine: a
    // failed scrape leaves a gap that increase() cannot extrapolate across.
    'global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n' +
      'scrape_configs:\n  - job_name: linkerd-proxy\n    static_configs:\n' +
      target(api.admin, 'api') +
      target(load.admin, 'load'),
  );
  const collector = await startCollector({
    configFile,
    dataDir: join(dir, 'data'),
    listenAddress: '127.0.0.1:0',
    logLevel: 'warn',
    discoveryUpdateIntervalMs: 100,
  });
  cleanups.push(() => collector.stop());
  const url = `http://${collector.webAddress.host}:${collector.webAddress.port}`;

  const gen = startGenerator(load.outbound, RPS);
  cleanups.push(() => gen.stop());
  // Every series exists before the window opens, so no counter starts inside it.
  await new Promise((r) => setTimeout(r, WARMUP_MS + WINDOW_S * 1000));

  const stat = async (args: string[]): Promise<Row> => {
    const r = await runCli([
      'stat',
      'deploy/api',
      '-n',
      NS,
      '-t',
      `${WINDOW_S}s`,
      '-o',
      'json',
      `--prometheus-url=${url}`,
      ...args,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Row[];
    assert.equal(rows.length, 1, r.stdout);
    return rows[0];
  };
  const cases = [
    { name: 'inbound on api, accurate', args: ['--accurate'], accurate: true },
    { name: 'inbound on api, faithful (irate)', args: [], accurate: false },
    {
      name: 'outbound from load, accurate',
      args: ['--from', 'deploy/load', '--accurate'],
      accurate: true,
    },
  ];
  const rows: [(typeof cases)[number], Row, number][] = [];
  for (const tc of cases) {
    // The server evaluates at its "now", a few ms after this.
    const truth = gen.completedRate(Date.now(), WINDOW_S);
    rows.push([tc, await stat(tc.args), truth]);
  }
  const g = gen.stats();
  // How the scrapes went, for the failure messages: a missed scrape explains a low RPS.
  const up = await runCli([
    'query',
    `count_over_time(up[${WINDOW_S}s]) * 100 + min_over_time(up[${WINDOW_S}s])`,
    '-o',
    'json',
    `--prometheus-url=${url}`,
  ]);
  const scrapes = `scrapes in the window (count*100 + min up): ${up.stdout.replace(/\s+/g, ' ')}`;

  // The generator kept its schedule and every request was answered.
  assert.equal(g.failed, 0, JSON.stringify(g));
  assert.ok(
    Math.abs(g.sent / (g.elapsedMs / 1000) - RPS) / RPS < 0.02,
    `generator sent ${g.sent} in ${g.elapsedMs} ms`,
  );
  for (const [tc, row, truth] of rows) {
    const where = `${tc.name}: ${JSON.stringify(row)}; completed ${truth.toFixed(2)}/s in the window; ${scrapes}`;
    t.diagnostic(where);
    assert.ok(row.rps !== null && Math.abs(row.rps - truth) / truth <= RPS_TOLERANCE, where);
    assert.ok(
      row.success !== null && Math.abs(row.success - (1 - FAILURE_SHARE)) <= SUCCESS_TOLERANCE,
      where,
    );
    const [p50, p95, p99] = [row.latency_ms_p50, row.latency_ms_p95, row.latency_ms_p99];
    if (tc.accurate) {
      assert.ok(p50 !== null && p50 >= 1000 && p50 <= 2000, `p50 ${where}`);
      assert.ok(p95 !== null && p95 >= 2000 && p95 <= 3000, `p95 ${where}`);
      assert.ok(p99 !== null && p99 >= 5000 && p99 <= 10000, `p99 ${where}`);
    } else {
      for (const p of [p50, p95, p99]) assert.ok(p !== null && p >= 1000 && p <= 10000, where);
    }
  }
});
