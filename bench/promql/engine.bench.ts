// PromQL engine benchmark over a Linkerd-shaped data set (bench/promql/linkerd-data.ts):
// 20 proxies x 1,000 series, 1h of samples at 10s, held twice: in the TSDB head and in the
// in-memory test store. Runs the `viz stat` queries as instant queries and as 1h range
// queries at 15s step on each store, and prints ms per query.
// Run: node --expose-gc --import tsx bench/promql/engine.bench.ts [head|memstore]
import { Engine } from '../../src/promql/engine.js';
import type { Queryable } from '../../src/storage/interface.js';
import { buildHead, buildMemstore, END_MS, QUERIES, SCRAPES, specs } from './linkerd-data.js';

/** Median wall and CPU (user + system) milliseconds of `runs` runs after a warm-up. */
async function time(
  fn: () => Promise<unknown>,
  runs: number,
): Promise<{ wall: number; cpu: number }> {
  await fn(); // warm-up
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const median = (a: number[]): number => a.sort((x, y) => x - y)[a.length >> 1];
  return { wall: median(wall), cpu: median(cpu) };
}

const only = process.argv[2];
const all = specs();
const stores: [string, () => Promise<Queryable>][] = [
  ['head', () => buildHead(all)],
  ['memstore', () => Promise.resolve(buildMemstore(all))],
];
const engine = new Engine();
for (const [storeName, build] of stores) {
  if (only !== undefined && only !== storeName) continue;
  const t0 = performance.now();
  const store = await build();
  console.log(
    `${storeName}: ${all.length} series, ${all.length * SCRAPES} samples, loaded in ${(performance.now() - t0).toFixed(0)} ms`,
  );
  console.log('query                instant wall/cpu ms    1h range @15s wall/cpu ms');
  for (const [name, q] of Object.entries(QUERIES)) {
    const inst = await time(() => engine.instantQuery(store, q, END_MS), 10);
    const range = await time(() => engine.rangeQuery(store, q, 0, END_MS, 15_000), 3);
    const pair = (x: { wall: number; cpu: number }): string =>
      `${x.wall.toFixed(1)} / ${x.cpu.toFixed(1)}`;
    console.log(`${name.padEnd(20)} ${pair(inst).padStart(20)} ${pair(range).padStart(28)}`);
  }
}
console.log('(medians; preliminary: the machine is shared, so CPU time is the steadier figure)');
