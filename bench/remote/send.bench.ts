/**
 * Remote write throughput. Prints:
 *  1. encode: samples/s of the hand-written WriteRequest encoder, alone and with snappy;
 *  2. catch-up: a backlog of 1M samples (1000 series × 1000) in the WAL while the
 *     receiver (a local VictoriaMetrics, when installed) is down, then sent: wall time,
 *     samples/s, and samples per CPU-second of this process;
 *  3. side by side with Prometheus 2.42 (when installed): our collector and Prometheus
 *     scrape the same targets (../shared/bench/targets.mjs, Linkerd-shaped, 1,000 series
 *     each, every second) and remote-write into the same VictoriaMetrics with the same
 *     queue_config; the receiver is stopped for a while, then started; for each sender,
 *     the time to clear the outage's backlog (every sample older than the receiver's
 *     return sent; what was scraped meanwhile still waits), samples/s while catching up,
 *     and CPU-seconds per million samples sent, with the ratio. CPU is utime+stime of the process from /proc;
 *     "send CPU" subtracts the process's CPU rate measured during the outage (scraping,
 *     retries, and for our collector the tsx loader) from the catch-up window.
 * Run: node --expose-gc --import tsx bench/remote/send.bench.ts [--targets N | --rate N]
 *   [--outage S] [--cap S] [--only side-by-side]. Defaults: 10 targets, 20 s outage, catch-up
 *   capped at 180 s; about 1.5 minutes in all. `--rate 50000` scrapes 50 targets (1,000
 *   series each, every second). The issue's long run, `--only side-by-side --rate 50000
 *   --outage 600 --cap 1800`, prints progress every 30 s and, for a sender that has not
 *   caught up when the cap is hit, what it drained, at what rate, and how far behind it is.
 * @module
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import snappy from 'snappy';
import { QueueManager, WriteRequestEncoder } from '../../src/remote/index.js';
import {
  BENCH_SAMPLES_PER_REQUEST,
  BENCH_SERIES,
  benchSampleArrays,
  benchSeriesLabels,
} from './request-data.js';
import {
  appendKnown,
  freePort,
  rwConfig,
  selfMetric,
  startCollectorProcess,
  startPeer,
  startVictoriaMetrics,
  waitFor,
  type PeerProcess,
} from '../../src/remote/testdata/harness.js';
import { findProgram } from '../../test/support/peers.js';
import { openDB } from '../../src/tsdb/db.js';

function benchEncode(): void {
  const nSeries = BENCH_SERIES;
  const labels = benchSeriesLabels();
  const per = BENCH_SAMPLES_PER_REQUEST;
  const { refs, ts, vs } = benchSampleArrays();
  const enc = new WriteRequestEncoder();
  const rounds = 4000;
  let bytes = 0;
  let zbytes = 0;
  for (const withSnappy of [false, true]) {
    const t0 = performance.now();
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < per; i++) {
        refs[i] = (r * per + i) % nSeries;
        ts[i] = 1_700_000_000_000 + r * 1000 + i;
        vs[i] = r * 0.5 + i;
      }
      const body = enc.encode(refs, ts, vs, per, (ref) => labels[ref]);
      bytes = body.length;
      if (withSnappy) zbytes = (snappy.compressSync(body) as Buffer).length;
    }
    const s = (performance.now() - t0) / 1000;
    console.log(
      `encode${withSnappy ? '+snappy' : '       '}: ${((rounds * per) / s / 1e6).toFixed(2)} M samples/s ` +
        `(${per} samples/request, ${bytes} B raw${withSnappy ? `, ${zbytes} B snappy` : ''})`,
    );
  }
}

async function benchCatchUp(): Promise<void> {
  const vm = findProgram('victoria-metrics');
  if (vm === null) {
    console.log('catch-up: victoria-metrics not installed; skipped');
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'mm-rw-bench-'));
  const port = await freePort();
  const nSeries = 1000;
  const n = 1000;
  const t0 = Math.floor((Date.now() - 30 * 60_000) / 1000) * 1000;
  const db = await openDB(join(root, 'db'), { logger: () => {} });
  let proc: PeerProcess | null = null;
  try {
    const a0 = performance.now();
    await appendKnown(db, nSeries, 0, n, t0, 1000, 'bench_metric');
    console.log(
      `backlog: ${nSeries * n} samples appended to the WAL in ${((performance.now() - a0) / 1000).toFixed(1)} s`,
    );
    proc = await startVictoriaMetrics(vm, join(root, 'vm'), port);
    for (const [label, extra] of [
      ['defaults (500/send, shards from 1)', ''],
      ['4 shards, 2000/send', 'queue_config:\n  min_shards: 4\n  max_samples_per_send: 2000'],
    ] as const) {
      const q = new QueueManager(rwConfig(`http://127.0.0.1:${port}/api/v1/write`, extra), {
        walDir: join(root, 'db', 'wal'),
        stateDir: join(root, 'db', 'remote-' + label.length),
        externalLabels: {},
        logger: () => {},
      });
      const cpu0 = process.cpuUsage();
      const w0 = performance.now();
      q.start();
      await waitFor(() => q.samplesTotal >= nSeries * n, 120_000);
      const wall = (performance.now() - w0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const cpuS = (cpu.user + cpu.system) / 1e6;
      await q.stop();
      console.log(
        `catch-up ${label}: ${q.samplesTotal} samples in ${wall.toFixed(2)} s = ${(q.samplesTotal / wall / 1e3).toFixed(0)} k samples/s; ` +
          `${cpuS.toFixed(2)} CPU-s = ${(q.samplesTotal / cpuS / 1e3).toFixed(0)} k samples per CPU-second; ${(q.bytesTotal / 1e6).toFixed(1)} MB sent`,
      );
    }
  } finally {
    await proc?.stop();
    await db.close();
    rmSync(root, { recursive: true, force: true });
  }
}

// The shared harness sits beside the repository, as in every checkout of this project.
const TARGETS_SCRIPT = fileURLToPath(new URL('../../../shared/bench/targets.mjs', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** How often a long catch-up prints its progress (`--report S`, default 30 s). */
const REPORT_MS = Number(flag('--report', '30')) * 1000;

/** CPU seconds (utime + stime) of a process so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // CLK_TCK
}

/** `n` consecutive free loopback ports, from a random start. */
async function freePortRange(n: number): Promise<number> {
  const canBind = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (;;) {
    const base = 30_000 + Math.floor(Math.random() * 20_000);
    let ok = true;
    for (let i = 0; i <= n && ok; i++) ok = await canBind(base + i);
    if (ok) return base;
  }
}

interface Sender {
  name: string;
  peer: PeerProcess;
}

interface SenderState {
  cpu: number;
  sent: number;
  highestSentS: number;
  shards: number;
  /** Samples read and not yet sent (NaN when the sender does not say). */
  pending: number;
}

async function senderState(s: Sender): Promise<SenderState> {
  const text = await (await fetch(`${s.peer.base}/metrics`)).text();
  return {
    cpu: cpuSeconds(s.peer.proc.pid as number),
    sent: selfMetric(text, 'prometheus_remote_storage_samples_total'),
    shards: selfMetric(text, 'prometheus_remote_storage_shards'),
    pending: selfMetric(text, 'prometheus_remote_storage_samples_pending'),
    highestSentS: selfMetric(
      text,
      'prometheus_remote_storage_queue_highest_sent_timestamp_seconds',
    ),
  };
}

async function benchSideBySide(nTargets: number, outageS: number, capS: number): Promise<void> {
  const vmBin = findProgram('victoria-metrics');
  const promBin = findProgram('prometheus');
  if (vmBin === null || promBin === null) {
    console.log('side by side: prometheus or victoria-metrics not installed; skipped');
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'mm-rw-side-'));
  const procs: PeerProcess[] = [];
  const basePort = await freePortRange(nTargets);
  const targets = spawn(
    process.execPath,
    [
      TARGETS_SCRIPT,
      ...['--targets', String(nTargets), '--series', '1000'],
      ...['--base-port', String(basePort), '--control-port', String(basePort + nTargets)],
    ],
    { stdio: 'ignore' },
  );
  try {
    await waitFor(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${basePort + nTargets}/healthz`)).ok;
      } catch {
        return false;
      }
    }, 30_000);
    const vmPort = await freePort();
    let vm = await startVictoriaMetrics(vmBin, join(root, 'vm'), vmPort);
    procs.push(vm);
    const config = (sender: string): string =>
      [
        'global:',
        '  scrape_interval: 1s',
        `  external_labels: {sender: ${sender}}`,
        'scrape_configs:',
        '  - job_name: linkerd-proxy',
        '    static_configs:',
        `      - targets: [${Array.from({ length: nTargets }, (_, i) => `'127.0.0.1:${basePort + i}'`).join(', ')}]`,
        'remote_write:',
        `  - url: http://127.0.0.1:${vmPort}/api/v1/write`,
        '    queue_config: {min_backoff: 50ms, max_backoff: 500ms}',
        '    metadata_config: {send: false}',
        '',
      ].join('\n');
    writeFileSync(join(root, 'mm.yml'), config('meshmetrics'));
    writeFileSync(join(root, 'prom.yml'), config('prometheus'));
    const ourPort = await freePort();
    const promPort = await freePort();
    const [ours, prom] = await Promise.all([
      startCollectorProcess(join(root, 'mm.yml'), join(root, 'mm'), ourPort, ['--log.level=warn']),
      startPeer(
        promBin,
        [
          `--config.file=${join(root, 'prom.yml')}`,
          `--storage.tsdb.path=${join(root, 'prom')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
          '--log.level=warn',
        ],
        promPort,
        '/-/ready',
      ),
    ]);
    procs.push(ours, prom);
    const senders: Sender[] = [
      { name: 'meshmetrics', peer: ours },
      { name: 'prometheus 2.42', peer: prom },
    ];
    // Warm up: both sending, then a few seconds of steady state.
    await waitFor(async () => {
      for (const s of senders) if (!((await senderState(s)).sent > 0)) return false;
      return true;
    }, 60_000);
    await sleep(5000);

    await vm.stop();
    const down = await Promise.all(senders.map(senderState));
    const log = (line: string): void =>
      console.log(`  [${new Date().toISOString().slice(11, 19)}] ${line}`);
    if (outageS >= 60) log(`receiver stopped for ${outageS} s`);
    await sleep(outageS * 1000);
    const up = await Promise.all(senders.map(senderState));
    vm = await startVictoriaMetrics(vmBin, join(root, 'vm'), vmPort);
    procs.push(vm);
    const backAtS = Date.now() / 1000;
    if (outageS >= 60) log(`receiver back; catch-up capped at ${capS} s`);
    // Polled seldom: each poll renders the sender's /metrics, which is not sending.
    const pollMs = outageS >= 60 ? 1000 : 200;
    const results = await Promise.all(
      senders.map(async (s, i) => {
        const start = await senderState(s);
        let end = start;
        let maxShards = start.shards;
        let nextReport = Date.now() + REPORT_MS;
        const capAt = Date.now() + capS * 1000;
        while (Date.now() < capAt) {
          end = await senderState(s);
          maxShards = Math.max(maxShards, end.shards);
          if (end.highestSentS >= backAtS) break;
          if (outageS >= 60 && Date.now() >= nextReport) {
            nextReport += REPORT_MS;
            const t = Date.now() / 1000 - backAtS;
            log(
              `${s.name}: ${t.toFixed(0)} s: ${end.sent - start.sent} sent since the receiver came back ` +
                `(${((end.sent - start.sent) / t / 1e3).toFixed(1)} k/s), ${end.shards} shards, ${end.pending} pending, ` +
                `${(Date.now() / 1000 - end.highestSentS).toFixed(0)} s behind`,
            );
          }
          await sleep(pollMs);
        }
        const wallS = Date.now() / 1000 - backAtS;
        const baselineCores = (up[i].cpu - down[i].cpu) / outageS;
        const samples = end.sent - start.sent;
        const cpu = end.cpu - start.cpu;
        const sendCpu = Math.max(0, cpu - baselineCores * wallS);
        return {
          name: s.name,
          wallS,
          samples,
          cpu,
          sendCpu,
          baselineCores,
          caughtUp: end.highestSentS >= backAtS,
          behindS: Date.now() / 1000 - end.highestSentS,
          maxShards,
        };
      }),
    );
    console.log(
      `side by side: ${nTargets} targets × ~1,000 series @1s into one VictoriaMetrics, receiver down ${outageS} s, same queue_config (defaults, backoff 50ms–500ms)`,
    );
    for (const r of results) {
      // Ingestion goes on while catching up: the backlog left is the lag at the scrape rate.
      const left = r.caughtUp
        ? ''
        : `; cap hit: ${r.behindS.toFixed(0)} s behind, about ${((r.behindS * nTargets * 1000) / 1e6).toFixed(1)} M samples left at ${nTargets}k samples/s scraped`;
      // When the process used no more CPU catching up than while the receiver was down
      // (a starved machine), "send CPU" cannot be told apart from scraping: say so.
      const send =
        r.sendCpu > 0.05 * r.cpu
          ? `send CPU ${((r.sendCpu / r.samples) * 1e6).toFixed(2)} CPU-s per M samples = ` +
            `${(r.samples / r.sendCpu / 1e3).toFixed(0)} k samples per send CPU-second`
          : 'send CPU n/a (no more CPU than during the outage)';
      console.log(
        `  ${r.name.padEnd(16)} ${r.caughtUp ? 'sent the outage backlog' : 'did NOT send the outage backlog'} in ${r.wallS.toFixed(1)} s: ` +
          `${r.samples} samples at ${(r.samples / r.wallS / 1e3).toFixed(1)} k samples/s; ${send} ` +
          `(process ${((r.cpu / r.samples) * 1e6).toFixed(2)} CPU-s per M incl. scraping, ${(r.cpu / r.wallS).toFixed(2)} cores while catching up; ` +
          `outage baseline ${r.baselineCores.toFixed(2)} cores); up to ${r.maxShards} shards${left}`,
      );
    }
    const [a, b] = results;
    console.log(
      `  ratio meshmetrics / prometheus: catch-up speed ${(a.samples / a.wallS / (b.samples / b.wallS)).toFixed(2)}×, ` +
        `send CPU per sample ${(a.sendCpu / a.samples / (b.sendCpu / b.samples)).toFixed(2)}×, ` +
        `process CPU per sample ${(a.cpu / a.samples / (b.cpu / b.samples)).toFixed(2)}×`,
    );
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    targets.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  }
}

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

console.log('remote write bench (shared 2-core machine: preliminary figures)');
if (flag('--only', '') !== 'side-by-side') {
  benchEncode();
  await benchCatchUp();
}
const rate = Number(flag('--rate', '0'));
await benchSideBySide(
  rate > 0 ? Math.round(rate / 1000) : Number(flag('--targets', '10')),
  Number(flag('--outage', '20')),
  Number(flag('--cap', '180')),
);
