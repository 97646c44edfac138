/**
 * The head's side of ingestion alone: N series appended by ref, a scrape's worth (1,700
 * series) per appender and commit, S rounds at 10 s, so chunks fill and are cut at 120
 * samples. Prints samples per CPU-second (commit publishes and encodes the chunks) and
 * heap per series after a full GC. Preliminary on a shared machine: compare builds by
 * alternating runs.
 *
 * Run: node --expose-gc --import tsx bench/scrape/head-append.bench.ts [series=34000] [rounds=300]
 */

import { Labels } from '../../src/model/labels.js';
import { Head } from '../../src/tsdb/head.js';

const N = Number(process.argv[2] ?? 34_000);
const ROUNDS = Number(process.argv[3] ?? 300);
const PER_SCRAPE = 1_700;
const T0 = 1_700_000_000_000;

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

const labelSets = Array.from({ length: N }, (_, i) =>
  Labels.from({
    __name__: `request_total_${i % 40}`,
    instance: `10.42.0.${i % PER_SCRAPE}:4191`,
    job: 'linkerd-proxy',
    series: String(i),
  }),
);

const head = new Head();
const refs = new Array<number>(N).fill(0);
// Counters with uneven increments, as Linkerd's request and byte counters; about half of
// them unchanged from one scrape to the next, as in a Linkerd body (buckets above the
// latencies seen, error counters). Scrape times jitter by a few milliseconds.
const vals = new Float64Array(N);

async function round(r: number): Promise<void> {
  const t = T0 + r * 10_000 + ((r * 7) % 11);
  for (let lo = 0; lo < N; lo += PER_SCRAPE) {
    const app = head.appender();
    const hi = Math.min(N, lo + PER_SCRAPE);
    for (let j = lo; j < hi; j++) {
      if (j % 2 === 0) vals[j] += (j * 7 + r * 13) % 50;
      refs[j] = app.append(refs[j], labelSets[j], t, vals[j]);
    }
    await app.commit();
  }
}

await round(0);
gc();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let r = 1; r <= ROUNDS; r++) await round(r);
const wall = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const cpuS = (cpu.user + cpu.system) / 1e6;
const samples = N * ROUNDS;
gc();
const heap = process.memoryUsage().heapUsed;
console.log(
  `${N.toLocaleString('en')} series × ${ROUNDS} rounds: ${Math.round(samples / cpuS).toLocaleString('en')} samples per CPU-s ` +
    `(${Math.round(samples / wall).toLocaleString('en')}/s wall), ${head.chunkCount().toLocaleString('en')} chunks, ` +
    `heap ${Math.round(heap / N).toLocaleString('en')} B per series (closed chunks included)`,
);
