// `stat`, `query` and `federate` against a real Prometheus 2.42 holding known data,
// backfilled with `promtool tsdb create-blocks-from openmetrics` before it starts. Counters
// grow linearly, so increase(), irate() and histogram_quantile() have exact answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePeer } from './support/peers.js';
import { startPrometheus } from './support/servers.js';
import { formatGoFloat } from '../src/exposition/format-float.js';
import { runCli } from './support/cli.js';

const cli = runCli;

const STEP_S = 15;
interface Series {
  name: string;
  labels: Record<string, string>;
  /** Value at time t (unix seconds). */
  at: (t: number) => number;
}

/** Linkerd-shaped series for namespace demo: web (90% success, 10 rps), books (2 pods), idle. */
function dataset(): Series[] {
  const s: Series[] = [];
  const counter = (rate: number) => (t: number) => 1000 + rate * (t - T_BASE);
  const gauge = (v: number) => () => v;
  const pod = (deployment: string, pod: string) => ({
    namespace: 'demo',
    deployment,
    pod,
    pod_template_hash: 'abc',
  });
  const web = pod('web', 'web-abc-1');
  const inb = { direction: 'inbound', tls: 'true' };
  s.push({
    name: 'response_total',
    labels: { ...web, ...inb, classification: 'success', status_code: '200' },
    at: counter(9),
  });
  s.push({
    name: 'response_total',
    labels: { ...web, ...inb, classification: 'failure', status_code: '500' },
    at: counter(1),
  });
  // Bucket rates 0, 0, 5, 9, 10, 10 per second: p50 = 10ms, p95 = 75ms, p99 = 95ms.
  const webBuckets: [string, number][] = [
    ['1', 0],
    ['5', 0],
    ['10', 5],
    ['50', 9],
    ['100', 10],
    ['+Inf', 10],
  ];
  for (const [le, r] of webBuckets)
    s.push({
      name: 'response_latency_ms_bucket',
      labels: { ...web, ...inb, status_code: '200', le },
      at: counter(r),
    });
  s.push({
    name: 'tcp_open_connections',
    labels: { ...web, direction: 'inbound', peer: 'src', tls: 'true' },
    at: gauge(3),
  });
  s.push({
    name: 'tcp_open_connections',
    labels: { ...web, direction: 'inbound', peer: 'dst', tls: 'no_identity' },
    at: gauge(2),
  });
  s.push({
    name: 'tcp_read_bytes_total',
    labels: { ...web, direction: 'inbound', peer: 'src', tls: 'true' },
    at: counter(100),
  });
  s.push({
    name: 'tcp_write_bytes_total',
    labels: { ...web, direction: 'inbound', peer: 'src', tls: 'true' },
    at: counter(200),
  });
  // An outbound series of web must not count in its inbound figures.
  s.push({
    name: 'response_total',
    labels: {
      ...web,
      direction: 'outbound',
      tls: 'true',
      classification: 'failure',
      dst_deployment: 'books',
      dst_namespace: 'demo',
    },
    at: counter(50),
  });
  for (const p of ['books-abc-1', 'books-abc-2']) {
    const b = pod('books', p);
    s.push({
      name: 'response_total',
      labels: { ...b, ...inb, classification: 'success', status_code: '200' },
      at: counter(2),
    });
    // All in the 1–5 ms bucket: p50 = 3ms, p95 = 5ms, p99 = 5ms.
    for (const [le, r] of [
      ['1', 0],
      ['5', 2],
      ['+Inf', 2],
    ] as [string, number][]) {
      s.push({
        name: 'response_latency_ms_bucket',
        labels: { ...b, ...inb, status_code: '200', le },
        at: counter(r),
      });
    }
    s.push({
      name: 'tcp_open_connections',
      labels: { ...b, direction: 'inbound', peer: 'src', tls: 'true' },
      at: gauge(1),
    });
  }
  const idle = pod('idle', 'idle-abc-1');
  s.push({
    name: 'tcp_open_connections',
    labels: { ...idle, direction: 'inbound', peer: 'src', tls: 'true' },
    at: gauge(4),
  });
  // MESHED: web 1/1, books 1/2 (books-abc-2 is scraped but exports no process metrics), idle 1/1.
  for (const [d, p, meshed] of [
    ['web', 'web-abc-1', true],
    ['books', 'books-abc-1', true],
    ['books', 'books-abc-2', false],
    ['idle', 'idle-abc-1', true],
  ] as const) {
    const l = { ...pod(d, p), job: 'linkerd-proxy', instance: `${p}:4191` };
    s.push({ name: 'up', labels: l, at: gauge(1) });
    if (meshed) s.push({ name: 'process_start_time_seconds', labels: l, at: gauge(T_BASE) });
  }
  return s;
}

const T_BASE = Math.floor(Date.now() / 1000 / STEP_S) * STEP_S - 600;

function openMetrics(series: Series[]): string {
  const lines: string[] = [];
  const end = T_BASE + 1800; // data well past the test's "now"
  for (const s of series) {
    const l = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
    for (let t = T_BASE; t <= end; t += STEP_S) lines.push(`${s.name}{${l}} ${s.at(t)} ${t}`);
  }
  return lines.join('\n') + '\n# EOF\n';
}

test('stat, query and federate against Prometheus 2.42', async (t) => {
  const prometheus = requirePeer(t, 'prometheus', 'prometheus');
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (!prometheus || !promtool) return;
  const dir = mkdtempSync(join(tmpdir(), 'mm-cli-prom-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  writeFileSync(join(dir, 'in.om'), openMetrics(dataset()));
  const bf = spawnSync(
    promtool,
    ['tsdb', 'create-blocks-from', 'openmetrics', '-q', join(dir, 'in.om'), data],
    { encoding: 'utf8' },
  );
  assert.equal(bf.status, 0, bf.stderr);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    'global: {scrape_interval: 15s, evaluation_interval: 15s}\n',
  );
  const prom = await startPrometheus(null, prometheus, {
    configFile: join(dir, 'prometheus.yml'),
    dataDir: data,
  });
  t.after(async () => {
    await prom.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = prom.base;
  const P = `--prometheus-url=${url}`;

  await t.test('stat deploy -o json gives exact figures and linkerd keys', async () => {
    const r = await cli(['stat', 'deploy', '-n', 'demo', '-o', 'json', P]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Record<string, unknown>[];
    const keys = [
      'namespace',
      'kind',
      'name',
      'meshed',
      'success',
      'rps',
      'latency_ms_p50',
      'latency_ms_p95',
      'latency_ms_p99',
      'tcp_open_connections',
      'tcp_read_bytes_rate',
      'tcp_write_bytes_rate',
    ];
    for (const row of rows) assert.deepEqual(Object.keys(row), keys);
    const by = new Map(rows.map((row) => [row.name, row]));
    assert.deepEqual([...by.keys()], ['books', 'idle', 'web']);
    const web = by.get('web')!;
    assert.equal(web.meshed, '1/1');
    assert.ok(Math.abs((web.success as number) - 0.9) < 1e-9, String(web.success));
    assert.ok(Math.abs((web.rps as number) - 10) < 1e-9, String(web.rps));
    assert.deepEqual([web.latency_ms_p50, web.latency_ms_p95, web.latency_ms_p99], [10, 75, 95]);
    assert.equal(web.tcp_open_connections, 5);
    assert.ok(Math.abs((web.tcp_read_bytes_rate as number) - 100) < 1e-6);
    assert.ok(Math.abs((web.tcp_write_bytes_rate as number) - 200) < 1e-6);
    const books = by.get('books')!;
    assert.equal(books.meshed, '1/2');
    assert.equal(books.success, 1);
    assert.ok(Math.abs((books.rps as number) - 4) < 1e-9);
    assert.deepEqual([books.latency_ms_p50, books.latency_ms_p95, books.latency_ms_p99], [3, 5, 5]);
    assert.equal(books.tcp_open_connections, 2);
    const idle = by.get('idle')!;
    assert.equal(idle.meshed, '1/1');
    for (const k of keys.slice(4)) assert.equal(idle[k], null, k);
  });

  await t.test('stat table formats as linkerd viz stat', async () => {
    const r = await cli(['stat', 'deploy', '-n', 'demo', P]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    assert.deepEqual(lines[0], [
      'NAME',
      'MESHED',
      'SUCCESS',
      'RPS',
      'LATENCY_P50',
      'LATENCY_P95',
      'LATENCY_P99',
      'TCP_CONN',
    ]);
    assert.deepEqual(lines[1], ['books', '1/2', '100.00%', '4.0rps', '3ms', '5ms', '5ms', '2']);
    assert.deepEqual(lines[2], ['idle', '1/1', '-', '-', '-', '-', '-', '-']);
    assert.deepEqual(lines[3], ['web', '1/1', '90.00%', '10.0rps', '10ms', '75ms', '95ms', '5']);
  });

  await t.test('stat one deployment, wide, all namespaces', async () => {
    const r = await cli(['stat', 'deploy/web', '-A', '-o', 'wide', P]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    assert.deepEqual(lines[0], [
      'NAMESPACE',
      'NAME',
      'MESHED',
      'SUCCESS',
      'RPS',
      'LATENCY_P50',
      'LATENCY_P95',
      'LATENCY_P99',
      'TCP_CONN',
      'READ_BYTES/SEC',
      'WRITE_BYTES/SEC',
    ]);
    assert.deepEqual(lines.slice(1), [
      [
        'demo',
        'web',
        '1/1',
        '90.00%',
        '10.0rps',
        '10ms',
        '75ms',
        '95ms',
        '5',
        '100.0B/s',
        '200.0B/s',
      ],
    ]);
  });

  await t.test('stat pods, --accurate, and namespaces', async () => {
    const pods = JSON.parse(
      (await cli(['stat', 'po', '-n', 'demo', '--accurate', '-o', 'json', P])).stdout,
    ) as Record<string, unknown>[];
    assert.deepEqual(
      pods.map((p) => [p.name, p.rps, p.latency_ms_p50]),
      [
        ['books-abc-1', 2, 3],
        ['books-abc-2', 2, 3],
        ['idle-abc-1', null, null],
        ['web-abc-1', 10, 10],
      ],
    );
    const ns = JSON.parse((await cli(['stat', 'ns', '-o', 'json', P])).stdout) as Record<
      string,
      unknown
    >[];
    assert.deepEqual(
      ns.map((n) => [n.namespace, n.kind, n.name, n.meshed, n.rps]),
      [['demo', 'namespace', 'demo', '3/4', 14]],
    );
  });

  await t.test('stat --from: books as the destination of web', async () => {
    const r = JSON.parse(
      (await cli(['stat', 'deploy', '-n', 'demo', '--from', 'deploy/web', '-o', 'json', P])).stdout,
    ) as Record<string, unknown>[];
    assert.deepEqual(
      r.map((x) => [x.name, x.success, x.rps]),
      [['books', 0, 50]],
    );
  });

  await t.test('stat with no traffic and bad flags', async () => {
    const empty = await cli(['stat', 'deploy', '-n', 'nowhere', P]);
    assert.equal(empty.code, 0);
    assert.equal(empty.stdout, '');
    assert.equal(empty.stderr, 'No traffic found.\n');
    const both = await cli(['stat', 'deploy', '--to', 'deploy/a', '--from', 'deploy/b', P]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /mutually exclusive/);
    const kind = await cli(['stat', 'bogus', P]);
    assert.equal(kind.code, 2);
    assert.match(kind.stderr, /unknown resource type "bogus"/);
    const short = await cli(['stat', 'deploy', '-t', '10s', P]);
    assert.equal(short.code, 2);
    assert.match(short.stderr, /at least 15s/);
  });

  await t.test('query instant, range and errors', async () => {
    const inst = await cli([
      'query',
      'sum(tcp_open_connections{namespace="demo"})',
      '-o',
      'json',
      P,
    ]);
    assert.equal(inst.code, 0, inst.stderr);
    const data = JSON.parse(inst.stdout) as {
      resultType: string;
      result: { value: [number, string] }[];
    };
    assert.equal(data.resultType, 'vector');
    assert.equal(data.result[0].value[1], '11');
    const at = T_BASE + 60;
    const table = await cli(['query', 'up{pod="web-abc-1"}', '--time', String(at), P]);
    assert.equal(table.code, 0, table.stderr);
    const rows = table.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    assert.deepEqual(rows, [
      ['METRIC', 'VALUE', 'TIMESTAMP'],
      [
        'up{deployment="web", instance="web-abc-1:4191", job="linkerd-proxy", namespace="demo", pod="web-abc-1", pod_template_hash="abc"}',
        '1',
        new Date(at * 1000).toISOString(),
      ],
    ]);
    const range = await cli([
      'query',
      'sum(rate(response_total{deployment="web",direction="inbound"}[1m]))',
      '--start',
      String(T_BASE + 120),
      '--end',
      String(T_BASE + 180),
      '--step',
      '30',
      '-o',
      'json',
      P,
    ]);
    assert.equal(range.code, 0, range.stderr);
    const m = JSON.parse(range.stdout) as {
      resultType: string;
      result: { values: [number, string][] }[];
    };
    assert.equal(m.resultType, 'matrix');
    assert.deepEqual(
      m.result[0].values.map((v) => [v[0] - T_BASE, Number(v[1])]),
      [
        [120, 10],
        [150, 10],
        [180, 10],
      ],
    );
    const bad = await cli(['query', 'sum(', P]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^Error: bad_data: /);
    const down = await cli(['query', 'up', '--prometheus-url=http://127.0.0.1:1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /unavailable: cannot reach/);
  });

  await t.test('federate prints the exposition of the matching series', async () => {
    const r = await cli([
      'federate',
      '--match',
      '{__name__="process_start_time_seconds",deployment="web"}',
      P,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], '# TYPE process_start_time_seconds untyped');
    assert.match(
      lines[1],
      new RegExp(
        `^process_start_time_seconds\\{deployment="web",instance="web-abc-1:4191",job="linkerd-proxy",namespace="demo",pod="web-abc-1",pod_template_hash="abc"\\} ${formatGoFloat(T_BASE).replace('+', '\\+')} \\d+$`,
      ),
    );
    assert.equal(lines.length, 2);
    const none = await cli(['federate', P]);
    assert.equal(none.code, 2);
    const bad = await cli(['federate', '--match', '{', P]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad_data/);
  });
});
