/**
 * Snappy compression: the native binding (`snappy`, napi-rs, what the sender uses) next to
 * a compressor written in TypeScript below (greedy LZ77 over 64 KiB fragments with a
 * 4-byte hash, as the reference compressor; output checked by the native decoder), on a
 * real 500-sample WriteRequest (78 kB). For a body this size the call into native code is
 * a visible share of the cost, so a TypeScript compressor might win; this bench measures
 * whether it does. Figures are CPU time of this process (`process.cpuUsage`), in
 * interleaved rounds, median of 7; the machine may be shared, so they are preliminary.
 * Run: node --expose-gc --import tsx bench/remote/snappy.bench.ts
 * @module
 */

import { randomBytes } from 'node:crypto';
import snappy from 'snappy';
import { WriteRequestEncoder } from '../../src/remote/index.js';
import {
  BENCH_SAMPLES_PER_REQUEST,
  BENCH_SERIES,
  benchSampleArrays,
  benchSeriesLabels,
} from './request-data.js';

const FRAGMENT = 1 << 16;
const HASH_BITS = 14;
/**
 * Hash table of positions, shared by every call. Entries are `base + position`; entries
 * below the current fragment's base are stale, so the table is cleared only when the base
 * nears 2^31, not for every fragment.
 */
const table = new Int32Array(1 << HASH_BITS);
let base = 0;

/** Most bytes the compressed form of `n` bytes can take. */
function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

function load32(b: Uint8Array, i: number): number {
  return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
}

function hash(v: number): number {
  return Math.imul(v, 0x1e35a7bd) >>> (32 - HASH_BITS);
}

function emitLiteral(
  src: Uint8Array,
  from: number,
  to: number,
  dst: Uint8Array,
  p: number,
): number {
  const n = to - from - 1;
  if (n < 60) {
    dst[p++] = n << 2;
  } else if (n < 0x100) {
    dst[p++] = 60 << 2;
    dst[p++] = n;
  } else if (n < 0x10000) {
    dst[p++] = 61 << 2;
    dst[p++] = n & 0xff;
    dst[p++] = n >>> 8;
  } else {
    dst[p++] = 62 << 2;
    dst[p++] = n & 0xff;
    dst[p++] = (n >>> 8) & 0xff;
    dst[p++] = n >>> 16;
  }
  dst.set(src.subarray(from, to), p);
  return p + (to - from);
}

function emitCopy(offset: number, len: number, dst: Uint8Array, p: number): number {
  // Chunks of 64 (keeping at least 4 for the last), as the reference does.
  while (len >= 68) {
    dst[p++] = (63 << 2) | 2;
    dst[p++] = offset & 0xff;
    dst[p++] = offset >>> 8;
    len -= 64;
  }
  if (len > 64) {
    dst[p++] = (59 << 2) | 2;
    dst[p++] = offset & 0xff;
    dst[p++] = offset >>> 8;
    len -= 60;
  }
  if (len < 12 && offset < 2048) {
    dst[p++] = 1 | ((len - 4) << 2) | ((offset >>> 8) << 5);
    dst[p++] = offset & 0xff;
  } else {
    dst[p++] = ((len - 1) << 2) | 2;
    dst[p++] = offset & 0xff;
    dst[p++] = offset >>> 8;
  }
  return p;
}

/** Compresses one fragment `src[start, end)` (end − start ≤ 64 KiB) into `dst` at `p`. */
function compressFragment(
  src: Uint8Array,
  start: number,
  end: number,
  dst: Uint8Array,
  p: number,
): number {
  let nextEmit = start;
  if (end - start >= 15) {
    if (base > 0x7fff0000 - 2 * FRAGMENT) {
      table.fill(0);
      base = 0;
    }
    base += FRAGMENT + 1;
    // Table entry for position i: i - start + base (always ≥ base for this fragment).
    const off = base - start;
    const limit = end - 4;
    let i = start + 1;
    let skip = 32;
    while (i <= limit) {
      const v = load32(src, i);
      const h = hash(v);
      const cand = table[h] - off;
      table[h] = i + off;
      if (cand < start || load32(src, cand) !== v) {
        i += skip >>> 5;
        skip++;
        continue;
      }
      skip = 32;
      if (nextEmit < i) p = emitLiteral(src, nextEmit, i, dst, p);
      let len = 4;
      while (i + len < end && src[cand + len] === src[i + len]) len++;
      p = emitCopy(i - cand, len, dst, p);
      i += len;
      nextEmit = i;
      if (i - 1 <= limit && i - 1 > start) table[hash(load32(src, i - 1))] = i - 1 + off;
    }
  }
  if (nextEmit < end) p = emitLiteral(src, nextEmit, end, dst, p);
  return p;
}

/** Compresses `src` into a new Buffer in the snappy block format. */
function snappyCompress(src: Uint8Array): Buffer {
  const dst = Buffer.allocUnsafe(maxCompressedLength(src.length));
  let p = 0;
  let n = src.length;
  while (n >= 0x80) {
    dst[p++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  dst[p++] = n;
  for (let s = 0; s < src.length; s += FRAGMENT) {
    p = compressFragment(src, s, Math.min(src.length, s + FRAGMENT), dst, p);
  }
  return dst.subarray(0, p);
}

function request(): Buffer {
  const nSeries = BENCH_SERIES;
  const labels = benchSeriesLabels();
  const per = BENCH_SAMPLES_PER_REQUEST;
  const { refs, ts, vs } = benchSampleArrays();
  for (let i = 0; i < per; i++) {
    refs[i] = i % nSeries;
    ts[i] = 1_700_000_000_000 + i * 15;
    vs[i] = i * 0.5;
  }
  return Buffer.from(new WriteRequestEncoder().encode(refs, ts, vs, per, (r) => labels[r]));
}

const body = request();
// Correctness first: the native decoder reads what the TypeScript compressor writes.
for (const x of [
  Buffer.alloc(0),
  Buffer.from('abcdabcdabcdabcdabcdabcd'),
  randomBytes(70_010),
  Buffer.alloc(200_000, 7),
  body,
]) {
  const back = snappy.uncompressSync(snappyCompress(x)) as Buffer;
  if (!back.equals(x)) throw new Error(`round trip failed for ${x.length} bytes`);
}

const candidates: [string, (b: Buffer) => Buffer][] = [
  ['native (snappy)', (b) => snappy.compressSync(b) as Buffer],
  ['typescript', (b) => snappyCompress(b)],
];
const perRound = 1000;
const times = new Map<string, number[]>(candidates.map(([n]) => [n, []]));
for (let round = 0; round < 8; round++) {
  for (const [name, f] of candidates) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < perRound; i++) f(body);
    const c = process.cpuUsage(c0);
    if (round > 0) times.get(name)?.push((c.user + c.system) / 1000 / perRound); // round 0 warms up
  }
}
console.log('snappy compression (shared 2-core machine: preliminary figures)');
const med = (xs: number[]): number => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
for (const [name, f] of candidates) {
  const ms = med(times.get(name) ?? []);
  console.log(
    `${name.padEnd(16)} ${ms.toFixed(3)} ms CPU per ${body.length} B request ` +
      `(${(body.length / ms / 1000).toFixed(0)} MB/s), ${f(body).length} B out`,
  );
}
const [a, b] = candidates.map(([n]) => med(times.get(n) ?? []));
console.log(`typescript / native: ${(b / a).toFixed(2)}× the CPU time`);
