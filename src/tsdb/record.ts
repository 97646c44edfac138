/**
 * WAL records, encoded as Prometheus's `tsdb/record` so either side can read the other's
 * log (docs/format/wal.md). Samples travel as columns of typed arrays ({@link SampleBatch})
 * and are encoded into a reused {@link Encbuf}: no object per sample on either side.
 * @module
 */

import { CorruptionError } from '../model/errors.js';
import { Labels } from '../model/labels.js';
import { Decbuf, decodeUtf8, type Encbuf } from './encoding.js';

/** True on little-endian hosts: float bytes are reversed to and from the wire. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Record types: the first byte of every record (an erasable enum). */
export const RecordType = {
  /** Not a record we know, or an empty record. */
  Unknown: 255,
  Series: 1,
  Samples: 2,
  Tombstones: 3,
  Exemplars: 4,
  MmapMarkers: 5,
  Metadata: 6,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/** The type of a record, {@link RecordType.Unknown} for types this package does not decode. */
export function recordType(rec: Uint8Array): RecordType {
  if (rec.length === 0) return RecordType.Unknown;
  const t = rec[0];
  return t >= RecordType.Series && t <= RecordType.Metadata
    ? (t as RecordType)
    : RecordType.Unknown;
}

/** A series as the WAL records it: the head's ref and the labels. */
export interface RefSeries {
  ref: number;
  labels: Labels;
}

/** One deleted interval of one series (ms, inclusive). */
export interface Tombstone {
  ref: number;
  mint: number;
  maxt: number;
}

/**
 * Samples as three parallel columns. Grows by doubling; `reset()` keeps the memory, so a
 * batch reused across records and commits allocates nothing in steady state.
 */
export class SampleBatch {
  refs: Float64Array;
  ts: Float64Array;
  vs: Float64Array;
  /** Number of samples held. */
  length: number;

  constructor(capacity = 1024) {
    const c = Math.max(4, capacity);
    this.refs = new Float64Array(c);
    this.ts = new Float64Array(c);
    this.vs = new Float64Array(c);
    this.length = 0;
  }

  reset(): void {
    this.length = 0;
  }

  /** Adds one sample. */
  push(ref: number, t: number, v: number): void {
    const i = this.length;
    if (i === this.refs.length) this.grow(i + 1);
    this.refs[i] = ref;
    this.ts[i] = t;
    this.vs[i] = v;
    this.length = i + 1;
  }

  /** Makes room for `n` samples in total. */
  grow(n: number): void {
    if (n <= this.refs.length) return;
    let c = this.refs.length * 2;
    while (c < n) c *= 2;
    const r = new Float64Array(c);
    const t = new Float64Array(c);
    const v = new Float64Array(c);
    r.set(this.refs.subarray(0, this.length));
    t.set(this.ts.subarray(0, this.length));
    v.set(this.vs.subarray(0, this.length));
    this.refs = r;
    this.ts = t;
    this.vs = v;
  }
}

/** Appends a series record holding `series` to `dst`. */
export function encodeSeries(dst: Encbuf, series: readonly RefSeries[]): void {
  dst.putByte(RecordType.Series);
  for (let i = 0; i < series.length; i++) {
    const s = series[i];
    dst.putBE64(s.ref);
    const ls = s.labels;
    const n = ls.size;
    dst.putUvarint(n);
    for (let j = 0; j < n; j++) {
      dst.putUvarintStr(ls.name(j));
      dst.putUvarintStr(ls.value(j));
    }
  }
}

/**
 * Appends a samples record holding samples `[start, end)` of the columns to `dst`. The
 * first sample is the base; the others are varint deltas from it, as Prometheus writes.
 */
export function encodeSamples(
  dst: Encbuf,
  refs: ArrayLike<number>,
  ts: ArrayLike<number>,
  vs: ArrayLike<number>,
  start = 0,
  end = refs.length,
): void {
  dst.putByte(RecordType.Samples);
  if (end <= start) return;
  const ref0 = refs[start];
  const t0 = ts[start];
  dst.putBE64(ref0);
  dst.putBE64(t0);
  // Worst case per sample: two 10-byte varints and 8 bytes of float.
  dst.grow((end - start) * 28);
  if (!(vs instanceof Float64Array)) {
    for (let i = start; i < end; i++) {
      dst.putVarint(refs[i] - ref0);
      dst.putVarint(ts[i] - t0);
      dst.putBEFloat64(vs[i]);
    }
    return;
  }
  // Fast path: small deltas written inline, float bytes copied from the column (so NaN
  // payloads are exact by construction). The buffer was sized above and does not move.
  const b = dst.buf;
  const vb = new Uint8Array(vs.buffer, vs.byteOffset, vs.byteLength);
  let o = dst.len;
  for (let i = start; i < end; i++) {
    const dref = refs[i] - ref0;
    const dt = ts[i] - t0;
    if (dref >= -0x0800_0000 && dref < 0x0800_0000 && dt >= -0x0800_0000 && dt < 0x0800_0000) {
      let u = ((dref << 1) ^ (dref >> 31)) >>> 0;
      while (u >= 0x80) {
        b[o++] = (u & 0x7f) | 0x80;
        u >>>= 7;
      }
      b[o++] = u;
      u = ((dt << 1) ^ (dt >> 31)) >>> 0;
      while (u >= 0x80) {
        b[o++] = (u & 0x7f) | 0x80;
        u >>>= 7;
      }
      b[o++] = u;
    } else {
      dst.len = o;
      dst.putVarint(dref);
      dst.putVarint(dt);
      o = dst.len;
    }
    const q = i * 8;
    if (LITTLE_ENDIAN) {
      for (let k = 0; k < 8; k++) b[o + k] = vb[q + 7 - k];
    } else {
      for (let k = 0; k < 8; k++) b[o + k] = vb[q + k];
    }
    o += 8;
  }
  dst.len = o;
}

/** Appends a samples record holding every sample of `batch` to `dst`. */
export function encodeSampleBatch(dst: Encbuf, batch: SampleBatch): void {
  encodeSamples(dst, batch.refs, batch.ts, batch.vs, 0, batch.length);
}

/** Appends a tombstones record to `dst`: one entry per interval. */
export function encodeTombstones(dst: Encbuf, stones: readonly Tombstone[]): void {
  dst.putByte(RecordType.Tombstones);
  for (const s of stones) {
    dst.putBE64(s.ref);
    dst.putVarint(s.mint);
    dst.putVarint(s.maxt);
  }
}

const dec = new Decbuf();

function check(kind: string, d: Decbuf): void {
  if (d.errKindOrNull() !== null) {
    throw new CorruptionError(
      `${kind} record`,
      d.errOffset(),
      `cannot decode: ${d.err()?.message}`,
    );
  }
}

function expectType(rec: Uint8Array, want: RecordType, kind: string): void {
  if (rec.length === 0 || rec[0] !== want) {
    throw new CorruptionError(
      `${kind} record`,
      0,
      `got record type ${rec[0] ?? 'none'}; want ${want}`,
    );
  }
}

/**
 * Decodes a series record, appending its series to `out`. Throws a CorruptionError (with
 * the offset inside the record) on malformed bytes; the caller adds the segment.
 */
export function decodeSeries(rec: Uint8Array, out: RefSeries[]): RefSeries[] {
  expectType(rec, RecordType.Series, 'series');
  const d = dec.reset(rec, 1);
  while (d.len() > 0) {
    const ref = d.be64();
    const n = d.uvarint();
    if (n > d.len()) {
      check('series', d);
      throw new CorruptionError('series record', d.off, `label count ${n} exceeds the record`);
    }
    const pairs = new Array<string>(n * 2);
    let sorted = true;
    for (let j = 0; j < n; j++) {
      const name = readLabelString(d);
      pairs[2 * j] = name;
      pairs[2 * j + 1] = readLabelString(d);
      if (j > 0 && !(pairs[2 * j - 2] < name)) sorted = false;
    }
    check('series', d);
    out.push({ ref, labels: sorted ? Labels.fromSortedPairs(pairs) : Labels.from(pairs) });
  }
  return out;
}

/**
 * A direct-mapped cache of short ASCII strings met while decoding series: label names and
 * most values repeat across series, so a replay of a million series allocates each
 * distinct string about once instead of once per series.
 */
const STR_CACHE_BITS = 14;
const STR_CACHE_MAX_LEN = 48;
const strCache = new Array<string>(1 << STR_CACHE_BITS).fill('');

/** Reads a uvarint-prefixed string, through the cache when it is short ASCII. */
function readLabelString(d: Decbuf): string {
  const n = d.uvarint();
  const b = d.b;
  const start = d.off;
  if (n > STR_CACHE_MAX_LEN || start + n > d.end || d.errKindOrNull() !== null) {
    d.off = start;
    // Let the Decbuf read it (and report a short read) the ordinary way.
    d.off -= uvarintSize(n);
    return d.uvarintStr();
  }
  let h = 0x811c9dc5;
  let ascii = true;
  for (let i = start, e = start + n; i < e; i++) {
    const c = b[i];
    if (c > 0x7f) ascii = false;
    h = Math.imul(h ^ c, 0x01000193);
  }
  d.off = start + n;
  if (!ascii) return decodeUtf8(b, start, start + n);
  const slot = (h ^ (h >>> STR_CACHE_BITS)) & ((1 << STR_CACHE_BITS) - 1);
  const hit = strCache[slot];
  if (hit.length === n) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (hit.charCodeAt(i) !== b[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return hit;
  }
  const str = decodeUtf8(b, start, start + n);
  strCache[slot] = str;
  return str;
}

/** Bytes of the uvarint encoding of `n`. */
function uvarintSize(n: number): number {
  let k = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    k++;
  }
  return k;
}

/** Decodes a samples record, appending its samples to `into`. */
export function decodeSamples(rec: Uint8Array, into: SampleBatch): SampleBatch {
  expectType(rec, RecordType.Samples, 'samples');
  const d = dec.reset(rec, 1);
  if (d.len() === 0) return into;
  const ref0 = d.be64();
  const t0 = d.be64int();
  check('samples', d);
  // Each sample takes at least 10 bytes; reserve once instead of growing per sample.
  into.grow(into.length + Math.floor(d.len() / 10));
  const end = rec.length;
  let o = d.off;
  let n = into.length;
  let refs = into.refs;
  let ts = into.ts;
  let vb = new Uint8Array(into.vs.buffer, into.vs.byteOffset);
  while (o < end) {
    const begin = o;
    // Fast path: both deltas fit in at most four varint bytes and the float is whole.
    let dref = 0;
    let dt = 0;
    let c = 0;
    let shift = 0;
    let ok = false;
    for (; shift < 28 && o < end; shift += 7) {
      c = rec[o++];
      dref |= (c & 0x7f) << shift;
      if (c < 0x80) {
        ok = true;
        break;
      }
    }
    if (ok) {
      ok = false;
      for (shift = 0; shift < 28 && o < end; shift += 7) {
        c = rec[o++];
        dt |= (c & 0x7f) << shift;
        if (c < 0x80) {
          ok = true;
          break;
        }
      }
    }
    if (!ok || o + 8 > end) {
      // Slow path: long varints or truncated data; the Decbuf finds out which.
      return decodeSamplesSlow(rec, begin, ref0, t0, into, n);
    }
    if (n === refs.length) {
      into.length = n;
      into.grow(n + 1);
      refs = into.refs;
      ts = into.ts;
      vb = new Uint8Array(into.vs.buffer, into.vs.byteOffset);
    }
    refs[n] = ref0 + ((dref >>> 1) ^ -(dref & 1));
    ts[n] = t0 + ((dt >>> 1) ^ -(dt & 1));
    // Copy the float's bytes, reversed into host order: NaN payloads stay exact.
    const q = n * 8;
    if (LITTLE_ENDIAN) {
      for (let k = 0; k < 8; k++) vb[q + k] = rec[o + 7 - k];
    } else {
      for (let k = 0; k < 8; k++) vb[q + k] = rec[o + k];
    }
    o += 8;
    n++;
  }
  into.length = n;
  return into;
}

/** Decodes the samples from `off` on with the Decbuf: long deltas, or an error to report. */
function decodeSamplesSlow(
  rec: Uint8Array,
  off: number,
  ref0: number,
  t0: number,
  into: SampleBatch,
  n: number,
): SampleBatch {
  into.length = n;
  const d = dec.reset(rec, off);
  while (d.len() > 0) {
    const dref = d.varint();
    const dt = d.varint();
    const v = d.beFloat64();
    if (d.errKindOrNull() !== null) break;
    into.push(ref0 + dref, t0 + dt, v);
  }
  check('samples', d);
  return into;
}

/** Decodes a tombstones record, appending one entry per interval to `out`. */
export function decodeTombstones(rec: Uint8Array, out: Tombstone[]): Tombstone[] {
  expectType(rec, RecordType.Tombstones, 'tombstones');
  const d = dec.reset(rec, 1);
  while (d.len() > 0) {
    const ref = d.be64();
    const mint = d.varint();
    const maxt = d.varint();
    check('tombstones', d);
    out.push({ ref, mint, maxt });
  }
  return out;
}
