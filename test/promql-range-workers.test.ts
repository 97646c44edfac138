// Range queries split over PromQL's range workers (src/promql/range-workers.ts) give the
// same bits as on the main thread alone: persisted blocks with counters (some reset,
// some with gaps, values of very different sizes so that the order of a sum shows in its
// last bits) and histogram buckets, queried with one and with two workers, also after a
// deletion (the workers re-read a block's tombstones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Labels } from '../src/model/labels.js';
import { Matcher } from '../src/model/matcher.js';
import { Engine } from '../src/promql/engine.js';
import { RangeWorkers } from '../src/promql/range-workers.js';
import type { QueryResult } from '../src/promql/value.js';
import { sharedBlocksSource } from '../src/tsdb/block-querier.js';
import { encodeXORChunks, sourceFromSeries, writeBlock } from '../src/tsdb/block-writer.js';
import { openDB } from '../src/tsdb/db.js';

const HOUR = 3_600_000;
const STEP = 10_000;

/** A seeded generator, so that a failure repeats. */
function rng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

interface Gen {
  labels: Labels;
  ts: number[];
  vs: number[];
}

function history(): Gen[] {
  const r = rng(42);
  const out: Gen[] = [];
  const add = (labels: Record<string, string>, from: number, to: number, scale: number): void => {
    const ts: number[] = [];
    const vs: number[] = [];
    let v = r() * scale;
    for (let t = from; t < to; t += STEP) {
      // A counter with resets, now and then a tiny or a huge increment.
      const x = r();
      v = x < 0.01 ? r() * scale * 1e-3 : v + (x < 0.05 ? scale * 1e6 * r() : r() * scale);
      ts.push(t);
      vs.push(v);
    }
    out.push({ labels: Labels.from(labels), ts, vs });
  };
  for (let d = 0; d < 7; d++) {
    for (let p = 0; p < 6; p++) {
      const dep = `dep-${d}`;
      const pod = `pod-${p}`;
      // Some series hold no samples in the first hour, some none in the second.
      const from = p === 5 ? HOUR : 0;
      const to = p === 4 ? HOUR : 2 * HOUR;
      for (const code of ['200', '500']) {
        add({ __name__: 'requests_total', deployment: dep, pod, code }, from, to, 10 ** (p - 2));
      }
      for (const le of ['1', '10', '100', '+Inf']) {
        add({ __name__: 'latency_bucket', deployment: dep, pod, le }, 0, 2 * HOUR, 10 ** d);
      }
      add({ __name__: 'open_connections', deployment: dep, pod }, 0, 2 * HOUR, 3);
    }
  }
  return out;
}

/** Two adjacent 1 h blocks in a fresh data directory. */
function writeBlocks(dir: string, series: Gen[]): void {
  for (const [mint, maxt] of [
    [0, HOUR],
    [HOUR, 2 * HOUR],
  ]) {
    const part = series
      .map((s) => {
        const idx = s.ts.flatMap((t, i) => (t >= mint && t < maxt ? [i] : []));
        const ts = idx.map((i) => s.ts[i]);
        const vs = idx.map((i) => s.vs[i]);
        return { labels: s.labels, chunks: encodeXORChunks(ts, vs, ts.length, 120) };
      })
      .filter((s) => s.chunks.length > 0);
    writeBlock(dir, sourceFromSeries(part), { mint, maxt });
  }
}

const QUERIES = [
  'sum(rate(requests_total[1m])) by (deployment)',
  'sum(increase(requests_total[5m])) by (deployment, code)',
  'sum(rate(requests_total{code="200"}[1m])) by (deployment) / sum(rate(requests_total[1m])) by (deployment)',
  'histogram_quantile(0.99, sum(rate(latency_bucket[1m])) by (le, deployment))',
  'histogram_quantile(0.5, sum(irate(latency_bucket[2m])) by (le))',
  'max(avg_over_time(open_connections[3m])) by (pod)',
  'count(sum_over_time(requests_total[1m])) without (pod)',
  'min(open_connections) by (deployment)',
  'sum(open_connections) without (pod)',
];

/** Each value's bits, so that -0, NaN and the last bit of a float all count. */
function bits(r: QueryResult): string {
  assert.equal(r.value.type, 'matrix');
  if (r.value.type !== 'matrix') return '';
  const f = new Float64Array(1);
  const u = new Uint32Array(f.buffer);
  return r.value.series
    .map((s) => {
      const vs = Array.from(s.vs, (v) => ((f[0] = v), `${u[1].toString(16)}:${u[0].toString(16)}`));
      return `${s.metric.toString()} ${Array.from(s.ts).join(',')} ${vs.join(',')}`;
    })
    .join('\n');
}

test('range queries split over workers give the same bits as the main thread alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'range-workers-'));
  const db = await openDB(dir, { disableAutoCompaction: true, retentionMs: 0, logger: () => {} });
  writeBlocks(dir, history());
  await db.close();
  const db2 = await openDB(dir, { disableAutoCompaction: true, retentionMs: 0, logger: () => {} });
  const opener = new URL('../src/tsdb/block-querier.ts', import.meta.url).href;
  const single = new Engine();
  const pools = [1, 2].map(
    (size) =>
      new RangeWorkers({ openerUrl: opener, source: sharedBlocksSource(db2), size, minWork: 0 }),
  );
  const split = pools.map((p) => new Engine({ rangeWorkers: p }));
  try {
    assert.equal(db2.blockList().length, 2);
    const check = async (when: string): Promise<void> => {
      for (const q of QUERIES) {
        const [start, end] = [5 * 60_000, 2 * HOUR - 1];
        const want = await single.rangeQuery(db2, q, start, end, 15_000);
        for (const [i, e] of split.entries()) {
          // The first run learns the selector's size; later ones split it.
          for (let run = 0; run < 2; run++) {
            const jobs = pools[i].jobs;
            const got = await e.rangeQuery(db2, q, start, end, 15_000);
            assert.equal(bits(got), bits(want), `${when}: ${q} (${i + 1} workers, run ${run})`);
            assert.deepEqual(got.warnings, want.warnings, q);
            assert.deepEqual(got.infos, want.infos, q);
            if (run === 1) assert.ok(pools[i].jobs > jobs, `${q} was not split`);
          }
        }
      }
    };
    await check('before the deletion');
    await db2.deleteSeries([new Matcher('=', 'pod', 'pod-1')], 30 * 60_000, 90 * 60_000);
    await check('after the deletion');
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await db2.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker that sees other series than the main thread is not trusted: the query is computed again on one thread', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'range-workers-'));
  writeBlocks(dir, history());
  const db = await openDB(dir, { disableAutoCompaction: true, retentionMs: 0, logger: () => {} });
  const opener = new URL('../src/tsdb/block-querier.ts', import.meta.url).href;
  // The worker is handed the first block only, where the pod-5 series have no samples.
  const first = db.blockList()[0].dir;
  const pool = new RangeWorkers({ openerUrl: opener, source: () => [first], size: 1, minWork: 0 });
  const single = new Engine();
  const split = new Engine({ rangeWorkers: pool });
  try {
    // Only the series set is checked (a source must hold the same samples): these queries
    // read requests_total alone, whose pod-5 series the worker does not see.
    for (const q of QUERIES.filter((x) => !/latency|open_connections/.test(x))) {
      const want = await single.rangeQuery(db, q, 5 * 60_000, 2 * HOUR - 1, 15_000);
      for (let run = 0; run < 2; run++) {
        const jobs = pool.jobs;
        const got = await split.rangeQuery(db, q, 5 * 60_000, 2 * HOUR - 1, 15_000);
        assert.equal(bits(got), bits(want), `${q} (run ${run})`);
        if (run === 1) assert.ok(pool.jobs > jobs, `${q} was not sent to the worker`);
      }
    }
  } finally {
    await pool.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
