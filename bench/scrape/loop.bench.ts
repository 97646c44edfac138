/**
 * The scrape loop's parse-and-append pass alone, without HTTP or a TSDB: a Linkerd-shaped
 * body (~1,700 series) appended through the scrape cache into a store that only counts
 * (so the figure is the scraper's own cost), cold (first scrape: labels, target labels,
 * cache fill) and warm (every later scrape: one Map.get and one append per line). Prints
 * samples per second of one core. Preliminary on a shared machine.
 *
 * Run: node --expose-gc --import tsx bench/scrape/loop.bench.ts [scrapes=300]
 */

import { Labels } from '../../src/model/labels.js';
import { ScrapeLoop, ScrapeMetrics, Target } from '../../src/scrape/index.js';
import type { Appendable, Appender, SeriesRef } from '../../src/storage/interface.js';
import { linkerdProxyBody } from '../../test/fixtures/linkerd-body.js';

const SCRAPES = Number(process.argv[2] ?? 300);

/** A store that hands out refs and keeps nothing. */
class CountingStore implements Appendable {
  samples = 0;
  private next = 1;
  appender(): Appender {
    return {
      append: (ref: SeriesRef): SeriesRef => {
        this.samples++;
        return ref > 0 ? ref : this.next++;
      },
      commit: async () => {},
      rollback: () => {},
    };
  }
}

const bodies = Array.from({ length: 8 }, (_, i) =>
  Buffer.from(linkerdProxyBody({ seed: 1, scrape: i })),
);
const lines = bodies[0]
  .toString()
  .split('\n')
  .filter((l) => l !== '' && !l.startsWith('#')).length;

function newLoop(store: CountingStore): ScrapeLoop {
  const labels = Labels.from({
    job: 'linkerd-proxy',
    instance: '10.42.1.20:4191',
    namespace: 'shop',
    pod: 'web-7d9f8c6b5-x2x4k',
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

const counts = { total: 0, added: 0, seriesAdded: 0 };
const ct = 'text/plain; version=0.0.4';

// Cold: a new loop (empty cache) per scrape.
{
  const store = new CountingStore();
  const n = Math.max(20, SCRAPES / 10);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const loop = newLoop(store);
    const app = store.appender();
    loop.appendBody(app, bodies[i % bodies.length], ct, 1_700_000_000_000 + i * 10_000, counts);
  }
  const s = (performance.now() - t0) / 1000;
  console.log(
    `cold scrape (${lines} series, new cache each time): ${Math.round(store.samples / s).toLocaleString('en')} samples/s, ${((s / n) * 1000).toFixed(2)} ms per scrape`,
  );
}

// Warm: one loop, repeated scrapes.
{
  const store = new CountingStore();
  const loop = newLoop(store);
  loop.appendBody(store.appender(), bodies[0], ct, 1_700_000_000_000, counts);
  (globalThis as { gc?: () => void }).gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  store.samples = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 1; i <= SCRAPES; i++) {
    loop.appendBody(
      store.appender(),
      bodies[i % bodies.length],
      ct,
      1_700_000_000_000 + i * 10_000,
      counts,
    );
  }
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  (globalThis as { gc?: () => void }).gc?.();
  console.log(
    `warm scrape (${lines} series, ${SCRAPES} scrapes): ${Math.round(store.samples / s).toLocaleString('en')} samples/s wall, ` +
      `${Math.round(store.samples / cpuS).toLocaleString('en')} samples per CPU-s, ${((s / SCRAPES) * 1000).toFixed(2)} ms per scrape, ` +
      `cache ${loop.cache.seriesCount} series, heap delta ${((process.memoryUsage().heapUsed - heap0) / 1024).toFixed(0)} KiB`,
  );
}
