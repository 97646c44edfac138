/**
 * One series of the head (`memSeries`) and the arena its closed chunks live in.
 *
 * ```
 *  MemSeries                                  ChunkArena (1 MiB pages, append-only)
 *  ┌───────────────────────────────┐          ┌─────────────────────────────────────┐
 *  │ ref, labels (interned)        │          │ page 0: [chunk][chunk][chunk]...    │
 *  │ closed: [ref,len,mint,maxt]*k ├─────────▶│ page 1: [chunk][chunk]...           │
 *  │ open: id in the head's XORSlab├──┐       └─────────────────────────────────────┘
 *  │ maxTime, lastV, nextAt        │  │  a page is dropped when its last chunk is truncated
 *  └───────────────────────────────┘  │       XORSlab (open chunks, slots by size class)
 *                                     └─────▶ [slot][slot][slot]... + a row of encoder state
 * ```
 *
 * Closed chunks are copied into shared pages instead of each owning a typed array: a
 * typed array costs ~100 bytes of headers, about as much as a 120-sample counter chunk.
 * The open chunk is a slot of the head's {@link XORSlab} for the same reason (a chunk,
 * its appender, bit writer and buffer would be ~400 bytes of objects per series).
 * @module
 */

import { hashLabelSet, type Labels } from '../model/labels.js';
import { XORChunk } from './chunkenc/xor.js';
import type { XORSlab } from './chunkenc/xor-slab.js';

/** Bytes per arena page. */
const PAGE_BYTES = 1 << 20;

/**
 * Append-only storage of closed chunk bytes. A chunk is addressed by a number
 * `page * PAGE_BYTES + offset`. Pages are never reused, so views handed to queriers stay
 * valid (the garbage collector frees a dropped page once no view holds it).
 */
export class ChunkArena {
  private pages: (Uint8Array | null)[] = [];
  private live: number[] = [];
  private cur = -1;
  private off = PAGE_BYTES;

  /** Copies `bytes` in and returns their address. */
  put(bytes: Uint8Array): number {
    const n = bytes.length;
    if (this.off + n > PAGE_BYTES) {
      this.cur = this.pages.length;
      this.pages.push(new Uint8Array(Math.max(PAGE_BYTES, n)));
      this.live.push(0);
      this.off = 0;
    }
    const page = this.pages[this.cur]!;
    page.set(bytes, this.off);
    const ref = this.cur * PAGE_BYTES + this.off;
    this.off += n;
    this.live[this.cur]++;
    return ref;
  }

  /** A view of the `len` bytes at `ref`. */
  view(ref: number, len: number): Uint8Array {
    const p = Math.floor(ref / PAGE_BYTES);
    const o = ref - p * PAGE_BYTES;
    return this.pages[p]!.subarray(o, o + len);
  }

  /** Forgets the chunk at `ref`; drops its page once nothing on it is live. */
  release(ref: number): void {
    const p = Math.floor(ref / PAGE_BYTES);
    if (--this.live[p] === 0 && p !== this.cur) this.pages[p] = null;
  }

  /** Bytes held by live pages. */
  bytesHeld(): number {
    let n = 0;
    for (const p of this.pages) if (p !== null) n += p.length;
    return n;
  }
}

/** Fields per closed chunk in {@link MemSeries.closed}. */
export const CLOSED_STRIDE = 4;

/** Result codes of {@link MemSeries.append}. */
export const APPEND_REJECTED = 0;
export const APPEND_OK = 1;
export const APPEND_NEW_CHUNK = 2;

/** Prometheus's target of samples per chunk. */
export const SAMPLES_PER_CHUNK = 120;

/** End of the chunk range `t` falls in (Prometheus `rangeForTimestamp`). */
export function rangeForTimestamp(t: number, width: number): number {
  return Math.trunc(t / width) * width + width;
}

/**
 * When a chunk is a quarter full, predicts the end time that spreads the remaining
 * samples of the range evenly over chunks of ~120 samples (Prometheus `computeChunkEndTime`).
 */
export function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = Math.trunc((max - start) / ((cur - start + 1) * 4));
  if (n <= 1) return max;
  return start + Math.trunc((max - start) / n);
}

const F64 = new Float64Array(2);
const U32 = new Uint32Array(F64.buffer);

/** Reports whether two numbers have the same bits (NaN payloads and -0 included). */
export function sameBits(a: number, b: number): boolean {
  F64[0] = a;
  F64[1] = b;
  return U32[0] === U32[2] && U32[1] === U32[3];
}

/**
 * The `closed` list of every series without closed chunks: most series of a young head.
 * Shared and frozen; a series gets its own array at its first cut (saves 32 bytes each).
 */
const NO_CLOSED_CHUNKS: number[] = Object.freeze([]) as unknown as number[];

/** An in-memory series: closed chunks in the arena plus one open chunk in the slab. */
export class MemSeries {
  readonly ref: number;
  readonly labels: Labels;
  /**
   * Closed chunks, {@link CLOSED_STRIDE} numbers each: arena ref, byte length, mint, maxt.
   * Read-only for callers (it may be a shared empty array).
   */
  closed: number[];
  /** The head's open chunks. */
  private readonly slab: XORSlab;
  /** Id of the open chunk in {@link slab}, -1 before the first sample / after truncation. */
  open: number;
  /** Samples in the open chunk (the chunk's own count, without reading its header per append). */
  headSamples: number;
  /** Timestamp of the open chunk's first sample. */
  headMint: number;
  /** Timestamp of the newest sample, -Infinity when none. */
  maxTime: number;
  /** Value of the newest sample (bits matter: duplicates compare bits). */
  lastV: number;
  /** Timestamp at which the open chunk is cut. */
  nextAt: number;
  /** Appenders holding uncommitted samples for this series; it is not collected meanwhile. */
  pending: number;

  constructor(ref: number, labels: Labels, slab: XORSlab) {
    this.ref = ref;
    this.labels = labels;
    this.closed = NO_CLOSED_CHUNKS;
    this.slab = slab;
    this.open = -1;
    this.headSamples = 0;
    this.headMint = Infinity;
    this.maxTime = -Infinity;
    this.lastV = 0;
    this.nextAt = -Infinity;
    this.pending = 0;
  }

  /**
   * A snapshot of the open chunk (a copy of its bytes: later appends, cuts and the slot's
   * reuse leave it alone), or null when there is none.
   */
  get head(): XORChunk | null {
    return this.open < 0 ? null : new XORChunk(this.slab.copy(this.open));
  }

  /** Whether the series has an open chunk. */
  hasOpenChunk(): boolean {
    return this.open >= 0;
  }

  /** Number of chunks, the open one included. */
  numChunks(): number {
    return this.closed.length / CLOSED_STRIDE + (this.open >= 0 ? 1 : 0);
  }

  /** Timestamp of the oldest sample held, Infinity when none. */
  minTime(): number {
    return this.closed.length > 0 ? this.closed[2] : this.headMint;
  }

  /**
   * Appends a sample that passed the appender's checks; returns {@link APPEND_REJECTED}
   * when it is not newer than the newest sample (Prometheus `appendPreprocessor` + append).
   */
  append(
    ts: ArrayLike<number>,
    vs: ArrayLike<number>,
    i: number,
    chunkRange: number,
    arena: ChunkArena,
  ): number {
    const t = ts[i];
    if (t <= this.maxTime) return APPEND_REJECTED;
    let code = APPEND_OK;
    if (this.open < 0) {
      this.cutNewHeadChunk(t, chunkRange, arena);
      code = APPEND_NEW_CHUNK;
    } else {
      const numSamples = this.headSamples;
      // At a quarter of a chunk, predict the end time that makes chunks equally full.
      if (numSamples === SAMPLES_PER_CHUNK / 4) {
        this.nextAt = computeChunkEndTime(this.headMint, this.maxTime, this.nextAt);
      }
      // Past twice the target the prediction was wrong (the rate went up): cut anyway.
      if (t >= this.nextAt || numSamples >= SAMPLES_PER_CHUNK * 2) {
        this.cutNewHeadChunk(t, chunkRange, arena);
        code = APPEND_NEW_CHUNK;
      }
    }
    this.slab.appendAt(this.open, ts, vs, i);
    this.headSamples++;
    this.maxTime = t;
    this.lastV = vs[i];
    return code;
  }

  /**
   * Closes the open chunk into the arena and opens a new one starting at `t`. The slot is
   * kept for the new chunk: the next one will likely be about as big.
   */
  private cutNewHeadChunk(t: number, chunkRange: number, arena: ChunkArena): void {
    const slab = this.slab;
    if (this.open < 0) this.open = slab.open(0);
    else if (this.headSamples > 0) {
      const len = slab.byteLength(this.open);
      if (this.closed === NO_CLOSED_CHUNKS) this.closed = [];
      this.closed.push(arena.put(slab.view(this.open)), len, this.headMint, this.maxTime);
      slab.clear(this.open);
    }
    this.headSamples = 0;
    this.headMint = t;
    this.nextAt = rangeForTimestamp(t, chunkRange);
  }

  /**
   * Drops chunks whose samples are all older than `mint`; returns how many were dropped.
   * The open chunk goes too when it is wholly older (the series then holds nothing).
   */
  truncateChunksBefore(mint: number, arena: ChunkArena): number {
    const cl = this.closed;
    let k = 0;
    while (k < cl.length && cl[k + 3] < mint) {
      arena.release(cl[k]);
      k += CLOSED_STRIDE;
    }
    let dropped = k / CLOSED_STRIDE;
    if (k > 0) this.closed = k < cl.length ? cl.slice(k) : NO_CLOSED_CHUNKS;
    if (this.open >= 0 && this.closed.length === 0 && this.maxTime < mint && this.pending === 0) {
      this.slab.close(this.open);
      this.open = -1;
      this.headSamples = 0;
      this.headMint = Infinity;
      dropped++;
    }
    return dropped;
  }
}

/** The head's series-map hash of a label set (see {@link hashLabelSet}). */
export const hashLabels = hashLabelSet;
