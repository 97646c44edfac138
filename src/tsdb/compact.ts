/**
 * Compaction, as Prometheus's `tsdb/compact.go` LeveledCompactor: the head's data for
 * `[mint, maxt)` becomes a level-1 block, and blocks that together fill one of the
 * exponential ranges (2h, 6h, 18h, …) are merged into one block of the next level.
 * Without `samplesPerChunk`, chunks are copied as they are when they can be, and
 * re-encoded only where series overlap across blocks, cross the block's edge, or lose
 * samples to tombstones. With it (the database always sets it), every series is
 * re-encoded into longer chunks whose XOR windows are planned for the fewest bits, and
 * the block writer stores identical chunks once (docs/format/chunks.md).
 * @module
 */

import { join } from 'node:path';
import { compareLabels, type Labels } from '../model/labels.js';
import { ValueType, type SampleIterator } from '../storage/interface.js';
import { ChainSampleIterator } from '../storage/merge.js';
import { ENCODING_XOR, MAX_SAMPLES_PER_CHUNK, XORChunk } from './chunkenc/index.js';
import { encodeXORPlanned } from './chunkenc/xor.js';
import { deleteBlockDir, openBlocks, type Block } from './block.js';
import { BlockSeriesIterator } from './block-querier.js';
import {
  SAMPLES_PER_CHUNK,
  sortedSymbols,
  writeBlock,
  type BlockSeries,
  type BlockSource,
  type ChunkData,
} from './block-writer.js';
import { SeriesChunks } from './index/index-reader.js';
import type { BlockMeta } from './meta.js';

/** Prometheus's block ranges: `steps` ranges from `minMs`, each `stepSize` times the last. */
export function exponentialBlockRanges(minMs: number, steps: number, stepSize: number): number[] {
  const out: number[] = [];
  let r = minMs;
  for (let i = 0; i < steps; i++) {
    out.push(r);
    r *= stepSize;
  }
  return out;
}

/** The default ranges: 2h, 6h, 18h, 54h, 162h. */
export const DEFAULT_BLOCK_RANGES_MS = exponentialBlockRanges(2 * 3_600_000, 5, 3);

/** A chunk handed over by the head: time span and XOR bytes. */
export interface HeadChunk {
  mint: number;
  maxt: number;
  bytes: Uint8Array;
}

/** What compaction needs of the head: its series with chunks overlapping a range, sorted by labels. */
export interface HeadSource {
  compactionSeries(mint: number, maxt: number): { labels: Labels; chunks: HeadChunk[] }[];
}

// One series' samples while it is re-encoded, grown as needed.
let seriesTs = new Float64Array(1024);
let seriesVs = new Float64Array(1024);

/**
 * Encodes the samples of `it` into XOR chunks of up to `perChunk` samples, cut evenly
 * (740 samples at 720 a chunk make two of 370, not 720 and a costly 20), each with its
 * value windows chosen for the fewest bits (`encodeXORPlanned`): smaller than the head's
 * chunks and read by every XOR reader.
 */
function encodeIterator(it: SampleIterator, perChunk = SAMPLES_PER_CHUNK): ChunkData[] {
  let n = 0;
  while (it.next() !== ValueType.None) {
    if (n === seriesTs.length) {
      const ts = new Float64Array(n * 2);
      const vs = new Float64Array(n * 2);
      ts.set(seriesTs);
      vs.set(seriesVs);
      seriesTs = ts;
      seriesVs = vs;
    }
    seriesTs[n] = it.atT();
    seriesVs[n] = it.atV();
    n++;
  }
  const e = it.err();
  if (e !== null) throw e;
  const out: ChunkData[] = [];
  const numChunks = Math.ceil(n / perChunk);
  for (let c = 0, from = 0; c < numChunks; c++) {
    const to = Math.round((n * (c + 1)) / numChunks);
    out.push({
      mint: seriesTs[from],
      maxt: seriesTs[to - 1],
      encoding: ENCODING_XOR,
      data: encodeXORPlanned(seriesTs, seriesVs, from, to),
    });
    from = to;
  }
  return out;
}

/** Samples of XOR chunks clipped to [mint, maxt]. */
class ClippedChunksIterator implements SampleIterator {
  private readonly chunks: HeadChunk[];
  private readonly mint: number;
  private readonly maxt: number;
  private i = 0;
  private it: SampleIterator | null = null;

  constructor(chunks: HeadChunk[], mint: number, maxt: number) {
    this.chunks = chunks;
    this.mint = mint;
    this.maxt = maxt;
  }

  next(): ValueType {
    for (;;) {
      if (this.it === null) {
        if (this.i >= this.chunks.length) return ValueType.None;
        this.it = new XORChunk(this.chunks[this.i++].bytes).iterator();
      }
      if (this.it.next() === ValueType.None) {
        if (this.it.err() !== null) return ValueType.None;
        this.it = null;
        continue;
      }
      const t = this.it.atT();
      if (t < this.mint) continue;
      if (t > this.maxt) {
        this.i = this.chunks.length;
        this.it = null;
        return ValueType.None;
      }
      return ValueType.Float;
    }
  }

  seek(t: number): ValueType {
    while (this.it === null || this.it.atT() < t)
      if (this.next() === ValueType.None) return ValueType.None;
    return ValueType.Float;
  }

  atT(): number {
    return this.it!.atT();
  }

  atV(): number {
    return this.it!.atV();
  }

  err(): Error | null {
    return this.it?.err() ?? null;
  }
}

/**
 * Writes the head's data for `[mint, maxt)` (ms) as a level-1 block in `dataDir`, or
 * returns null when the range holds no sample (Prometheus writes no empty block).
 * With `opts.samplesPerChunk`, every series is re-encoded into chunks of that size.
 */
export function compactHead(
  dataDir: string,
  head: HeadSource,
  mint: number,
  maxt: number,
  opts: CompactOptions = {},
): BlockMeta | null {
  const src = head.compactionSeries(mint, maxt - 1);
  const series: BlockSeries[] = [];
  const symbols = new Set<string>();
  const perChunk =
    opts.samplesPerChunk === undefined
      ? undefined
      : Math.min(opts.samplesPerChunk, MAX_SAMPLES_PER_CHUNK);
  for (const s of src) {
    let chunks: ChunkData[];
    if (perChunk !== undefined) {
      chunks = encodeIterator(new ClippedChunksIterator(s.chunks, mint, maxt - 1), perChunk);
    } else if (s.chunks.every((c) => c.mint >= mint && c.maxt < maxt)) {
      chunks = s.chunks.map((c) => ({
        mint: c.mint,
        maxt: c.maxt,
        encoding: ENCODING_XOR,
        data: c.bytes,
      }));
    } else {
      chunks = encodeIterator(new ClippedChunksIterator(s.chunks, mint, maxt - 1));
    }
    if (chunks.length === 0) continue;
    series.push({ labels: s.labels, chunks });
    s.labels.forEach((n, v) => (symbols.add(n), symbols.add(v)));
  }
  if (series.length === 0) return null;
  const source: BlockSource = { symbols: () => sortedSymbols(symbols), series: () => series };
  return writeBlock(dataDir, source, {
    mint,
    maxt,
    shareIdenticalChunks: opts.shareIdenticalChunks ?? true,
  });
}

/** One series of one block during a merge. */
interface Part {
  block: Block;
  ref: number;
  chunks: SeriesChunks;
}

/** Options of {@link compactBlocks}. */
export interface CompactOptions {
  /**
   * Re-encode every series into chunks of up to this many samples (at most 65535).
   * Bigger chunks than the head's 120 save the per-chunk header, framing and index
   * entry (about 30 bytes a chunk), and Prometheus reads them as any other; the cost
   * is CPU at compaction and longer decodes before a seek. Default: copy chunks as
   * they are.
   */
  samplesPerChunk?: number;
  /** Write identical chunks once (see `WriteBlockOptions.shareIdenticalChunks`). Default true. */
  shareIdenticalChunks?: boolean;
}

/** A source merging several blocks series by series; chunk bytes are read one series at a time. */
function mergeSource(blocks: Block[], opts: CompactOptions): BlockSource {
  return {
    symbols() {
      const set = new Set<string>();
      for (const b of blocks) for (const s of b.index.symbols()) set.add(s);
      return sortedSymbols(set);
    },
    *series() {
      const postings = blocks.map((b) => b.index.allPostings());
      const pos = blocks.map(() => 0);
      const heads: (Labels | null)[] = blocks.map(() => null);
      const scratch = blocks.map(() => new SeriesChunks());
      const load = (i: number): void => {
        heads[i] =
          pos[i] < postings[i].length
            ? blocks[i].index.series(postings[i][pos[i]], scratch[i])
            : null;
      };
      blocks.forEach((_, i) => load(i));
      for (;;) {
        let min: Labels | null = null;
        for (const h of heads)
          if (h !== null && (min === null || compareLabels(h, min) < 0)) min = h;
        if (min === null) return;
        const parts: Part[] = [];
        for (let i = 0; i < blocks.length; i++) {
          if (heads[i] !== null && heads[i]!.equals(min)) {
            const c = new SeriesChunks();
            const sc = scratch[i];
            for (let k = 0; k < sc.n; k++) c.push(sc.mint[k], sc.maxt[k], sc.ref[k]);
            parts.push({ block: blocks[i], ref: postings[i][pos[i]], chunks: c });
            pos[i]++;
            load(i);
          }
        }
        yield { labels: min, chunks: mergeChunks(parts, opts.samplesPerChunk) };
      }
    },
  };
}

/**
 * The chunks of one series across blocks: copied when nothing overlaps or is deleted
 * and no chunk size is asked for, else re-encoded.
 */
function mergeChunks(parts: Part[], perChunk: number | undefined): ChunkData[] {
  parts.sort((a, b) => a.chunks.mint[0] - b.chunks.mint[0]);
  let copy = perChunk === undefined;
  let lastMaxt = -Infinity;
  for (const p of parts) {
    if (p.block.tombstones.get(p.ref) !== undefined) copy = false;
    for (let k = 0; k < p.chunks.n; k++) {
      if (p.chunks.mint[k] <= lastMaxt) copy = false;
      lastMaxt = p.chunks.maxt[k];
    }
  }
  if (copy) {
    const out: ChunkData[] = [];
    for (const p of parts) {
      for (let k = 0; k < p.chunks.n; k++) {
        const data = p.block.chunks.read(p.chunks.ref[k]);
        out.push({
          mint: p.chunks.mint[k],
          maxt: p.chunks.maxt[k],
          encoding: p.block.chunks.encoding,
          data,
        });
      }
    }
    return out;
  }
  const its = parts.map((p) => {
    const it = new BlockSeriesIterator();
    it.reset(
      p.block.chunks,
      p.chunks.maxt.slice(0, p.chunks.n),
      p.chunks.ref.slice(0, p.chunks.n),
      -Infinity,
      Infinity,
      p.block.tombstones.get(p.ref),
    );
    return it;
  });
  return encodeIterator(
    its.length === 1 ? its[0] : new ChainSampleIterator(its),
    Math.min(perChunk ?? SAMPLES_PER_CHUNK, MAX_SAMPLES_PER_CHUNK),
  );
}

/**
 * Merges `blocks` into one new block in `dataDir` (level one more than the highest,
 * sources united, the inputs as parents) and returns its meta, or null when every
 * sample was deleted. The inputs are left in place.
 */
export function compactBlocks(
  dataDir: string,
  blocks: Block[],
  opts: CompactOptions = {},
): BlockMeta | null {
  const sorted = [...blocks].sort((a, b) => a.minTime - b.minTime);
  const sources = new Set<string>();
  let level = 0;
  for (const b of sorted) {
    for (const s of b.meta.compaction.sources ?? [b.ulid]) sources.add(s);
    level = Math.max(level, b.meta.compaction.level);
  }
  const meta = writeBlock(dataDir, mergeSource(sorted, opts), {
    mint: Math.min(...sorted.map((b) => b.minTime)),
    maxt: Math.max(...sorted.map((b) => b.maxTime)),
    level: level + 1,
    sources: [...sources].sort(),
    parents: sorted.map((b) => ({ ulid: b.ulid, minTime: b.minTime, maxTime: b.maxTime })),
    shareIdenticalChunks: opts.shareIdenticalChunks ?? true,
  });
  if (!meta.stats.numSamples) {
    deleteBlockDir(join(dataDir, meta.ulid));
    return null;
  }
  return meta;
}

/** A block as the planner sees it. */
export interface PlanInput {
  dir: string;
  meta: BlockMeta;
}

/**
 * Which blocks to merge next, as Prometheus's LeveledCompactor.plan: overlapping blocks
 * first; otherwise (leaving out the newest block) the first group that fills one of the
 * ranges above the smallest, or lies wholly before the newest block; otherwise one big
 * block with more than 5% of its series tombstoned. Returns their directories, or [].
 */
export function planCompaction(
  inputs: readonly PlanInput[],
  ranges: readonly number[] = DEFAULT_BLOCK_RANGES_MS,
): string[] {
  const ds = [...inputs].sort((a, b) => a.meta.minTime - b.meta.minTime);
  const overlapping = selectOverlapping(ds);
  if (overlapping.length > 0) return overlapping;
  const rest = ds.slice(0, -1);
  const picked = selectDirs(rest, ranges);
  if (picked.length > 0) return picked.map((d) => d.dir);
  for (let i = rest.length - 1; i >= 0; i--) {
    const m = rest[i].meta;
    if (m.maxTime - m.minTime < ranges[ranges.length >> 1]) break;
    if ((m.stats.numTombstones ?? 0) / ((m.stats.numSeries ?? 0) + 1) > 0.05) return [rest[i].dir];
  }
  return [];
}

function selectOverlapping(ds: PlanInput[]): string[] {
  if (ds.length < 2) return [];
  const out: string[] = [];
  let globalMaxt = ds[0].meta.maxTime;
  for (let i = 1; i < ds.length; i++) {
    const d = ds[i];
    if (d.meta.minTime < globalMaxt) {
      if (out.length === 0) out.push(ds[i - 1].dir);
      out.push(d.dir);
    } else if (out.length > 0) break;
    if (d.meta.maxTime > globalMaxt) globalMaxt = d.meta.maxTime;
  }
  return out;
}

function selectDirs(ds: PlanInput[], ranges: readonly number[]): PlanInput[] {
  if (ranges.length < 2 || ds.length < 1) return [];
  const highTime = ds[ds.length - 1].meta.minTime;
  for (const iv of ranges.slice(1)) {
    for (const p of splitByRange(ds, iv)) {
      if (p.some((d) => d.meta.compaction.failed)) continue;
      const mint = p[0].meta.minTime;
      const maxt = p[p.length - 1].meta.maxTime;
      if ((maxt - mint === iv || maxt <= highTime) && p.length > 1) return p;
    }
  }
  return [];
}

/** Groups blocks by the `tr`-aligned range holding them; blocks wider than their range are skipped. */
export function splitByRange<T extends { meta: BlockMeta }>(ds: readonly T[], tr: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < ds.length;) {
    const m = ds[i].meta;
    const t0 =
      m.minTime >= 0 ? tr * Math.trunc(m.minTime / tr) : tr * Math.trunc((m.minTime - tr + 1) / tr);
    if (m.maxTime > t0 + tr) {
      i++;
      continue;
    }
    const group: T[] = [];
    for (; i < ds.length; i++) {
      if (ds[i].meta.maxTime > t0 + tr) break;
      group.push(ds[i]);
    }
    if (group.length > 0) out.push(group);
  }
  return out;
}

/**
 * Runs planned merges on the blocks of `dataDir` until the plan is empty, deleting the
 * merged inputs. Returns the metas of the blocks written.
 */
export function compactDataDir(
  dataDir: string,
  ranges: readonly number[] = DEFAULT_BLOCK_RANGES_MS,
  opts: CompactOptions = {},
): BlockMeta[] {
  const written: BlockMeta[] = [];
  for (;;) {
    const blocks = openBlocks(dataDir);
    let plan: string[];
    try {
      plan = planCompaction(
        blocks.map((b) => ({ dir: b.dir, meta: b.meta })),
        ranges,
      );
      if (plan.length === 0) return written;
      const chosen = blocks.filter((b) => plan.includes(b.dir));
      const meta = compactBlocks(dataDir, chosen, opts);
      if (meta !== null) written.push(meta);
    } finally {
      for (const b of blocks) b.close();
    }
    for (const d of plan) deleteBlockDir(d);
  }
}

/** What {@link compactHeadOnce} needs of the database. */
export interface CompactableDB {
  readonly dir: string;
  readonly head: HeadSource & { minTime(): number; maxTime(): number };
  /** Drops head data older than `mint`, now persisted in blocks. */
  truncateHead(mint: number): Promise<unknown>;
}

/**
 * Persists the head as Prometheus does: while the head spans more than 1.5 block
 * ranges, its oldest aligned range `[mint, mint + rangeMs)` becomes a block and the
 * head is truncated to `mint + rangeMs`; then blocks are merged by the planner.
 * Returns the metas of the blocks written. The caller must make blocks queryable
 * before truncating matters (the database's querier has to merge them in).
 */
export async function compactHeadOnce(
  db: CompactableDB,
  rangeMs: number,
  ranges: readonly number[] = DEFAULT_BLOCK_RANGES_MS,
  opts: CompactOptions = {},
): Promise<BlockMeta[]> {
  const written: BlockMeta[] = [];
  for (;;) {
    const hmin = db.head.minTime();
    const hmax = db.head.maxTime();
    if (!Number.isFinite(hmin) || !Number.isFinite(hmax) || hmax - hmin <= rangeMs * 1.5) break;
    const mint = Math.floor(hmin / rangeMs) * rangeMs;
    const maxt = mint + rangeMs;
    const meta = compactHead(db.dir, db.head, mint, maxt);
    if (meta !== null) written.push(meta);
    await db.truncateHead(maxt);
  }
  written.push(...compactDataDir(db.dir, ranges, opts));
  return written;
}
