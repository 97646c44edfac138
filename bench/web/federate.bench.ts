/**
 * /federate and query API cost over a head of ~100k Linkerd-shaped series (1,600 pods ×
 * 62 series: response_total, tcp_*, response_latency_ms_bucket), 5 samples each at 15 s.
 *
 * Figures: /federate of every series (`{job="linkerd-proxy"}`) over HTTP: wall time, bytes,
 * series/s, and the process's RSS before and at peak (sampled every 5 ms while the answer
 * streams; the client runs in the same process and drops each chunk as it arrives). Then
 * the latency of the `viz stat` instant queries (median and max of a few runs).
 * The machine may be shared with other work: treat the figures as preliminary.
 *
 * Run: node --expose-gc --import tsx bench/web/federate.bench.ts [--pods N]
 */

import { Labels } from '../../src/model/labels.js';
import { Engine } from '../../src/promql/index.js';
import { Head } from '../../src/tsdb/head.js';
import { Matcher } from '../../src/model/matcher.js';
import { WebServer, writeFederation } from '../../src/web/index.js';

const podsArg = process.argv.indexOf('--pods');
const PODS = podsArg > 0 ? Number(process.argv[podsArg + 1]) : 1600;
const BUCKETS = [
  '1',
  '2',
  '3',
  '4',
  '5',
  '10',
  '20',
  '30',
  '40',
  '50',
  '100',
  '200',
  '300',
  '400',
  '500',
  '1000',
  '2000',
  '3000',
  '4000',
  '5000',
  '10000',
  '20000',
  '30000',
  '40000',
  '50000',
  '+Inf',
];
const STEP = 15_000;
const NOW = Math.floor(Date.now() / STEP) * STEP;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mib = (b: number): string => (b / 1048576).toFixed(1);
/** CPU ms (user + system) of this process since `c0`: steadier than wall time when shared. */
const cpuSince = (c0: NodeJS.CpuUsage): string => {
  const c = process.cpuUsage(c0);
  return ((c.user + c.system) / 1000).toFixed(0);
};

async function fill(head: Head): Promise<number> {
  const refs: number[] = [];
  const series: Labels[] = [];
  for (let p = 0; p < PODS; p++) {
    const dep = `deploy-${p % 200}`;
    const base = {
      job: 'linkerd-proxy',
      namespace: `ns-${p % 20}`,
      deployment: dep,
      pod: `${dep}-${p}`,
      instance: `10.0.${p >> 8}.${p & 255}:4191`,
    };
    for (const cls of ['success', 'failure']) {
      for (const tls of ['true', 'false'])
        series.push(
          Labels.from({
            __name__: 'response_total',
            ...base,
            direction: 'inbound',
            classification: cls,
            tls,
            status_code: cls === 'success' ? '200' : '500',
          }),
        );
    }
    for (const peer of ['src', 'dst']) {
      series.push(
        Labels.from({ __name__: 'tcp_open_connections', ...base, direction: 'inbound', peer }),
      );
      series.push(
        Labels.from({ __name__: 'tcp_read_bytes_total', ...base, direction: 'inbound', peer }),
      );
      series.push(
        Labels.from({ __name__: 'tcp_write_bytes_total', ...base, direction: 'inbound', peer }),
      );
    }
    for (const code of ['200', '500']) {
      for (const le of BUCKETS)
        series.push(
          Labels.from({
            __name__: 'response_latency_ms_bucket',
            ...base,
            direction: 'inbound',
            status_code: code,
            le,
          }),
        );
    }
  }
  for (let k = 4; k >= 0; k--) {
    const app = head.appender();
    const t = NOW - k * STEP;
    for (let i = 0; i < series.length; i++) {
      refs[i] = app.append(
        refs[i] ?? 0,
        refs[i] ? Labels.EMPTY : series[i],
        t,
        (5 - k) * (1 + (i % 97)) * 1.5,
      );
    }
    await app.commit();
  }
  return series.length;
}

async function main(): Promise<void> {
  const head = new Head();
  let t0 = performance.now();
  const nSeries = await fill(head);
  console.log(
    `head: ${nSeries} series, ${nSeries * 5} samples, filled in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const server = new WebServer({
    queryable: head,
    engine: new Engine(),
    lookbackDeltaMs: 5 * 60_000,
    externalLabels: () => ({ cluster: 'bench' }),
    now: () => NOW,
  });
  const { port } = await server.listen('127.0.0.1:0');
  const base = `http://127.0.0.1:${port}`;

  console.log('\nwriteFederation alone (no HTTP), into a sink that counts bytes');
  for (let run = 0; run < 3; run++) {
    gc();
    let bytes = 0;
    const sink = {
      write: (b: Buffer): boolean => ((bytes += b.length), true),
      once: () => undefined,
    };
    const c0 = process.cpuUsage();
    t0 = performance.now();
    const st = await writeFederation(sink, [[new Matcher('=', 'job', 'linkerd-proxy')]], {
      queryable: head,
      now: NOW,
      lookbackDeltaMs: 5 * 60_000,
      externalLabels: { cluster: 'bench' },
    });
    const ms = performance.now() - t0;
    console.log(
      `  run ${run + 1}: ${ms.toFixed(0)} ms (cpu ${cpuSince(c0)} ms), ${st.series} series, ${mib(bytes)} MiB, ${Math.round(st.series / (ms / 1000))} series/s`,
    );
  }

  console.log(
    '\n/federate?match[]={job="linkerd-proxy"} (all series), text 0.0.4, over HTTP (client in-process)',
  );
  for (const gzip of [false, true]) {
    for (let run = 0; run < 3; run++) {
      gc();
      const rssBefore = process.memoryUsage().rss;
      let peak = rssBefore;
      const timer = setInterval(() => {
        const r = process.memoryUsage().rss;
        if (r > peak) peak = r;
      }, 5);
      const c0 = process.cpuUsage();
      t0 = performance.now();
      const res = await fetch(
        `${base}/federate?match[]=${encodeURIComponent('{job="linkerd-proxy"}')}`,
        {
          headers: gzip ? { 'Accept-Encoding': 'gzip' } : { 'Accept-Encoding': 'identity' },
        },
      );
      let bytes = 0;
      let lines = 0;
      const reader = res.body!.getReader();
      while (true) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        for (let i = 0; i < value.length; i++) if (value[i] === 10) lines++;
      }
      const ms = performance.now() - t0;
      clearInterval(timer);
      const rssNow = process.memoryUsage().rss;
      if (rssNow > peak) peak = rssNow;
      console.log(
        `  ${gzip ? 'gzip ' : 'plain'} run ${run + 1}: ${ms.toFixed(0)} ms (cpu ${cpuSince(c0)} ms, client included), ${mib(bytes)} MiB (decoded) , ${lines} lines, ` +
          `${Math.round(nSeries / (ms / 1000))} series/s, RSS ${mib(rssBefore)} -> peak ${mib(peak)} MiB (+${mib(peak - rssBefore)})`,
      );
    }
  }

  const W = '1m';
  const L = '{direction="inbound", namespace="ns-3"}';
  const G = 'namespace, deployment';
  const queries = [
    `sum(increase(response_total${L}[${W}])) by (${G}, classification, tls)`,
    `histogram_quantile(0.5, sum(irate(response_latency_ms_bucket${L}[${W}])) by (le, ${G}))`,
    `histogram_quantile(0.95, sum(irate(response_latency_ms_bucket${L}[${W}])) by (le, ${G}))`,
    `histogram_quantile(0.99, sum(irate(response_latency_ms_bucket${L}[${W}])) by (le, ${G}))`,
    `sum(tcp_open_connections${L}) by (${G})`,
    `sum(increase(tcp_read_bytes_total{direction="inbound", namespace="ns-3", peer="src"}[${W}])) by (${G})`,
    `histogram_quantile(0.99, sum(irate(response_latency_ms_bucket{direction="inbound"}[${W}])) by (le, namespace))`,
  ];
  console.log(`\nviz stat queries, instant at now (ms: median / max of 7, body bytes)`);
  for (const q of queries) {
    const times: number[] = [];
    let size = 0;
    for (let i = 0; i < 7; i++) {
      t0 = performance.now();
      const r = await fetch(
        `${base}/api/v1/query?query=${encodeURIComponent(q)}&time=${NOW / 1000}`,
      );
      const body = await r.text();
      times.push(performance.now() - t0);
      size = body.length;
      if (r.status !== 200) throw new Error(`${q}: ${body}`);
    }
    times.sort((a, b) => a - b);
    console.log(
      `  ${times[3].toFixed(1).padStart(7)} / ${times[6].toFixed(1).padStart(7)}  ${String(size).padStart(7)} B  ${q}`,
    );
  }
  const range = `start=${(NOW - 3_600_000) / 1000}&end=${NOW / 1000}&step=15`;
  const rq = `sum(rate(response_total{direction="inbound"}[1m])) by (namespace)`;
  t0 = performance.now();
  const rr = await fetch(`${base}/api/v1/query_range?query=${encodeURIComponent(rq)}&${range}`);
  const rb = await rr.text();
  console.log(`\nrange 1h/15s: ${(performance.now() - t0).toFixed(1)} ms, ${rb.length} B  ${rq}`);
  console.log(`process maxRSS ${mib(process.resourceUsage().maxRSS * 1024)} MiB`);
  await server.close();
}

await main();
