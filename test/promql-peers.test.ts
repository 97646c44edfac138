// Runs Prometheus's own PromQL engine scripts (peer-tests/promql, Apache-2.0) through our
// engine and runner, prints per-file counts and asserts the plain pass rate does not regress.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Labels, compareLabels } from '../src/model/labels.js';
import { Engine } from '../src/promql/engine.js';
import { MemStorage } from '../src/promql/promqltest/memstore.js';
import { runScriptFile } from '../src/promql/promqltest/runner.js';
import type { QueryValue } from '../src/promql/value.js';
import type { Queryable } from '../src/storage/interface.js';
import { Head } from '../src/tsdb/head.js';

const DIR = resolve('../shared/peer-tests/promql');
/** Lowest accepted pass rate of plain evals; raise it as the engine improves. */
const MIN_PLAIN_PASS_RATE = 1;
/** Plain evals that must keep passing (the count when this floor was set). */
const MIN_PLAIN_PASSED = 971;
/** Experimental evals (counted apart) that must keep passing. */
const MIN_EXPERIMENTAL_PASSED = 311;
const SHOW_FAILURES = Number(process.env.PROMQL_SHOW_FAILURES ?? 3);

test('promql peer scripts', async () => {
  const engine = new Engine({
    lookbackDeltaMs: 5 * 60_000,
    maxSamples: 10_000,
    timeoutMs: 100_000,
    defaultEvalIntervalMs: 60_000,
  });
  const files = readdirSync(DIR)
    .filter((f) => f.endsWith('.test'))
    .sort();
  assert.ok(files.length > 0, `no .test files in ${DIR}`);
  let pass = 0,
    fail = 0,
    skip = 0,
    xpass = 0,
    xfail = 0;
  const lines: string[] = [];
  for (const f of files) {
    const r = await runScriptFile(join(DIR, f), engine);
    let p = 0,
      fl = 0,
      s = 0,
      xp = 0,
      xf = 0;
    const shown: string[] = [];
    for (const o of r.outcomes) {
      if (o.cls === 'native-histogram') s++;
      else if (o.cls === 'experimental') {
        if (o.failure === null) xp++;
        else xf++;
      } else if (o.failure === null) p++;
      else {
        fl++;
        if (shown.length < SHOW_FAILURES)
          shown.push(`    line ${o.line}: ${o.text}\n      ${o.failure}`);
      }
    }
    pass += p;
    fail += fl;
    skip += s;
    xpass += xp;
    xfail += xf;
    lines.push(
      `${f}: ${p} passed, ${fl} failed, ${s} skipped (experimental: ${xp} passed, ${xf} failed)`,
    );
    lines.push(...shown);
  }
  const rate = pass / Math.max(1, pass + fail);
  lines.push(
    `TOTAL: ${pass} passed, ${fail} failed, ${skip} skipped (experimental: ${xpass} passed, ${xfail} failed); plain pass rate ${(rate * 100).toFixed(1)}%`,
  );
  console.log(lines.join('\n'));
  assert.ok(pass >= MIN_PLAIN_PASSED, `plain passes fell to ${pass}`);
  assert.ok(xpass >= MIN_EXPERIMENTAL_PASSED, `experimental passes fell to ${xpass}`);
  assert.ok(
    rate >= MIN_PLAIN_PASS_RATE,
    `plain pass rate ${(rate * 100).toFixed(1)}% fell below ${MIN_PLAIN_PASS_RATE * 100}%`,
  );
});

/** Series (sorted by labels) and their points, with values rounded to 12 significant digits. */
function canonical(v: QueryValue): string[] {
  const round = (x: number): string => (Number.isNaN(x) ? 'NaN' : x.toPrecision(12));
  if (v.type === 'vector')
    return [...v.samples]
      .sort((a, b) => compareLabels(a.metric, b.metric))
      .map((s) => `${s.metric.key()} ${s.t} ${round(s.v)}`);
  if (v.type === 'matrix')
    return [...v.series]
      .sort((a, b) => compareLabels(a.metric, b.metric))
      .map((s) => `${s.metric.key()} ${[...s.ts].join(',')} ${[...s.vs].map(round).join(',')}`);
  return [`${v.type} ${v.t} ${v.v}`];
}

// The engine asks the TSDB head for unsorted series where an aggregation hides their
// order; the test store always sorts. Both must give the same answers.
test('the TSDB head and the test store answer alike', async (t) => {
  const head = new Head();
  const mem = new MemStorage();
  const series: Labels[] = [];
  for (let pod = 0; pod < 6; pod++)
    for (const code of ['200', '500'])
      for (const le of ['10', '100', '+Inf'])
        series.push(
          Labels.from({
            __name__: 'lat_bucket',
            deployment: `d${pod % 3}`,
            pod: `p${pod}`,
            code,
            le,
          }),
        );
  // Created in an order unlike label order, so unsorted selects really differ.
  series.reverse();
  const refs = new Array<number>(series.length).fill(0);
  for (let i = 0; i <= 90; i++) {
    const app = head.appender();
    for (let k = 0; k < series.length; k++) {
      // Counters growing at different rates, with a reset half way for some.
      const v = (i < 45 || k % 4 ? i : i - 45) * (1 + (k % 5)) + (k % 3);
      refs[k] = app.append(refs[k], series[k], i * 10_000, v);
      mem.append(series[k], i * 10_000, v);
    }
    await app.commit();
  }
  const engine = new Engine();
  const queries = [
    'sum by (deployment) (irate(lat_bucket{code="200"}[30s])) / sum by (deployment) (irate(lat_bucket[30s]))',
    'histogram_quantile(0.9, sum by (le, deployment) (rate(lat_bucket[1m])))',
    'count by (code) (lat_bucket)',
    'max(lat_bucket) by (pod)',
    'avg without (pod) (rate(lat_bucket[2m]))',
    'sum(abs(delta(lat_bucket[1m])))',
    'lat_bucket{pod="p1"}',
  ];
  const stores: [string, Queryable][] = [
    ['head', head],
    ['memstore', mem],
  ];
  for (const q of queries) {
    await t.test(q, async () => {
      const got: Record<string, string[]>[] = [];
      for (const [name, store] of stores) {
        got.push({
          [name]: [
            ...canonical((await engine.instantQuery(store, q, 900_000)).value),
            ...canonical((await engine.rangeQuery(store, q, 300_000, 900_000, 15_000)).value),
          ],
        });
      }
      assert.ok(got[1].memstore.length > 0, 'the query returned nothing');
      assert.deepEqual(got[0].head, got[1].memstore);
    });
  }
});
