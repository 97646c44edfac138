import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Labels } from '../model/labels.js';
import { QueryError } from '../model/errors.js';
import { STALE_NAN } from '../model/stale.js';
import { Engine } from './engine.js';
import { MemStorage } from './promqltest/memstore.js';

function store(): MemStorage {
  const s = new MemStorage();
  // A counter growing 60 per minute, sampled every 15s for 20 minutes.
  for (let t = 0; t <= 20 * 60_000; t += 15_000) {
    s.append(Labels.from({ __name__: 'req_total', job: 'a', instance: '1' }), t, t / 1000);
    s.append(Labels.from({ __name__: 'req_total', job: 'a', instance: '2' }), t, (2 * t) / 1000);
    s.append(Labels.from({ __name__: 'req_total', job: 'b', instance: '1' }), t, (3 * t) / 1000);
  }
  s.append(Labels.from({ __name__: 'gauge', job: 'a' }), 0, 1);
  s.append(Labels.from({ __name__: 'gauge', job: 'a' }), 60_000, STALE_NAN);
  return s;
}

const engine = new Engine();

test('instant queries return typed values', async () => {
  const s = store();
  const cases: { q: string; t: number; want: unknown }[] = [
    { q: '1 + 2 * 3', t: 0, want: { type: 'scalar', t: 0, v: 7 } },
    { q: '"x"', t: 0, want: { type: 'string', t: 0, v: 'x' } },
    {
      q: 'sum by (job) (rate(req_total[5m]))',
      t: 600_000,
      want: [
        ['{job="a"}', 3],
        ['{job="b"}', 3],
      ],
    },
    {
      q: 'req_total{instance="2"} / ignoring(instance) group_left sum by (job) (req_total)',
      t: 600_000,
      want: [['{instance="2", job="a"}', Number((2 / 3).toPrecision(12))]],
    },
    { q: 'count(req_total) > bool 2', t: 60_000, want: [['{}', 1]] },
    {
      q: 'topk(1, req_total)',
      t: 60_000,
      want: [['{__name__="req_total", instance="1", job="b"}', 180]],
    },
    { q: 'gauge', t: 30_000, want: [['{__name__="gauge", job="a"}', 1]] },
    { q: 'gauge', t: 90_000, want: [] }, // the stale marker at 60s ends the series
    {
      // instance 1 becomes the le="1" bucket (60), instance 2 the +Inf bucket (120).
      q: 'histogram_quantile(0.5, label_replace(label_replace(label_replace(req_total{job="a"}, "le", "1", "instance", "1"), "le", "+Inf", "instance", "2"), "instance", "", "", ""))',
      t: 60_000,
      want: [['{job="a"}', 1]],
    },
  ];
  for (const c of cases) {
    const r = await engine.instantQuery(s, c.q, c.t);
    if (Array.isArray(c.want)) {
      assert.equal(r.value.type, 'vector', c.q);
      if (r.value.type !== 'vector') continue;
      const got = r.value.samples
        .map((x) => [x.metric.toString(), Number(x.v.toPrecision(12))])
        .sort();
      assert.deepEqual(got, c.want, c.q);
    } else {
      assert.deepEqual(r.value, c.want, c.q);
    }
  }
});

test('range queries evaluate every step with left-open windows', async () => {
  const s = store();
  const r = await engine.rangeQuery(s, 'sum(req_total)', 0, 60_000, 30_000);
  assert.equal(r.value.type, 'matrix');
  if (r.value.type !== 'matrix') return;
  assert.equal(r.value.series.length, 1);
  assert.deepEqual(Array.from(r.value.series[0].ts), [0, 30_000, 60_000]);
  assert.deepEqual(Array.from(r.value.series[0].vs), [0, 180, 360]);
  // A sample exactly 5m old is outside the lookback window (Prometheus 3).
  const old = await engine.instantQuery(s, 'gauge offset -4m', 0);
  assert.equal(old.value.type === 'vector' && old.value.samples.length, 0);
});

test('annotations are listed, not thrown', async () => {
  const s = store();
  const r = await engine.instantQuery(s, 'rate(gauge[5m])', 60_000);
  assert.deepEqual(r.warnings, []);
  const i = await engine.instantQuery(s, 'quantile(2, req_total)', 60_000);
  assert.deepEqual(i.warnings, [
    'PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)',
  ]);
});

test('failures are QueryErrors with the API error type', async () => {
  const s = store();
  const cases: { run: () => Promise<unknown>; type: string; msg: RegExp }[] = [
    { run: () => engine.instantQuery(s, 'sum(', 0), type: 'bad_data', msg: /^1:5: parse error/ },
    {
      run: () => engine.rangeQuery(s, 'req_total', 0, 11_001 * 1000, 1000),
      type: 'bad_data',
      msg: /exceeded maximum resolution of 11,000 points per timeseries/,
    },
    {
      run: () => engine.rangeQuery(s, 'req_total[5m]', 0, 60_000, 1000),
      type: 'bad_data',
      msg: /invalid expression type "range vector"/,
    },
    {
      run: () => new Engine({ maxSamples: 10 }).instantQuery(s, 'req_total[5m]', 600_000),
      type: 'execution',
      msg: /^query processing would load too many samples into memory in query execution$/,
    },
    {
      run: () => engine.instantQuery(s, 'req_total + on() req_total', 60_000),
      type: 'execution',
      msg: /many-to-many matching not allowed/,
    },
    {
      run: () => new Engine({ timeoutMs: -1 }).rangeQuery(s, 'req_total', 0, 600_000, 1000),
      type: 'timeout',
      msg: /timed out/,
    },
  ];
  for (const c of cases) {
    await assert.rejects(
      c.run,
      (e: unknown) => e instanceof QueryError && e.type === c.type && c.msg.test(e.message),
      String(c.msg),
    );
  }
});

test('range-query fast paths agree with the general evaluation', async () => {
  const s = store();
  // Gaps, a counter reset and a stale marker exercise the window edges.
  for (let t = 0; t <= 20 * 60_000; t += 45_000) {
    if (t === 270_000) continue;
    const v = t < 600_000 ? t / 1000 : t / 1000 - 500;
    s.append(Labels.from({ __name__: 'req_total', job: 'c', instance: '1' }), t + 7_000, v);
  }
  s.append(Labels.from({ __name__: 'req_total', job: 'c', instance: '1' }), 1_300_000, STALE_NAN);
  const pairs: [string, string][] = [
    ['sum by (job) (rate(req_total[2m]))', 'sum by (job) (rate(req_total[2m]) * 1)'],
    [
      'max without (instance) (increase(req_total[5m]))',
      'max without (instance) (increase(req_total[5m]) * 1)',
    ],
    ['count(irate(req_total[1m]))', 'count(irate(req_total[1m]) * 1)'],
    ['min(changes(req_total[3m]))', 'min(changes(req_total[3m]) * 1)'],
    ['rate(req_total[90s])', 'rate(req_total[90s]) * 1'],
  ];
  for (const [fast, slow] of pairs) {
    const a = await engine.rangeQuery(s, fast, 0, 1_320_000, 20_000);
    const b = await engine.rangeQuery(s, slow, 0, 1_320_000, 20_000);
    assert.ok(a.value.type === 'matrix' && b.value.type === 'matrix');
    if (a.value.type !== 'matrix' || b.value.type !== 'matrix') continue;
    const norm = (m: typeof a.value & { type: 'matrix' }) =>
      m.series.map((x) => [
        x.metric.without('__name__').toString(),
        Array.from(x.ts),
        Array.from(x.vs),
      ]);
    assert.deepEqual(norm(a.value), norm(b.value), fast);
  }
});

/**
 * Counters with resets, jitter, gaps and stale markers, and classic histogram buckets
 * (one with a malformed `le`, one family not monotonic), for the rollup tests below.
 */
function rollupStore(): MemStorage {
  const s = new MemStorage();
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const LES = ['0.1', '0.5', '1', '+Inf'];
  for (const inst of ['1', '2', '3']) {
    let c = 0;
    const buckets = LES.map(() => 0);
    for (let t = 0; t <= 30 * 60_000; t += 10_000) {
      const at = t + Math.floor(rnd() * 3000);
      if (inst === '2' && t > 8 * 60_000 && t < 11 * 60_000) continue; // a gap
      c += Math.floor(rnd() * 50);
      if (inst === '3' && t === 15 * 60_000) c = 3; // a reset
      s.append(
        Labels.from({ __name__: 'http_total', instance: inst, code: String(200 + (t % 3)) }),
        at,
        c,
      );
      for (let b = 0; b < LES.length; b++) {
        buckets[b] += Math.floor(rnd() * 10) * (b + 1);
        // instance 3's 0.5 bucket runs ahead of le=1: not monotonic.
        const v = inst === '3' && b === 1 ? buckets[b] * 3 : buckets[b];
        s.append(Labels.from({ __name__: 'lat_bucket', instance: inst, le: LES[b] }), at, v);
      }
      if (inst === '1')
        s.append(Labels.from({ __name__: 'lat_bucket', instance: inst, le: 'x' }), at, 1);
      // A gauge that instance 2 marks stale at 12m and writes again from 14m.
      const up = Labels.from({ __name__: 'up', instance: inst });
      if (inst !== '2' || t < 12 * 60_000 || t >= 14 * 60_000) s.append(up, at, at / 1000);
      else if (t === 12 * 60_000) s.append(up, at, STALE_NAN);
    }
    if (inst === '1')
      s.append(
        Labels.from({ __name__: 'http_total', instance: inst, code: '500' }),
        20 * 60_000,
        STALE_NAN,
      );
  }
  return s;
}

test('range queries computed series-at-a-time equal the same expression evaluated step by step', async () => {
  const s = rollupStore();
  const queries = [
    'rate(http_total[1m])',
    'increase(http_total[2m] offset 1m)',
    'irate(http_total[1m])',
    'idelta(http_total[45s] offset 30s)',
    'sum by (code) (irate(http_total[30s]))',
    'delta(http_total[90s])',
    'sum by (instance) (rate(http_total[1m]))',
    'count(increase(http_total[1m]))',
    'max without (code) (irate(http_total[1m]))',
    'min(changes(http_total[5m]))',
    'group by (code) (resets(http_total[3m]))',
    'sum(max_over_time(http_total[1m])) / sum(count_over_time(http_total[1m]))',
    'predict_linear(http_total[5m], 60)',
    'histogram_quantile(0.9, sum by (le) (rate(lat_bucket[1m])))',
    'histogram_quantile(0.5, sum by (le, instance) (rate(lat_bucket[2m])))',
    'histogram_quantile(0.99, rate(lat_bucket[1m]))',
    'histogram_quantile(1.5, rate(lat_bucket[1m]))',
    'histogram_quantile(0.5, last_over_time(lat_bucket[1m]))',
    'sum(up)',
    'count by (instance) (up offset 2m)',
    'max without (code) (http_total)',
    'group(http_total)',
    'histogram_quantile(0.9, sum by (le) (lat_bucket))',
    // Binary operators over whole rows (rows.ts), and shapes that fall back to steps.
    'sum by (instance) (rate(http_total[1m])) / sum by (instance) (increase(http_total[2m]))',
    'sum by (code) (rate(http_total[1m])) * 100',
    '100 - (sum(up) / 10)',
    'sum by (instance) (up) > bool 900',
    'sum by (instance) (up) >= 1000',
    '1000 < sum by (instance) (up)',
    'max by (instance) (up) - on (instance) min by (instance) (http_total)',
    'sum by (instance, code) (rate(http_total[1m])) / ignoring (code) group_left sum by (instance) (rate(http_total[1m]))',
    'sum by (instance) (up) - sum by (instance) (up offset 3m) and sum by (instance) (up)',
  ];
  const start = 60_000;
  const end = 29 * 60_000;
  const step = 37_000;
  const annotated = { warnings: 0, infos: 0 };
  for (const q of queries) {
    const range = await engine.rangeQuery(s, q, start, end, step);
    assert.equal(range.value.type, 'matrix', q);
    if (range.value.type !== 'matrix') continue;
    const byTime = new Map<number, Map<string, number>>();
    for (const series of range.value.series) {
      for (let i = 0; i < series.ts.length; i++) {
        let m = byTime.get(series.ts[i]);
        if (!m) byTime.set(series.ts[i], (m = new Map()));
        m.set(series.metric.toString(), series.vs[i]);
      }
    }
    const warnings = new Set<string>();
    const infos = new Set<string>();
    let points = 0;
    for (let t = start; t <= end; t += step) {
      const inst = await engine.instantQuery(s, q, t);
      for (const w of inst.warnings) warnings.add(w);
      for (const w of inst.infos) infos.add(w);
      assert.equal(inst.value.type, 'vector', q);
      if (inst.value.type !== 'vector') continue;
      const got = byTime.get(t) ?? new Map<string, number>();
      assert.equal(got.size, inst.value.samples.length, `${q} at ${t}: series`);
      for (const smp of inst.value.samples) {
        const v = got.get(smp.metric.toString());
        assert.ok(v !== undefined, `${q} at ${t}: ${smp.metric.toString()} missing`);
        if (Number.isNaN(smp.v)) assert.ok(Number.isNaN(v), `${q} at ${t}`);
        else
          assert.ok(
            v === smp.v || Math.abs(v - smp.v) <= 1e-12 * Math.abs(smp.v),
            `${q} at ${t}: ${v} vs ${smp.v}`,
          );
        points++;
      }
    }
    assert.ok(points > 0, `${q}: no points`);
    assert.deepEqual([...range.warnings].sort(), [...warnings].sort(), `${q}: warnings`);
    assert.deepEqual([...range.infos].sort(), [...infos].sort(), `${q}: infos`);
    annotated.warnings += warnings.size;
    annotated.infos += infos.size;
  }
  // The malformed `le` and the non-monotonic buckets were met on both paths.
  assert.ok(annotated.warnings > 0 && annotated.infos > 0, JSON.stringify(annotated));
});
