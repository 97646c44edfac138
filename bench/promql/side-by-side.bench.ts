/**
 * PromQL latency side by side: our collector, Prometheus 2.42 and VictoriaMetrics on the
 * same Linkerd-shaped history, in one run (ANCHORS.md §5 history rows and §6).
 *
 * The history comes from the shared harness (../shared/bench/backfill.mjs: 20 targets ×
 * (1,000 + 5) series, 62 min @10s, seed 1, ending just before the last 2 h boundary as
 * `run.mjs range` does). Its OpenMetrics text goes through
 * `promtool tsdb create-blocks-from openmetrics` into one block; Prometheus opens one copy
 * of that directory and our collector (`node bin/meshmetrics.js collector`, compiled
 * `dist/`) another. VictoriaMetrics is loaded the way the harness loads it
 * (lib/systems.mjs, run.mjs: `/api/v1/import/prometheus`, force_flush, force_merge,
 * `-search.disableCache` and `nocache=1` on every query).
 *
 * Each query of ANCHORS §5/§6 (success ratio and p99, instant at `time=` the history's
 * end, and 1 h `query_range` at 15 s) gets 1 warm-up per system, then 10 rounds; each round
 * sends one request to every system, sequentially over keep-alive loopback HTTP, in an
 * order that rotates per round. Latency is request to last body byte. The server's CPU
 * (utime + stime of its process tree, /proc/<pid>/stat, 10 ms ticks) is read around each
 * request.
 *
 *   npx tsc -p tsconfig.build.json     # dist/ for bin/meshmetrics.js
 *   node --expose-gc --import tsx bench/promql/side-by-side.bench.ts [--targets 20]
 *        [--minutes 62] [--reps 10] [--no-vm] [--stat] [--keep] [--work DIR]
 *        [--range-workers N]
 *
 * `--stat` adds the other `viz stat` queries (RPS, p50, p95, TCP connections). `--work DIR`
 * keeps the loaded data in DIR; a second run with the same DIR only starts the servers and
 * queries (about a minute instead of ~9 at the full size on a loaded machine).
 * `--range-workers N` passes `--query.range-workers=N` to our collector (default 0: one thread).
 * @module
 */

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../test/support/servers.js';

// The shared harness sits beside the repository; it is plain JS, typed here by use.
const SHARED = fileURLToPath(new URL('../../../shared/bench/', import.meta.url));
const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

interface HistoryOpts {
  targets: number;
  series: number;
  interval: number;
  start: number;
  end: number;
  format: 'om' | 'prom';
}
interface HttpResult {
  status: number;
  bytes: number;
  ms: number;
  body: string | null;
}
const { historyToFile, historyToPost, historyStats } = (await import(
  join(SHARED, 'backfill.mjs')
)) as {
  historyToFile: (o: HistoryOpts, path: string) => Promise<{ samples: number; bytes: number }>;
  historyToPost: (o: HistoryOpts, url: string) => Promise<{ samples: number; bytes: number }>;
  historyStats: (o: HistoryOpts) => { samples: number; seriesTotal: number };
};
const { request } = (await import(join(SHARED, 'lib/http.mjs'))) as {
  request: (url: string, opts?: { timeoutMs?: number; keep?: boolean }) => Promise<HttpResult>;
};
const { treeCpu } = (await import(join(SHARED, 'lib/proc.mjs'))) as {
  treeCpu: (pid: number) => { cpu: number };
};

// ---------------------------------------------------------------- arguments

function numArg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
function strArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
// `--work DIR`: keep the loaded data there; a later run with the same DIR reuses it and
// only queries (the history's parameters come from DIR/history.json then).
const WORK_ARG = strArg('work');
const REUSED = (
  WORK_ARG && existsSync(join(WORK_ARG, 'history.json'))
    ? JSON.parse(readFileSync(join(WORK_ARG, 'history.json'), 'utf8'))
    : null
) as { targets: number; minutes: number; end: number; vm: boolean } | null;
const TARGETS = REUSED?.targets ?? numArg('targets', 20);
const MINUTES = REUSED?.minutes ?? numArg('minutes', 62);
const REPS = numArg('reps', 10);
const SERIES = 1000;
const INTERVAL = 10;
const WITH_VM = REUSED ? REUSED.vm : !process.argv.includes('--no-vm');
const WITH_STAT = process.argv.includes('--stat');
/** Our collector's `--query.range-workers` (its default when not given). */
const RANGE_WORKERS = strArg('range-workers');
const KEEP = process.argv.includes('--keep') || WORK_ARG !== undefined;

// The queries of ANCHORS.md §5/§6 (run.mjs QUERIES), then the rest of `viz stat`.
const ANCHOR_QUERIES: Record<string, string> = {
  ratio:
    'sum(rate(response_total{classification="success"}[1m])) by (dst_deployment) / sum(rate(response_total[1m])) by (dst_deployment)',
  p99: 'histogram_quantile(0.99, sum(rate(response_latency_ms_bucket[1m])) by (le, dst_deployment))',
};
const STAT_QUERIES: Record<string, string> = {
  rps: 'sum(rate(request_total[1m])) by (dst_deployment)',
  p50: 'histogram_quantile(0.5, sum(rate(response_latency_ms_bucket[1m])) by (le, dst_deployment))',
  p95: 'histogram_quantile(0.95, sum(rate(response_latency_ms_bucket[1m])) by (le, dst_deployment))',
  tcp: 'sum(tcp_open_connections) by (dst_deployment)',
};
const QUERIES = WITH_STAT ? { ...ANCHOR_QUERIES, ...STAT_QUERIES } : ANCHOR_QUERIES;

// The history ends just before the last 2 h boundary, so promtool writes one block
// (as run.mjs range does).
const nowS = Math.floor(Date.now() / 1000);
const boundary = Math.floor(nowS / 7200) * 7200;
const END = REUSED?.end ?? boundary - 120 - ((boundary - 120) % INTERVAL);
const START = END - MINUTES * 60;

// ---------------------------------------------------------------- processes

/** A started server: name, base URL, process. */
interface Server {
  name: string;
  base: string;
  child: ChildProcess;
  /** Extra query parameters on every request (VictoriaMetrics: nocache=1). */
  extra: Record<string, string>;
  log: string[];
}

const started: Server[] = [];
process.on('exit', () => {
  for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL');
});

function startServer(
  name: string,
  argv: string[],
  port: number,
  extra: Record<string, string> = {},
): Server {
  const child = spawn(argv[0], argv.slice(1), {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const s: Server = { name, base: `http://127.0.0.1:${port}`, child, extra, log: [] };
  child.stderr?.on('data', (d: Buffer) => {
    s.log.push(d.toString());
    if (s.log.length > 200) s.log.shift();
  });
  started.push(s);
  return s;
}

async function waitReady(s: Server, path: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (s.child.exitCode !== null)
      throw new Error(`${s.name} exited with ${s.child.exitCode}: ${s.log.join('')}`);
    try {
      const r = await request(`${s.base}${path}`, { timeoutMs: 2000 });
      if (r.status === 200) return (performance.now() - t0) / 1000;
    } catch {
      // not listening yet
    }
    if (performance.now() - t0 > timeoutMs)
      throw new Error(`${s.name} not ready after ${timeoutMs} ms: ${s.log.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function log(msg: string): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

// ---------------------------------------------------------------- measurement

/** One system's figures for one query. */
interface Figures {
  ms: number[];
  cpuMs: number[];
  resultSeries: number;
  bytes: number;
  /** The warm-up answer's values by series, to check that the systems agree. */
  values: Map<string, number[]>;
}

function queryUrl(s: Server, path: string, params: Record<string, string>): string {
  return `${s.base}${path}?${new URLSearchParams({ ...params, ...s.extra }).toString()}`;
}

async function timedRequest(s: Server, url: string): Promise<{ r: HttpResult; cpuMs: number }> {
  const c0 = treeCpu(s.child.pid!).cpu;
  const r = await request(url);
  const cpuMs = (treeCpu(s.child.pid!).cpu - c0) * 1000;
  if (r.status !== 200) throw new Error(`${s.name}: HTTP ${r.status}: ${r.body?.slice(0, 300)}`);
  return { r, cpuMs };
}

interface QueryResult {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

/** The answer's values by series (sorted label pairs), NaN for a missing step. */
function resultValues(body: string | null): Map<string, number[]> {
  const j = JSON.parse(body ?? '{}') as { status?: string; data?: { result?: QueryResult[] } };
  if (j.status !== 'success') throw new Error(`query failed: ${body?.slice(0, 300)}`);
  const out = new Map<string, number[]>();
  for (const r of j.data?.result ?? []) {
    const key = JSON.stringify(Object.entries(r.metric).sort(([a], [b]) => (a < b ? -1 : 1)));
    const points = r.values ?? (r.value ? [r.value] : []);
    // Timestamps (ms) first, then the values: maxRelDiff wants the first half equal.
    out.set(key, [
      ...points.map(([t]) => Math.round(t * 1000)),
      ...points.map(([, v]) => Number(v)),
    ]);
  }
  return out;
}

/**
 * The largest relative difference between two answers' values, over series and points; the
 * series sets and timestamps must match (Infinity when they do not).
 */
function maxRelDiff(a: Map<string, number[]>, b: Map<string, number[]>): number {
  if (a.size !== b.size) return Infinity;
  let worst = 0;
  for (const [key, xs] of a) {
    const ys = b.get(key);
    if (!ys || ys.length !== xs.length) return Infinity;
    const half = xs.length / 2;
    for (let i = 0; i < half; i++) if (xs[i] !== ys[i]) return Infinity;
    for (let i = half; i < xs.length; i++) {
      const x = xs[i];
      const y = ys[i];
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (x === y) continue;
      worst = Math.max(worst, Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y)));
    }
  }
  return worst;
}

/** 1 warm-up per system, then REPS rounds of one request per system, order rotating. */
async function measure(
  servers: Server[],
  path: string,
  params: Record<string, string>,
): Promise<Map<string, Figures>> {
  const out = new Map<string, Figures>();
  for (const s of servers) {
    const { r } = await timedRequest(s, queryUrl(s, path, params));
    const values = resultValues(r.body);
    out.set(s.name, { ms: [], cpuMs: [], resultSeries: values.size, bytes: r.bytes, values });
  }
  for (let round = 0; round < REPS; round++) {
    for (let k = 0; k < servers.length; k++) {
      const s = servers[(round + k) % servers.length];
      const { r, cpuMs } = await timedRequest(s, queryUrl(s, path, params));
      const f = out.get(s.name)!;
      f.ms.push(r.ms);
      f.cpuMs.push(cpuMs);
    }
  }
  return out;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function fmt(ms: number): string {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}
function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

// ---------------------------------------------------------------- main

const work = WORK_ARG ?? mkdtempSync(join(tmpdir(), 'mm-side-by-side-'));
mkdirSync(work, { recursive: true });
const hopts = { targets: TARGETS, series: SERIES, interval: INTERVAL, start: START, end: END };
const hs = historyStats({ ...hopts, format: 'om' });
log(
  `history: ${TARGETS} targets × ${SERIES}+5 series, ${MINUTES} min @${INTERVAL}s = ${hs.samples} samples, ${hs.seriesTotal} series, end ${new Date(END * 1000).toISOString()}; work dir ${work}`,
);

try {
  // 1. History → OpenMetrics → promtool block, copied for each system that opens it.
  const promDir = join(work, 'prometheus');
  const oursDir = join(work, 'meshmetrics');
  const omFile = join(work, 'history.om');
  let t0 = performance.now();
  if (REUSED) log(`reusing the data loaded in ${work}`);
  else await writeBlocks();
  async function writeBlocks(): Promise<void> {
    const om = await historyToFile({ ...hopts, format: 'om' }, omFile);
    log(
      `wrote ${(om.bytes / 2 ** 30).toFixed(2)} GiB OpenMetrics in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    mkdirSync(promDir);
    t0 = performance.now();
    const pt = spawnSync(
      'promtool',
      ['tsdb', 'create-blocks-from', 'openmetrics', omFile, promDir],
      {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      },
    );
    if (pt.status !== 0) throw new Error(`promtool failed: ${pt.stderr.slice(-1000)}`);
    log(
      `promtool create-blocks-from openmetrics: ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
    rmSync(omFile);
    cpSync(promDir, oursDir, { recursive: true });
  }

  const config = join(work, 'empty.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1h\nscrape_configs: []\n');

  // 2. Start the servers (one after another, so start-up costs do not overlap).
  const servers: Server[] = [];
  let port = await freePort();
  const ours = startServer(
    'meshmetrics',
    [
      process.execPath,
      'bin/meshmetrics.js',
      'collector',
      `--config.file=${config}`,
      `--storage.tsdb.path=${oursDir}`,
      '--storage.tsdb.retention.time=100y',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      ...(RANGE_WORKERS !== undefined ? [`--query.range-workers=${RANGE_WORKERS}`] : []),
    ],
    port,
  );
  log(`meshmetrics ready in ${(await waitReady(ours, '/-/ready', 180_000)).toFixed(1)} s`);
  servers.push(ours);

  port = await freePort();
  const prom = startServer(
    'prometheus',
    [
      'prometheus',
      `--config.file=${config}`,
      `--storage.tsdb.path=${promDir}`,
      '--storage.tsdb.retention.time=100y',
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    port,
  );
  log(`prometheus ready in ${(await waitReady(prom, '/-/ready', 180_000)).toFixed(1)} s`);
  servers.push(prom);

  if (WITH_VM) {
    port = await freePort();
    const vmDir = join(work, 'victoriametrics');
    const vm = startServer(
      'victoriametrics',
      [
        'victoria-metrics',
        `-storageDataPath=${vmDir}`,
        `-httpListenAddr=127.0.0.1:${port}`,
        '-retentionPeriod=100y',
        '-loggerLevel=WARN',
        '-search.disableCache',
      ],
      port,
      { nocache: '1' },
    );
    await waitReady(vm, '/health', 180_000);
    if (!REUSED) await importVm(vm);
    servers.push(vm);
  }
  if (WORK_ARG && !REUSED) {
    const meta = { targets: TARGETS, minutes: MINUTES, end: END, vm: WITH_VM };
    writeFileSync(join(work, 'history.json'), JSON.stringify(meta));
  }

  async function importVm(vm: Server): Promise<void> {
    t0 = performance.now();
    await historyToPost({ ...hopts, format: 'prom' }, `${vm.base}/api/v1/import/prometheus`);
    await request(`${vm.base}/internal/force_flush`);
    await new Promise((r) => setTimeout(r, 3000));
    const partition = new Date(END * 1000).toISOString().slice(0, 7).replace('-', '_');
    await request(`${vm.base}/internal/force_merge?partition_prefix=${partition}`, {
      timeoutMs: 600_000,
    });
    await new Promise((r) => setTimeout(r, 5000));
    log(
      `victoriametrics loaded (import, flush, merge) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  }

  // 3. Queries.
  const others = servers.filter((s) => s !== ours).map((s) => s.name);
  const header =
    `| query | ${servers.map((s) => `${s.name} median (min–p90) ms`).join(' | ')} | ` +
    `${others.map((o) => `ours/${o}`).join(' | ')} | ${servers.map((s) => `${s.name} CPU ms/query`).join(' | ')} | series/bytes | max rel diff ours vs prometheus |`;
  const rows: string[] = [header, header.replace(/[^|]+/g, '---')];
  for (const [name, query] of Object.entries(QUERIES)) {
    for (const range of [false, true]) {
      const label = `${name} ${range ? '1h range @15s' : 'instant'}`;
      const figures = range
        ? await measure(servers, '/api/v1/query_range', {
            query,
            start: String(END - 3600),
            end: String(END),
            step: '15',
          })
        : await measure(servers, '/api/v1/query', { query, time: String(END) });
      const med = new Map([...figures].map(([k, f]) => [k, median(f.ms)]));
      const cells = servers.map((s) => {
        const f = figures.get(s.name)!;
        const sorted = [...f.ms].sort((a, b) => a - b);
        return `${fmt(med.get(s.name)!)} (${fmt(sorted[0])}–${fmt(quantile(sorted, 0.9))})`;
      });
      const ratios = others.map((o) => `${(med.get(ours.name)! / med.get(o)!).toFixed(2)}×`);
      const cpu = servers.map((s) => fmt(mean(figures.get(s.name)!.cpuMs)));
      const shape = servers
        .map((s) => {
          const f = figures.get(s.name)!;
          return `${f.resultSeries}/${(f.bytes / 1024).toFixed(0)}K`;
        })
        .join(', ');
      const diff = maxRelDiff(figures.get(ours.name)!.values, figures.get(prom.name)!.values);
      rows.push(
        `| ${label} | ${cells.join(' | ')} | ${ratios.join(' | ')} | ${cpu.join(' | ')} | ${shape} | ${diff.toExponential(1)} |`,
      );
      log(rows[rows.length - 1]);
    }
  }
  console.log(
    `\nHistory: ${TARGETS} targets × ${SERIES}+5 series, ${MINUTES} min @${INTERVAL}s (${hs.samples} samples). ` +
      `1 warm-up + ${REPS} rounds, systems alternating, keep-alive loopback; ratio < 1 = ours faster. ` +
      `Max rel diff: warm-up answers, same series and timestamps required (Infinity otherwise); ` +
      `our range windows are left-open (t-1m, t] as in Prometheus 3, 2.42's are closed [t-1m, t], ` +
      `so on this grid-aligned data a 1m window holds one sample less here and the values differ. ` +
      `CPU = server utime+stime per request (10 ms ticks, mean). Preliminary: shared 2-core machine.\n`,
  );
  console.log(rows.join('\n'));
} finally {
  for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 1000));
  for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  if (!KEEP) rmSync(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}
