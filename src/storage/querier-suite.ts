/**
 * The querier conformance suite: one fixed data set, loaded through whatever the
 * factory does (a head, blocks, a merge of both), and the behaviour every
 * {@link Queryable} must show: selects with all four matcher kinds, matchers that match
 * the empty string, time clipping, seeks, bit-exact values, label names and values.
 * Run it from a test file: `runQuerierSuite('head', async (data) => …)`.
 * @module
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareLabels, Labels } from '../model/labels.js';
import { Matcher, type MatchType } from '../model/matcher.js';
import { STALE_NAN } from '../model/stale.js';
import { ValueType, type Queryable, type SeriesSet } from './interface.js';

/**
 * One series of the data set: labels, timestamps (ms, increasing) and values. Values sit
 * in a Float64Array because V8 quiets NaNs stored in plain arrays of numbers, which would
 * turn the stale marker into an ordinary NaN: load them with `vs[i]`, never via `[...vs]`.
 */
export interface SuiteSeries {
  labels: Record<string, string>;
  ts: readonly number[];
  vs: Float64Array;
}

function series(
  labels: Record<string, string>,
  samples: [number, number][],
  staleAt = -1,
): SuiteSeries {
  const vs = new Float64Array(samples.length);
  samples.forEach(([, v], i) => (vs[i] = v));
  if (staleAt >= 0) vs[staleAt] = STALE_NAN;
  return { labels, ts: samples.map(([t]) => t), vs };
}

const STEP = 15_000;
const N = 40;
/** Timestamps 0, 15 s, … 585 s. */
const T_END = (N - 1) * STEP;

function counter(start: number, inc: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < N; i++) out.push([i * STEP, start + i * inc]);
  return out;
}

/** The fixed data set: Linkerd-shaped series plus edge cases. */
export const SUITE_DATA: readonly SuiteSeries[] = [
  series(
    {
      __name__: 'request_total',
      direction: 'inbound',
      namespace: 'emojivoto',
      pod: 'web-1',
      status_code: '200',
    },
    counter(0, 10),
  ),
  series(
    {
      __name__: 'request_total',
      direction: 'outbound',
      namespace: 'emojivoto',
      pod: 'web-1',
      status_code: '500',
    },
    counter(5, 1),
  ),
  series(
    { __name__: 'request_total', direction: 'inbound', namespace: 'emojivoto', pod: 'voting-1' },
    counter(100, 2.5),
  ),
  // Only in the first third of the range.
  series(
    {
      __name__: 'request_total',
      direction: 'inbound',
      namespace: 'linkerd',
      pod: 'destination-0',
      status_code: '200',
    },
    counter(0, 1).slice(0, 13),
  ),
  series(
    {
      __name__: 'response_latency_ms_bucket',
      direction: 'inbound',
      le: '10',
      namespace: 'emojivoto',
      pod: 'web-1',
    },
    counter(0, 3),
  ),
  series(
    {
      __name__: 'response_latency_ms_bucket',
      direction: 'inbound',
      le: '+Inf',
      namespace: 'emojivoto',
      pod: 'web-1',
    },
    counter(0, 4),
  ),
  // A gauge with -0, NaN, ±Inf, then a stale marker, at irregular timestamps.
  series(
    { __name__: 'tcp_open_connections', namespace: 'emojivoto', pod: 'web-1' },
    [
      [1_000, 3],
      [14_000, -0],
      [29_999, NaN],
      [45_000, Infinity],
      [61_234, -Infinity],
      [75_000, 7],
      [90_000, 0],
    ],
    6,
  ),
  // Only in the last third of the range.
  series(
    { __name__: 'process_start_time_seconds', instance: '10.0.0.1:4191', job: 'linkerd-proxy' },
    counter(1.7e9, 0).slice(27),
  ),
];

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
function bits(v: number): string {
  F64[0] = v;
  return U32[1].toString(16).padStart(8, '0') + U32[0].toString(16).padStart(8, '0');
}

/** A matcher from `name op "value"` text, e.g. `pod=~"web-.*"`. */
export function parseMatcher(s: string): Matcher {
  const m = /^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"(.*)"$/.exec(s);
  if (m === null) throw new Error(`bad matcher ${s}`);
  return new Matcher(m[2] as MatchType, m[1], m[3]);
}

interface Got {
  labels: string;
  samples: [number, string][];
}

/** Reads a whole series set: labels as text, samples with value bits. */
function drain(ss: SeriesSet): Got[] {
  const out: Got[] = [];
  while (ss.next()) {
    const s = ss.at();
    const it = s.iterator();
    const samples: [number, string][] = [];
    while (it.next() === ValueType.Float) samples.push([it.atT(), bits(it.atV())]);
    assert.equal(it.err(), null);
    out.push({ labels: s.labels.toString(), samples });
  }
  assert.equal(ss.err(), null);
  return out;
}

/** What a select must return, computed from the data set by brute force. */
function expected(ms: readonly Matcher[], mint: number, maxt: number): Got[] {
  const rows = SUITE_DATA.map((d) => ({ ls: Labels.from(d.labels), d }))
    .filter(({ ls }) => ms.every((m) => m.matches(ls.get(m.name))))
    .map(({ ls, d }) => {
      const samples: [number, string][] = [];
      for (let i = 0; i < d.ts.length; i++)
        if (d.ts[i] >= mint && d.ts[i] <= maxt) samples.push([d.ts[i], bits(d.vs[i])]);
      return { ls, samples };
    })
    .filter((r) => r.samples.length > 0);
  rows.sort((a, b) => compareLabels(a.ls, b.ls));
  return rows.map((r) => ({ labels: r.ls.toString(), samples: r.samples }));
}

/**
 * Registers the conformance tests for one implementation. `makeQueryable` receives the
 * data set and returns a Queryable holding exactly that data.
 */
export function runQuerierSuite(
  name: string,
  makeQueryable: (data: readonly SuiteSeries[]) => Promise<Queryable>,
): void {
  test(`querier conformance: ${name}`, async (t) => {
    const q = await makeQueryable(SUITE_DATA);

    await t.test('selects by metric name, sorted, every sample bit-exact', async () => {
      const qr = await q.querier(-Infinity, Infinity);
      const got = drain(qr.select(true, null, [parseMatcher('__name__="request_total"')]));
      assert.deepEqual(
        got,
        expected([parseMatcher('__name__="request_total"')], -Infinity, Infinity),
      );
      assert.equal(got.length, 4);
      assert.equal(
        got[0].labels,
        '{__name__="request_total", direction="inbound", namespace="emojivoto", pod="voting-1"}',
      );
      assert.equal(got[0].samples.length, N);
      qr.close();
    });

    const matcherCases: string[][] = [
      ['__name__="request_total"', 'pod="web-1"'],
      ['__name__="request_total"', 'status_code!="200"'],
      ['__name__=~"request_total|tcp_open_connections"'],
      ['__name__=~"re.*"', 'le=~"1.*"'],
      ['__name__="request_total"', 'pod!~"web-.*"'],
      ['namespace=~"emoji.+"', '__name__!~"response_.*"'],
      ['__name__="request_total"', 'status_code=""'],
      ['__name__="request_total"', 'status_code!=""'],
      ['__name__="request_total"', 'status_code=~""'],
      ['__name__="request_total"', 'status_code=~"5..|"'],
      ['__name__="request_total"', 'status_code!~"2.."'],
      ['__name__="request_total"', 'missing=""'],
      ['__name__="request_total"', 'missing!=""'],
      ['__name__="request_total"', 'missing=~".*"'],
      ['job=~".+"'],
      ['pod=~".*"', 'pod!~".*"'],
      ['__name__="nonexistent"'],
      ['pod="web-1"', 'pod=~"web-.*"', 'direction!="outbound"', 'le!~"\\\\+Inf"'],
    ];
    for (const mc of matcherCases) {
      await t.test(`select {${mc.join(', ')}}`, async () => {
        const ms = mc.map(parseMatcher);
        const qr = await q.querier(-Infinity, Infinity);
        assert.deepEqual(drain(qr.select(true, null, ms)), expected(ms, -Infinity, Infinity));
        qr.close();
      });
    }

    const windows: [string, number, number][] = [
      ['middle third', 13 * STEP, 26 * STEP],
      ['one timestamp', 20 * STEP, 20 * STEP],
      ['between two samples', 20 * STEP + 1, 21 * STEP - 1],
      ['before all data', -100_000, -1],
      ['after all data', T_END + 1, T_END + 100_000],
      ['start only', 0, 0],
      ['the gauge edge cases', 14_000, 61_234],
    ];
    for (const [wname, mint, maxt] of windows) {
      await t.test(`clips to [mint, maxt]: ${wname}`, async () => {
        const ms = [parseMatcher('__name__=~".+"')];
        const qr = await q.querier(mint, maxt);
        assert.deepEqual(drain(qr.select(true, null, ms)), expected(ms, mint, maxt));
        qr.close();
      });
    }

    await t.test('unsorted select returns the same series', async () => {
      const ms = [parseMatcher('namespace="emojivoto"')];
      const qr = await q.querier(-Infinity, Infinity);
      const got = drain(qr.select(false, null, ms)).sort((a, b) => (a.labels < b.labels ? -1 : 1));
      const want = expected(ms, -Infinity, Infinity).sort((a, b) => (a.labels < b.labels ? -1 : 1));
      assert.deepEqual(got, want);
      qr.close();
    });

    await t.test('stale marker, -0 and NaN keep their bits', async () => {
      const qr = await q.querier(-Infinity, Infinity);
      const got = drain(qr.select(true, null, [parseMatcher('__name__="tcp_open_connections"')]));
      assert.equal(got.length, 1);
      const vals = got[0].samples.map(([, b]) => b);
      assert.equal(vals[1], '8000000000000000');
      assert.equal(vals[6], '7ff0000000000002');
      assert.equal(vals[2].slice(0, 3), '7ff');
      assert.notEqual(vals[2], '7ff0000000000002');
      qr.close();
    });

    await t.test('seek', async () => {
      const qr = await q.querier(5 * STEP, 30 * STEP);
      const ss = qr.select(true, null, [
        parseMatcher('__name__="request_total"'),
        parseMatcher('pod="web-1"'),
        parseMatcher('direction="inbound"'),
      ]);
      assert.ok(ss.next());
      const it = ss.at().iterator();
      const steps: [op: 'next' | number, want: ValueType, t?: number][] = [
        [0, ValueType.Float, 5 * STEP], // before mint: lands on the first sample in range
        [10 * STEP + 1, ValueType.Float, 11 * STEP],
        [3 * STEP, ValueType.Float, 11 * STEP], // never moves back
        ['next', ValueType.Float, 12 * STEP],
        [30 * STEP, ValueType.Float, 30 * STEP],
        ['next', ValueType.None], // maxt clips
        [0, ValueType.None],
      ];
      for (const [op, want, wantT] of steps) {
        const r = op === 'next' ? it.next() : it.seek(op);
        assert.equal(r, want, `${op}`);
        if (wantT !== undefined) assert.equal(it.atT(), wantT, `${op}`);
      }
      assert.equal(it.atV(), 0 + 30 * 10);
      assert.equal(ss.next(), false);
      qr.close();
    });

    await t.test('seek past the end of a series', async () => {
      const qr = await q.querier(-Infinity, Infinity);
      const ss = qr.select(true, null, [parseMatcher('__name__="tcp_open_connections"')]);
      assert.ok(ss.next());
      const it = ss.at().iterator();
      assert.equal(it.seek(90_001), ValueType.None);
      assert.equal(it.next(), ValueType.None);
      qr.close();
    });

    await t.test('label names and values', async () => {
      const qr = await q.querier(-Infinity, Infinity);
      const all = SUITE_DATA.map((d) => d.labels);
      const names = [...new Set(all.flatMap((l) => Object.keys(l)))].sort();
      assert.deepEqual(qr.labelNames(), names);
      assert.deepEqual(qr.labelValues('pod'), ['destination-0', 'voting-1', 'web-1']);
      assert.deepEqual(qr.labelValues('__name__'), [
        'process_start_time_seconds',
        'request_total',
        'response_latency_ms_bucket',
        'tcp_open_connections',
      ]);
      assert.deepEqual(qr.labelValues('missing'), []);
      assert.deepEqual(qr.labelValues('status_code', [parseMatcher('pod="web-1"')]), [
        '200',
        '500',
      ]);
      assert.deepEqual(qr.labelValues('pod', [parseMatcher('namespace="linkerd"')]), [
        'destination-0',
      ]);
      assert.deepEqual(qr.labelValues('le', [parseMatcher('__name__="request_total"')]), []);
      assert.deepEqual(qr.labelNames([parseMatcher('job="linkerd-proxy"')]), [
        '__name__',
        'instance',
        'job',
      ]);
      assert.deepEqual(qr.labelNames([parseMatcher('job="nope"')]), []);
      qr.close();
    });
  });
}
