// Interop of the compacted block layout (one long chunk per series, XOR windows planned
// for the fewest bits, identical chunks written once and shared by several series):
// promtool 2.42 dumps exactly our samples, and a Prometheus 2.42 server answers them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePeer } from '../../../test/support/peers.js';
import { startPrometheus } from '../../../test/support/servers.js';
import { formatGoFloat } from '../../exposition/format-float.js';
import { Labels } from '../../model/labels.js';
import { isStaleNaN, STALE_NAN } from '../../model/stale.js';
import { Matcher } from '../../model/matcher.js';
import { ValueType } from '../../storage/interface.js';
import { openBlocks } from '../block.js';
import { compactHead, type HeadChunk, type HeadSource } from '../compact.js';
import { XORChunk } from '../chunkenc/xor.js';
import { SeriesChunks } from '../index/index-reader.js';
import { mulberry32 as rng } from '../../../test/support/rng.js';

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 7_200_000); // a 2h boundary
const STEP = 10_000;
const N = 720; // 2 h at 10 s: one chunk per series

interface Series {
  labels: Labels;
  ts: number[];
  /** Typed, so the stale marker keeps its NaN payload. */
  vs: Float64Array;
}

/**
 * Two pods of Linkerd-shaped data: a request counter, a latency histogram whose low
 * buckets stay at zero and whose +Inf bucket equals its `_count` (identical chunks), a
 * float counter, and a gauge with special values, a gap and a stale marker.
 */
function makeSeries(): Series[] {
  const r = rng(3);
  const out: Series[] = [];
  const times = Array.from({ length: N }, (_, i) => T0 + i * STEP);
  for (const pod of ['web-0', 'web-1']) {
    const base = { job: 'linkerd-proxy', pod };
    const reqs = new Float64Array(N);
    for (let i = 0; i < N; i++) reqs[i] = (i === 0 ? 5000 : reqs[i - 1]) + Math.floor(r() * 40);
    out.push({ labels: Labels.from({ __name__: 'request_total', ...base }), ts: times, vs: reqs });
    for (const [le, share] of [
      ['1', 0],
      ['5', 0],
      ['50', 0.4],
      ['500', 0.97],
      ['+Inf', 1],
    ] as const) {
      out.push({
        labels: Labels.from({ __name__: 'response_latency_ms_bucket', le, ...base }),
        ts: times,
        vs: reqs.map((v) => Math.floor(v * share)),
      });
    }
    out.push({
      labels: Labels.from({ __name__: 'response_latency_ms_count', ...base }),
      ts: times,
      vs: reqs.slice(),
    });
    const cpu = new Float64Array(N);
    for (let i = 0; i < N; i++)
      cpu[i] = Math.round(((i === 0 ? 12 : cpu[i - 1]) + r() * 0.03) * 100) / 100;
    out.push({
      labels: Labels.from({ __name__: 'process_cpu_seconds_total', ...base }),
      ts: times,
      vs: cpu,
    });
    const gts: number[] = [];
    const gvs: number[] = [];
    const special = [NaN, Infinity, -Infinity, -0, 1e300, 5e-324];
    for (let i = 0; i < N; i++) {
      if (i >= 300 && i < 330) continue; // a gap
      gts.push(T0 + i * STEP + 3);
      gvs.push(i % 50 === 7 ? special[Math.floor(i / 50) % special.length] : (r() - 0.5) * 1e6);
    }
    const g = Float64Array.from(gvs);
    g[gts.findIndex((t) => t > T0 + 299 * STEP)] = STALE_NAN; // stale just before the gap
    out.push({
      labels: Labels.from({ __name__: 'tcp_open_connections', ...base }),
      ts: gts,
      vs: g,
    });
  }
  return out;
}

/** The series as a head hands them to compaction: 120-sample chunks, sorted by labels. */
function headOf(series: Series[]): HeadSource {
  const sorted = [...series].sort((a, b) => (a.labels.toString() < b.labels.toString() ? -1 : 1));
  return {
    compactionSeries: () =>
      sorted.map((s) => {
        const chunks: HeadChunk[] = [];
        for (let i = 0; i < s.ts.length; i += 120) {
          const c = new XORChunk();
          const app = c.appender();
          const end = Math.min(s.ts.length, i + 120);
          for (let k = i; k < end; k++) app.append(s.ts[k], s.vs[k]);
          chunks.push({ mint: s.ts[i], maxt: s.ts[end - 1], bytes: c.compact() });
        }
        return { labels: s.labels, chunks };
      }),
  };
}

test('Prometheus 2.42 reads the compacted layout: planned windows, one chunk a series, shared chunks', async (t) => {
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  const prom = requirePeer(t, 'prometheus', 'prometheus');
  if (prom === null) return;
  const dir = mkdtempSync(join(tmpdir(), 'mm-layout-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  mkdirSync(join(data, 'wal'), { recursive: true }); // promtool dump opens it
  const series = makeSeries();
  const meta = compactHead(data, headOf(series), T0, T0 + 7_200_000, { samplesPerChunk: 720 })!;
  assert.equal(meta.stats.numChunks, series.length, 'one chunk per series');

  // The layout is the one under test: +Inf and _count share a chunk, so do the zero buckets.
  const [block] = openBlocks(data);
  const refs = new Map<number, string[]>();
  const sc = new SeriesChunks();
  for (const ref of block.index.allPostings()) {
    const ls = block.index.series(ref, sc)!;
    refs.set(sc.ref[0], [...(refs.get(sc.ref[0]) ?? []), ls.toString()]);
  }
  block.close();
  const shared = [...refs.values()].filter((names) => names.length > 1).map((n) => n.join(' '));
  // Per pod, request_total, the +Inf bucket and _count; and the four zero buckets of both pods.
  assert.equal(shared.length, 3, JSON.stringify(shared));
  for (const pod of ['web-0', 'web-1']) {
    const inf = `le="+Inf", pod="${pod}"`;
    const count = `__name__="response_latency_ms_count", job="linkerd-proxy", pod="${pod}"`;
    assert.ok(
      shared.some((g) => g.includes(inf) && g.includes(count)),
      pod,
    );
  }
  assert.ok(
    shared.some((g) => (g.match(/le="(1|5)"/g) ?? []).length === 4),
    JSON.stringify(shared),
  );

  // promtool dump: every sample, bit for bit in Go's formatting, stale marker included.
  const dump = spawnSync(promtool, ['tsdb', 'dump', data], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  assert.equal(dump.status, 0, dump.stderr);
  let want = '';
  const sorted = [...series].sort((a, b) => (a.labels.toString() < b.labels.toString() ? -1 : 1));
  for (const s of sorted)
    for (let i = 0; i < s.ts.length; i++)
      want += `${s.labels.toString()} ${formatGoFloat(s.vs[i])} ${s.ts[i]}\n`;
  assert.equal(dump.stdout, want);

  // A Prometheus server returns the same raw samples for a range selector over the block.
  const cfg = join(dir, 'prometheus.yml');
  writeFileSync(cfg, 'global:\n  scrape_interval: 1h\nscrape_configs: []\n');
  const server = await startPrometheus(t, prom, { configFile: cfg, dataDir: data });
  const end = T0 + 7_199_999;
  const res = await fetch(
    `${server.base}/api/v1/query?query=${encodeURIComponent('{__name__=~".+"}[2h]')}&time=${end / 1000}`,
  );
  const body = (await res.json()) as {
    status: string;
    data: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  assert.equal(body.status, 'success');
  assert.equal(body.data.result.length, series.length);
  for (const r of body.data.result) {
    const s = series.find((x) => x.labels.equals(Labels.from(r.metric)))!;
    assert.ok(s !== undefined, JSON.stringify(r.metric));
    // Range selections leave stale markers out.
    const keep = s.ts.map((_, i) => i).filter((i) => !isStaleNaN(s.vs[i]));
    assert.equal(r.values.length, keep.length, s.labels.toString());
    keep.forEach((i, k) => {
      const [t, v] = r.values[k];
      assert.equal(Math.round(t * 1000), s.ts[i], `${s.labels.toString()} sample ${i}`);
      const got =
        v === 'NaN' ? NaN : v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
      assert.ok(
        Object.is(got, s.vs[i]) || (got === 0 && s.vs[i] === 0),
        `${s.labels.toString()} at ${s.ts[i]}: ${v} ≠ ${s.vs[i]}`,
      );
    });
  }
});

test('a series whose later chunk is shared with an earlier series (a negative ref delta) reads back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mm-layout-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  mkdirSync(join(data, 'wal'), { recursive: true });
  const times = Array.from({ length: 240 }, (_, i) => T0 + i * STEP);
  // `a` is written first; `b`'s second chunk (samples 120..239) has a's bytes.
  const a: Series = {
    labels: Labels.from({ __name__: 'a_total' }),
    ts: times.slice(120),
    vs: new Float64Array(120).fill(5),
  };
  const bv = new Float64Array(240).fill(5);
  for (let i = 0; i < 120; i++) bv[i] = i * 3;
  const b: Series = { labels: Labels.from({ __name__: 'b_total' }), ts: times, vs: bv };
  const meta = compactHead(data, headOf([a, b]), T0, T0 + 7_200_000, { samplesPerChunk: 120 })!;
  assert.equal(meta.stats.numChunks, 3);
  const [block] = openBlocks(data);
  t.after(() => block.close());
  const sc = new SeriesChunks();
  const [ra, rb] = block.index.allPostings();
  block.index.series(ra, sc);
  const aRef = sc.ref[0];
  block.index.series(rb, sc);
  assert.ok(sc.ref[1] === aRef && sc.ref[0] > aRef, 'b points back at a chunk of a');
  const q = await block.querier(T0, T0 + 7_200_000);
  const ss = q.select(true, null, [new Matcher('=', '__name__', 'b_total')]);
  assert.ok(ss.next());
  const it = ss.at().iterator();
  for (let i = 0; i < 240; i++) {
    assert.equal(it.next(), ValueType.Float);
    assert.equal(it.atT(), times[i]);
    assert.equal(it.atV(), bv[i]);
  }
  assert.equal(it.next(), ValueType.None);
  const promtool = requirePeer(t, 'promtool', 'prometheus');
  if (promtool === null) return;
  const dump = spawnSync(promtool, ['tsdb', 'dump', data], { encoding: 'utf8' });
  assert.equal(dump.status, 0, dump.stderr);
  let want = '';
  for (const s of [a, b])
    for (let i = 0; i < s.ts.length; i++)
      want += `${s.labels.toString()} ${formatGoFloat(s.vs[i])} ${s.ts[i]}\n`;
  assert.equal(dump.stdout, want);
});
