// Interop with a real promtool (2.42): blocks we write are listed, dumped and analyzed
// by promtool exactly as we describe them, and blocks promtool backfills are read by
// us sample for sample.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePeer } from './support/peers.js';
import { startPrometheus } from './support/servers.js';
import { Labels } from '../src/model/labels.js';
import { isStaleNaN, STALE_NAN } from '../src/model/stale.js';
import { Matcher } from '../src/model/matcher.js';
import { ValueType } from '../src/storage/interface.js';
import { formatGoFloat } from '../src/exposition/format-float.js';
import {
  encodeXORChunks,
  sourceFromSeries,
  writeBlock,
  type BlockSeries,
} from '../src/tsdb/block-writer.js';
import { deleteBlockDir, openBlocks } from '../src/tsdb/block.js';
import { compactBlocks } from '../src/tsdb/compact.js';
import { isULID } from '../src/tsdb/meta.js';
import { MergeQuerier } from '../src/storage/merge.js';
import { dumpQuerier } from '../src/cmd/tsdb.js';

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 7_200_000); // a 2h boundary

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Runs our CLI from source. */
function meshmetrics(args: string[]): string {
  const code =
    "const m = await import('./src/cmd/main.ts'); process.exitCode = await m.main(process.argv.slice(1));";
  return run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, ...args]);
}

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'mm-promtool-tsdb-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

interface Expected {
  labels: Labels;
  ts: number[];
  /** A typed array, so the stale marker keeps its NaN payload (plain double arrays may not). */
  vs: Float64Array;
}

/** Freezes samples gathered in plain arrays, putting stale markers at `staleAt`. */
function expected(
  labels: Labels,
  ts: number[],
  vs: number[],
  staleAt: readonly number[] = [],
): Expected {
  const out = Float64Array.from(vs);
  for (const i of staleAt) out[i] = STALE_NAN;
  return { labels, ts, vs: out };
}

/** Linkerd-shaped data: counters, a histogram with le buckets, a gauge with a gap and a stale marker. */
function makeSeries(): Expected[] {
  const out: Expected[] = [];
  const step = 10_000;
  const n = 600; // 100 minutes
  for (let pod = 0; pod < 3; pod++) {
    const base = { job: 'linkerd-proxy', pod: `web-${pod}` };
    const cts: number[] = [];
    const cvs: number[] = [];
    for (let i = 0; i < n; i++) {
      cts.push(T0 + i * step);
      cvs.push(i * (pod + 1) + (i > 300 ? 0.25 : 0));
    }
    out.push(
      expected(Labels.from({ __name__: 'request_total', direction: 'inbound', ...base }), cts, cvs),
    );
    let cum = 0;
    for (const le of ['1', '10', '100', '1000', '+Inf']) {
      cum += pod + 1;
      const hts: number[] = [];
      const hvs: number[] = [];
      for (let i = 0; i < n; i++) {
        hts.push(T0 + i * step);
        hvs.push(cum * i);
      }
      out.push(
        expected(Labels.from({ __name__: 'response_latency_ms_bucket', le, ...base }), hts, hvs),
      );
    }
    const gts: number[] = [];
    const gvs: number[] = [];
    let stale = -1;
    for (let i = 0; i < n; i++) {
      if (i >= 200 && i < 260) continue; // gap
      if (i === 199) stale = gts.length; // the series goes stale before the gap
      gts.push(T0 + i * step + pod);
      gvs.push(Math.sin(i) * 1e6);
    }
    out.push(
      expected(Labels.from({ __name__: 'tcp_open_connections', ...base }), gts, gvs, [stale]),
    );
  }
  return out;
}

function expectedDump(series: Expected[]): string {
  const sorted = [...series].sort((a, b) => (a.labels.toString() < b.labels.toString() ? -1 : 1));
  let s = '';
  for (const e of sorted)
    for (let i = 0; i < e.ts.length; i++)
      s += `${e.labels.toString()} ${formatGoFloat(e.vs[i])} ${e.ts[i]}\n`;
  return s;
}

test('promtool lists, dumps and analyzes a block we write', (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  const dir = tempDir(t);
  mkdirSync(join(dir, 'wal')); // promtool 2.42's dump opens the WAL even when read-only
  const series = makeSeries();
  const bs: BlockSeries[] = series.map((e) => ({
    labels: e.labels,
    chunks: encodeXORChunks(e.ts, e.vs),
  }));
  const meta = writeBlock(dir, sourceFromSeries(bs), { mint: T0, maxt: T0 + 7_200_000 });
  const samples = series.reduce((n, e) => n + e.ts.length, 0);
  assert.equal(meta.stats.numSamples, samples);
  // The stale markers survive with their payload (promtool prints them as NaN).
  const [written] = openBlocks(dir);
  const ss = written
    .querierSync(-Infinity, Infinity)
    .select(true, null, [new Matcher('=', '__name__', 'tcp_open_connections')]);
  let stale = 0;
  while (ss.next()) {
    const it = ss.at().iterator();
    while (it.next() !== ValueType.None) if (isStaleNaN(it.atV())) stale++;
  }
  written.close();
  assert.equal(stale, 3);

  const list = run(promtool, ['tsdb', 'list', dir]).trim().split('\n');
  assert.equal(list.length, 2);
  const cols = list[1].split(/\s+/);
  assert.deepEqual(cols.slice(0, 3), [meta.ulid, String(T0), String(T0 + 7_200_000)]);
  assert.deepEqual(cols.slice(4, 7).map(Number), [
    meta.stats.numSamples,
    meta.stats.numChunks,
    meta.stats.numSeries,
  ]);
  // Our own list prints exactly the same table.
  assert.equal(meshmetrics(['tsdb', 'list', dir]), run(promtool, ['tsdb', 'list', dir]));
  assert.equal(
    meshmetrics(['tsdb', 'list', '-r', dir]),
    run(promtool, ['tsdb', 'list', '-r', dir]),
  );

  const dump = run(promtool, ['tsdb', 'dump', dir]);
  assert.equal(dump.split('\n').length - 1, samples);
  assert.equal(dump, expectedDump(series));
  assert.equal(meshmetrics(['tsdb', 'dump', dir]), dump);
  for (const args of [
    ['--match=response_latency_ms_bucket{le=~"1.*",pod!="web-0"}'],
    [`--min-time=${T0 + 123_456}`, `--max-time=${T0 + 2_000_000}`],
  ]) {
    const theirs = run(promtool, ['tsdb', 'dump', ...args, dir]);
    assert.ok(theirs.length > 0);
    assert.equal(meshmetrics(['tsdb', 'dump', ...args, dir]), theirs, args.join(' '));
  }

  const analyze = run(promtool, ['tsdb', 'analyze', dir]);
  const ours = meshmetrics(['tsdb', 'analyze', dir]);
  // Go's sort leaves ties in random order, so compare the header lines and each section as a set.
  const sections = (s: string): string[][] =>
    s.split('\n\n').map((sec) => sec.split('\n').filter(Boolean).sort());
  assert.deepEqual(sections(ours), sections(analyze));
});

/** An OpenMetrics file over 5h with counters, a histogram and a series that stops and restarts. */
function makeOpenMetrics(): { text: string; samples: Map<string, { t: number; v: number }[]> } {
  const samples = new Map<string, { t: number; v: number }[]>();
  const lines: string[] = [];
  const add = (name: string, labels: Record<string, string>, t: number, v: number): void => {
    const ls = Labels.from({ __name__: name, ...labels });
    const body = Object.entries(labels)
      .map(([k, val]) => `${k}="${val}"`)
      .join(',');
    lines.push(`${name}${body ? `{${body}}` : ''} ${formatGoFloat(v)} ${(t / 1000).toFixed(3)}`);
    const key = ls.toString();
    if (!samples.has(key)) samples.set(key, []);
    samples.get(key)!.push({ t, v });
  };
  const start = T0 + 1_234_000;
  const steps = 5 * 360; // 5h at 10s
  lines.push('# TYPE request counter');
  for (const code of ['200', '503']) {
    for (let i = 0; i < steps; i++)
      add(
        'request_total',
        { code },
        start + i * 10_000,
        code === '200' ? i * 3 : Math.floor(i / 7),
      );
  }
  lines.push('# TYPE latency_ms histogram');
  const les = ['5', '50', '500', '+Inf'];
  for (let k = 0; k < les.length; k++) {
    for (let i = 0; i < steps; i++)
      add('latency_ms_bucket', { le: les[k] }, start + i * 10_000, i * (k + 1));
  }
  for (let i = 0; i < steps; i++) add('latency_ms_count', {}, start + i * 10_000, i * les.length);
  for (let i = 0; i < steps; i++) add('latency_ms_sum', {}, start + i * 10_000, i * 12.5);
  lines.push('# TYPE conns gauge');
  for (let i = 0; i < steps; i++) {
    if (i % 400 >= 300) continue; // the series disappears and comes back
    add('conns', { pod: 'a' }, start + i * 10_000 + 7, (i % 13) / 4);
  }
  lines.push('# EOF');
  return { text: lines.join('\n') + '\n', samples };
}

test('we read blocks promtool backfills, and backfill the same blocks ourselves', (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  const dir = tempDir(t);
  const { text, samples } = makeOpenMetrics();
  const file = join(dir, 'input.om');
  writeFileSync(file, text);
  const theirs = join(dir, 'theirs');
  const ours = join(dir, 'ours');
  run(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', file, theirs]);
  meshmetrics(['tsdb', 'create-blocks-from', 'openmetrics', '-q', file, ours]);
  mkdirSync(join(theirs, 'wal'));
  mkdirSync(join(ours, 'wal'));

  // Our reader sees every sample of promtool's blocks.
  const blocks = openBlocks(theirs);
  t.after(() => blocks.forEach((b) => b.close()));
  assert.ok(blocks.length >= 3, `want 2h blocks over 5h, got ${blocks.length}`);
  const q = new MergeQuerier(blocks.map((b) => b.querierSync(-Infinity, Infinity)));
  const ss = q.select(true, null, [new Matcher('=~', '__name__', '.+')]);
  const got = new Map<string, { t: number; v: number }[]>();
  while (ss.next()) {
    const s = ss.at();
    const list: { t: number; v: number }[] = [];
    const it = s.iterator();
    while (it.next() === ValueType.Float) list.push({ t: it.atT(), v: it.atV() });
    assert.equal(it.err(), null);
    got.set(s.labels.toString(), list);
  }
  assert.equal(ss.err(), null);
  assert.deepEqual([...got.keys()].sort(), [...samples.keys()].sort());
  for (const [k, want] of samples) assert.deepEqual(got.get(k), want, k);

  // Our dump of their blocks equals theirs, and our blocks equal theirs in stats and size.
  const theirDump = run(promtool, ['tsdb', 'dump', theirs]);
  let ourDump = '';
  dumpQuerier(q, (s) => (ourDump += s));
  assert.equal(ourDump, theirDump);
  assert.equal(run(promtool, ['tsdb', 'dump', ours]), theirDump);
  const rows = (d: string): string[][] =>
    run(promtool, ['tsdb', 'list', d])
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/).slice(1));
  assert.deepEqual(rows(ours), rows(theirs));
  assert.equal(readdirSync(ours).filter((n) => isULID(n)).length, blocks.length);
});

test('promtool reads blocks we merge into big chunks, and honours our tombstones', (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  const dir = tempDir(t);
  mkdirSync(join(dir, 'wal'));
  const series = makeSeries();
  // Three 2h blocks holding thirds of the data, then one merged block.
  const third = 200 * 10_000;
  for (let k = 0; k < 3; k++) {
    const lo = T0 + k * third;
    const hi = lo + third;
    const bs: BlockSeries[] = [];
    for (const e of series) {
      const idx = e.ts
        .map((ts, i) => [ts, i])
        .filter(([ts]) => ts >= lo && ts < hi)
        .map(([, i]) => i);
      if (idx.length === 0) continue;
      const vs = new Float64Array(idx.length);
      idx.forEach((i, j) => (vs[j] = e.vs[i]));
      bs.push({
        labels: e.labels,
        chunks: encodeXORChunks(
          idx.map((i) => e.ts[i]),
          vs,
        ),
      });
    }
    writeBlock(dir, sourceFromSeries(bs), { mint: lo, maxt: hi });
  }
  const inputs = openBlocks(dir);
  // One chunk per series (600 samples): bigger than the head's 120, still Prometheus's format.
  const merged = compactBlocks(dir, inputs, { samplesPerChunk: 600 })!;
  assert.equal(merged.stats.numChunks, merged.stats.numSeries);
  for (const b of inputs) {
    b.close();
    deleteBlockDir(b.dir);
  }
  const list = run(promtool, ['tsdb', 'list', dir]).trim().split('\n');
  assert.equal(list.length, 2);
  assert.equal(list[1].split(/\s+/)[0], merged.ulid);
  assert.equal(run(promtool, ['tsdb', 'dump', dir]), expectedDump(series));

  // Delete a range of one pod's series; promtool must not see those samples either.
  const [b] = openBlocks(dir);
  const lo = T0 + 100 * 10_000;
  const hi = T0 + 300 * 10_000;
  b.delete(lo, hi, [new Matcher('=', 'pod', 'web-1')]);
  b.close();
  const kept = series.map((e) => {
    if (e.labels.get('pod') !== 'web-1') return e;
    const keep = e.ts
      .map((ts, i) => [ts, i])
      .filter(([ts]) => ts < lo || ts > hi)
      .map(([, i]) => i);
    const vs = new Float64Array(keep.length);
    keep.forEach((i, j) => (vs[j] = e.vs[i]));
    return { labels: e.labels, ts: keep.map((i) => e.ts[i]), vs };
  });
  assert.equal(run(promtool, ['tsdb', 'dump', dir]), expectedDump(kept));
  assert.equal(meshmetrics(['tsdb', 'dump', dir]), expectedDump(kept));
});

test('a Prometheus server queries the blocks we write', async (t) => {
  const prom = requirePeer(t, 'prometheus', 'prometheus');
  if (prom === null) return;
  const dir = tempDir(t);
  const data = join(dir, 'data');
  mkdirSync(data);
  const series = makeSeries();
  // Two adjacent 2h blocks, so the server also sees more than one.
  for (const [lo, hi] of [
    [T0, T0 + 3_000_000],
    [T0 + 3_000_000, T0 + 7_200_000],
  ]) {
    const bs: BlockSeries[] = [];
    for (const e of series) {
      const idx = e.ts
        .map((ts, i) => [ts, i])
        .filter(([ts]) => ts >= lo && ts < hi)
        .map(([, i]) => i);
      const vs = new Float64Array(idx.length);
      idx.forEach((i, j) => (vs[j] = e.vs[i]));
      if (idx.length > 0)
        bs.push({
          labels: e.labels,
          chunks: encodeXORChunks(
            idx.map((i) => e.ts[i]),
            vs,
          ),
        });
    }
    writeBlock(data, sourceFromSeries(bs), { mint: lo, maxt: hi });
  }
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(cfg, 'global:\n  scrape_interval: 1h\nscrape_configs: []\n');
  const prometheus = await startPrometheus(t, prom, { configFile: cfg, dataDir: data });
  const query = async (
    q: string,
    time: number,
  ): Promise<{ metric: Record<string, string>; value: [number, string] }[]> => {
    const res = await fetch(
      `${prometheus.base}/api/v1/query?query=${encodeURIComponent(q)}&time=${time / 1000}`,
    );
    const body = (await res.json()) as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result;
  };
  // Samples counted across both blocks, per series, equal what we wrote.
  const end = T0 + 7_199_999;
  const counts = await query('count_over_time({__name__=~".+"}[2h])', end);
  assert.equal(counts.length, series.length);
  for (const r of counts) {
    // count_over_time drops the metric name; the other labels still tell the series apart.
    const e = series.find((s) => s.labels.without('__name__').equals(Labels.from(r.metric)))!;
    // Range selections leave out stale markers.
    const n = e.ts.filter(
      (ts, i) => ts > end - 7_200_000 && ts <= end && !isStaleNaN(e.vs[i]),
    ).length;
    assert.equal(Number(r.value[1]), n, JSON.stringify(r.metric));
  }
  // And one exact value from the second block.
  const at = T0 + 500 * 10_000;
  const [v] = await query('request_total{pod="web-2"}', at);
  assert.equal(v.value[1], formatGoFloat(500 * 3 + 0.25));
});
