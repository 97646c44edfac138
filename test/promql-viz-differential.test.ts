/**
 * Differential test of the linkerd-viz queries (reference/linkerd-metrics.md §3.1, §3.3)
 * against Prometheus 2.42 on identical data: a deterministic 40-minute history of six
 * Linkerd proxies (test/compliance/linkerd-data.ts) is backfilled into blocks by promtool,
 * both servers open copies of them, and every viz query runs on both through HTTP as an
 * instant query at two times (one just after the `voting` proxy restarts) and as a range
 * query over 30 minutes at 15 s. Values must agree within 1e-6 relative (the issue's
 * tolerance, stricter than upstream's 1e-5). The Grafana template variables are compared
 * as label-value sets.
 *
 * The test prints one line per failure, the closest passes, and `N passed, N failed` last;
 * it fails when the passes fall below the floor measured when it was written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requirePeer } from './support/peers.js';
import { pool, runProgram } from './compliance/run.js';
import { LINKERD_DATA, MESH_PODS, generateLinkerdData } from './compliance/linkerd-data.js';
import { VIZ_LABEL_VALUES, vizQueries } from './compliance/viz-queries.js';
import {
  compareSets,
  getApi,
  ISSUE_TOLERANCE,
  judge,
  maxRelativeDifference,
  postForm,
  type Outcome,
} from './compliance/compare.js';
import { startBothOnBlocks } from './compliance/servers.js';

const START_MS = LINKERD_DATA.endMs - LINKERD_DATA.durationMs;
const RESTART_MS = START_MS + LINKERD_DATA.durationMs / 2 + 3_000;
/** Instant times, off the scrape grid: near the end, and 45 s after the restart. */
const INSTANT_TIMES_MS = [LINKERD_DATA.endMs - 2 * 60_000 - 3_333, RESTART_MS + 45_000];
/** The range: 30 minutes at 15 s, ending 1 minute before the data does. */
const RANGE = {
  start: LINKERD_DATA.endMs - 31 * 60_000,
  end: LINKERD_DATA.endMs - 60_000,
  stepS: 15,
};
const CONCURRENCY = 4;
/** Passes that compare nothing, by design (listed in the output; see the module comment). */
const MAX_EMPTY = 0;

/** Passes when this test was written (Prometheus 2.42.0+ds, Debian). A drop is a regression. */
const FLOOR = { instant: 572, range: 286, labelValues: 4 };

const sec = (ms: number): string => String(ms / 1000);

test(
  'linkerd-viz queries agree with Prometheus 2.42 within 1e-6 on the same Linkerd history',
  { timeout: 120_000 },
  async (t) => {
    const promtool = requirePeer(t, 'promtool', 'prometheus');
    if (promtool === null) return;
    const prometheus = requirePeer(t, 'prometheus', 'prometheus');
    if (prometheus === null) return;
    const t0 = Date.now();
    const dir = mkdtempSync(join(tmpdir(), 'mm-viz-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));

    // 1. The history, backfilled by promtool; each server gets its own copy of the blocks.
    const data = generateLinkerdData(LINKERD_DATA);
    assert.ok(data.seriesCount > 100 * MESH_PODS.length, `only ${data.seriesCount} series`);
    const om = join(dir, 'linkerd.om');
    writeFileSync(om, data.openMetrics);
    const refDir = join(dir, 'prometheus-data');
    await runProgram(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', om, refDir]);
    rmSync(om);
    const tData = Date.now();

    // 2. Both servers.
    const { prom, ours } = await startBothOnBlocks(t, prometheus, refDir, dir);
    const tReady = Date.now();
    // The reference must see the restart, or the windows across it test nothing special.
    const resets = await postForm(prom.base, '/api/v1/query', {
      query: 'max(resets(request_total{deployment="voting"}[40m]))',
      time: sec(LINKERD_DATA.endMs),
    });
    assert.equal(
      (resets.result as { value: [number, string] }[])[0]?.value[1],
      '1',
      'the voting proxy restarts once',
    );

    // 3. Every query: instant at two times, then over the range.
    const queries = vizQueries();
    const passed = { instant: 0, range: 0, labelValues: 0 };
    const emptyPasses: string[] = [];
    const failures: string[] = [];
    /** The closest passes: [relative difference, query]. */
    const closest: [number, string][] = [];
    const cases = queries.flatMap((q) => [
      ...INSTANT_TIMES_MS.map((at) => ({
        q,
        kind: 'instant' as const,
        path: '/api/v1/query',
        params: { time: sec(at) },
        what: `@ ${sec(at)}`,
      })),
      {
        q,
        kind: 'range' as const,
        path: '/api/v1/query_range',
        params: { start: sec(RANGE.start), end: sec(RANGE.end), step: String(RANGE.stepS) },
        what: 'range',
      },
    ]);
    await pool(cases, CONCURRENCY, async (c) => {
      const form = { query: c.q.query, ...c.params };
      const [ref, mine] = await Promise.all([
        postForm(prom.base, c.path, form),
        postForm(ours.base, c.path, form),
      ]);
      const o: Outcome = judge(ref, mine, false, ISSUE_TOLERANCE);
      const label = `${c.q.query} (${c.what}; ${c.q.origin})`;
      if (o.verdict === 'passed') {
        passed[c.kind]++;
        if (o.empty === true) emptyPasses.push(label);
        const d = maxRelativeDifference(ref, mine);
        if (d > 0) closest.push([d, label]);
      } else failures.push(`${o.verdict} (${o.cause}): ${label}\n    ${o.diff}`);
    });
    const tQueries = Date.now();

    // 4. Grafana template variables: label values under a selector, as sets.
    for (const [name, match] of VIZ_LABEL_VALUES) {
      const params: [string, string][] = [
        ['match[]', match],
        ['start', sec(START_MS)],
        ['end', sec(LINKERD_DATA.endMs)],
      ];
      const path = `/api/v1/label/${name}/values`;
      const [ref, mine] = await Promise.all([
        getApi(prom.base, path, params),
        getApi(ours.base, path, params),
      ]);
      const o = compareSets(ref, mine);
      if (o.verdict === 'passed') passed.labelValues++;
      else
        failures.push(`${o.verdict} (${o.cause}): label_values(${match}, ${name})\n    ${o.diff}`);
    }

    // 5. Report.
    const out = [...failures].sort();
    out.push(`empty on both sides (${emptyPasses.length}): ${emptyPasses.sort().join(' | ')}`);
    closest.sort((a, b) => b[0] - a[0]);
    out.push(
      `closest passes (relative difference): ${
        closest
          .slice(0, 3)
          .map(([d, q]) => `${d.toExponential(2)} ${q}`)
          .join(' | ') || 'every value identical'
      }`,
    );
    out.push(
      `${data.seriesCount} series, ${queries.length} queries; instant ${passed.instant}/${2 * queries.length}, ` +
        `range ${passed.range}/${queries.length}, label values ${passed.labelValues}/${VIZ_LABEL_VALUES.length} ` +
        `(${emptyPasses.length} passes empty on both sides)`,
    );
    out.push(
      `timing: data+promtool ${tData - t0} ms, start ${tReady - tData} ms, queries ${tQueries - tReady} ms`,
    );
    const total = passed.instant + passed.range + passed.labelValues;
    out.push(`${total} passed, ${failures.length} failed`);
    process.stdout.write(`${out.join('\n')}\n`);

    assert.ok(
      emptyPasses.length <= MAX_EMPTY,
      `${emptyPasses.length} passes compared nothing (at most ${MAX_EMPTY} expected)`,
    );
    for (const kind of Object.keys(FLOOR) as (keyof typeof FLOOR)[])
      assert.ok(
        passed[kind] >= FLOOR[kind],
        `${kind}: ${passed[kind]} passed, below the floor of ${FLOOR[kind]}`,
      );
  },
);
