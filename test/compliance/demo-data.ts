/**
 * A deterministic look-alike of the PromLabs demo service (the data the PromQL compliance
 * queries expect), written as OpenMetrics text with explicit timestamps, so that
 * `promtool tsdb create-blocks-from openmetrics` turns it into blocks that both Prometheus
 * and our collector then open. Same seed, same bytes, every run.
 *
 * What it models, per instance (labels `job`, `instance`), one scrape every 5 s:
 * - `demo_memory_usage_bytes{type=used|cached|buffers|free}`: random walks around fixed
 *   bases; free is the total minus the rest.
 * - `demo_num_cpus` = 4, `demo_disk_total_bytes` = 160 GB.
 * - `demo_cpu_usage_seconds_total{mode=user|system|idle}`: counters advancing about
 *   4 CPU-seconds per second, split about 30/20/50 with noise.
 * - `demo_disk_usage_bytes`: grows about 0.5 MB/s, wrapping from 90 % back to 10 %.
 * - `demo_batch_*`: a batch job runs about once a minute; a quarter of the runs fail and
 *   leave `demo_batch_last_success_timestamp_seconds` where it was.
 * - `demo_api_request_duration_seconds_{bucket,sum,count}{method,path,status}`: a latency
 *   histogram with periodic outages (a burst of 500s and slow requests).
 * - `demo_intermittent_metric` = 1, only during even wall-clock minutes. A scraping
 *   Prometheus writes a stale marker at the first scrape that misses it; OpenMetrics cannot
 *   carry stale markers, so this series comes apart from the text, with its markers, to be
 *   written as a block of its own.
 *
 * Scrape timestamps carry a per-instance offset and a few ms of jitter, like real scrapes,
 * so they never fall on the 10 s grid the queries are evaluated on. One instance restarts
 * halfway (its counters reset).
 * @module
 */

import { mulberry32 as prng } from '../support/rng.js';

/** Parameters of the generated data. */
export interface DemoDataOptions {
  /** Time of the last scrape window, in ms. */
  endMs: number;
  /** How long the data runs, in ms. */
  durationMs: number;
  /** Host part of every instance label (the queries' `demo.promlabs.com` is rewritten to it). */
  host: string;
  /** PRNG seed. */
  seed: number;
}

/** A series with its samples, stale markers included. */
export interface SampleSeries {
  labels: Record<string, string>;
  ts: number[];
  /** A typed array, so stale markers keep their NaN payload. */
  vs: Float64Array;
}

/** The generated data: OpenMetrics text, and the series that carry stale markers. */
export interface DemoData {
  openMetrics: string;
  staleSeries: SampleSeries[];
}

/** The defaults the compliance test uses: 75 minutes ending at 2026-01-01T00:30:00Z. */
export const DEMO_DATA: Readonly<DemoDataOptions> = Object.freeze({
  endMs: Date.UTC(2026, 0, 1, 0, 30, 0),
  durationMs: 75 * 60_000,
  host: 'localhost',
  seed: 20260101,
});

/** The three instance ports of the upstream scrape configuration. */
export const DEMO_PORTS = [10000, 10001, 10002] as const;

const SCRAPE_INTERVAL_MS = 5_000;
/** Placeholder for a stale marker while samples sit in plain arrays. */
const STALE = -1;
const MEMORY_TOTAL = 4 * 2 ** 30;
const DISK_TOTAL = 160e9;
const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
const BUCKET_BOUNDS = BUCKETS.map(Number);

/** One series being filled: its label text and its samples. */
class SeriesBuf {
  readonly ts: number[] = [];
  readonly vs: number[] = [];
  readonly name: string;
  readonly labelText: string;
  constructor(name: string, labelText: string) {
    this.name = name;
    this.labelText = labelText;
  }
  add(t: number, v: number): void {
    this.ts.push(t);
    this.vs.push(v);
  }
}

/** Collects series by family, in first-seen order, so families stay contiguous in the output. */
class Families {
  private readonly byKey = new Map<string, SeriesBuf>();
  readonly families = new Map<string, SeriesBuf[]>();
  get(name: string, labels: Record<string, string>): SeriesBuf {
    let labelText = '';
    for (const k in labels) labelText += `${labelText === '' ? '' : ','}${k}="${labels[k]}"`;
    const key = `${name}{${labelText}}`;
    let s = this.byKey.get(key);
    if (s === undefined) {
      s = new SeriesBuf(name, labelText);
      this.byKey.set(key, s);
      let fam = this.families.get(name);
      if (fam === undefined) this.families.set(name, (fam = []));
      fam.push(s);
    }
    return s;
  }
}

/** Mutable state of one simulated demo-service process. */
interface InstanceState {
  memory: Record<'used' | 'cached' | 'buffers', number>;
  cpu: Record<'user' | 'system' | 'idle', number>;
  disk: number;
  lastRunMs: number;
  lastSuccessMs: number;
  lastDuration: number;
  lastProcessed: number;
  /** Cumulative bucket counts per label combination, then sum and count. */
  hist: Map<string, { buckets: Float64Array; sum: number; count: number }>;
}

function freshState(rand: () => number, i: number): InstanceState {
  return {
    memory: {
      used: 1.5 * 2 ** 30 + i * 1e8,
      cached: 0.6 * 2 ** 30 - i * 3e7,
      buffers: 0.1 * 2 ** 30 + i * 1e6,
    },
    cpu: { user: 0, system: 0, idle: 0 },
    // Instance 1 starts close to the wrap, so a wrap falls inside the data.
    disk: i === 1 ? 0.9 * DISK_TOTAL - 1.5e9 : (0.3 + 0.2 * i + 0.05 * rand()) * DISK_TOTAL,
    lastRunMs: 0,
    lastSuccessMs: 0,
    lastDuration: 0,
    lastProcessed: 0,
    hist: new Map(),
  };
}

/**
 * Generates the data: OpenMetrics text (ending in `# EOF`) without `demo_intermittent_metric`,
 * which comes in `staleSeries` with the stale markers `staleNaN` a scrape would write.
 */
export function generateDemoData(opts: DemoDataOptions, staleNaN: number): DemoData {
  const rand = prng(opts.seed);
  const intermittent = DEMO_PORTS.map((port) => ({
    labels: { __name__: 'demo_intermittent_metric', instance: `${opts.host}:${port}`, job: 'demo' },
    ts: [] as number[],
    vs: [] as number[],
  }));
  const fams = new Families();
  const startMs = opts.endMs - opts.durationMs;
  const steps = Math.floor(opts.durationMs / SCRAPE_INTERVAL_MS);
  const restartAt = Math.floor(steps / 2); // instance 2 restarts here
  const states = DEMO_PORTS.map((_, i) => freshState(rand, i));
  // Every process has been running for a while already: give counters a history.
  for (const s of states) {
    s.cpu = { user: 5000 * (1 + rand()), system: 3000 * (1 + rand()), idle: 9000 * (1 + rand()) };
    s.lastRunMs = startMs - 20_000;
    s.lastSuccessMs = startMs - 80_000;
    s.lastDuration = 10 + rand() * 20;
    s.lastProcessed = 1e6 * (1 + rand());
  }
  const combos: { method: string; path: string; status: string }[] = [];
  for (const method of ['GET', 'POST'])
    for (const path of ['/api/bar', '/api/foo'])
      for (const status of ['200', '500']) combos.push({ method, path, status });

  for (let k = 0; k <= steps; k++) {
    for (let i = 0; i < DEMO_PORTS.length; i++) {
      if (i === 2 && k === restartAt) {
        states[i] = freshState(rand, i);
        states[i].lastRunMs = states[i].lastSuccessMs = startMs + k * SCRAPE_INTERVAL_MS;
      }
      const s = states[i];
      // Instance offsets and jitter keep scrape times off the queries' 10 s grid.
      const t = startMs + k * SCRAPE_INTERVAL_MS + 137 + i * 1531 + Math.floor(rand() * 20);
      const base = { instance: `${opts.host}:${DEMO_PORTS[i]}`, job: 'demo' };
      const dt = SCRAPE_INTERVAL_MS / 1000;

      // Memory: random walks, clamped to stay positive; free is what is left.
      for (const type of ['used', 'cached', 'buffers'] as const) {
        s.memory[type] = Math.max(1e6, s.memory[type] + (rand() - 0.5) * 2e7);
        fams.get('demo_memory_usage_bytes', { ...base, type }).add(t, Math.round(s.memory[type]));
      }
      const free = MEMORY_TOTAL - s.memory.used - s.memory.cached - s.memory.buffers;
      fams.get('demo_memory_usage_bytes', { ...base, type: 'free' }).add(t, Math.round(free));

      fams.get('demo_num_cpus', base).add(t, 4);

      // CPU: ~4 CPU-seconds per second in total, split ~30/20/50.
      const split = { user: 0.3, system: 0.2, idle: 0.5 };
      for (const mode of ['user', 'system', 'idle'] as const) {
        s.cpu[mode] += 4 * dt * split[mode] * (0.8 + 0.4 * rand());
        fams.get('demo_cpu_usage_seconds_total', { ...base, mode }).add(t, s.cpu[mode]);
      }

      // Disk: ~0.5 MB/s with noise, wrapping from 90 % to 10 %.
      s.disk += 0.5e6 * dt * (0.5 + rand());
      if (s.disk > 0.9 * DISK_TOTAL) s.disk = 0.1 * DISK_TOTAL;
      fams.get('demo_disk_usage_bytes', base).add(t, Math.round(s.disk));
      fams.get('demo_disk_total_bytes', base).add(t, DISK_TOTAL);

      // Batch job: about once a minute; a quarter of the runs fail.
      if (t - s.lastRunMs >= 55_000 + rand() * 10_000) {
        s.lastRunMs = t;
        s.lastDuration = 10 + rand() * 20;
        s.lastProcessed = Math.round(1e6 * (0.5 + rand()));
        if (rand() >= 0.25) s.lastSuccessMs = t;
      }
      fams.get('demo_batch_last_run_timestamp_seconds', base).add(t, s.lastRunMs / 1000);
      fams.get('demo_batch_last_success_timestamp_seconds', base).add(t, s.lastSuccessMs / 1000);
      fams.get('demo_batch_last_run_duration_seconds', base).add(t, s.lastDuration);
      fams.get('demo_batch_last_run_processed_bytes', base).add(t, s.lastProcessed);

      // API latency histogram; an outage for 2 minutes in every 15 (phase per instance).
      const minute = Math.floor((t - startMs) / 60_000);
      const outage = (minute + 4 * i) % 15 < 2;
      for (const c of combos) {
        const key = `${c.method} ${c.path} ${c.status}`;
        let h = s.hist.get(key);
        if (h === undefined) {
          h = { buckets: new Float64Array(BUCKETS.length), sum: 0, count: 0 };
          s.hist.set(key, h);
        }
        const rate = c.status === '500' ? (outage ? 20 : 0.5) : outage ? 5 : 30;
        const n = Math.round(rate * (c.method === 'GET' ? 2 : 1) * dt * (0.7 + 0.6 * rand()));
        const slow = c.path === '/api/bar' ? 3 : 1;
        for (let r = 0; r < n; r++) {
          const latency = slow * (outage ? 0.3 : 0.02) * -Math.log(1 - rand());
          h.sum += latency;
          h.count++;
          for (let b = 0; b < BUCKET_BOUNDS.length; b++)
            if (latency <= BUCKET_BOUNDS[b]) h.buckets[b]++;
        }
        const labels = { ...base, method: c.method, path: c.path, status: c.status };
        for (let b = 0; b < BUCKETS.length; b++)
          fams
            .get('demo_api_request_duration_seconds_bucket', { ...labels, le: BUCKETS[b] })
            .add(t, h.buckets[b]);
        fams.get('demo_api_request_duration_seconds_sum', labels).add(t, h.sum);
        fams.get('demo_api_request_duration_seconds_count', labels).add(t, h.count);
      }

      // Present only in even wall-clock minutes; the first scrape without it marks it stale.
      const im = intermittent[i];
      if (Math.floor(t / 60_000) % 2 === 0) {
        im.ts.push(t);
        im.vs.push(1);
      } else if (im.vs.length > 0 && im.vs[im.vs.length - 1] === 1) {
        im.ts.push(t);
        im.vs.push(STALE); // becomes the stale NaN in the typed array below
      }
    }
  }

  const out: string[] = [];
  for (const [name, series] of fams.families) {
    out.push(`# TYPE ${name} unknown\n`);
    for (const s of series)
      for (let j = 0; j < s.ts.length; j++)
        out.push(`${name}{${s.labelText}} ${s.vs[j]} ${(s.ts[j] / 1000).toFixed(3)}\n`);
  }
  out.push('# EOF\n');
  return {
    openMetrics: out.join(''),
    staleSeries: intermittent.map((x) => {
      // Plain arrays may canonicalize a NaN's payload; write the marker into the typed array.
      const vs = new Float64Array(x.vs.length);
      for (let j = 0; j < vs.length; j++) vs[j] = x.vs[j] === STALE ? staleNaN : x.vs[j];
      return { labels: x.labels, ts: x.ts, vs };
    }),
  };
}

/** First and last sample time of the generated data, in ms (before jitter and offsets). */
export function demoDataSpan(opts: DemoDataOptions = DEMO_DATA): {
  startMs: number;
  endMs: number;
} {
  return { startMs: opts.endMs - opts.durationMs, endMs: opts.endMs };
}
