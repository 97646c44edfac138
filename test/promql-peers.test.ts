// Runs Prometheus's own PromQL engine scripts (peer-tests/promql, Apache-2.0) through our
// engine and runner, prints per-file counts and asserts the plain pass rate does not regress.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Engine } from '../src/promql/engine.js';
import { runScriptFile } from '../src/promql/promqltest/runner.js';

const DIR = resolve('../shared/peer-tests/promql');
/** Lowest accepted pass rate of plain evals; raise it as the engine improves. */
const MIN_PLAIN_PASS_RATE = 0.985;
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
  assert.ok(xpass >= MIN_EXPERIMENTAL_PASSED, `experimental passes fell to ${xpass}`);
  assert.ok(
    rate >= MIN_PLAIN_PASS_RATE,
    `plain pass rate ${(rate * 100).toFixed(1)}% fell below ${MIN_PLAIN_PASS_RATE * 100}%`,
  );
});
