import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../model/labels.js';
import { STALE_NAN } from '../model/stale.js';
import {
  ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP,
  ERR_INVALID_SAMPLE,
  ERR_NOT_FOUND,
  ERR_OUT_OF_BOUNDS,
  ERR_OUT_OF_ORDER_SAMPLE,
} from '../storage/errors.js';
import { ValueType, type Queryable } from '../storage/interface.js';
import { MergeQueryable } from '../storage/merge.js';
import { parseMatcher, runQuerierSuite, type SuiteSeries } from '../storage/querier-suite.js';
import { XORChunk } from './chunkenc/xor.js';
import { Head } from './head.js';
import type { HeadLog, HeadLogSeries } from './head-log.js';
import { computeChunkEndTime, rangeForTimestamp } from './head-series.js';

async function load(head: Head, data: readonly SuiteSeries[]): Promise<void> {
  const app = head.appender();
  for (const d of data) {
    const ls = Labels.from(d.labels);
    let ref = 0;
    for (let i = 0; i < d.ts.length; i++) ref = app.append(ref, ls, d.ts[i], d.vs[i]);
  }
  await app.commit();
}

runQuerierSuite('head', async (data) => {
  const head = new Head();
  await load(head, data);
  return head;
});

runQuerierSuite(
  'merge of two heads (series split, overlapping and duplicated samples)',
  async (data) => {
    const a = new Head();
    const b = new Head();
    // Even series in a, odd in b; the first series is split in time with an overlap, and
    // the last one is fully duplicated in both.
    const da: SuiteSeries[] = [];
    const db: SuiteSeries[] = [];
    data.forEach((d, i) => {
      if (i === 0) {
        da.push({ labels: d.labels, ts: d.ts.slice(0, 25), vs: d.vs.slice(0, 25) });
        db.push({ labels: d.labels, ts: d.ts.slice(20), vs: d.vs.slice(20) });
      } else if (i === data.length - 1) {
        da.push(d);
        db.push(d);
      } else (i % 2 === 0 ? da : db).push(d);
    });
    await load(a, da);
    await load(b, db);
    return new MergeQueryable([a, b]) as Queryable;
  },
);

const L = (o: Record<string, string>) => Labels.from(o);

test('appender rejections', async (t) => {
  const head = new Head();
  const ls = L({ __name__: 'm', a: '1' });
  const app = head.appender();
  const ref = app.append(0, ls, 10_000, 1);
  await app.commit();

  const cases: { name: string; run: () => void; err?: unknown }[] = [
    {
      name: 'out of order',
      run: () => head.appender().append(ref, Labels.EMPTY, 9_999, 1),
      err: ERR_OUT_OF_ORDER_SAMPLE,
    },
    {
      name: 'duplicate timestamp, other value',
      run: () => head.appender().append(ref, Labels.EMPTY, 10_000, 2),
      err: ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP,
    },
    {
      name: 'duplicate timestamp, NaN against a number',
      run: () => head.appender().append(ref, Labels.EMPTY, 10_000, NaN),
      err: ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP,
    },
    {
      name: 'same timestamp and value is accepted',
      run: () => head.appender().append(ref, Labels.EMPTY, 10_000, 1),
    },
    {
      name: 'out of bounds',
      run: () => head.appender().append(0, L({ __name__: 'other' }), 10_000 - head.chunkRange, 1),
      err: ERR_OUT_OF_BOUNDS,
    },
    {
      name: 'empty label set',
      run: () => head.appender().append(0, Labels.EMPTY, 20_000, 1),
      err: ERR_INVALID_SAMPLE,
    },
    {
      name: 'unknown ref without labels',
      run: () => head.appender().append(12345, Labels.EMPTY, 20_000, 1),
      err: ERR_NOT_FOUND,
    },
    {
      name: 'duplicate label names',
      run: () => head.appender().append(0, Labels.fromSortedPairs(['a', '1', 'a', '2']), 20_000, 1),
      err: ERR_INVALID_SAMPLE,
    },
  ];
  for (const tc of cases) {
    await t.test(tc.name, () => {
      if (tc.err === undefined) assert.doesNotThrow(tc.run);
      else assert.throws(tc.run, (e) => e === tc.err);
    });
  }
  await t.test('rejections are counted by reason', () => {
    const m = Object.fromEntries(head.metrics().map((r) => [r.name, r.value]));
    assert.equal(m.prometheus_tsdb_out_of_order_samples_total, 1);
    assert.equal(m.prometheus_tsdb_out_of_bound_samples_total, 1);
    assert.equal(m.meshmetrics_tsdb_head_duplicate_samples_total, 2);
    assert.equal(m.prometheus_tsdb_head_samples_appended_total, 1);
  });
});

async function samplesOf(
  head: Queryable,
  matcher: string,
  mint = -Infinity,
  maxt = Infinity,
): Promise<[number, number][]> {
  const q = await head.querier(mint, maxt);
  const ss = q.select(true, null, [parseMatcher(matcher)]);
  const out: [number, number][] = [];
  while (ss.next()) {
    const it = ss.at().iterator();
    while (it.next() === ValueType.Float) out.push([it.atT(), it.atV()]);
  }
  return out;
}

test('commit, rollback and visibility', async (t) => {
  await t.test('samples are invisible until commit', async () => {
    const head = new Head();
    const app = head.appender();
    app.append(0, L({ __name__: 'm' }), 1000, 1);
    assert.deepEqual(await samplesOf(head, '__name__="m"'), []);
    await app.commit();
    assert.deepEqual(await samplesOf(head, '__name__="m"'), [[1000, 1]]);
  });
  await t.test('rollback discards the batch', async () => {
    const head = new Head();
    const app = head.appender();
    app.append(0, L({ __name__: 'm' }), 1000, 1);
    app.rollback();
    assert.deepEqual(await samplesOf(head, '__name__="m"'), []);
    assert.equal(head.maxTime(), -Infinity);
    assert.throws(() => app.append(0, L({ __name__: 'm' }), 2000, 1));
  });
  await t.test('an appender is single-use', async () => {
    const app = new Head().appender();
    await app.commit();
    await assert.rejects(app.commit());
  });
  await t.test('in-batch disorder is dropped at commit and counted', async () => {
    const head = new Head();
    const app = head.appender();
    const ls = L({ __name__: 'm' });
    app.append(0, ls, 2000, 2);
    app.append(0, ls, 1000, 1);
    await app.commit();
    assert.deepEqual(await samplesOf(head, '__name__="m"'), [[2000, 2]]);
    assert.equal(head.stats.outOfOrder, 1);
  });
  await t.test('a query snapshot does not see later appends', async () => {
    const head = new Head();
    const ls = L({ __name__: 'm' });
    let app = head.appender();
    const ref = app.append(0, ls, 1000, 1);
    await app.commit();
    const q = await head.querier(-Infinity, Infinity);
    const ss = q.select(true, null, [parseMatcher('__name__="m"')]);
    assert.ok(ss.next());
    app = head.appender();
    for (let i = 2; i < 300; i++) app.append(ref, Labels.EMPTY, i * 1000, i);
    await app.commit();
    const it = ss.at().iterator();
    let n = 0;
    while (it.next() === ValueType.Float) n++;
    assert.equal(n, 1);
    assert.equal(it.err(), null);
  });
  await t.test('stale markers are stored bit-exact', async () => {
    const head = new Head();
    const app = head.appender();
    const ref = app.append(0, L({ __name__: 'm' }), 1000, 1);
    app.append(ref, Labels.EMPTY, 2000, STALE_NAN);
    await app.commit();
    const q = await head.querier(-Infinity, Infinity);
    const ss = q.select(true, null, [parseMatcher('__name__="m"')]);
    ss.next();
    const it = ss.at().iterator();
    it.next();
    it.next();
    // Through a typed array: a plain array literal would quiet the NaN.
    const f = new Float64Array(1);
    f[0] = it.atV();
    const u = new Uint32Array(f.buffer);
    assert.deepEqual([u[1], u[0]], [0x7ff00000, 2]);
  });
});

test('chunk cutting', async (t) => {
  await t.test('rangeForTimestamp and computeChunkEndTime follow Prometheus', () => {
    assert.equal(rangeForTimestamp(0, 7_200_000), 7_200_000);
    assert.equal(rangeForTimestamp(7_199_999, 7_200_000), 7_200_000);
    assert.equal(rangeForTimestamp(7_200_000, 7_200_000), 14_400_000);
    // 30 samples at 10 s from 0: the range holds 720, so chunks of 120 → cut at 1_200_000.
    assert.equal(computeChunkEndTime(0, 290_000, 7_200_000), 1_200_000);
    assert.equal(computeChunkEndTime(0, 7_000_000, 7_200_000), 7_200_000);
  });
  await t.test(
    'a 10 s series over 2 h makes chunks of 120 samples aligned to the range',
    async () => {
      const head = new Head();
      const app = head.appender();
      const ls = L({ __name__: 'm' });
      let ref = 0;
      for (let t = 0; t < 2 * 7_200_000; t += 10_000) ref = app.append(ref, ls, t, t / 1000);
      await app.commit();
      const s = head.seriesByRef(ref)!;
      assert.equal(s.numChunks(), 12);
      const cs = head.compactionSeries(0, 7_199_999);
      assert.equal(cs.length, 1);
      const counts = cs[0].chunks.map((c) => new XORChunk(c.bytes).numSamples());
      assert.deepEqual(counts, [120, 120, 120, 120, 120, 120]);
      assert.equal(cs[0].chunks[5].maxt, 7_190_000);
      assert.equal(head.chunkCount(), 12);
    },
  );
  await t.test('a fast series is cut at 240 samples at most', async () => {
    const head = new Head();
    const app = head.appender();
    const ls = L({ __name__: 'm' });
    let ref = 0;
    // 1 s interval for 10 min: the quarter-chunk prediction gives chunks of 120.
    for (let t = 0; t < 600_000; t += 1000) ref = app.append(ref, ls, t, 1);
    await app.commit();
    const cs = head.compactionSeries(-Infinity, Infinity);
    for (const c of cs[0].chunks) assert.ok(new XORChunk(c.bytes).numSamples() <= 240);
    assert.equal(
      cs[0].chunks.reduce((n, c) => n + new XORChunk(c.bytes).numSamples(), 0),
      600,
    );
  });
});

test('truncation', async (t) => {
  const head = new Head({ chunkRangeMs: 3_600_000 });
  const app = head.appender();
  const old = L({ __name__: 'old', pod: 'gone' });
  const live = L({ __name__: 'live', pod: 'here' });
  let r1 = 0;
  let r2 = 0;
  for (let ts = 0; ts < 3_600_000; ts += 15_000) r1 = app.append(r1, old, ts, 1);
  for (let ts = 0; ts < 10_800_000; ts += 15_000) r2 = app.append(r2, live, ts, 2);
  await app.commit();
  assert.equal(head.seriesCount(), 2);
  head.truncate(3_600_000);

  await t.test('drops series wholly before mint, with their postings', async () => {
    assert.equal(head.seriesCount(), 1);
    assert.equal(head.seriesByRef(r1), undefined);
    const q = await head.querier(-Infinity, Infinity);
    assert.deepEqual(q.labelValues('pod'), ['here']);
    assert.deepEqual(q.labelValues('__name__'), ['live']);
  });
  await t.test('drops old chunks of live series', async () => {
    const got = await samplesOf(head, '__name__="live"');
    assert.ok(got[0][0] >= 3_600_000, `first sample at ${got[0][0]}`);
    assert.equal(got[got.length - 1][0], 10_785_000);
    assert.equal(head.minTime(), got[0][0]);
  });
  await t.test('appends before the truncation point are out of bounds', () => {
    assert.throws(
      () => head.appender().append(0, L({ __name__: 'new' }), 3_599_999, 1),
      (e) => e === ERR_OUT_OF_BOUNDS,
    );
  });
  await t.test('metrics count removals', () => {
    const m = Object.fromEntries(head.metrics().map((r) => [r.name, r.value]));
    assert.equal(m.prometheus_tsdb_head_series, 1);
    assert.equal(m.prometheus_tsdb_head_series_removed_total, 1);
    assert.equal(m.prometheus_tsdb_head_series_created_total, 2);
    assert.equal(m.prometheus_tsdb_head_chunks, head.seriesByRef(r2)!.numChunks());
  });
});

class MemLog implements HeadLog {
  series: HeadLogSeries[] = [];
  samples: [number, number, number][] = [];
  commits = 0;
  fail = false;
  logSeries(series: readonly HeadLogSeries[]): void {
    this.series.push(...series);
  }
  logSamples(refs: Uint32Array, ts: Float64Array, vs: Float64Array, n: number): void {
    for (let i = 0; i < n; i++) this.samples.push([refs[i], ts[i], vs[i]]);
  }
  async commit(): Promise<void> {
    await Promise.resolve();
    if (this.fail) throw new Error('disk full');
    this.commits++;
  }
}

test('write-ahead log sink and replay', async (t) => {
  const log = new MemLog();
  const head = new Head({ log });
  const a = L({ __name__: 'a' });
  const b = L({ __name__: 'b' });
  let app = head.appender();
  const ra = app.append(0, a, 1000, 1);
  const rb = app.append(0, b, 1000, 2);
  app.append(ra, Labels.EMPTY, 2000, 3);
  await app.commit();
  app = head.appender();
  app.append(ra, Labels.EMPTY, 3000, 4);
  await app.commit();

  await t.test('series are logged once, before their samples', () => {
    assert.deepEqual(
      log.series.map((s) => [s.ref, s.labels.toString()]),
      [
        [ra, '{__name__="a"}'],
        [rb, '{__name__="b"}'],
      ],
    );
    assert.deepEqual(log.samples, [
      [ra, 1000, 1],
      [rb, 1000, 2],
      [ra, 2000, 3],
      [ra, 3000, 4],
    ]);
    assert.equal(log.commits, 2);
  });
  const committedSamples = log.samples.length;
  await t.test('a failed log commit publishes nothing', async () => {
    log.fail = true;
    const app2 = head.appender();
    app2.append(ra, Labels.EMPTY, 4000, 5);
    await assert.rejects(app2.commit(), /disk full/);
    log.fail = false;
    assert.equal((await samplesOf(head, '__name__="a"')).length, 3);
  });
  await t.test('replaying the log rebuilds the same head', async () => {
    const h2 = new Head();
    for (const s of log.series) h2.replaySeries(s.ref, s.labels);
    // Replay what was durably committed (the failed batch reached the log but not its commit).
    const durable = log.samples.slice(0, committedSamples);
    const refs = durable.map((s) => s[0]);
    const ts = durable.map((s) => s[1]);
    const vs = durable.map((s) => s[2]);
    h2.replaySamples(refs, ts, vs, refs.length);
    assert.deepEqual(await samplesOf(h2, '__name__="a"'), await samplesOf(head, '__name__="a"'));
    assert.deepEqual(await samplesOf(h2, '__name__="b"'), [[1000, 2]]);
    // New series get refs after the replayed ones.
    const app3 = h2.appender();
    const rc = app3.append(0, L({ __name__: 'c' }), 5000, 1);
    assert.ok(rc > Math.max(ra, rb));
    app3.rollback();
  });
  await t.test('a duplicate series record maps onto the existing series', async () => {
    const h3 = new Head();
    h3.replaySeries(1, a);
    h3.replaySeries(7, a);
    h3.replaySamples([1, 7], [1000, 2000], [1, 2], 2);
    assert.deepEqual(await samplesOf(h3, '__name__="a"'), [
      [1000, 1],
      [2000, 2],
    ]);
    assert.equal(h3.seriesCount(), 1);
  });
});

test('series lifecycle across truncation', async (t) => {
  await t.test('a series with uncommitted samples survives truncation', async () => {
    const head = new Head();
    const app = head.appender();
    const ref = app.append(0, L({ __name__: 'pending' }), 1000, 1);
    head.truncate(500);
    assert.notEqual(head.seriesByRef(ref), undefined);
    await app.commit();
    assert.deepEqual(await samplesOf(head, '__name__="pending"'), [[1000, 1]]);
  });
  await t.test('an empty series left by a rollback is collected', () => {
    const head = new Head();
    const app = head.appender();
    const ref = app.append(0, L({ __name__: 'rolled' }), 1000, 1);
    app.rollback();
    head.truncate(0);
    assert.equal(head.seriesByRef(ref), undefined);
    assert.equal(head.seriesCount(), 0);
  });
  await t.test('a collected ref falls back to the labels and gets a new ref', async () => {
    const head = new Head();
    const ls = L({ __name__: 'm', pod: 'p' });
    let app = head.appender();
    const ref = app.append(0, ls, 1000, 1);
    await app.commit();
    head.truncate(2000);
    assert.equal(head.seriesCount(), 0);
    app = head.appender();
    assert.throws(
      () => app.append(ref, Labels.EMPTY, 3000, 1),
      (e) => e === ERR_NOT_FOUND,
    );
    const ref2 = app.append(ref, ls, 3000, 2);
    assert.ok(ref2 > ref);
    await app.commit();
    assert.deepEqual(await samplesOf(head, 'pod="p"'), [[3000, 2]]);
    // The string pool holds only what live series use.
    assert.equal(head.interner.size, 4);
  });
});
