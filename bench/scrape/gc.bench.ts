/**
 * Garbage collection during ingestion, in process: T targets of Linkerd-shaped bodies
 * scraped through their loops into one Head (no HTTP, no WAL), round after round, the
 * way the collector ingests at a short interval. Prints samples per CPU-second, the share
 * of wall time spent in GC pauses (scavenges and mark-compacts, from perf_hooks), and RSS
 * per series. Run it under different V8 heap flags to weigh a setting's CPU against its
 * memory, e.g. `--max-semi-space-size=N` (MiB). Preliminary on a shared machine.
 *
 * Run: node --expose-gc [--max-semi-space-size=N] --import tsx bench/scrape/gc.bench.ts [targets=60] [rounds=40]
 */

import { PerformanceObserver, constants } from 'node:perf_hooks';
import { Labels } from '../../src/model/labels.js';
import { ScrapeLoop, ScrapeMetrics, Target } from '../../src/scrape/index.js';
import { Head } from '../../src/tsdb/head.js';
import { linkerdProxyBody } from '../../test/fixtures/linkerd-body.js';

const TARGETS = Number(process.argv[2] ?? 60);
const ROUNDS = Number(process.argv[3] ?? 40);
const T0 = 1_700_000_000_000;
const CT = 'text/plain; version=0.0.4';

// Two bodies per target, alternated: values change from one scrape to the next.
const bodies = Array.from({ length: TARGETS }, (_, i) =>
  [0, 1].map((s) => Buffer.from(linkerdProxyBody({ seed: 1 + i, scrape: s }))),
);

const head = new Head();
const loops = bodies.map((_, i) => {
  const labels = Labels.from({
    job: 'linkerd-proxy',
    instance: `10.42.${i >> 8}.${i & 255}:4191`,
    pod: `web-${i}`,
  });
  return new ScrapeLoop({
    target: new Target(labels, labels, labels, 1_000, 1_000),
    appendable: head,
    fetcher: { fetch: () => Promise.reject(new Error('not used')) },
    honorLabels: false,
    honorTimestamps: true,
    metricRelabel: [],
    limits: { sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 },
    metrics: new ScrapeMetrics(),
    logger: () => {},
    jitterSeed: 0,
  });
});

const counts = { total: 0, added: 0, seriesAdded: 0 };
async function round(r: number): Promise<number> {
  let n = 0;
  for (let i = 0; i < loops.length; i++) {
    const app = head.appender();
    loops[i].appendBody(app, bodies[i][r & 1], CT, T0 + r * 1_000, counts);
    await app.commit();
    n += counts.added;
  }
  return n;
}

await round(0);
await round(1);
let gcMs = 0;
let scavenges = 0;
let majors = 0;
const obs = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) scavenges++;
    else majors++;
  }
});
obs.observe({ entryTypes: ['gc'] });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let samples = 0;
for (let r = 2; r < ROUNDS + 2; r++) samples += await round(r);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await new Promise((r) => setTimeout(r, 10)); // let the observer deliver
obs.disconnect();
const cpuS = (cpu.user + cpu.system) / 1e6;
const series = head.seriesCount();
console.log(
  `${TARGETS} targets, ${series.toLocaleString('en')} series, ${ROUNDS} rounds: ` +
    `${Math.round(samples / cpuS).toLocaleString('en')} samples per CPU-s, ` +
    `GC ${((100 * gcMs) / wallMs).toFixed(1)}% of wall (${scavenges} scavenges, ${majors} major), ` +
    `RSS ${Math.round(process.memoryUsage().rss / series).toLocaleString('en')} B/series`,
);
