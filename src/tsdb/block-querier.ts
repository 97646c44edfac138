/**
 * Queries over one block: matchers to postings (sorted arrays of series refs), series
 * entries to labels and chunk metas, chunks to samples clipped to the querier's range
 * and with tombstoned samples left out.
 * @module
 */

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { CorruptionError } from '../model/errors.js';
import type { Labels } from '../model/labels.js';
import type { Matcher } from '../model/matcher.js';
import {
  ValueType,
  type Querier,
  type SampleIterator,
  type Series,
  type SelectHints,
  type SeriesSet,
} from '../storage/interface.js';
import { ENCODING_XOR, XORBulkDecoder } from './chunkenc/index.js';
import { XORCheckpointCache } from './chunkenc/xor-checkpoints.js';
import { MergeQuerier } from '../storage/merge.js';
import { ChunkReader } from './chunks/segments.js';
import { IndexReader, SeriesChunks } from './index/index-reader.js';
import { merge, postingsForMatchers, type PostingsIndex } from './index/postings.js';
import { isDeleted, readTombstones, TOMBSTONES_FILENAME, type Tombstones } from './tombstones.js';

/** What a block querier needs of a block. */
export interface BlockReaders {
  readonly index: IndexReader;
  readonly chunks: ChunkReader;
  readonly tombstones: Tombstones;
}

const EMPTY_CHUNK = new Uint8Array(2);

/** Chunks shorter than this (in samples before the point sought) are not checkpointed. */
const MIN_CHECKPOINT_SAMPLES = 16;
/** Checkpoints kept per block: 72 bytes and a map entry each. */
const BLOCK_CHECKPOINTS = 1 << 15;

/** Decoder checkpoints of each open block's chunks, by chunk ref (its identity too: block chunks never change). */
const CHECKPOINTS = new WeakMap<ChunkReader, XORCheckpointCache>();

function checkpointsOf(chunks: ChunkReader): XORCheckpointCache {
  let c = CHECKPOINTS.get(chunks);
  if (c === undefined) CHECKPOINTS.set(chunks, (c = new XORCheckpointCache(BLOCK_CHECKPOINTS)));
  return c;
}

/**
 * A select reads the chunks of this many series ahead in one {@link ChunkReader.readRun}
 * (fewer while they hold more than {@link READ_AHEAD_CHUNKS} chunks): their chunks lie
 * in series order in the file, so that is one sequential read instead of one per series.
 */
const READ_AHEAD_SERIES = 64;
const READ_AHEAD_CHUNKS = 512;

/** Adapts a block's index to the postings contract the matcher logic works on. */
export function blockPostingsIndex(ix: IndexReader): PostingsIndex {
  return {
    postings(name, values) {
      if (values.length === 1) return ix.postings(name, values[0]);
      const lists: Uint32Array[] = [];
      for (const v of values) {
        const l = ix.postings(name, v);
        if (l.length > 0) lists.push(l);
      }
      return merge(lists);
    },
    labelValues: (name) => ix.labelValues(name),
    allPostings: () => ix.allPostings(),
  };
}

/**
 * Refs of the block's series that satisfy every matcher, increasing (which is label
 * order), with Prometheus's semantics (index/postings.ts): a missing label matches as ''.
 */
export function blockPostingsForMatchers(
  ix: IndexReader,
  matchers: readonly Matcher[],
): Uint32Array {
  return postingsForMatchers(blockPostingsIndex(ix), matchers);
}

/** A querier over `[mint, maxt]` (ms, inclusive) of one block. */
export class BlockQuerier implements Querier {
  private readonly b: BlockReaders;
  readonly mint: number;
  readonly maxt: number;

  constructor(b: BlockReaders, mint: number, maxt: number) {
    this.b = b;
    this.mint = mint;
    this.maxt = maxt;
  }

  /**
   * Series are always in label order, so `sorted` costs nothing. A select for labels only
   * (`func` 'series') reads no chunks ahead.
   */
  select(_sorted: boolean, hints: SelectHints | null, matchers: readonly Matcher[]): SeriesSet {
    try {
      return new BlockSeriesSet(
        this.b,
        blockPostingsForMatchers(this.b.index, matchers),
        this.mint,
        this.maxt,
        hints === null || hints.func !== 'series',
      );
    } catch (err) {
      return new ErrSeriesSet(err as Error);
    }
  }

  labelValues(name: string, matchers?: readonly Matcher[]): string[] {
    if (matchers === undefined || matchers.length === 0)
      return this.b.index.labelValues(name).slice();
    const set = new Set<string>();
    this.forEachSeries(matchers, (ls) => {
      const v = ls.get(name);
      if (v !== '') set.add(v);
    });
    return [...set].sort();
  }

  labelNames(matchers?: readonly Matcher[]): string[] {
    if (matchers === undefined || matchers.length === 0) return this.b.index.labelNames();
    const set = new Set<string>();
    this.forEachSeries(matchers, (ls) => ls.forEach((n) => set.add(n)));
    return [...set].sort();
  }

  private forEachSeries(matchers: readonly Matcher[], fn: (ls: Labels) => void): void {
    const refs = blockPostingsForMatchers(this.b.index, matchers);
    const c = new SeriesChunks();
    for (let i = 0; i < refs.length; i++) fn(this.b.index.series(refs[i], c));
  }

  close(): void {
    // The block owns the files; nothing to release per querier.
  }
}

class ErrSeriesSet implements SeriesSet {
  private readonly e: Error;
  constructor(e: Error) {
    this.e = e;
  }
  next(): boolean {
    return false;
  }
  at(): Series {
    throw this.e;
  }
  err(): Error | null {
    return this.e;
  }
  warnings(): readonly string[] {
    return [];
  }
}

/**
 * Series of a block matching a select: those with chunks overlapping the range. Series
 * are read from the index a batch at a time, and the batch's chunks with one read.
 */
class BlockSeriesSet implements SeriesSet {
  private readonly b: BlockReaders;
  private readonly refs: Uint32Array;
  private readonly mint: number;
  private readonly maxt: number;
  private i: number;
  private cur: BlockSeriesEntry | null;
  private error: Error | null;
  private readonly scratch: SeriesChunks;
  /** Series read ahead, with their chunks' bytes, and the next one to hand out. */
  private readonly batch: BlockSeriesEntry[] = [];
  private batchPos = 0;
  /** Scratch for one batch's chunk refs, bytes and encodings. */
  private readonly batchRefs: number[] = [];
  private readonly batchData: Uint8Array[] = [];
  private readonly batchEnc: number[] = [];
  /** An index read that failed while reading ahead. */
  private indexError: Error | null = null;
  /** Whether a batch's chunks are read with it (not for selects of labels only). */
  private readonly readAhead: boolean;
  /**
   * Iterator for checking that a series has a sample in the range. After a successful
   * check it goes to the series (whose first iterator() continues from it, so the chunk
   * is not read and decoded twice), and the set takes the iterator that call gives back.
   */
  peek: BlockSeriesIterator | null = null;

  constructor(b: BlockReaders, refs: Uint32Array, mint: number, maxt: number, readAhead: boolean) {
    this.b = b;
    this.refs = refs;
    this.mint = mint;
    this.maxt = maxt;
    this.readAhead = readAhead;
    this.i = 0;
    this.cur = null;
    this.error = null;
    this.scratch = new SeriesChunks();
  }

  /**
   * Reads the next series with chunks in range from the index, up to
   * {@link READ_AHEAD_SERIES} of them, then all their chunks at once. False when none is
   * left or the index failed. A failed chunk read is left to each series' iterator,
   * which reads its own chunks then and reports the error where it always did.
   */
  private fill(): boolean {
    const c = this.scratch;
    const batch = this.batch;
    batch.length = 0;
    this.batchPos = 0;
    const crefsAll = this.batchRefs;
    crefsAll.length = 0;
    while (
      this.indexError === null &&
      this.i < this.refs.length &&
      batch.length < READ_AHEAD_SERIES &&
      crefsAll.length < READ_AHEAD_CHUNKS
    ) {
      const ref = this.refs[this.i++];
      let labels: Labels;
      try {
        labels = this.b.index.series(ref, c);
      } catch (err) {
        // Reported once the series before it have been handed out.
        this.indexError = err as Error;
        break;
      }
      const deleted = this.b.tombstones.get(ref);
      // Keep the chunks that overlap the range and are not wholly deleted.
      const mint: number[] = [];
      const maxt: number[] = [];
      const crefs: number[] = [];
      for (let k = 0; k < c.n; k++) {
        if (c.maxt[k] < this.mint || c.mint[k] > this.maxt) continue;
        if (deleted !== undefined && coveredBy(deleted, c.mint[k], c.maxt[k])) continue;
        mint.push(c.mint[k]);
        maxt.push(c.maxt[k]);
        crefs.push(c.ref[k]);
        crefsAll.push(c.ref[k]);
      }
      if (crefs.length === 0) continue;
      batch.push(
        new BlockSeriesEntry(
          labels,
          this.b.chunks,
          mint,
          maxt,
          crefs,
          this.mint,
          this.maxt,
          deleted,
          this,
        ),
      );
    }
    if (this.readAhead && crefsAll.length > 1) {
      const data = this.batchData;
      const enc = this.batchEnc;
      try {
        this.b.chunks.readRun(crefsAll, 0, crefsAll.length, data, enc);
        let at = 0;
        for (const e of batch) {
          const n = e.chunkRefs.length;
          e.data = data.slice(at, at + n);
          e.encodings = enc.slice(at, at + n);
          at += n;
        }
      } catch {
        // Each series reads its own chunks (and meets the error) as without read-ahead.
      }
      data.length = 0;
    }
    return batch.length > 0;
  }

  next(): boolean {
    for (;;) {
      if (this.error !== null) return false;
      if (this.batchPos === this.batch.length) {
        if (this.indexError !== null) this.error = this.indexError;
        if (this.error !== null || !this.fill()) return false;
      }
      const entry = this.batch[this.batchPos++];
      const { chunkMint: mint, chunkMaxt: maxt, chunkRefs: crefs } = entry;
      const deleted = entry.deleted;
      // When no chunk lies wholly inside the range (or tombstones may hide samples), the
      // range can fall between two samples: peek, so a series without samples is left out.
      let inside = false;
      if (deleted === undefined) {
        for (let k = 0; k < crefs.length && !inside; k++)
          inside = mint[k] >= this.mint && maxt[k] <= this.maxt;
      }
      if (!inside) {
        const peek = this.peek ?? new BlockSeriesIterator();
        entry.resetIterator(peek);
        if (peek.next() === ValueType.None) {
          this.peek = peek;
          const e = peek.err();
          if (e !== null) {
            this.error = e;
            return false;
          }
          continue;
        }
        peek.rewind();
        entry.peeked = peek;
        this.peek = null;
      }
      this.cur = entry;
      return true;
    }
  }

  at(): Series {
    return this.cur!;
  }

  err(): Error | null {
    return this.error;
  }

  warnings(): readonly string[] {
    return [];
  }
}

/** Reports whether one interval of the flat sorted `iv` covers all of `[mint, maxt]`. */
function coveredBy(iv: readonly number[], mint: number, maxt: number): boolean {
  for (let i = 0; i < iv.length; i += 2) if (iv[i] <= mint && maxt <= iv[i + 1]) return true;
  return false;
}

/** One series of a block select. */
export class BlockSeriesEntry implements Series {
  readonly labels: Labels;
  private readonly chunks: ChunkReader;
  /** Chunk metas overlapping the range, in time order. */
  readonly chunkMint: number[];
  readonly chunkMaxt: number[];
  readonly chunkRefs: number[];
  private readonly mint: number;
  private readonly maxt: number;
  readonly deleted: readonly number[] | undefined;
  /** The chunks' bytes and encodings when the set read them ahead; null: read on demand. */
  data: Uint8Array[] | null = null;
  encodings: number[] | null = null;
  /** The set that made it, which lends its peek iterator (see {@link peeked}). */
  private readonly set: BlockSeriesSet | null;
  /**
   * An iterator the set already started on this series to check it has a sample in the
   * range, rewound to that sample: the first iterator() call returns it.
   */
  peeked: BlockSeriesIterator | null = null;

  constructor(
    labels: Labels,
    chunks: ChunkReader,
    chunkMint: number[],
    chunkMaxt: number[],
    chunkRefs: number[],
    mint: number,
    maxt: number,
    deleted: readonly number[] | undefined,
    set: BlockSeriesSet | null = null,
  ) {
    this.labels = labels;
    this.chunks = chunks;
    this.chunkMint = chunkMint;
    this.chunkMaxt = chunkMaxt;
    this.chunkRefs = chunkRefs;
    this.mint = mint;
    this.maxt = maxt;
    this.deleted = deleted;
    this.set = set;
  }

  iterator(reuse?: SampleIterator): SampleIterator {
    const peeked = this.peeked;
    if (peeked !== null) {
      this.peeked = null;
      // The caller gives `reuse` up: the set peeks with it from now on.
      if (this.set !== null && this.set.peek === null && reuse instanceof BlockSeriesIterator)
        this.set.peek = reuse;
      return peeked;
    }
    const it = reuse instanceof BlockSeriesIterator ? reuse : new BlockSeriesIterator();
    this.resetIterator(it);
    return it;
  }

  /** Starts `it` on this series. */
  resetIterator(it: BlockSeriesIterator): void {
    it.reset(
      this.chunks,
      this.chunkMaxt,
      this.chunkRefs,
      this.mint,
      this.maxt,
      this.deleted,
      this.data,
      this.encodings,
    );
  }
}

/**
 * Samples of a series across its chunks, within [mint, maxt], skipping deleted ones. Each
 * chunk is decoded in one pass into the reused arrays of an {@link XORBulkDecoder}
 * (stopping past maxt), which the iterator then walks.
 */
export class BlockSeriesIterator implements SampleIterator {
  private chunks: ChunkReader | null = null;
  private maxts: number[] = [];
  private refs: number[] = [];
  private mint = 0;
  private maxt = 0;
  private deleted: readonly number[] | undefined = undefined;
  /** Index of the next chunk to load. */
  private ci = 0;
  private readonly dec = new XORBulkDecoder();
  /** Decoder checkpoints of the block's chunks (see {@link decode}). */
  private cache: XORCheckpointCache | null = null;
  /** Samples decoded from the current chunk, and the current one's index (n: none). */
  private n = 0;
  private k = 0;
  /** True once a chunk ended past maxt: no later chunk is read. */
  private last = false;
  private done = false;
  /** Set by rewind(): the current sample is to be returned again. */
  private rewound = false;
  /** Chunk bytes read ahead for chunks [loadedFrom, loadedTo). */
  private readonly data: Uint8Array[] = [];
  private readonly encodings: number[] = [];
  private loadedFrom = 0;
  private loadedTo = 0;
  private error: Error | null = null;

  reset(
    chunks: ChunkReader,
    maxts: number[],
    refs: number[],
    mint: number,
    maxt: number,
    deleted: readonly number[] | undefined,
    data: readonly Uint8Array[] | null = null,
    encodings: readonly number[] | null = null,
  ): void {
    this.chunks = chunks;
    this.cache = checkpointsOf(chunks);
    this.maxts = maxts;
    this.refs = refs;
    this.mint = mint;
    this.maxt = maxt;
    this.deleted = deleted;
    this.ci = 0;
    this.n = 0;
    this.k = 0;
    this.last = false;
    this.done = false;
    this.rewound = false;
    this.error = null;
    this.data.length = 0;
    this.encodings.length = 0;
    this.loadedFrom = 0;
    this.loadedTo = 0;
    if (data !== null && encodings !== null) {
      // Read ahead by the set: copied, as decoding clears the iterator's references.
      for (let k = 0; k < refs.length; k++) {
        this.data.push(data[k]);
        this.encodings.push(encodings[k]);
      }
      this.loadedTo = refs.length;
    }
  }

  /** Decodes the next chunk for a read from time `from` on; false at the end or on an error. */
  private loadNext(from: number): boolean {
    if (this.ci >= this.refs.length || this.last) return false;
    const i = this.ci++;
    try {
      if (i >= this.loadedTo || i < this.loadedFrom) {
        // Read this chunk and all later ones of the series at once.
        this.chunks!.readRun(this.refs, i, this.refs.length, this.data, this.encodings);
        this.loadedFrom = i;
        this.loadedTo = this.refs.length;
      }
      if (this.encodings[i] !== ENCODING_XOR) {
        throw new CorruptionError(
          'chunks',
          this.refs[i],
          `unsupported chunk encoding ${this.encodings[i]}`,
        );
      }
    } catch (err) {
      this.error = err as Error;
      return false;
    }
    const n = this.decode(i, from);
    this.data[i] = EMPTY_CHUNK; // decoded: the bytes are not needed again
    if (n < 0) {
      this.error = this.dec.error;
      return false;
    }
    // Stopped before the chunk's end: the rest, and all later chunks, are past maxt.
    if (this.dec.first + n < this.dec.total) this.last = true;
    this.n = n;
    this.k = -1;
    return true;
  }

  /**
   * Decodes chunk `i` for a read from time `from` on: from the chunk's checkpoint when one
   * lies at or before `from`, else from its start, leaving a checkpoint just before `from`
   * for the next query (a dashboard asks for the same recent window again and again).
   */
  private decode(i: number, from: number): number {
    const dec = this.dec;
    const bytes = this.data[i];
    const cache = this.cache;
    // A chunk after one that reaches `from` is read from its start anyway.
    if (cache === null || (i > 0 && this.maxts[i - 1] >= from)) {
      return dec.decode(bytes, -1, this.maxt);
    }
    const ref = this.refs[i];
    const at = cache.find(ref, ref);
    if (at >= 0 && cache.data[at + 2] <= from) {
      return dec.decodeFrom(bytes, -1, this.maxt, cache.data, at);
    }
    dec.markBefore = from;
    const n = dec.decode(bytes, -1, this.maxt);
    dec.markBefore = -Infinity;
    if (n >= 0 && dec.mark[0] >= MIN_CHECKPOINT_SAMPLES) cache.put(ref, ref, dec.mark);
    return n;
  }

  /** Moves to the next sample at or after `from` that is in range and not deleted. */
  private advance(from: number): ValueType {
    if (this.done) return ValueType.None;
    if (from < this.mint) from = this.mint;
    for (;;) {
      const ts = this.dec.ts;
      let k = this.k + 1;
      if (k < this.n && ts[k] < from) {
        // Binary search for the first sample at or after `from`.
        let hi = this.n;
        while (k < hi) {
          const mid = (k + hi) >>> 1;
          if (ts[mid] < from) k = mid + 1;
          else hi = mid;
        }
      }
      const del = this.deleted;
      while (k < this.n && del !== undefined && isDeleted(del, ts[k])) k++;
      if (k < this.n) {
        this.k = k;
        return ValueType.Float;
      }
      this.k = this.n;
      // Whole chunks that end before `from` need no decoding.
      while (this.ci < this.refs.length && this.maxts[this.ci] < from) this.ci++;
      if (!this.loadNext(from)) {
        this.done = true;
        // atT/atV keep answering for the last sample read.
        this.k = this.n > 0 ? this.n - 1 : 0;
        return ValueType.None;
      }
    }
  }

  next(): ValueType {
    if (this.rewound) {
      this.rewound = false;
      return ValueType.Float;
    }
    return this.advance(-Infinity);
  }

  /**
   * Steps back before the current sample, so that the next call to next() or seek()
   * (for a time at or before it) returns it again: the iterator then reads as a fresh one.
   */
  rewind(): void {
    this.rewound = true;
  }

  seek(t: number): ValueType {
    this.rewound = false;
    if (this.done) return ValueType.None;
    if (this.k >= 0 && this.k < this.n && this.dec.ts[this.k] >= t) return ValueType.Float;
    this.k--; // advance() starts at the sample after k: let it consider the current one
    return this.advance(t);
  }

  atT(): number {
    return this.dec.ts[this.k];
  }

  atV(): number {
    return this.dec.vs[this.k];
  }

  /** See {@link SampleIterator.readBatch}: the rest of the decoded chunk, deleted samples left out. */
  readBatch(maxt: number, ts: Float64Array, vs: Float64Array, at: number): number {
    if (this.done || this.k < 0 || this.k >= this.n) return 0;
    this.rewound = false;
    const src = this.dec.ts;
    const srcV = this.dec.vs;
    const k0 = this.k;
    let end = this.n;
    if (end - k0 > ts.length - at) end = k0 + ts.length - at;
    // Decoding stopped at the querier's maxt; a caller's maxt may be earlier.
    if (end > k0 && src[end - 1] > maxt) end = firstAfter(src, k0, end, maxt);
    if (end <= k0) return 0;
    const del = this.deleted;
    let out = at;
    if (del === undefined) {
      for (let k = k0; k < end; k++, out++) {
        ts[out] = src[k];
        vs[out] = srcV[k];
      }
    } else {
      for (let k = k0; k < end; k++) {
        if (isDeleted(del, src[k])) continue;
        ts[out] = src[k];
        vs[out] = srcV[k];
        out++;
      }
    }
    this.k = end - 1;
    return out - at;
  }

  err(): Error | null {
    return this.error;
  }
}

/** Index of the first of `a[lo, hi)` (increasing) greater than `x`, or `hi`. */
function firstAfter(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Blocks opened by {@link openSharedQuerier}, by directory, with their tombstones' stamp. */
const shared = new Map<string, { readers: BlockReaders; stamp: string }>();

/** Size and mtime of a block's tombstones file ('' when absent): a deletion changes it. */
function tombstonesStamp(dir: string): string {
  try {
    const st = statSync(join(dir, TOMBSTONES_FILENAME));
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return '';
  }
}

/**
 * A querier over the persisted blocks in directories `dirs` (ms range `[mint, maxt]`),
 * for another thread than the database's: it opens the blocks read-only itself and keeps
 * them open for the next call, closing those no longer named, and re-reads a block's
 * tombstones when their file changed. Selects return the same series in the same order as
 * the database's querier over the same blocks. Used by PromQL's range workers.
 */
export function openSharedQuerier(dirs: unknown, mint: number, maxt: number): Querier {
  const list = dirs as readonly string[];
  for (const [dir, b] of shared) {
    if (list.includes(dir)) continue;
    b.readers.chunks.close();
    b.readers.index.close();
    shared.delete(dir);
  }
  const qs: Querier[] = [];
  for (const dir of list) {
    let b = shared.get(dir);
    const stamp = tombstonesStamp(dir);
    if (b === undefined) {
      const index = IndexReader.open(join(dir, 'index'));
      const chunks = new ChunkReader(join(dir, 'chunks'));
      b = { readers: { index, chunks, tombstones: readTombstones(dir) }, stamp };
      shared.set(dir, b);
    } else if (b.stamp !== stamp) {
      b = { readers: { ...b.readers, tombstones: readTombstones(dir) }, stamp };
      shared.set(dir, b);
    }
    qs.push(new BlockQuerier(b.readers, mint, maxt));
  }
  return qs.length === 1 ? qs[0] : new MergeQuerier(qs);
}

/** What {@link sharedBlocksSource} needs of a database. */
export interface SharedBlocksDB {
  blockList(): readonly {
    readonly dir: string;
    readonly minTime: number;
    readonly maxTime: number;
  }[];
  readonly head: { maxTime(): number };
}

/**
 * The source function of PromQL's range workers for `db`: over `[mint, maxt]`, the
 * directories of the blocks a database querier reads when the head holds nothing in the
 * range (as DB.querier() decides), for {@link openSharedQuerier}; else null.
 */
export function sharedBlocksSource(
  db: SharedBlocksDB,
): (mint: number, maxt: number) => string[] | null {
  return (mint, maxt) => {
    if (db.head.maxTime() >= mint) return null;
    // A block covers [minTime, maxTime).
    const dirs = db
      .blockList()
      .filter((b) => b.minTime <= maxt && b.maxTime > mint)
      .map((b) => b.dir);
    return dirs.length > 0 ? dirs : null;
  };
}
