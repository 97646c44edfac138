/**
 * CPU of the remote-write sender alone, in one process: a WAL of scraped-looking data
 * (targets of ../shared/bench/lib/model.mjs: Linkerd-proxy series with the job, instance
 * and target labels a scrape adds, one commit per target and step, as scraping writes
 * it) is sent from the start by a {@link QueueManager} to a receiver in another process
 * (VictoriaMetrics when installed, else a Node server answering 204), so this process's
 * CPU time (`process.cpuUsage`) is the sender's: WAL reading and decoding, encoding,
 * snappy, HTTP. Each run starts from an empty position; prints every run and the median.
 *
 * Run: node --expose-gc --import tsx bench/remote/sender.bench.ts [--targets 10]
 *   [--steps 100] [--runs 3] [--receiver vm|null] [--queue '<queue_config yaml>']
 * Defaults: 10 targets × 1,000 series × 100 steps = 1M samples; about 40 s.
 * @module
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Labels } from '../../src/model/labels.js';
import { QueueManager } from '../../src/remote/index.js';
import {
  freePort,
  rwConfig,
  startPeer,
  startVictoriaMetrics,
  waitFor,
  type PeerProcess,
} from '../../src/remote/testdata/harness.js';
import { openDB } from '../../src/tsdb/db.js';
import { findProgram } from '../../test/support/peers.js';

interface ModelTarget {
  n: number;
  names: string[];
  labels: string[];
  val: Float64Array | number[];
  update(dt: number): void;
}
interface Model {
  buildTarget(i: number, series: number, seed: number): ModelTarget;
  targetLabels(i: number, seed: number): Record<string, string>;
  JOB: string;
}

const MODEL = fileURLToPath(new URL('../../../shared/bench/lib/model.mjs', import.meta.url));

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** `a="x",b="y"` (the model's label text) as pairs. */
function parsePairs(text: string, into: Record<string, string>): void {
  for (const m of text.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) into[m[1]] = m[2];
}

/** A receiver in its own process that reads each request and answers 204. */
async function startNullReceiver(port: number): Promise<PeerProcess> {
  const code = `require('node:http').createServer((q, s) => { if (q.method === 'GET') { s.end('ok'); return; }
    q.resume(); q.on('end', () => { s.writeHead(204); s.end(); }); }).listen(${port}, '127.0.0.1');`;
  return startPeer(process.execPath, ['-e', code], port, '/');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)];
}

const nTargets = Number(flag('--targets', '10'));
const steps = Number(flag('--steps', '100'));
const runs = Number(flag('--runs', '3'));
const receiverKind = flag('--receiver', findProgram('victoria-metrics') === null ? 'null' : 'vm');
const queueYaml = flag('--queue', '');

const model = (await import(MODEL)) as Model;
const root = mkdtempSync(join(tmpdir(), 'mm-rw-sender-'));
const db = await openDB(join(root, 'db'), { logger: () => {} });
let receiver: PeerProcess | null = null;
try {
  // The WAL: what scraping `nTargets` targets every second for `steps` seconds writes.
  const t0 = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
  const targets = Array.from({ length: nTargets }, (_, i) => model.buildTarget(i, 1000, 1));
  const series = targets.map((t, i) =>
    t.names.map((name, j) => {
      const o: Record<string, string> = {
        __name__: name,
        job: model.JOB,
        instance: `127.0.0.1:${20000 + i}`,
        ...model.targetLabels(i, 1),
      };
      parsePairs(t.labels[j] ?? '', o);
      return Labels.from(o);
    }),
  );
  let total = 0;
  const a0 = performance.now();
  for (let step = 0; step < steps; step++) {
    for (let i = 0; i < nTargets; i++) {
      const t = targets[i];
      t.update(1);
      const app = db.appender();
      const ls = series[i];
      for (let j = 0; j < t.n; j++) app.append(0, ls[j], t0 + step * 1000 + i, t.val[j]);
      await app.commit();
      total += t.n;
    }
  }
  await db.close();
  console.log(
    `remote sender CPU (shared 2-core machine: preliminary figures); ${total} samples of ` +
      `${nTargets} Linkerd-shaped targets written to the WAL in ${((performance.now() - a0) / 1000).toFixed(1)} s; receiver ${receiverKind}`,
  );

  const port = await freePort();
  receiver =
    receiverKind === 'vm'
      ? await startVictoriaMetrics(
          findProgram('victoria-metrics') as string,
          join(root, 'vm'),
          port,
        )
      : await startNullReceiver(port);
  const perM: number[] = [];
  for (let r = 0; r < runs; r++) {
    const q = new QueueManager(
      rwConfig(`http://127.0.0.1:${port}/api/v1/write`, queueYaml.replace(/\\n/g, '\n')),
      {
        walDir: join(root, 'db', 'wal'),
        stateDir: join(root, `state-${r}`),
        externalLabels: { sender: 'meshmetrics' },
        logger: () => {},
      },
    );
    globalThis.gc?.();
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    q.start();
    // Samples read but not acknowledged, every 250 ms: low while shards are many means
    // the reader, not the receiver, holds the drain back.
    const pendings: number[] = [];
    const tracer = setInterval(() => {
      pendings.push(q.metrics().find((m) => m.name.endsWith('_samples_pending'))?.value ?? 0);
    }, 250);
    await waitFor(() => q.samplesTotal + q.samplesFailed >= total, 300_000);
    clearInterval(tracer);
    const wall = (performance.now() - w0) / 1000;
    const c = process.cpuUsage(cpu0);
    const cpu = (c.user + c.system) / 1e6;
    await q.stop();
    perM.push((cpu / q.samplesTotal) * 1e6);
    console.log(
      `  run ${r + 1}: ${q.samplesTotal} samples (${q.samplesFailed} failed) in ${wall.toFixed(2)} s = ` +
        `${(q.samplesTotal / wall / 1e3).toFixed(0)} k samples/s; ${cpu.toFixed(2)} CPU-s = ` +
        `${perM[r].toFixed(2)} CPU-s per M samples (user ${(c.user / 1e6).toFixed(2)}, system ${(c.system / 1e6).toFixed(2)}); ` +
        `${q.metrics().find((m) => m.name.endsWith('_shards'))?.value} shards at the end; ` +
        `pending median ${median(pendings)} max ${Math.max(0, ...pendings)}`,
    );
  }
  perM.sort((x, y) => x - y);
  console.log(`  median: ${perM[Math.floor(perM.length / 2)].toFixed(2)} CPU-s per M samples sent`);
} finally {
  await receiver?.stop();
  rmSync(root, { recursive: true, force: true });
}
