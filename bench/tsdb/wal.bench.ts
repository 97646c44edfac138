/**
 * WAL benchmark: write throughput for commits of 1,000 samples (both fsync modes),
 * replay speed, and record encode/decode alone. Prints its figures; the machine may be
 * shared, so treat them as indicative. The time to open a database from its WAL is `open-wal.bench.ts`.
 *
 * Run: node --expose-gc --import tsx bench/tsdb/wal.bench.ts
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
} finally {
  rmSync(root, { recursive: true, force: true });
}
