import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../model/labels.js';
import { Engine } from './engine.js';
import type { RangeWindow } from './functions.js';
import { MemStorage } from './promqltest/memstore.js';
import {
  extrapolatedRateST,
  instantRateST,
  isStartTimestampReset,
  resetsST,
  startTimeOverlaps,
} from './start-timestamps.js';

const M = 60_000;

test('a start timestamp signals a reset as Prometheus reads it', () => {
  const f = (prevST: number, prevT: number, currST: number, currT: number, want: boolean): void =>
    assert.equal(
      isStartTimestampReset(prevST, prevT, currST, currT),
      want,
      `prevST=${prevST} prevT=${prevT} currST=${currST} currT=${currT}`,
    );
  f(0, 1 * M, 0, 2 * M, false); // no ST
  f(0, 1 * M, 1.5 * M, 2 * M, true); // restarted between the samples
  f(0.5 * M, 1 * M, 0.5 * M, 2 * M, false); // same cumulative count
  f(0.5 * M, 1 * M, 0.9 * M, 2 * M, false); // ST before the previous sample: no reset
  f(0, 1 * M, 1 * M, 2 * M, false); // cumulative with unknown start (OTel)
  f(1 * M, 1 * M, 1 * M, 2 * M, false); // previous ST = T: unknown start as well
  f(3 * M, 1 * M, 1 * M, 2 * M, false); // invalid previous ST (after its sample)
  f(0.5 * M, 1 * M, 1 * M, 2 * M, true); // delta: ST = previous T after a known ST
  f(0.5 * M, 1 * M, 2 * M, 2 * M, false); // ST = T: unknown
  f(0.5 * M, 1 * M, 2 * M + 1, 2 * M, false); // ST after T: invalid
});

test('an overlapping start timestamp is neither a delta nor the same count', () => {
  const f = (prevST: number, prevT: number, currST: number, want: boolean): void =>
    assert.equal(startTimeOverlaps(prevST, prevT, currST), want);
  f(1 * M, 2 * M, 2 * M, false); // delta
  f(1.5 * M, 2 * M, 1.5 * M, false); // cumulative
  f(0, 2 * M, 0, false); // none
  f(0, 2 * M, 1 * M, true);
  f(0.5 * M, 2 * M, 1 * M, true);
});

/** A window `(end - range, end]` over samples `[t, v, st]` (times in minutes, st absolute ms). */
function win(
  points: [number, number, number][],
  end: number,
  range = 5,
): [RangeWindow, Float64Array, Float64Array, Float64Array] {
  const ts = Float64Array.from(points, (p) => p[0] * M);
  const vs = Float64Array.from(points, (p) => p[1]);
  const st = Float64Array.from(points, (p) => p[2]);
  const w: RangeWindow = {
    start: (end - range) * M,
    end: end * M,
    rangeMs: range * M,
    evalT: end * M,
    st,
    stOverlap: false,
  };
  return [w, ts, vs, st];
}

test('increase and rate use start timestamps for resets and as a zero point', () => {
  const cases: {
    name: string;
    points: [number, number, number][];
    end: number;
    range?: number;
    want: number | null;
  }[] = [
    // Resets before and between the samples; the first ST (1m) is inside (0, 5m].
    {
      name: 'resets and zero point',
      points: [
        [2, 5, 1 * M],
        [3, 5, 3 * M - 1000],
        [4, 2, 0],
      ],
      end: 5,
      want: 16,
    },
    // A delta series with ST = T - 59.999s: every sample a reset, the first ST inside the window.
    {
      name: 'delta (GCP style)',
      points: [6, 7, 8, 9, 10].map((t) => [t, 60, t * M - 59_999] as [number, number, number]),
      end: 10,
      want: 300,
    },
    // One sample whose ST is inside the window: a zero at the ST, no extrapolation.
    { name: 'single sample, ST inside', points: [[4, 3, 1.5 * M]], end: 6, want: 3 },
    { name: 'single sample, ST outside', points: [[4, 3, 1 * M]], end: 6, want: null },
    { name: 'single sample, ST = T', points: [[4, 3, 4 * M]], end: 6, want: null },
    // Without any ST the plain extrapolation applies (1..5 over 4 minutes, extrapolated to 5).
    {
      name: 'no ST',
      points: [2, 3, 4, 5, 6].map((t, i) => [t, i + 1, 0] as [number, number, number]),
      end: 6,
      want: 5,
    },
  ];
  for (const c of cases) {
    const [w, ts, vs, st] = win(c.points, c.end, c.range);
    const got = extrapolatedRateST(ts, vs, st, 0, ts.length, w, false);
    if (c.want === null) assert.equal(got, null, c.name);
    else {
      assert.ok(
        got !== null && Math.abs(got - c.want) < 1e-9,
        `${c.name}: got ${got}, want ${c.want}`,
      );
      const rate = extrapolatedRateST(ts, vs, st, 0, ts.length, w, true)!;
      assert.ok(Math.abs(rate - c.want / (w.rangeMs / 1000)) < 1e-12, `${c.name}: rate ${rate}`);
    }
  }
});

test('rate flags a start timestamp that overlaps the previous sample', () => {
  const [w, ts, vs, st] = win(
    [
      [2, 60, 0],
      [3, 120, 1 * M],
      [4, 180, 2 * M],
    ],
    4,
    3,
  );
  assert.equal(extrapolatedRateST(ts, vs, st, 0, 3, w, true), 1);
  assert.equal(w.stOverlap, true);
  const [w2, ts2, vs2, st2] = win(
    [
      [2, 60, 1.5 * M],
      [3, 120, 1.5 * M],
      [4, 180, 1.5 * M],
    ],
    4,
    3,
  );
  extrapolatedRateST(ts2, vs2, st2, 0, 3, w2, true);
  assert.equal(w2.stOverlap, false);
});

test('irate and resets count start timestamp resets', () => {
  // 300 at 7m, then 360 at 8m whose count started just after 7m.
  const [, ts, vs, st] = win(
    [
      [6, 240, 4 * M],
      [7, 300, 4 * M],
      [8, 360, 7 * M + 1],
    ],
    8,
  );
  assert.equal(instantRateST(ts, vs, st, 0, 3), 6);
  assert.equal(instantRateST(ts, vs, st, 0, 2), 1);
  assert.equal(resetsST(ts, vs, st, 0, 3), 1);
  vs[1] = 100; // a decrease as well
  assert.equal(resetsST(ts, vs, st, 0, 3), 2);
});

test('the engine reads start timestamps in instant and range queries, and subqueries drop them', async () => {
  const s = new MemStorage();
  const delta = Labels.from({ __name__: 'd_total', kind: 'delta' });
  const plain = Labels.from({ __name__: 'd_total', kind: 'plain' });
  for (let t = 2 * M; t <= 16 * M; t += M) {
    s.append(delta, t, 60, t - M); // each sample counts the minute before it
    s.append(plain, t, 60);
  }
  const engine = new Engine();
  const at = (q: string, t: number) => engine.instantQuery(s, q, t);
  const vec = async (q: string, t: number): Promise<Record<string, number>> => {
    const r = await at(q, t);
    assert.equal(r.value.type, 'vector');
    const out: Record<string, number> = {};
    if (r.value.type === 'vector') for (const x of r.value.samples) out[x.metric.get('kind')] = x.v;
    return out;
  };
  assert.deepEqual(await vec('increase(d_total[5m])', 10 * M), { delta: 300, plain: 0 });
  assert.deepEqual(await vec('irate(d_total[5m])', 10 * M), { delta: 1, plain: 0 });
  assert.deepEqual(await vec('resets(d_total[5m])', 10 * M), { delta: 4, plain: 0 });
  assert.deepEqual(await vec('increase(d_total[5m:1m])', 10 * M), { delta: 0, plain: 0 });
  // A range query (series-at-a-time rollups) gives what the instant queries give.
  for (const q of ['increase(d_total[5m])', 'sum(rate(d_total[5m]))', 'resets(d_total[5m])']) {
    const r = await engine.rangeQuery(s, q, 8 * M, 14 * M, M);
    assert.equal(r.value.type, 'matrix');
    if (r.value.type !== 'matrix') continue;
    for (const series of r.value.series) {
      for (let i = 0; i < series.ts.length; i++) {
        const one = await at(q, series.ts[i]);
        assert.ok(one.value.type === 'vector');
        const want = one.value.samples.find((x) => x.metric.key() === series.metric.key());
        assert.equal(series.vs[i], want?.v, `${q} ${series.metric.toString()} at ${series.ts[i]}`);
      }
    }
  }
});

test('only series with start timestamps hand out iterators with atST', async () => {
  const s = new MemStorage();
  s.append(Labels.from({ __name__: 'a' }), 1000, 1);
  s.append(Labels.from({ __name__: 'b' }), 1000, 1, 500);
  s.append(Labels.from({ __name__: 'b' }), 2000, 2); // no ST: 0
  const q = await s.querier(0, 10_000);
  const set = q.select(true, null, []);
  const seen: Record<string, number[] | null> = {};
  let it;
  while (set.next()) {
    const series = set.at();
    it = series.iterator(it);
    const sts: number[] = [];
    while (it.next() !== 0) if (it.atST) sts.push(it.atST());
    seen[series.labels.get('__name__')] = it.atST ? sts : null;
  }
  assert.deepEqual(seen, { a: null, b: [500, 0] });
});

test('start_timestamp() gives the selected samples’ start timestamps, and nothing for expressions', async () => {
  const s = new MemStorage();
  const a = Labels.from({ __name__: 'series', case: 'a' });
  // Offsets from the sample time, as in the peer file: 1ms, none, 0, -1ms, -30s.
  const pts: [number, number | null][] = [
    [10_000, 1],
    [20_000, null],
    [30_000, 0],
    [40_000, -1],
    [50_000, -30_000],
  ];
  for (const [t, off] of pts) s.append(a, t, t / 1000, off === null ? 0 : t + off);
  s.append(Labels.from({ __name__: 'series', case: 'none' }), 10_000, 1);
  const engine = new Engine();
  const r = await engine.rangeQuery(s, 'start_timestamp(series)', 0, 60_000, 10_000);
  assert.ok(r.value.type === 'matrix');
  const got = r.value.series.map((x) => [x.metric.toString(), Array.from(x.ts), Array.from(x.vs)]);
  assert.deepEqual(got, [
    [
      '{case="a"}',
      [10_000, 20_000, 30_000, 40_000, 50_000, 60_000],
      [10.001, 0, 30, 39.999, 20, 20],
    ],
    ['{case="none"}', [10_000, 20_000, 30_000, 40_000, 50_000, 60_000], [0, 0, 0, 0, 0, 0]],
  ]);
  const e = await engine.instantQuery(s, 'start_timestamp(series * 1)', 30_000);
  assert.deepEqual(e.value, { type: 'vector', samples: [] });
});
