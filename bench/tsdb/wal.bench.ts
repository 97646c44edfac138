/**
 * WAL benchmark: write throughput for commits of 1,000 samples (both fsync modes),
 * replay speed, and record encode/decode alone. Prints its figures; the machine may be
 * shared, so treat them as indicative.
 *
 * Run: node --expose-gc --import tsx bench/tsdb/wal.bench.ts
 */

import { mkdtempSync, rmSync } from 'node:fs';
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

const BATCH = 1000;
const SERIES = 10_000;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

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
): Promise<number> {
  const w = WAL.open(dir, { fsync });
  const b = new SampleBatch(BATCH);
  const enc = new Encbuf(32 * 1024);
  let bytes = 0;
  gc();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < batches; i++) {
    fillBatch(b, i);
    enc.reset();
    encodeSampleBatch(enc, b);
    bytes += enc.len;
    w.log(enc.get());
    await w.commit();
  }
  await w.close();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const samples = batches * BATCH;
  console.log(
    `write  fsync=${fsync.padEnd(7)} ${fmt(batches)} commits of ${BATCH}: ${fmt(samples / s)} samples/s, ` +
      `${(bytes / s / 1e6).toFixed(1)} MB/s of records, ${fmt(batches / s)} commits/s, ` +
      `${(bytes / samples).toFixed(2)} bytes/sample`,
  );
  return bytes;
}

function replayBench(dir: string, bytes: number): void {
  gc();
  const w = WAL.open(dir);
  const b = new SampleBatch(BATCH);
  let samples = 0;
  const t0 = process.hrtime.bigint();
  replay(w, (rec) => {
    if (recordType(rec) !== RecordType.Samples) return;
    b.reset();
    decodeSamples(rec, b);
    samples += b.length;
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `replay (read, check CRC, decode samples): ${fmt(samples)} samples in ${(s * 1000).toFixed(0)} ms: ` +
      `${fmt(samples / s)} samples/s, ${(bytes / s / 1e6).toFixed(1)} MB/s`,
  );
}

function codecBench(): void {
  const b = new SampleBatch(BATCH);
  const out = new SampleBatch(BATCH);
  const enc = new Encbuf(32 * 1024);
  const rounds = 5000;
  gc();
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    fillBatch(b, i);
    enc.reset();
    encodeSampleBatch(enc, b);
  }
  let s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `encode samples records: ${fmt((rounds * BATCH) / s)} samples/s (batch fill included)`,
  );
  const rec = Buffer.from(enc.get());
  t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    out.reset();
    decodeSamples(rec, out);
  }
  s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`decode samples records: ${fmt((rounds * BATCH) / s)} samples/s`);
}

const root = mkdtempSync(join(tmpdir(), 'meshmetrics-wal-bench-'));
try {
  codecBench();
  const bytes = await writeBench(join(root, 'a'), 5000, 'segment');
  replayBench(join(root, 'a'), bytes);
  await writeBench(join(root, 'b'), 300, 'commit');
} finally {
  rmSync(root, { recursive: true, force: true });
}
