/**
 * WAL benchmark: write throughput for commits of 1,000 samples (both fsync modes),
 * replay speed, and record encode/decode alone. Prints its figures; the machine may be
 * shared, so treat them as indicative.
 *
 * and the time to open a database (replay into the head) of OPEN_SERIES series (default
 * 1M) with 3 samples each. The database is written straight as WAL records, which is
 * much faster to set up than appending through the head.
 *
 * Run: node --expose-gc --import tsx bench/tsdb/wal.bench.ts [OPEN_SERIES]
 */

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Encbuf } from '../../src/tsdb/encoding.js';
import {
  RecordType,
  SampleBatch,
  decodeSamples,
  encodeSampleBatch,
  recordType,
} from '../../src/tsdb/record.js';
import { WAL, replay } from '../../src/tsdb/wal/index.js';
import type { WalCompression } from '../../src/tsdb/wal/wal.js';
import { Labels } from '../../src/model/labels.js';
import { openDB } from '../../src/tsdb/db.js';
import { encodeSeries, type RefSeries } from '../../src/tsdb/record.js';

const BATCH = 1000;
const SERIES = 10_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

/** Wall and CPU seconds since `start` (CPU counts this process only: under load, it is the steadier figure). */
function since(start: { wall: bigint; cpu: NodeJS.CpuUsage }): { s: number; cpuS: number } {
  const cpu = process.cpuUsage(start.cpu);
  return {
    s: Number(process.hrtime.bigint() - start.wall) / 1e9,
    cpuS: (cpu.user + cpu.system) / 1e6,
  };
}

function mark(): { wall: bigint; cpu: NodeJS.CpuUsage } {
  return { wall: process.hrtime.bigint(), cpu: process.cpuUsage() };
}

function fmt(n: number): string {
  return n >= 1e6
    ? `${(n / 1e6).toFixed(2)}M`
    : n >= 1e3
      ? `${(n / 1e3).toFixed(1)}k`
      : n.toFixed(0);
}

/** A scrape-like batch: 1,000 series of a 10,000-series target, one timestamp. */
function fillBatch(b: SampleBatch, i: number): void {
  b.reset();
  const t = 1_700_000_000_000 + i * 15_000;
  const first = (i * BATCH) % SERIES;
  for (let k = 0; k < BATCH; k++) b.push(first + k + 1, t, (i * 7 + k) * 0.25);
}

async function writeBench(
  dir: string,
  batches: number,
  fsync: 'segment' | 'commit',
  compression: WalCompression = 'none',
): Promise<number> {
  const w = WAL.open(dir, { fsync, compression });
  const b = new SampleBatch(BATCH);
  const enc = new Encbuf(32 * 1024);
  let bytes = 0;
  gc();
  const t0 = mark();
  for (let i = 0; i < batches; i++) {
    fillBatch(b, i);
    enc.reset();
    encodeSampleBatch(enc, b);
    bytes += enc.len;
    w.log(enc.get());
    await w.commit();
  }
  await w.close();
  const { s, cpuS } = since(t0);
  const samples = batches * BATCH;
  const disk = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  console.log(
    `write  fsync=${fsync.padEnd(7)} compression=${compression.padEnd(6)} ${fmt(batches)} commits of ${BATCH}: ${fmt(samples / s)} samples/s, ` +
      `${(bytes / s / 1e6).toFixed(1)} MB/s of records, ${fmt(batches / s)} commits/s, ` +
      `${(bytes / samples).toFixed(2)} record bytes/sample, ${(disk / samples).toFixed(2)} on disk (padding included); ` +
      `${fmt(samples / cpuS)} samples per CPU-s, ${fmt(batches / cpuS)} records per CPU-s`,
  );
  return bytes;
}

function replayBench(dir: string, bytes: number, label: string): void {
  gc();
  const w = WAL.open(dir);
  const b = new SampleBatch(BATCH);
  let samples = 0;
  const t0 = mark();
  replay(w, (rec) => {
    if (recordType(rec) !== RecordType.Samples) return;
    b.reset();
    decodeSamples(rec, b);
    samples += b.length;
  });
  const { s, cpuS } = since(t0);
  console.log(
    `replay ${label} (read, check CRC, decode samples): ${fmt(samples)} samples in ${(s * 1000).toFixed(0)} ms: ` +
      `${fmt(samples / s)} samples/s, ${(bytes / s / 1e6).toFixed(1)} MB/s; ${fmt(samples / cpuS)} samples per CPU-s`,
  );
}

function codecBench(): void {
  const b = new SampleBatch(BATCH);
  const out = new SampleBatch(BATCH);
  const enc = new Encbuf(32 * 1024);
  const rounds = 5000;
  gc();
  let t0 = mark();
  for (let i = 0; i < rounds; i++) {
    fillBatch(b, i);
    enc.reset();
    encodeSampleBatch(enc, b);
  }
  let r = since(t0);
  console.log(
    `encode samples records: ${fmt((rounds * BATCH) / r.s)} samples/s, ` +
      `${fmt((rounds * BATCH) / r.cpuS)} per CPU-s (batch fill included)`,
  );
  const rec = Buffer.from(enc.get());
  t0 = mark();
  for (let i = 0; i < rounds; i++) {
    out.reset();
    decodeSamples(rec, out);
  }
  r = since(t0);
  console.log(
    `decode samples records: ${fmt((rounds * BATCH) / r.s)} samples/s, ${fmt((rounds * BATCH) / r.cpuS)} per CPU-s`,
  );
}

/** Writes a WAL of `n` series (labels shaped like proxy metrics) with 3 samples each. */
async function writeDBWal(dir: string, n: number): Promise<number> {
  const w = WAL.open(join(dir, 'wal'));
  const enc = new Encbuf(1024 * 1024);
  const chunk: RefSeries[] = [];
  const b = new SampleBatch(1000);
  let bytes = 0;
  for (let ref = 1; ref <= n; ref++) {
    chunk.push({
      ref,
      labels: Labels.from({
        __name__: `request_total_${ref % 50}`,
        direction: ref % 2 ? 'inbound' : 'outbound',
        namespace: `ns-${ref % 20}`,
        pod: `web-${Math.floor(ref / 50)}-7d4b9c`,
        status_code: String(200 + (ref % 5)),
      }),
    });
    if (chunk.length === 1000 || ref === n) {
      enc.reset();
      encodeSeries(enc, chunk);
      w.log(enc.get());
      bytes += enc.len;
      for (let k = 0; k < 3; k++) {
        b.reset();
        for (const s of chunk) b.push(s.ref, 1_700_000_000_000 + k * 15_000, k);
        enc.reset();
        encodeSampleBatch(enc, b);
        w.log(enc.get());
        bytes += enc.len;
      }
      chunk.length = 0;
      await w.commit();
    }
  }
  await w.close();
  return bytes;
}

async function openBench(dir: string, n: number): Promise<void> {
  let t0 = performance.now();
  const bytes = await writeDBWal(dir, n);
  console.log(
    `open:  wrote ${fmt(n)} series x 3 samples as WAL (${(bytes / 1e6).toFixed(0)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  gc();
  const rss0 = process.memoryUsage().rss;
  t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const db = await openDB(dir);
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  gc();
  const rss = process.memoryUsage().rss - rss0;
  console.log(
    `open:  openDB of ${fmt(db.openStats.series)} series, ${fmt(db.openStats.samples)} samples: ${s.toFixed(2)} s ` +
      `wall, ${cpuS.toFixed(2)} s CPU (${fmt(db.openStats.series / cpuS)} series/s of CPU), ` +
      `head + replay RSS +${(rss / 1e6).toFixed(0)} MB`,
  );
  await db.close();
}

const openSeries = Number(process.argv[2] ?? 1_000_000);
const root = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-bench-'));
try {
  codecBench();
  // Same process, alternating, so that load from elsewhere hits both alike.
  for (let round = 0; round < 2; round++) {
    for (const c of ['none', 'snappy'] as const) {
      const d = join(root, `a-${c}-${round}`);
      const bytes = await writeBench(d, 5000, 'segment', c);
      replayBench(d, bytes, `compression=${c}`);
    }
  }
  await writeBench(join(root, 'b'), 300, 'commit');
  await openBench(join(root, 'db'), openSeries);
} finally {
  rmSync(root, { recursive: true, force: true });
}
