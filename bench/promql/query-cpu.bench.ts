// The `viz stat` queries over the TSDB head of bench/promql/linkerd-data.ts, timed by the
// process's CPU time (user + system) per query and reported as the minimum over the runs:
// on a shared machine wall time mostly measures the other processes, and the minimum CPU
// time is the steadiest figure to compare two versions by (run both, one after the other).
// Instant queries run 15 times and range queries (1h at 15s) 4 times, after one warm-up
// each; the warm-up leaves the chunk decoder checkpoints a refreshing dashboard would find.
// Run: node --import tsx bench/promql/query-cpu.bench.ts
import { Engine } from '../../src/promql/engine.js';
import { buildHead, END_MS, QUERIES, specs } from './linkerd-data.js';

const head = await buildHead(specs());
const engine = new Engine();
console.log('query            instant cpu ms   1h range @15s cpu ms   (min per query)');
for (const [name, q] of Object.entries(QUERIES)) {
  const figures: string[] = [];
  for (const range of [false, true]) {
    const run = (): Promise<unknown> =>
      range ? engine.rangeQuery(head, q, 0, END_MS, 15_000) : engine.instantQuery(head, q, END_MS);
    await run();
    let best = Infinity;
    for (let i = 0; i < (range ? 4 : 15); i++) {
      const c0 = process.cpuUsage();
      await run();
      const c = process.cpuUsage(c0);
      best = Math.min(best, (c.user + c.system) / 1000);
    }
    figures.push(best.toFixed(1));
  }
  console.log(`${name.padEnd(16)} ${figures[0].padStart(14)} ${figures[1].padStart(22)}`);
}
console.log('(preliminary: the machine may be shared)');
