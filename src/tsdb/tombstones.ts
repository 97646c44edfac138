/**
 * Tombstones: deleted time ranges per series (docs/format/tombstones.md), as
 * Prometheus's `tsdb/tombstones`.
 * @module
 */

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptionError, StorageError } from '../model/errors.js';
import { Decbuf, Encbuf } from './encoding.js';
import { crc32c } from './crc32c.js';

/** Name of the tombstones file inside a block directory. */
export const TOMBSTONES_FILENAME = 'tombstones';
/** Magic number at the start of a tombstones file. */
export const MAGIC_TOMBSTONES = 0x0130ba30;
/** The tombstones format version. */
export const TOMBSTONES_FORMAT_V1 = 1;

/**
 * Deleted intervals per series ref. Intervals of a series are kept sorted and merged
 * (overlapping or adjacent ones become one), as flat [mint0, maxt0, mint1, maxt1, …].
 */
export class Tombstones {
  private readonly m: Map<number, number[]> = new Map();

  /** Marks `[mint, maxt]` (ms, inclusive) of series `ref` deleted. */
  add(ref: number, mint: number, maxt: number): void {
    if (maxt < mint) return;
    const cur = this.m.get(ref);
    if (cur === undefined) {
      this.m.set(ref, [mint, maxt]);
      return;
    }
    // Insert then merge; series rarely have more than a few intervals.
    const out: number[] = [];
    let placed = false;
    const push = (a: number, b: number): void => {
      const n = out.length;
      if (n > 0 && a <= out[n - 1] + 1) {
        if (b > out[n - 1]) out[n - 1] = b;
      } else out.push(a, b);
    };
    for (let i = 0; i < cur.length; i += 2) {
      if (!placed && mint < cur[i]) {
        push(mint, maxt);
        placed = true;
      }
      push(cur[i], cur[i + 1]);
    }
    if (!placed) push(mint, maxt);
    this.m.set(ref, out);
  }

  /** The deleted intervals of `ref` as flat sorted pairs, or undefined. Do not change them. */
  get(ref: number): readonly number[] | undefined {
    return this.m.get(ref);
  }

  /** Number of series with tombstones. */
  get size(): number {
    return this.m.size;
  }

  /** Number of intervals over all series (meta.json's numTombstones). */
  numIntervals(): number {
    let n = 0;
    for (const iv of this.m.values()) n += iv.length >> 1;
    return n;
  }

  /** Calls `fn` per series in increasing ref order. */
  forEach(fn: (ref: number, intervals: readonly number[]) => void): void {
    for (const ref of [...this.m.keys()].sort((a, b) => a - b)) fn(ref, this.m.get(ref)!);
  }
}

/** Reports whether `t` falls in one of the flat sorted `intervals`. */
export function isDeleted(intervals: readonly number[], t: number): boolean {
  for (let i = 0; i < intervals.length; i += 2) {
    if (t < intervals[i]) return false;
    if (t <= intervals[i + 1]) return true;
  }
  return false;
}

/** The bytes of a tombstones file. */
export function encodeTombstones(ts: Tombstones): Buffer {
  const e = new Encbuf(64);
  e.putBE32(MAGIC_TOMBSTONES);
  e.putByte(TOMBSTONES_FORMAT_V1);
  ts.forEach((ref, iv) => {
    for (let i = 0; i < iv.length; i += 2) {
      e.putUvarint(ref);
      e.putVarint(iv[i]);
      e.putVarint(iv[i + 1]);
    }
  });
  // The CRC covers the entries only, not the magic or the version byte.
  e.putBE32(crc32c(e.buf, 5, e.len));
  return Buffer.from(e.get());
}

/** Decodes a tombstones file's bytes; `path` names it in errors. */
export function decodeTombstones(b: Uint8Array, path = TOMBSTONES_FILENAME): Tombstones {
  if (b.length < 9)
    throw new CorruptionError(path, 0, `tombstones file of ${b.length} bytes is shorter than 9`);
  const d = new Decbuf(b, 0, b.length - 4);
  if (d.be32() !== MAGIC_TOMBSTONES)
    throw new CorruptionError(path, 0, 'bad tombstones magic, want 0x0130ba30');
  const sum = crc32c(b, 5, b.length - 4);
  const want =
    ((b[b.length - 4] << 24) |
      (b[b.length - 3] << 16) |
      (b[b.length - 2] << 8) |
      b[b.length - 1]) >>>
    0;
  if (sum !== want)
    throw new CorruptionError(
      path,
      b.length - 4,
      `tombstones checksum mismatch: got 0x${sum.toString(16)}, want 0x${want.toString(16)}`,
    );
  const v = d.byte();
  if (v !== TOMBSTONES_FORMAT_V1)
    throw new CorruptionError(path, 4, `unsupported tombstones version ${v}, want 1`);
  const ts = new Tombstones();
  while (d.len() > 0) {
    const ref = d.uvarint();
    const mint = d.varint();
    const maxt = d.varint();
    if (d.errKindOrNull() !== null)
      throw new CorruptionError(path, d.errOffset(), `tombstone entry: ${d.err()!.message}`);
    ts.add(ref, mint, maxt);
  }
  return ts;
}

/** Reads `<dir>/tombstones`; a missing file means no tombstones. */
export function readTombstones(dir: string): Tombstones {
  const path = join(dir, TOMBSTONES_FILENAME);
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Tombstones();
    throw new StorageError('ERR_TOMBSTONES', `cannot read ${path}`, { cause: err });
  }
  return decodeTombstones(b, path);
}

/** Writes `<dir>/tombstones` atomically (temporary file, fsync, rename); returns its size. */
export function writeTombstones(dir: string, ts: Tombstones): number {
  const path = join(dir, TOMBSTONES_FILENAME);
  const tmp = path + '.tmp';
  const b = encodeTombstones(ts);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, b);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return b.length;
}
