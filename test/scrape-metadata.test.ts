/**
 * Metric metadata against the real Prometheus: one Prometheus (2.42, Debian) and our scrape
 * manager scrape the same three loopback targets (two text 0.0.4 bodies whose HELP differs,
 * one OpenMetrics body with UNIT); `/api/v1/metadata` and `/api/v1/targets/metadata` must
 * answer the same for every parameter combination. Prometheus lists map entries in random
 * order, so rows are compared as sorted sets, and `limit` answers by what they must contain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/index.js';
import { Engine } from '../src/promql/index.js';
import { ScrapeManager } from '../src/scrape/index.js';
import type { Appendable, SeriesRef } from '../src/storage/interface.js';
import { WebServer } from '../src/web/index.js';
import { startTargets, type TargetServer } from './fixtures/targets.js';
import { requirePeer } from './support/peers.js';
import { startPrometheus, type RunningServer } from './support/servers.js';

/** A text body; `who` makes one family's HELP differ between targets. */
function textBody(who: string): string {
  return `# HELP req_total Total requests.
# TYPE req_total counter
req_total{path="/"} 1
# HELP only_help Help with \\\\ a backslash, a \\n newline, "quotes" and ünïcode.
only_help 2
# TYPE untyped_m untyped
untyped_m 3
# TYPE gauge_no_help gauge
gauge_no_help 4
# HELP per_target Served by ${who}.
# TYPE per_target gauge
per_target 5
# HELP latency_seconds A histogram.
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="+Inf"} 2
latency_seconds_sum 0.3
latency_seconds_count 2
# HELP no_samples A family without samples.
# TYPE no_samples gauge
# a plain comment
# TYPE retyped gauge
# TYPE retyped counter
retyped 6
# HELP empty_help
empty_help 7
late_family 8
# HELP late_family Declared after its sample.
`;
}

const OM_BODY = `# TYPE om_bytes gauge
# UNIT om_bytes bytes
# HELP om_bytes Bytes in use.
om_bytes 1
# TYPE om_build info
# HELP om_build Build information.
om_build_info{version="1.2"} 1
# TYPE om_requests counter
om_requests_total 3
om_requests_created 1
# TYPE om_state stateset
om_state{om_state="a"} 1
om_state{om_state="b"} 0
# TYPE om_unknown unknown
om_unknown 2
# EOF
`;

/** A store that takes every sample and keeps nothing: metadata needs no TSDB. */
const discard: Appendable = {
  appender: () => {
    let next = 1;
    return {
      append: (ref: SeriesRef): SeriesRef => (ref > 0 ? ref : next++),
      commit: async () => {},
      rollback: () => {},
    };
  },
};

interface Answer {
  status: number;
  body: { status: string; data?: unknown; errorType?: string; error?: string };
}

async function get(port: number, path: string): Promise<Answer> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: (await r.json()) as Answer['body'] };
}

type Row = { target: Record<string, string>; metric?: string } & Record<string, unknown>;
const sortRows = (rows: unknown[]): string[] => rows.map((r) => JSON.stringify(r)).sort();

/** `/api/v1/metadata` data with each metric's list sorted. */
function sortedMetadata(data: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(data as Record<string, unknown[]>)) out[k] = sortRows(v);
  return out;
}

/** Rows of `/api/v1/targets/metadata` grouped by target instance, each group sorted. */
function byInstance(data: unknown): Map<string, string[]> {
  const out = new Map<string, unknown[]>();
  for (const r of data as Row[]) {
    const k = r.target.instance;
    if (!out.has(k)) out.set(k, []);
    out.get(k)!.push(r);
  }
  return new Map([...out].map(([k, v]) => [k, sortRows(v)]));
}

test('metric metadata endpoints agree with Prometheus 2.42', { timeout: 60_000 }, async (t) => {
  const prom = requirePeer(t, 'prometheus', 'prometheus');
  if (prom === null) return;
  const dir = mkdtempSync(join(tmpdir(), 'meshmetrics-metadata-'));
  const servers: TargetServer[] = [];
  let prometheus: RunningServer | null = null;
  let manager: ScrapeManager | null = null;
  let web: WebServer | null = null;
  t.after(async () => {
    await prometheus?.stop();
    await manager?.stop({ staleness: false });
    await web?.close();
    for (const s of servers) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (let i = 0; i < 3; i++) servers.push(await startTargets());
  servers[0].set('/metrics', { body: textBody('a') });
  servers[1].set('/metrics', { body: textBody('b') });
  servers[2].set('/metrics', {
    body: OM_BODY,
    contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  });
  const [a, b, om] = servers.map((s) => s.address);
  const yaml = `global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: mesh
    static_configs: [{ targets: ['${a}', '${b}'] }]
  - job_name: om
    static_configs: [{ targets: ['${om}'] }]
`;
  const cfgFile = join(dir, 'prometheus.yml');
  writeFileSync(cfgFile, yaml);

  prometheus = await startPrometheus(null, prom, {
    configFile: cfgFile,
    dataDir: join(dir, 'data'),
  });
  const { port: promPort, child, stderr } = prometheus;

  manager = new ScrapeManager(discard, { jitterSeed: 0 });
  manager.applyConfig(loadConfig(yaml, 'prometheus.yml'));
  const mesh = { source: '0', targets: [{ __address__: a }, { __address__: b }], labels: {} };
  const omGroup = { source: '0', targets: [{ __address__: om }], labels: {} };
  manager.sync(
    new Map([
      ['mesh', [mesh]],
      ['om', [omGroup]],
    ]),
  );
  web = new WebServer({
    queryable: { querier: () => Promise.reject(new Error('not used')) },
    engine: new Engine(),
    lookbackDeltaMs: 300_000,
    targets: manager,
    metadata: manager,
  });
  const ourPort = (await web.listen('127.0.0.1:0')).port;

  // Both sides have scraped every target once their rows name three instances.
  const ready = async (port: number): Promise<boolean> => {
    try {
      const r = await get(port, '/api/v1/targets/metadata');
      return r.status === 200 && byInstance(r.body.data).size === 3;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + 30_000;
  while (!((await ready(promPort)) && (await ready(ourPort)))) {
    if (child.exitCode !== null) assert.fail(`prometheus exited: ${stderr()}`);
    if (Date.now() > deadline) assert.fail('targets were not scraped within 30 s');
    await new Promise((r) => setTimeout(r, 250));
  }

  const q = encodeURIComponent;
  const exact: string[] = [
    '/api/v1/metadata',
    '/api/v1/metadata?metric=per_target',
    '/api/v1/metadata?metric=om_bytes',
    '/api/v1/metadata?metric=nope',
    '/api/v1/metadata?limit=0',
    '/api/v1/metadata?limit=-1',
    '/api/v1/metadata?limit=abc',
    '/api/v1/metadata?metric=per_target&limit=5',
    '/api/v1/targets/metadata',
    '/api/v1/targets/metadata?metric=per_target',
    '/api/v1/targets/metadata?metric=nope',
    `/api/v1/targets/metadata?match_target=${q('{job="om"}')}`,
    `/api/v1/targets/metadata?match_target=${q(`{instance="${b}"}`)}&metric=latency_seconds`,
    `/api/v1/targets/metadata?match_target=${q('{job=~"m.*"}')}&metric=om_bytes`,
    '/api/v1/targets/metadata?limit=0',
    '/api/v1/targets/metadata?limit=x',
    '/api/v1/targets/metadata?metric=per_target&limit=3',
  ];
  for (const path of exact) {
    const [theirs, ours] = [await get(promPort, path), await get(ourPort, path)];
    assert.equal(ours.status, theirs.status, path);
    const norm = (x: Answer): unknown =>
      x.body.status !== 'success'
        ? x.body
        : path.startsWith('/api/v1/metadata')
          ? sortedMetadata(x.body.data)
          : sortRows(x.body.data as unknown[]);
    assert.deepEqual(norm(ours), norm(theirs), path);
  }

  // A selector that does not parse: same status and error type (the parser's message wording
  // is the PromQL parser's business, tested there).
  const bad = `/api/v1/targets/metadata?match_target=${q('{job="om"')}`;
  const [theirs, ours] = [await get(promPort, bad), await get(ourPort, bad)];
  assert.deepEqual([ours.status, ours.body.errorType], [theirs.status, theirs.body.errorType]);
  assert.match(ours.body.error ?? '', /^invalid parameter "match_target": 1:10: parse error: /);

  // With a limit Prometheus picks entries in map order: compare what the answer must hold.
  const all = sortedMetadata((await get(promPort, '/api/v1/metadata')).body.data);
  const allRows = byInstance((await get(promPort, '/api/v1/targets/metadata')).body.data);
  for (const port of [promPort, ourPort]) {
    const who = port === promPort ? 'prometheus' : 'ours';
    const m = sortedMetadata((await get(port, '/api/v1/metadata?limit=2')).body.data);
    assert.equal(Object.keys(m).length, 2, `${who} metadata?limit=2`);
    for (const [k, v] of Object.entries(m)) assert.deepEqual(v, all[k], `${who} metadata ${k}`);
    // The limit is checked before each target, so whole targets come back.
    for (const [path, targets] of [
      ['/api/v1/targets/metadata?limit=1', 1],
      ['/api/v1/targets/metadata?limit=11', 2],
      ['/api/v1/targets/metadata?metric=per_target&limit=1', 1],
    ] as const) {
      const got = byInstance((await get(port, path)).body.data);
      assert.equal(got.size, targets, `${who} ${path}`);
      if (path.includes('metric=')) continue;
      for (const [k, v] of got) assert.deepEqual(v, allRows.get(k), `${who} ${path} ${k}`);
    }
  }
});
