/**
 * Builds blocks from samples that arrive in any series order (backfill, `tsdb
 * create-blocks-from`), as Prometheus's `tsdb.BlockWriter`: samples are gathered per
 * series, cut into chunks the way the head cuts them, and written as one block whose
 * range runs from the first sample to the last sample + 1.
 * @module
 */

import { StorageError } from '../model/errors.js';
import type { Labels } from '../model/labels.js';
import { ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP } from '../storage/errors.js';
import { ENCODING_XOR, XORChunk } from './chunkenc/index.js';
import {
  SAMPLES_PER_CHUNK,
  sourceFromSeries,
  writeBlock,
  type BlockSeries,
  type ChunkData,
  type WriteBlockOptions,
} from './block-writer.js';
import type { BlockMeta } from './meta.js';

/** Prometheus's default block range: 2h in ms. */
export const DEFAULT_BLOCK_DURATION_MS = 2 * 60 * 60 * 1000;

/** Samples of one series, in growable typed arrays. */
class SampleBuffer {
  readonly labels: Labels;
  ts: Float64Array;
  vs: Float64Array;
  n: number;
  sorted: boolean;

  constructor(labels: Labels) {
    this.labels = labels;
    this.ts = new Float64Array(16);
    this.vs = new Float64Array(16);
    this.n = 0;
    this.sorted = true;
  }

  add(t: number, v: number): void {
    if (this.n === this.ts.length) {
      const nt = new Float64Array(this.n * 2);
      nt.set(this.ts);
      this.ts = nt;
      const nv = new Float64Array(this.n * 2);
      nv.set(this.vs);
      this.vs = nv;
    }
    if (this.n > 0 && t <= this.ts[this.n - 1]) this.sorted = false;
    this.ts[this.n] = t;
    this.vs[this.n] = v;
    this.n++;
  }

  /** Sorts by time; a repeated timestamp with the same value bits is dropped, a different value throws. */
  finish(): void {
    if (this.sorted) return;
    const idx = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) idx[i] = i;
    const ts = this.ts;
    idx.sort((a, b) => ts[a] - ts[b] || a - b);
    const nt = new Float64Array(this.n);
    const nv = new Float64Array(this.n);
    let k = 0;
    for (let i = 0; i < this.n; i++) {
      const t = ts[idx[i]];
      const v = this.vs[idx[i]];
      if (k > 0 && nt[k - 1] === t) {
        if (!sameBits(nv[k - 1], v)) throw ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP;
        continue;
      }
      nt[k] = t;
      nv[k] = v;
      k++;
    }
    this.ts = nt;
    this.vs = nv;
    this.n = k;
    this.sorted = true;
  }
}

const F = new Float64Array(2);
const U = new Uint32Array(F.buffer);
function sameBits(a: number, b: number): boolean {
  F[0] = a;
  F[1] = b;
  return U[0] === U[2] && U[1] === U[3];
}

/**
 * Cuts samples into XOR chunks as Prometheus's head does: a chunk ends at the next
 * multiple of `chunkRangeMs`, at a predicted time that spreads ~120 samples per chunk
 * (decided once a chunk holds 30), or at 240 samples, whichever comes first.
 */
export function cutChunksLikeHead(
  ts: ArrayLike<number>,
  vs: ArrayLike<number>,
  n: number,
  chunkRangeMs: number,
): ChunkData[] {
  const out: ChunkData[] = [];
  let c: XORChunk | null = null;
  let app: ReturnType<XORChunk['appender']> | null = null;
  let cMint = 0;
  let cMaxt = 0;
  let count = 0;
  let nextAt = 0;
  const close = (): void => {
    if (c !== null)
      out.push({ mint: cMint, maxt: cMaxt, encoding: ENCODING_XOR, data: c.compact() });
  };
  for (let i = 0; i < n; i++) {
    const t = ts[i];
    if (c !== null) {
      if (count === SAMPLES_PER_CHUNK / 4) nextAt = computeChunkEndTime(cMint, cMaxt, nextAt);
    }
    if (c === null || t >= nextAt || count >= SAMPLES_PER_CHUNK * 2) {
      close();
      c = new XORChunk();
      app = c.appender();
      cMint = t;
      count = 0;
      nextAt = rangeEnd(t, chunkRangeMs);
    }
    app!.append(t, vs[i]);
    cMaxt = t;
    count++;
  }
  close();
  return out;
}

/** End of the `rangeMs`-aligned range holding `t`, as Go's integer division computes it. */
function rangeEnd(t: number, rangeMs: number): number {
  return Math.trunc(t / rangeMs) * rangeMs + rangeMs;
}

/** Prometheus's `computeChunkEndTime`: spread the rest of the range evenly over chunks like this one. */
function computeChunkEndTime(start: number, cur: number, max: number): number {
  const n = Math.trunc((max - start) / ((cur - start + 1) * 4));
  if (n <= 1) return max;
  return start + Math.trunc((max - start) / n);
}

/** Gathers samples and writes them as one block. Single use: {@link flush} once. */
export class BlockBuilder {
  private readonly series: Map<string, SampleBuffer>;
  private readonly chunkRangeMs: number;
  private mint: number;
  private maxt: number;
  /** Samples added. */
  count: number;

  /**
   * `chunkRangeMs` aligns chunk ends; Prometheus's BlockWriter uses twice the block
   * duration for it when backfilling.
   */
  constructor(chunkRangeMs: number = 2 * DEFAULT_BLOCK_DURATION_MS) {
    this.series = new Map();
    this.chunkRangeMs = chunkRangeMs;
    this.mint = Infinity;
    this.maxt = -Infinity;
    this.count = 0;
  }

  /** Adds a sample; `labels` must be valid and non-empty. */
  add(labels: Labels, t: number, v: number): void {
    const key = labels.key();
    let s = this.series.get(key);
    if (s === undefined) {
      s = new SampleBuffer(labels);
      this.series.set(key, s);
    }
    s.add(t, v);
    if (t < this.mint) this.mint = t;
    if (t > this.maxt) this.maxt = t;
    this.count++;
  }

  /**
   * Writes the block into `dir` and returns its meta, or null when no sample was
   * added. The block spans [first sample, last sample + 1).
   */
  flush(dir: string, opts: Partial<WriteBlockOptions> = {}): BlockMeta | null {
    if (this.count === 0) return null;
    const list: BlockSeries[] = [];
    for (const s of this.series.values()) {
      try {
        s.finish();
      } catch (err) {
        throw new StorageError(
          'ERR_BACKFILL',
          `series ${s.labels.toString()}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      list.push({
        labels: s.labels,
        chunks: cutChunksLikeHead(s.ts, s.vs, s.n, this.chunkRangeMs),
      });
    }
    return writeBlock(dir, sourceFromSeries(list), {
      ...opts,
      mint: this.mint,
      maxt: this.maxt + 1,
    });
  }
}
