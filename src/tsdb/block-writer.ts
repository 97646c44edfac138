/**
 * Writes a block directory (docs/format/meta.md) from series with encoded chunks:
 * chunks first, then the index, tombstones and meta.json, all under
 * `<ULID>.tmp-for-creation/`, fsynced and renamed into place, so a block either
 * exists whole or not at all.
 * @module
 */

import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../model/errors.js';
import { compareLabels, type Labels } from '../model/labels.js';
import { ENCODING_XOR, XORChunk } from './chunkenc/index.js';
import { ChunkWriter, DEFAULT_MAX_SEGMENT_SIZE } from './chunks/segments.js';
import { compareUtf8, IndexWriter, type ChunkMeta } from './index/index-writer.js';
import { META_VERSION_1, newULID, writeMeta, type BlockDesc, type BlockMeta } from './meta.js';
import { Tombstones, writeTombstones } from './tombstones.js';

/** Suffix of a block directory being written. */
export const TMP_FOR_CREATION = '.tmp-for-creation';
/** Suffix of a block directory being deleted. */
export const TMP_FOR_DELETION = '.tmp-for-deletion';

/** One encoded chunk of a series and the times of its first and last sample (ms). */
export interface ChunkData {
  mint: number;
  maxt: number;
  /** Encoding byte, e.g. ENCODING_XOR. */
  encoding: number;
  /** The chunk's bytes as its encoding defines them (for XOR: 2-byte count, then bits). */
  data: Uint8Array;
}

/** A series to write: labels and its chunks in time order. */
export interface BlockSeries {
  labels: Labels;
  chunks: readonly ChunkData[];
}

/**
 * What a block is written from. `series()` yields series in increasing label order
 * (compareLabels); `symbols()` gives every name and value they use, sorted and
 * unique. The writer calls `symbols()` first, then iterates `series()` once.
 */
export interface BlockSource {
  symbols(): readonly string[];
  series(): Iterable<BlockSeries>;
}

/** Options of {@link writeBlock}. */
export interface WriteBlockOptions {
  /** Inclusive start and exclusive end of the block (ms). */
  mint: number;
  maxt: number;
  ulid?: string;
  /** Compaction level (1 for blocks cut from the head or backfilled). */
  level?: number;
  /** Level-1 ULIDs the data came from; defaults to the block's own ULID. */
  sources?: string[];
  /** Direct inputs of a merged block. */
  parents?: BlockDesc[];
  maxSegmentSize?: number;
  /**
   * Write a chunk once when several series have the same bytes, all pointing at it
   * (`ChunkWriter`'s `shareIdentical`; Prometheus reads such blocks as any other).
   * Default false, so a backfill writes the same bytes as promtool; compaction turns it on.
   */
  shareIdenticalChunks?: boolean;
}

/** A source over series already in memory; sorts them and collects their symbols. */
export function sourceFromSeries(series: readonly BlockSeries[], presorted = false): BlockSource {
  const list = presorted ? series : [...series].sort((a, b) => compareLabels(a.labels, b.labels));
  return {
    symbols() {
      const set = new Set<string>();
      for (const s of list) s.labels.forEach((n, v) => (set.add(n), set.add(v)));
      return sortedSymbols(set);
    },
    series: () => list,
  };
}

/** Sorts a set of symbols for the symbol table (Go's byte order), adding '' as Prometheus does. */
export function sortedSymbols(set: Set<string>): string[] {
  set.add('');
  return [...set].sort(compareUtf8);
}

/** Samples per chunk when encoding samples, as Prometheus's head. */
export const SAMPLES_PER_CHUNK = 120;

/**
 * Encodes samples (timestamps strictly increasing) into XOR chunks of up to
 * `perChunk` samples each.
 */
export function encodeXORChunks(
  ts: ArrayLike<number>,
  vs: ArrayLike<number>,
  n = ts.length,
  perChunk = SAMPLES_PER_CHUNK,
): ChunkData[] {
  const out: ChunkData[] = [];
  for (let i = 0; i < n; i += perChunk) {
    const end = Math.min(n, i + perChunk);
    const c = new XORChunk();
    const app = c.appender();
    for (let k = i; k < end; k++) app.append(ts[k], vs[k]);
    out.push({ mint: ts[i], maxt: ts[end - 1], encoding: ENCODING_XOR, data: c.compact() });
  }
  return out;
}

/** Number of samples in an encoded chunk, read from its header. */
export function chunkSamples(c: ChunkData): number {
  if (c.encoding === ENCODING_XOR && c.data.length >= 2) return (c.data[0] << 8) | c.data[1];
  return 0;
}

/**
 * Writes a block into `parentDir` and returns its meta. Series without chunks are
 * skipped. Throws a StorageError (and leaves nothing behind) when writing fails.
 */
export function writeBlock(
  parentDir: string,
  source: BlockSource,
  opts: WriteBlockOptions,
): BlockMeta {
  const ulid = opts.ulid ?? newULID();
  const final = join(parentDir, ulid);
  const tmp = final + TMP_FOR_CREATION;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const chunkw = new ChunkWriter(
      join(tmp, 'chunks'),
      opts.maxSegmentSize ?? DEFAULT_MAX_SEGMENT_SIZE,
      opts.shareIdenticalChunks ?? false,
    );
    const indexw = new IndexWriter(join(tmp, 'index'));
    let numSeries = 0;
    let numChunks = 0;
    let numSamples = 0;
    try {
      indexw.addSymbols(source.symbols());
      const metas: ChunkMeta[] = [];
      for (const s of source.series()) {
        if (s.chunks.length === 0) continue;
        metas.length = 0;
        for (const c of s.chunks) {
          const ref = chunkw.write(c.encoding, c.data);
          metas.push({ mint: c.mint, maxt: c.maxt, ref });
          numSamples += chunkSamples(c);
        }
        indexw.addSeries(s.labels, metas);
        numSeries++;
        numChunks += metas.length;
      }
    } finally {
      chunkw.close();
      indexw.close();
    }
    writeTombstones(tmp, new Tombstones());
    const meta: BlockMeta = {
      ulid,
      minTime: opts.mint,
      maxTime: opts.maxt,
      stats: { numSamples, numSeries, numChunks },
      compaction: {
        level: opts.level ?? 1,
        sources: opts.sources ?? [ulid],
        parents: opts.parents,
      },
      version: META_VERSION_1,
    };
    writeMeta(tmp, meta);
    fsyncDir(join(tmp, 'chunks'));
    fsyncDir(tmp);
    renameSync(tmp, final);
    fsyncDir(parentDir);
    return meta;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (err instanceof StorageError) throw err;
    throw new StorageError(
      'ERR_WRITE_BLOCK',
      `cannot write block ${ulid} in ${parentDir}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** Fsyncs a directory so a rename or a new file in it is durable; a missing one is fine. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
