/**
 * Memory per series of the scrape-to-head path, in process: T targets, each a scrape loop
 * over Linkerd-shaped bodies (~1,700 series, a distinct pod per target), scraped S times at
 * 10 s into a Head without WAL. After a full GC it prints heap bytes per series for three
 * stores: a store that keeps nothing (the scrape caches alone), the Head fed directly with
 * the label sets (the head alone), and the scrape loops into the Head (the whole path).
 * Then RSS per series of the whole path. One process, so the figures can be compared within a
 * run; RSS includes V8's free heap pages and is noisier than the heap figure.
 *
 * Run: node --expose-gc --import tsx bench/scrape/memory.bench.ts [targets=20] [scrapes=6]
 */

import { Labels } from '../../src/model/labels.js';
import { ScrapeLoop, ScrapeMetrics, Target } from '../../src/scrape/index.js';
import type { Appendable, Appender, SeriesRef } from '../../src/storage/interface.js';
import { Head } from '../../src/tsdb/head.js';
import { linkerdProxyBody } from '../../test/fixtures/linkerd-body.js';

const TARGETS = Number(process.argv[2] ?? 20);
const SCRAPES = Number(process.argv[3] ?? 6);
const T0 = 1_700_000_000_000;
const CT = 'text/plain; version=0.0.4';

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) g();
};

/** A store that hands out refs and keeps nothing. */
class DiscardStore implements Appendable {
  private next = 1;
  appender(): Appender {
    return {
      append: (ref: SeriesRef): SeriesRef => (ref > 0 ? ref : this.next++),
      commit: async () => {},
      rollback: () => {},
    };
  }
}

/** Bodies of target `i` for each scrape (built up front so they are not measured). */
function bodiesOf(i: number): Buffer[] {
  return Array.from({ length: SCRAPES }, (_, s) =>
    Buffer.from(linkerdProxyBody({ seed: 1 + i, scrape: s })),
  );
}

function newLoop(store: Appendable, i: number): ScrapeLoop {
  const labels = Labels.from({
    job: 'linkerd-proxy',
    instance: `10.42.${i >> 8}.${i & 255}:4191`,
    namespace: 'shop',
    pod: `web-7d9f8c6b5-${i.toString(36).padStart(5, 'x')}`,
  });
  return new ScrapeLoop({
    target: new Target(labels, labels, labels, 10_000, 10_000),
    appendable: store,
    fetcher: { fetch: () => Promise.reject(new Error('not used')) },
    honorLabels: false,
    honorTimestamps: true,
    metricRelabel: [],
    limits: { sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 },
    metrics: new ScrapeMetrics(),
    logger: () => {},
    jitterSeed: 0,
  });
}

/** Scrapes every target S times through its loop into `store`; returns loops and series. */
async function scrapeAll(
  store: Appendable,
  bodies: Buffer[][],
): Promise<{ loops: ScrapeLoop[]; series: number }> {
  const loops = bodies.map((_, i) => newLoop(store, i));
  const counts = { total: 0, added: 0, seriesAdded: 0 };
  for (let s = 0; s < SCRAPES; s++) {
    for (let i = 0; i < loops.length; i++) {
      const app = store.appender();
      loops[i].appendBody(app, bodies[i][s], CT, T0 + s * 10_000, counts);
      await app.commit();
    }
  }
  let series = 0;
  for (const l of loops) series += l.cache.seriesCount;
  return { loops, series };
}

const bodies = Array.from({ length: TARGETS }, (_, i) => bodiesOf(i));
const kib = (b: number): string => `${Math.round(b).toLocaleString('en')} B`;

gc();
let heap0 = process.memoryUsage().heapUsed;
const cacheOnly = await scrapeAll(new DiscardStore(), bodies);
gc();
const cacheBytes = process.memoryUsage().heapUsed - heap0;
const nSeries = cacheOnly.series;
cacheOnly.loops.length = 0;

// The head alone: the same label sets appended directly, S samples each.
const labelSets: Labels[] = [];
{
  const collect: Appendable = {
    appender: () => ({
      append: (ref: SeriesRef, ls: Labels): SeriesRef => {
        if (ref === 0) labelSets.push(ls);
        return labelSets.length;
      },
      commit: async () => {},
      rollback: () => {},
    }),
  };
  const { loops } = await scrapeAll(collect, bodies);
  // Copy the sets so the head does not share the scrape caches' strings.
  for (let i = 0; i < labelSets.length; i++) labelSets[i] = Labels.from(labelSets[i].toPairs());
  loops.length = 0;
}
gc();
heap0 = process.memoryUsage().heapUsed;
{
  const head = new Head();
  const refs = new Array<number>(labelSets.length).fill(0);
  for (let s = 0; s < SCRAPES; s++) {
    const app = head.appender();
    for (let j = 0; j < labelSets.length; j++)
      refs[j] = app.append(refs[j], labelSets[j], T0 + s * 10_000, j + s);
    await app.commit();
  }
  labelSets.length = 0;
  gc();
  const headBytes = process.memoryUsage().heapUsed - heap0;
  console.log(
    `${TARGETS} targets × ~${Math.round(nSeries / TARGETS)} series (${nSeries.toLocaleString('en')}), ${SCRAPES} scrapes, heap per series:`,
  );
  console.log(`  scrape caches alone: ${kib(cacheBytes / nSeries)}`);
  console.log(`  head alone:          ${kib(headBytes / head.seriesCount())}`);
}

gc();
heap0 = process.memoryUsage().heapUsed;
const rss0 = process.memoryUsage().rss;
const head = new Head();
const whole = await scrapeAll(head, bodies);
gc();
const mu = process.memoryUsage();
console.log(`  scrape loops + head: ${kib((mu.heapUsed - heap0) / whole.series)}`);
console.log(
  `  RSS growth:          ${kib((mu.rss - rss0) / whole.series)} (head ${head.seriesCount().toLocaleString('en')} series, external ${kib(mu.external / whole.series)}, preliminary: shared machine)`,
);
