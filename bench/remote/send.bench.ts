/**
 * Remote write throughput. Prints:
 *  1. encode: samples/s of the hand-written WriteRequest encoder, alone and with snappy;
 *  2. catch-up: a backlog of 1M samples (1000 series × 1000) in the WAL while the
 *     receiver (a local VictoriaMetrics, when installed) is down, then sent: wall time,
 *     samples/s, and samples per CPU-second of this process.
 * Run: node --expose-gc --import tsx bench/remote/send.bench.ts
 * @module
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import snappy from 'snappy';
import { Labels } from '../../src/model/labels.js';
import { QueueManager, WriteRequestEncoder, encodeLabels } from '../../src/remote/index.js';
import { appendKnown, freePort, rwConfig, waitFor } from '../../src/remote/testdata/harness.js';
import { findProgram } from '../../test/support/peers.js';
import { openDB } from '../../src/tsdb/db.js';

function benchEncode(): void {
  const nSeries = 500;
  const labels = Array.from({ length: nSeries }, (_, s) =>
    encodeLabels(
      Labels.from({
        __name__: 'request_total',
        namespace: 'emojivoto',
        deployment: `web-${s % 20}`,
        pod: `web-${s}-abcde`,
        direction: 'inbound',
        status_code: String(200 + (s % 5)),
      }),
    ),
  );
  const per = 500;
  const refs = new Float64Array(per);
  const ts = new Float64Array(per);
  const vs = new Float64Array(per);
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
  let proc: ReturnType<typeof spawn> | null = null;
  try {
    const a0 = performance.now();
    await appendKnown(db, nSeries, 0, n, t0, 1000, 'bench_metric');
    console.log(
      `backlog: ${nSeries * n} samples appended to the WAL in ${((performance.now() - a0) / 1000).toFixed(1)} s`,
    );
    proc = spawn(
      vm,
      [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${join(root, 'vm')}`,
        '-retentionPeriod=10y',
      ],
      {
        stdio: 'ignore',
      },
    );
    await waitFor(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
      } catch {
        return false;
      }
    }, 20_000);
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
    proc?.kill('SIGTERM');
    await db.close();
    rmSync(root, { recursive: true, force: true });
  }
}

console.log('remote write bench (shared 2-core machine: preliminary figures)');
benchEncode();
await benchCatchUp();
