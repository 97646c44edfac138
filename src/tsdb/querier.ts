/**
 * Reading the head: a {@link HeadQuerier} selects series through the postings and
 * iterates their chunks clipped to the querier's `[mint, maxt]`. Merging several queriers
 * (head + blocks) is generic and lives in storage/merge.ts.
 * @module
 */

import type { Labels } from '../model/labels.js';
import type { Matcher } from '../model/matcher.js';
import {
  ValueType,
  type Querier,
  type SampleIterator,
  type SelectHints,
  type Series,
  type SeriesSet,
} from '../storage/interface.js';
import { XORBulkDecoder, XORIterator } from './chunkenc/xor.js';
import { XORCheckpointCache } from './chunkenc/xor-checkpoints.js';
import type { Head } from './head.js';
import { CLOSED_STRIDE, type ChunkArena, type MemSeries } from './head-series.js';
import { compareStrings, postingsForMatchers } from './index/postings.js';

const NO_BYTES = new Uint8Array(0);

/** Numbers per chunk in a {@link ChunkSeriesIterator}'s `meta`. */
export const CHUNK_META_STRIDE = 4;

/** Chunks shorter than this (in samples before the point sought) are not checkpointed. */
const MIN_CHECKPOINT_SAMPLES = 16;

/**
 * Iterates a list of XOR chunks in time order, clipped to `[mint, maxt]`. Chunks are
 * given as views plus {@link CHUNK_META_STRIDE} numbers each in `meta`: sample count,
 * max time, key and id in the checkpoint cache. The count makes a chunk still growing
 * read as it was when the list was made. Each chunk is decoded in one pass into the
 * reused arrays of an {@link XORBulkDecoder} (stopping past `maxt`), and the iterator then
 * walks those arrays: a seek skips whole chunks by their max time, resumes decoding from
 * the chunk's checkpoint when one lies before the point sought (and leaves one for next
 * time when not), and binary-searches the decoded samples.
 */
export class ChunkSeriesIterator implements SampleIterator {
  private chunks: readonly Uint8Array[];
  private meta: readonly number[];
  private mint: number;
  private maxt: number;
  private cache: XORCheckpointCache | null;
  /** Chunk decoded into `dec`; -1 before the first. */
  private i: number;
  private readonly dec: XORBulkDecoder;
  /** Samples decoded from chunk i, and the current one's index among them. */
  private n: number;
  private k: number;
  /** True when chunk i ended past maxt, so no later chunk is read. */
  private last: boolean;
  private done: boolean;
  private error: Error | null;

  constructor(
    chunks: readonly Uint8Array[],
    meta: readonly number[],
    mint: number,
    maxt: number,
    cache: XORCheckpointCache | null,
  ) {
    this.chunks = chunks;
    this.meta = meta;
    this.mint = mint;
    this.maxt = maxt;
    this.cache = cache;
    this.i = -1;
    this.dec = new XORBulkDecoder();
    this.n = 0;
    this.k = 0;
    this.last = false;
    this.done = false;
    this.error = null;
  }

  /** Restarts on another chunk list. */
  reset(
    chunks: readonly Uint8Array[],
    meta: readonly number[],
    mint: number,
    maxt: number,
    cache: XORCheckpointCache | null,
  ): void {
    this.chunks = chunks;
    this.meta = meta;
    this.mint = mint;
    this.maxt = maxt;
    this.cache = cache;
    this.i = -1;
    this.n = 0;
    this.k = 0;
    this.last = false;
    this.done = false;
    this.error = null;
  }

  private maxtOf(i: number): number {
    return this.meta[i * CHUNK_META_STRIDE + 1];
  }

  /**
   * Decodes chunk `i`, from its checkpoint when that lies at or before `from` (the time
   * sought; -Infinity reads from the start). False (and done) when there is no chunk i or
   * it is corrupt.
   */
  private open(i: number, from: number): boolean {
    if (i >= this.chunks.length || this.last) return false;
    this.i = i;
    this.k = 0;
    const m = i * CHUNK_META_STRIDE;
    const count = this.meta[m];
    const dec = this.dec;
    const cache = this.cache;
    let n: number;
    if (cache === null || from === -Infinity) {
      n = dec.decode(this.chunks[i], count, this.maxt);
    } else {
      const key = this.meta[m + 2];
      const id = this.meta[m + 3];
      const at = cache.find(key, id);
      const cp = cache.data;
      if (at >= 0 && cp[at + 2] <= from && cp[at] < count) {
        n = dec.decodeFrom(this.chunks[i], count, this.maxt, cp, at);
      } else {
        dec.markBefore = from;
        n = dec.decode(this.chunks[i], count, this.maxt);
        dec.markBefore = -Infinity;
        if (n >= 0 && dec.mark[0] >= MIN_CHECKPOINT_SAMPLES) cache.put(key, id, dec.mark);
      }
    }
    if (n < 0) {
      this.error = dec.error;
      this.n = 0;
      return false;
    }
    this.n = n;
    // Stopped before the chunk's end: the rest, and all later chunks, are past maxt.
    if (dec.first + n < dec.total) this.last = true;
    return true;
  }

  /** Ends the iteration; atT/atV keep answering for the last sample read. */
  private finish(): ValueType {
    this.done = true;
    this.k = this.n > 0 ? this.n - 1 : 0;
    return ValueType.None;
  }

  next(): ValueType {
    if (this.done) return ValueType.None;
    if (this.i < 0) return this.seek(this.mint);
    if (++this.k < this.n) return ValueType.Float;
    for (;;) {
      if (!this.open(this.i + 1, -Infinity)) return this.finish();
      if (this.n > 0) return ValueType.Float;
    }
  }

  seek(t: number): ValueType {
    if (this.done) return ValueType.None;
    if (this.i >= 0 && this.k < this.n && this.dec.ts[this.k] >= t) return ValueType.Float;
    if (t < this.mint) t = this.mint;
    // Whole chunks that end before t need no decoding.
    let i = this.i < 0 ? 0 : this.i;
    if (this.i < 0 || this.maxtOf(i) < t) {
      while (i < this.chunks.length && this.maxtOf(i) < t) i++;
      if (!this.open(i, t)) return this.finish();
    }
    for (;;) {
      // First decoded sample at or after t, from the current one on.
      const ts = this.dec.ts;
      let lo = this.k;
      let hi = this.n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (ts[mid] < t) lo = mid + 1;
        else hi = mid;
      }
      this.k = lo;
      if (lo < this.n) return ValueType.Float;
      if (!this.open(this.i + 1, t)) return this.finish();
    }
  }

  atT(): number {
    return this.dec.ts[this.k];
  }

  atV(): number {
    return this.dec.vs[this.k];
  }

  /** See {@link SampleIterator.readBatch}: the rest of the decoded chunk. */
  readBatch(maxt: number, ts: Float64Array, vs: Float64Array, at: number): number {
    if (this.done || this.i < 0 || this.k >= this.n) return 0;
    const src = this.dec.ts;
    const srcV = this.dec.vs;
    const k0 = this.k;
    let end = this.n;
    if (end - k0 > ts.length - at) end = k0 + ts.length - at;
    // Decoding stopped at the querier's maxt; a caller's maxt may be earlier.
    if (end > k0 && src[end - 1] > maxt) {
      let lo = k0;
      let hi = end;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (src[mid] <= maxt) lo = mid + 1;
        else hi = mid;
      }
      end = lo;
    }
    if (end <= k0) return 0;
    for (let k = k0, out = at; k < end; k++, out++) {
      ts[out] = src[k];
      vs[out] = srcV[k];
    }
    this.k = end - 1;
    return end - k0;
  }

  err(): Error | null {
    return this.error;
  }
}

/** A head series as a select saw it: labels and a snapshot of its chunks in range. */
class HeadSeries implements Series {
  readonly labels: Labels;
  private readonly chunks: Uint8Array[];
  private readonly meta: number[];
  private readonly mint: number;
  private readonly maxt: number;
  private readonly cache: XORCheckpointCache;

  constructor(
    labels: Labels,
    chunks: Uint8Array[],
    meta: number[],
    mint: number,
    maxt: number,
    cache: XORCheckpointCache,
  ) {
    this.labels = labels;
    this.chunks = chunks;
    this.meta = meta;
    this.mint = mint;
    this.maxt = maxt;
    this.cache = cache;
  }

  iterator(reuse?: SampleIterator): SampleIterator {
    if (reuse instanceof ChunkSeriesIterator) {
      reuse.reset(this.chunks, this.meta, this.mint, this.maxt, this.cache);
      return reuse;
    }
    return new ChunkSeriesIterator(this.chunks, this.meta, this.mint, this.maxt, this.cache);
  }
}

/**
 * Checkpoints of each head's chunks. Keys: a closed chunk's arena address (never reused
 * while the arena lives), and `-1 - series ref` for a series' open chunk, whose first
 * timestamp is the id that tells one open chunk of the series from the next.
 */
const CHECKPOINTS = new WeakMap<ChunkArena, XORCheckpointCache>();

function checkpointsOf(arena: ChunkArena): XORCheckpointCache {
  let c = CHECKPOINTS.get(arena);
  if (c === undefined) CHECKPOINTS.set(arena, (c = new XORCheckpointCache()));
  return c;
}

/** Series of a head select, snapshotting each series' chunks when the set reaches it. */
class HeadSeriesSet implements SeriesSet {
  private readonly head: Head;
  private readonly series: MemSeries[];
  private readonly mint: number;
  private readonly maxt: number;
  private readonly cache: XORCheckpointCache;
  private i = -1;
  private cur: HeadSeries | null = null;
  private readonly probe = new XORIterator(NO_BYTES);

  constructor(head: Head, series: MemSeries[], mint: number, maxt: number) {
    this.head = head;
    this.series = series;
    this.mint = mint;
    this.maxt = maxt;
    this.cache = checkpointsOf(head.arena);
  }

  next(): boolean {
    const mint = this.mint;
    const maxt = this.maxt;
    const arena = this.head.arena;
    while (++this.i < this.series.length) {
      const s = this.series[this.i];
      // The series may have been truncated away since the select: then it has no chunks.
      const chunks: Uint8Array[] = [];
      const meta: number[] = [];
      const cl = s.closed;
      for (let k = 0; k < cl.length; k += CLOSED_STRIDE) {
        if (cl[k + 3] < mint || cl[k + 2] > maxt) continue;
        const bytes = arena.view(cl[k], cl[k + 1]);
        chunks.push(bytes);
        meta.push((bytes[0] << 8) | bytes[1], cl[k + 3], cl[k], cl[k + 2]);
      }
      const h = s.head;
      if (h !== null && s.maxTime >= mint && s.headMint <= maxt) {
        const n = h.numSamples();
        if (n > 0) {
          chunks.push(h.bytes());
          meta.push(n, s.maxTime, -1 - s.ref, s.headMint);
        }
      }
      if (chunks.length === 0) continue;
      // One chunk reaching past both ends may still hold no sample inside the range (a
      // gap); with any other overlap, some chunk edge lies inside it. Probe only that case.
      if (chunks.length === 1 && meta[1] > maxt && !this.hasSampleIn(chunks[0], meta[0])) continue;
      this.cur = new HeadSeries(s.labels, chunks, meta, mint, maxt, this.cache);
      return true;
    }
    this.cur = null;
    return false;
  }

  private hasSampleIn(bytes: Uint8Array, count: number): boolean {
    const it = this.probe;
    it.reset(bytes, count);
    return it.seek(this.mint) === ValueType.Float && it.atT() <= this.maxt;
  }

  at(): Series {
    return this.cur!;
  }

  err(): Error | null {
    return null;
  }

  warnings(): readonly string[] {
    return [];
  }
}

const EMPTY_SET: SeriesSet = {
  next: () => false,
  at: () => {
    throw new Error('BUG: at() on an empty series set');
  },
  err: () => null,
  warnings: () => [],
};

/** Sorted selects of fewer series than this sort their label sets directly. */
const MIN_RANKED_SELECT = 4096;

/**
 * The label order of all of a head's series, as ranks by ref. Valid while no series was
 * created or removed since it was built (labels never change), which in a steady state is
 * from one /federate to the next.
 */
interface LabelOrder {
  created: number;
  removed: number;
  rank: Uint32Array;
  byRank: MemSeries[];
}

const LABEL_ORDERS = new WeakMap<Head, LabelOrder>();

/**
 * The series of `refs` sorted by labels. A large select sorts numbers (each series' rank
 * in the head's label order) instead of comparing label sets: after the first such select
 * builds the order, a /federate of every series sorts 100k integers instead of making
 * ~1.7M label-set comparisons.
 */
function sortedSeries(head: Head, refs: Uint32Array): MemSeries[] {
  if (refs.length < MIN_RANKED_SELECT) return head.sortedSeries(refs);
  const st = head.stats;
  let o = LABEL_ORDERS.get(head);
  if (o === undefined || o.created !== st.seriesCreated || o.removed !== st.seriesRemoved) {
    const all = head.sortedSeries(head.postings.allPostings());
    let maxRef = 0;
    for (const s of all) if (s.ref > maxRef) maxRef = s.ref;
    const rank = new Uint32Array(maxRef + 1);
    for (let i = 0; i < all.length; i++) rank[all[i].ref] = i;
    o = { created: st.seriesCreated, removed: st.seriesRemoved, rank, byRank: all };
    LABEL_ORDERS.set(head, o);
  }
  const ranks = new Uint32Array(refs.length);
  let n = 0;
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i];
    if (ref < o.rank.length && head.seriesByRef(ref) !== undefined) ranks[n++] = o.rank[ref];
  }
  const sorted = ranks.subarray(0, n).sort();
  const out: MemSeries[] = new Array<MemSeries>(n);
  for (let i = 0; i < n; i++) out[i] = o.byRank[sorted[i]];
  return out;
}

/** Reads the head over `[mint, maxt]` (ms, inclusive). */
export class HeadQuerier implements Querier {
  private readonly head: Head;
  private readonly mint: number;
  private readonly maxt: number;

  constructor(head: Head, mint: number, maxt: number) {
    this.head = head;
    this.mint = mint;
    this.maxt = maxt;
  }

  select(sorted: boolean, _hints: SelectHints | null, matchers: readonly Matcher[]): SeriesSet {
    if (matchers.length === 0 || !this.overlapsHead()) return EMPTY_SET;
    const refs = postingsForMatchers(this.head.postingsIndex, matchers);
    if (refs.length === 0) return EMPTY_SET;
    const series = sorted ? sortedSeries(this.head, refs) : this.unsorted(refs);
    return new HeadSeriesSet(this.head, series, this.mint, this.maxt);
  }

  private unsorted(refs: Uint32Array): MemSeries[] {
    const out: MemSeries[] = [];
    for (let i = 0; i < refs.length; i++) {
      const s = this.head.seriesByRef(refs[i]);
      if (s !== undefined) out.push(s);
    }
    return out;
  }

  /** Whether the head holds anything in the querier's range (else metadata is empty too). */
  private overlapsHead(): boolean {
    return this.head.minTime() <= this.maxt && this.head.maxTime() >= this.mint;
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    if (!this.overlapsHead()) return [];
    if (matchers === undefined || matchers.length === 0)
      return this.head.postings.labelValues(name).slice();
    const refs = postingsForMatchers(this.head.postingsIndex, matchers);
    const values = new Set<string>();
    for (let i = 0; i < refs.length; i++) {
      const s = this.head.seriesByRef(refs[i]);
      if (s === undefined) continue;
      const v = s.labels.get(name);
      if (v !== '') values.add(v);
    }
    return [...values].sort(compareStrings);
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    if (!this.overlapsHead()) return [];
    if (matchers === undefined || matchers.length === 0)
      return this.head.postings.labelNames().slice();
    const refs = postingsForMatchers(this.head.postingsIndex, matchers);
    const names = new Set<string>();
    for (let i = 0; i < refs.length; i++) {
      const s = this.head.seriesByRef(refs[i]);
      if (s === undefined) continue;
      for (let j = 0; j < s.labels.size; j++) names.add(s.labels.name(j));
    }
    return [...names].sort(compareStrings);
  }

  close(): void {}
}
