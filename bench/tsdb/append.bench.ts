/**
 * Head append benchmark: 100k Linkerd-shaped series (request/response counters and
 * latency histogram buckets of 200 pods × 20 destinations). The first scrape creates the
 * series by labels; later scrapes append by ref, the steady path of a scrape loop with a
 * series cache. Prints samples/s and memory per series (RSS and heap deltas after GC).
 * The machine may be shared: treat the figures as indicative.
 *
 * Run: node --expose-gc --import tsx bench/tsdb/append.bench.ts [series=100000] [scrapes=60]
 */

import { Labels } from '../../src/model/labels.js';
import { Head } from '../../src/tsdb/head.js';
import { LINKERD_LATENCY_BUCKETS_MS } from '../../test/fixtures/linkerd-body.js';

const SERIES = Number(process.argv[2] ?? 100_000);
const SCRAPES = Number(process.argv[3] ?? 60);
const INTERVAL = 10_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

// Linkerd's latency bucket bounds as `le` values.
const LE = [...LINKERD_LATENCY_BUCKETS_MS.map(String), '+Inf'];

/** Label sets shaped like a linkerd-proxy's outbound metrics, built as a scrape would. */
function linkerdSeries(n: number): Labels[] {
  const out: Labels[] = [];
  for (let pod = 0; out.length < n; pod++) {
    const ns = `ns-${pod % 10}`;
    const deploy = `deploy-${pod % 50}`;
    const podName = `${deploy}-7d9f8c6b5-${(pod * 7919).toString(36).padStart(5, 'x')}`;
    for (let d = 0; d < 20 && out.length < n; d++) {
      const dst = `svc-${(pod + d) % 80}`;
      const base: Record<string, string> = {
        authority: `${dst}.${ns}.svc.cluster.local:8080`,
        control_plane_ns: 'linkerd',
        deployment: deploy,
        direction: 'outbound',
        dst_control_plane_ns: 'linkerd',
        dst_deployment: dst,
        dst_namespace: ns,
        dst_pod: `${dst}-5c8d7f9b4-abcde`,
        dst_pod_template_hash: '5c8d7f9b4',
        dst_service: dst,
        dst_serviceaccount: dst,
        instance: `10.42.${pod >> 8}.${pod & 255}:4191`,
        job: 'linkerd-proxy',
        namespace: ns,
        pod: podName,
        pod_template_hash: '7d9f8c6b5',
        serviceaccount: deploy,
        tls: 'true',
      };
      for (const le of LE)
        out.push(
          Labels.from({ ...base, __name__: 'response_latency_ms_bucket', le, status_code: '200' }),
        );
      out.push(Labels.from({ ...base, __name__: 'request_total' }));
      out.push(
        Labels.from({
          ...base,
          __name__: 'response_total',
          classification: 'success',
          status_code: '200',
        }),
      );
      out.push(
        Labels.from({
          ...base,
          __name__: 'response_total',
          classification: 'failure',
          status_code: '500',
        }),
      );
      out.push(Labels.from({ ...base, __name__: 'response_latency_ms_count', status_code: '200' }));
      out.push(Labels.from({ ...base, __name__: 'response_latency_ms_sum', status_code: '200' }));
    }
  }
  return out.slice(0, n);
}

function mb(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  const series = linkerdSeries(SERIES);
  const labelsPerSeries = series.reduce((n, l) => n + l.size, 0) / series.length;
  gc();
  gc();
  const m0 = process.memoryUsage();

  const head = new Head();
  const refs = new Uint32Array(SERIES);
  const values = new Float64Array(SERIES);
  const t0 = 1_700_000_000_000;

  // Scrape 0: create every series by labels.
  let start = performance.now();
  let app = head.appender();
  for (let i = 0; i < SERIES; i++) refs[i] = app.append(0, series[i], t0, 0);
  await app.commit();
  const createMs = performance.now() - start;

  // Steady scrapes: append by ref, counters rising.
  let steadyMs = 0;
  let steadyCpuMs = 0;
  for (let s = 1; s < SCRAPES; s++) {
    const t = t0 + s * INTERVAL;
    for (let i = 0; i < SERIES; i++) values[i] += (i * 2654435761 + s) % 7;
    const c0 = process.cpuUsage();
    start = performance.now();
    app = head.appender();
    for (let i = 0; i < SERIES; i++) app.append(refs[i], Labels.EMPTY, t, values[i]);
    await app.commit();
    steadyMs += performance.now() - start;
    const cu = process.cpuUsage(c0);
    steadyCpuMs += (cu.user + cu.system) / 1000;
  }
  // Drop the bench's own input before measuring what the head keeps.
  series.length = 0;
  gc();
  gc();
  const m1 = process.memoryUsage();

  const steadySamples = SERIES * (SCRAPES - 1);
  console.log(
    `head append: ${SERIES} series (${labelsPerSeries.toFixed(1)} labels each), ${SCRAPES} scrapes at 10 s`,
  );
  console.log(
    `  first scrape (create by labels): ${(SERIES / (createMs / 1000) / 1e3).toFixed(0)}k series/s`,
  );
  console.log(
    `  steady scrapes (append by ref):  ${(steadySamples / (steadyMs / 1000) / 1e6).toFixed(2)}M samples/s ` +
      `(by CPU time: ${(steadySamples / (steadyCpuMs / 1000) / 1e6).toFixed(2)}M samples/s)`,
  );
  console.log(
    `  memory after ${SCRAPES} samples/series: RSS +${mb(m1.rss - m0.rss)} = ${((m1.rss - m0.rss) / SERIES).toFixed(0)} B/series; ` +
      `heap +${mb(m1.heapUsed - m0.heapUsed)} = ${((m1.heapUsed - m0.heapUsed) / SERIES).toFixed(0)} B/series; ` +
      `array buffers +${mb(m1.arrayBuffers - m0.arrayBuffers)}`,
  );
  console.log(
    `  head: ${head.seriesCount()} series, ${head.chunkCount()} chunks, ${head.interner.size} interned strings`,
  );
}

await main();
