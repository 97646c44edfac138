// Remote write against the real thing: our sender into Prometheus 2.42
// (--web.enable-remote-write-receiver) and VictoriaMetrics; a real Prometheus sending
// what it scrapes into our receiver.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { Matcher } from '../src/model/matcher.js';
import { QueueManager } from '../src/remote/index.js';
import {
  appendKnown,
  freePort,
  knownLabels,
  knownValue,
  rwConfig,
  startReceiver,
  waitFor,
} from '../src/remote/testdata/harness.js';
import { openDB } from '../src/tsdb/db.js';
import { requirePeer } from './support/peers.js';

const quiet = (): void => {};
const N_SERIES = 20;
const N_SAMPLES = 120;
const STEP = 1000;
/** Recent enough for both receivers' retention and out-of-bounds windows. */
const T0 = Math.floor((Date.now() - 15 * 60_000) / 1000) * 1000;

interface Peer {
  proc: ChildProcess;
  base: string;
  log: string[];
  stop(): Promise<void>;
}

async function startPeer(
  bin: string,
  args: string[],
  port: number,
  readyPath: string,
): Promise<Peer> {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  const base = `http://127.0.0.1:${port}`;
  const ok = await waitFor(async () => {
    try {
      return (await fetch(base + readyPath)).ok;
    } catch {
      return false;
    }
  }, 30_000);
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  if (!ok) {
    await stop();
    throw new Error(`${bin} did not become ready:\n${log.join('').slice(-2000)}`);
  }
  return { proc, base, log, stop };
}

/** Runs our sender over a DB holding the known data, into `url`, until all is acknowledged. */
async function sendKnown(t: TestContext, dir: string, url: string): Promise<QueueManager> {
  const db = await openDB(join(dir, 'db'), { logger: quiet });
  await appendKnown(db, N_SERIES, 0, N_SAMPLES, T0, STEP);
  const q = new QueueManager(
    rwConfig(
      url,
      'queue_config:\n  min_shards: 3\n  max_samples_per_send: 200\n  batch_send_deadline: 100ms',
    ),
    {
      walDir: join(dir, 'db', 'wal'),
      stateDir: join(dir, 'db', 'remote'),
      externalLabels: {},
      logger: quiet,
    },
  );
  q.start();
  t.after(async () => {
    await q.stop();
    await db.close();
  });
  assert.ok(
    await waitFor(() => q.samplesTotal + q.samplesFailed >= N_SERIES * N_SAMPLES, 30_000),
    `sent ${q.samplesTotal}`,
  );
  assert.equal(q.samplesFailed, 0, 'no batch rejected');
  return q;
}

/** Compares series key → [t, v][] against the known data. */
function assertKnown(got: Map<string, [number, number][]>): void {
  assert.equal(got.size, N_SERIES, 'series count');
  for (let s = 0; s < N_SERIES; s++) {
    const ls = knownLabels(s);
    const key = `${ls.get('series')}/${ls.get('pod')}`;
    const pts = got.get(key);
    assert.ok(pts, `series ${key}`);
    assert.equal(pts.length, N_SAMPLES, `samples of ${key}`);
    for (let i = 0; i < N_SAMPLES; i++) assert.deepEqual(pts[i], [T0 + i * STEP, knownValue(s, i)]);
  }
}

test(
  'our sender → Prometheus 2.42 remote-write receiver: every series and value',
  { timeout: 90_000 },
  async (t) => {
    const bin = requirePeer(t, 'prometheus', 'prometheus');
    if (bin === null) return;
    const dir = mkdtempSync(join(tmpdir(), 'mm-rw-prom-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    writeFileSync(join(dir, 'prometheus.yml'), 'global:\n  scrape_interval: 1h\n');
    const prom = await startPeer(
      bin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prom')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-remote-write-receiver',
      ],
      port,
      '/-/ready',
    );
    t.after(() => prom.stop());
    await sendKnown(t, dir, `${prom.base}/api/v1/write`);
    const end = T0 + (N_SAMPLES - 1) * STEP;
    const res = await fetch(
      `${prom.base}/api/v1/query?query=${encodeURIComponent('rw_test_metric[1h]')}&time=${end / 1000}`,
    );
    const body = (await res.json()) as {
      data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
    };
    const got = new Map<string, [number, number][]>();
    for (const r of body.data.result) {
      got.set(
        `${r.metric.series}/${r.metric.pod}`,
        r.values.map(([ts, v]) => [Math.round(ts * 1000), Number(v)]),
      );
    }
    assertKnown(got);
  },
);

test('our sender → VictoriaMetrics: every series and value', { timeout: 90_000 }, async (t) => {
  const bin = requirePeer(t, 'victoria-metrics', 'victoria-metrics');
  if (bin === null) return;
  const dir = mkdtempSync(join(tmpdir(), 'mm-rw-vm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const vm = await startPeer(
    bin,
    [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${join(dir, 'vm')}`,
      '-search.disableCache',
      '-retentionPeriod=10y',
    ],
    port,
    '/health',
  );
  t.after(() => vm.stop());
  await sendKnown(t, dir, `${vm.base}/api/v1/write`);
  await fetch(`${vm.base}/internal/force_flush`);
  const got = new Map<string, [number, number][]>();
  await waitFor(async () => {
    const res = await fetch(
      `${vm.base}/api/v1/export?${new URLSearchParams({ 'match[]': 'rw_test_metric' })}`,
    );
    got.clear();
    for (const line of (await res.text()).split('\n')) {
      if (line.trim() === '') continue;
      const r = JSON.parse(line) as {
        metric: Record<string, string>;
        values: number[];
        timestamps: number[];
      };
      const key = `${r.metric.series}/${r.metric.pod}`;
      const pts = got.get(key) ?? [];
      for (let i = 0; i < r.values.length; i++) pts.push([r.timestamps[i], r.values[i]]);
      got.set(
        key,
        pts.sort((a, b) => a[0] - b[0]),
      );
    }
    let n = 0;
    for (const p of got.values()) n += p.length;
    return n >= N_SERIES * N_SAMPLES;
  }, 15_000);
  assertKnown(got);
});

test(
  'Prometheus 2.42 remote_write → our receiver: what it scraped arrives, same values',
  { timeout: 90_000 },
  async (t) => {
    const bin = requirePeer(t, 'prometheus', 'prometheus');
    if (bin === null) return;
    const dir = mkdtempSync(join(tmpdir(), 'mm-rw-in-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const db = await openDB(join(dir, 'db'), { logger: quiet });
    t.after(() => db.close());
    const rx = await startReceiver(db);
    t.after(() => rx.close());
    const port = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: self',
        `    static_configs: [{targets: ['127.0.0.1:${port}']}]`,
        'remote_write:',
        `  - url: ${rx.url}`,
        '    queue_config: {batch_send_deadline: 500ms, min_backoff: 50ms}',
        '',
      ].join('\n'),
    );
    const prom = await startPeer(
      bin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'prom')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      port,
      '/-/ready',
    );
    t.after(() => prom.stop());
    // Let it scrape itself a few times (its scrape manager starts targets after ~5 s).
    const expected = new Map<string, [number, number][]>();
    const load = async (): Promise<boolean> => {
      expected.clear();
      const now = Date.now() / 1000;
      for (const metric of ['up', 'scrape_samples_scraped', 'prometheus_build_info']) {
        const res = await fetch(
          `${prom.base}/api/v1/query?query=${encodeURIComponent(`${metric}[1m]`)}&time=${now}`,
        );
        const body = (await res.json()) as {
          data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
        };
        for (const r of body.data.result) {
          expected.set(
            JSON.stringify(r.metric),
            r.values.map(([ts, v]) => [Math.round(ts * 1000), Number(v)]),
          );
        }
      }
      return expected.size >= 3 && [...expected.values()].every((pts) => pts.length >= 3);
    };
    await waitFor(load, 30_000);
    assert.ok(
      expected.size >= 3,
      `Prometheus scraped itself: ${[...expected.keys()].join(' ')}\n${prom.log.join('').slice(-1500)}`,
    );
    const ours = async (): Promise<Map<string, [number, number][]>> => {
      const q = await db.querier(0, Number.MAX_SAFE_INTEGER);
      const out = new Map<string, [number, number][]>();
      try {
        const set = q.select(true, null, [
          new Matcher('=~', '__name__', 'up|scrape_samples_scraped|prometheus_build_info'),
        ]);
        while (set.next()) {
          const s = set.at();
          const it = s.iterator();
          const pts: [number, number][] = [];
          while (it.next() !== 0) pts.push([it.atT(), it.atV()]);
          out.set(JSON.stringify(s.labels.toObject()), pts);
        }
      } finally {
        q.close();
      }
      return out;
    };
    const covers = async (): Promise<boolean> => {
      const got = await ours();
      for (const [k, pts] of expected) {
        const g = got.get(k);
        if (g === undefined) return false;
        const last = pts[pts.length - 1][0];
        if (g.length === 0 || g[g.length - 1][0] < last) return false;
      }
      return true;
    };
    assert.ok(await waitFor(covers, 20_000), 'every scraped series arrived');
    const got = await ours();
    for (const [k, pts] of expected) {
      const g = (got.get(k) ?? []).filter(
        ([ts]) => ts >= pts[0][0] && ts <= pts[pts.length - 1][0],
      );
      assert.deepEqual(g, pts, `samples of ${k}`);
    }
  },
);
