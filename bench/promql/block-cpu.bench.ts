// The side-by-side queries (success ratio, p99, and with --stat the rest of `viz stat`)
// run in-process against a copy of the block that bench/promql/side-by-side.bench.ts
// keeps in its --work directory (20 targets × 1,005 series, 62 min @10s), without HTTP:
// the engine and the block reader alone, for profiling (`node --cpu-prof`) and for
// before/after CPU figures. Each query runs once as a warm-up, then --runs times (default
// 10 instant, 4 range); the figure is the minimum CPU time (user + system) per query.
// With --workers, range queries split their aggregations over worker threads (see
// src/promql/range-workers.ts); the figures are then the process's CPU time (all threads)
// and, after a slash, the minimum wall time per query.
// Run: node --expose-gc --import tsx bench/promql/block-cpu.bench.ts
//        [--work /tmp/sbs-full] [--stat] [--only ratio|p99|...] [--instant|--range] [--runs N]
//        [--workers [--min-work N]]
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../../src/promql/engine.js';
import { RangeWorkers } from '../../src/promql/range-workers.js';
import { sharedBlocksSource } from '../../src/tsdb/block-querier.js';
import { openDB } from '../../src/tsdb/index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const work = arg('work') ?? '/tmp/sbs-full';
const only = arg('only');
const runsArg = arg('runs');
const kinds = process.argv.includes('--instant')
  ? [false]
  : process.argv.includes('--range')
    ? [true]
    : [false, true];

const QUERIES: Record<string, string> = {
  ratio:
    'sum(rate(response_total{classification="success"}[1m])) by (dst_deployment) / sum(rate(response_total[1m])) by (dst_deployment)',
  p99: 'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket[1m])) by (le, dst_deployment))',
};
if (process.argv.includes('--stat')) {
  Object.assign(QUERIES, {
    rps: 'sum(rate(request_total[1m])) by (dst_deployment)',
    p50: 'histogram_quantile(0.5, sum(rate(response_latency_ms_bucket[1m])) by (le, dst_deployment))',
    tcp: 'sum(tcp_open_connections) by (dst_deployment)',
  });
}

/** CPU ticks (1/100 s) used so far by each thread of this process, by thread id. */
function threadTicks(): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const f = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(tid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended
    }
  }
  return out;
}

const { end } = JSON.parse(readFileSync(join(work, 'history.json'), 'utf8')) as { end: number };
const END_MS = end * 1000;
const dir = mkdtempSync(join(tmpdir(), 'block-cpu-'));
cpSync(join(work, 'meshmetrics'), dir, { recursive: true });
// The side-by-side's collector may hold the original open; the copy is ours alone.
rmSync(join(dir, 'lock'), { force: true });
const db = await openDB(dir, { disableAutoCompaction: true, retentionMs: 0, logger: () => {} });
const workers = process.argv.includes('--workers')
  ? new RangeWorkers({
      openerUrl: new URL('../../src/tsdb/block-querier.ts', import.meta.url).href,
      source: sharedBlocksSource(db),
      minWork: arg('min-work') !== undefined ? Number(arg('min-work')) : undefined,
    })
  : null;
const engine = new Engine({ rangeWorkers: workers });
try {
  console.log('query    instant cpu ms   1h range @15s cpu ms   (min per query)');
  for (const [name, q] of Object.entries(QUERIES)) {
    if (only !== undefined && only !== name) continue;
    const figures: string[] = [];
    for (const range of [false, true]) {
      if (!kinds.includes(range)) {
        figures.push('-');
        continue;
      }
      const run = (): Promise<unknown> =>
        range
          ? engine.rangeQuery(db, q, END_MS - 3_600_000, END_MS, 15_000)
          : engine.instantQuery(db, q, END_MS);
      await run();
      let best = Infinity;
      let bestWall = Infinity;
      const runs = runsArg !== undefined ? Number(runsArg) : range ? 4 : 10;
      const t0 = threadTicks();
      for (let i = 0; i < runs; i++) {
        const c0 = process.cpuUsage();
        const w0 = performance.now();
        await run();
        bestWall = Math.min(bestWall, performance.now() - w0);
        const c = process.cpuUsage(c0);
        best = Math.min(best, (c.user + c.system) / 1000);
      }
      if (workers !== null && range) {
        // The critical path on an idle machine: the busiest thread's CPU per query.
        const t1 = threadTicks();
        const per = [...t1]
          .map(([tid, t]) => (t - (t0.get(tid) ?? 0)) * (10 / runs))
          .sort((a, b) => b - a);
        console.log(
          `  ${name}: CPU ms per query of the busiest threads: ${per.slice(0, 3).join(', ')}`,
        );
      }
      figures.push(
        workers !== null ? `${best.toFixed(1)}/${bestWall.toFixed(1)}` : best.toFixed(1),
      );
    }
    console.log(`${name.padEnd(8)} ${figures[0].padStart(14)} ${figures[1].padStart(22)}`);
  }
  // The workers' isolates and their own block readers show here (one process, all threads).
  console.log(`rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`);
  console.log('(preliminary: the machine is shared)');
} finally {
  await workers?.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
}
