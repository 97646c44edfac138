/**
 * An open block on disk: its meta, index, chunk segments and tombstones, and queriers
 * over it. Chunk bytes are read on demand, so an open block costs its index and a few
 * file descriptors, whatever its size.
 * @module
 */

import { readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../model/errors.js';
import type { Matcher } from '../model/matcher.js';
import type { Queryable, Querier } from '../storage/interface.js';
import { MergeQuerier } from '../storage/merge.js';
import { BlockQuerier, blockPostingsForMatchers } from './block-querier.js';
import { TMP_FOR_DELETION } from './block-writer.js';
import { ChunkReader } from './chunks/segments.js';
import { IndexReader, SeriesChunks } from './index/index-reader.js';
import { isULID, META_FILENAME, readMeta, writeMeta, type BlockMeta } from './meta.js';
import {
  readTombstones,
  TOMBSTONES_FILENAME,
  writeTombstones,
  type Tombstones,
} from './tombstones.js';

/** A block opened for reading. Close it when done. */
export class Block implements Queryable {
  readonly dir: string;
  meta: BlockMeta;
  readonly index: IndexReader;
  readonly chunks: ChunkReader;
  tombstones: Tombstones;
  private closed: boolean;

  private constructor(
    dir: string,
    meta: BlockMeta,
    index: IndexReader,
    chunks: ChunkReader,
    tombstones: Tombstones,
  ) {
    this.dir = dir;
    this.meta = meta;
    this.index = index;
    this.chunks = chunks;
    this.tombstones = tombstones;
    this.closed = false;
  }

  /** Opens the block in directory `dir`. */
  static open(dir: string): Block {
    const meta = readMeta(dir);
    let chunks: ChunkReader | null = null;
    try {
      const index = IndexReader.open(join(dir, 'index'));
      chunks = new ChunkReader(join(dir, 'chunks'));
      const tombstones = readTombstones(dir);
      return new Block(dir, meta, index, chunks, tombstones);
    } catch (err) {
      chunks?.close();
      if (err instanceof StorageError) throw err;
      throw new StorageError(
        'ERR_OPEN_BLOCK',
        `cannot open block ${dir}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }

  /** ULID of the block. */
  get ulid(): string {
    return this.meta.ulid;
  }

  /** Inclusive start of the block's time range (ms). */
  get minTime(): number {
    return this.meta.minTime;
  }

  /** Exclusive end of the block's time range (ms). */
  get maxTime(): number {
    return this.meta.maxTime;
  }

  /** Bytes on disk: chunks, index, tombstones and meta.json (as promtool's SIZE column). */
  size(): number {
    let n = this.chunks.size + this.index.size();
    for (const f of [META_FILENAME, TOMBSTONES_FILENAME]) {
      try {
        n += statSync(join(this.dir, f)).size;
      } catch {
        // absent tombstones count as 0
      }
    }
    return n;
  }

  /** A querier over `[mint, maxt]` (ms, inclusive) of this block. */
  async querier(mint: number, maxt: number): Promise<Querier> {
    return this.querierSync(mint, maxt);
  }

  /** The synchronous form of {@link querier}. */
  querierSync(mint: number, maxt: number): BlockQuerier {
    if (this.closed) throw new StorageError('ERR_BLOCK_CLOSED', `block ${this.ulid} is closed`);
    return new BlockQuerier(this, mint, maxt);
  }

  /**
   * Marks samples of the series matching every matcher in `[mint, maxt]` deleted: adds
   * tombstones and rewrites the tombstones file and meta.json's numTombstones.
   */
  delete(mint: number, maxt: number, matchers: readonly Matcher[]): number {
    const refs = blockPostingsForMatchers(this.index, matchers);
    const chunks = new SeriesChunks();
    let n = 0;
    for (let i = 0; i < refs.length; i++) {
      this.index.series(refs[i], chunks);
      // Only series with data in the range get a tombstone, clamped to the series' data
      // (so open-ended deletions stay finite on disk), as Prometheus does.
      for (let c = 0; c < chunks.n; c++) {
        if (chunks.mint[c] <= maxt && chunks.maxt[c] >= mint) {
          this.tombstones.add(
            refs[i],
            Math.max(mint, chunks.mint[0]),
            Math.min(maxt, chunks.maxt[chunks.n - 1]),
          );
          n++;
          break;
        }
      }
    }
    if (n > 0) {
      writeTombstones(this.dir, this.tombstones);
      this.meta = {
        ...this.meta,
        stats: { ...this.meta.stats, numTombstones: this.tombstones.numIntervals() },
      };
      writeMeta(this.dir, this.meta);
    }
    return n;
  }

  /** Closes the block's files. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks.close();
    this.index.close();
  }
}

/**
 * The block directories of a data directory, sorted by ULID. Names that are not ULIDs
 * (the WAL, temporary directories, lock files) are ignored, as Prometheus does.
 */
export function listBlockDirs(dataDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dataDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StorageError('ERR_LIST_BLOCKS', `cannot list ${dataDir}`, { cause: err });
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    if (!isULID(n)) continue;
    try {
      if (statSync(join(dataDir, n, META_FILENAME)).isFile()) out.push(join(dataDir, n));
    } catch {
      // no meta.json: not a finished block
    }
  }
  return out;
}

/** Opens every block of a data directory, sorted by minTime. */
export function openBlocks(dataDir: string): Block[] {
  const blocks: Block[] = [];
  try {
    for (const d of listBlockDirs(dataDir)) blocks.push(Block.open(d));
  } catch (err) {
    for (const b of blocks) b.close();
    throw err;
  }
  return blocks.sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));
}

/** Deletes a block directory: renames it out of sight first, then removes it. */
export function deleteBlockDir(dir: string): void {
  const tmp = dir + TMP_FOR_DELETION;
  renameSync(dir, tmp);
  rmSync(tmp, { recursive: true, force: true });
}

/**
 * The blocks of a data directory as one Queryable: a querier merges the blocks that
 * overlap its range (series by labels, samples by time). {@link reload} picks up blocks
 * written or deleted since, closing those that are gone; queriers opened before keep
 * working until the blocks they use are closed.
 */
export class BlockSet implements Queryable {
  readonly dir: string;
  private blocks: Block[];

  constructor(dir: string) {
    this.dir = dir;
    this.blocks = openBlocks(dir);
  }

  /** The open blocks, sorted by minTime. */
  list(): readonly Block[] {
    return this.blocks;
  }

  /** Re-reads the directory: opens new blocks, closes deleted ones. */
  reload(): void {
    const byDir = new Map(this.blocks.map((b) => [b.dir, b]));
    const next: Block[] = [];
    for (const d of listBlockDirs(this.dir)) {
      const have = byDir.get(d);
      if (have !== undefined) {
        byDir.delete(d);
        next.push(have);
      } else next.push(Block.open(d));
    }
    for (const gone of byDir.values()) gone.close();
    this.blocks = next.sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));
  }

  /** Lowest timestamp held, or Infinity when there is no block. */
  minTime(): number {
    return this.blocks.length === 0 ? Infinity : this.blocks[0].minTime;
  }

  async querier(mint: number, maxt: number): Promise<Querier> {
    // A block covers [minTime, maxTime): it overlaps [mint, maxt] when minTime <= maxt and maxTime > mint.
    const qs = this.blocks
      .filter((b) => b.minTime <= maxt && b.maxTime > mint)
      .map((b) => b.querierSync(mint, maxt));
    return new MergeQuerier(qs);
  }

  /** Closes every block. */
  close(): void {
    for (const b of this.blocks) b.close();
    this.blocks = [];
  }
}
