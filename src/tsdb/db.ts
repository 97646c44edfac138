/**
 * The database (Prometheus `tsdb/db.go`): the head with its write-ahead log, plus the
 * persisted blocks of the data directory. {@link openDB} takes the directory's lock,
 * removes unfinished blocks, opens the blocks, and replays the newest checkpoint and the
 * WAL segments after it into the head — repairing a torn or damaged tail. Every
 * `Appender.commit()` writes its WAL records before the head publishes the samples.
 *
 * A querier merges the blocks overlapping its range with the head. Compaction runs on a
 * timer (and after commits once the head is wide enough): the head's oldest 2h becomes a
 * block, the blocks are reloaded (so the data is visible in the block before the head
 * drops it), the head is truncated and the WAL checkpointed; then blocks are merged
 * (2h → 6h → 18h …) and retention deletes whole blocks by age and size.
 *
 * Blocks removed while queriers use them (merged, beyond retention, rewritten by
 * clean_tombstones) are reference counted: their directory is deleted at once, but the
 * Block (its open file descriptors, which keep the unlinked files readable on POSIX
 * systems) is closed only when the last querier using it closes. This is simpler than
 * deferring the deletion itself — no pending-deletion list to persist or retry at the
 * next open — and equally correct, since an open descriptor keeps an unlinked file whole.
 * @module
 */

import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../model/errors.js';
import type { Matcher } from '../model/matcher.js';
import type { Appender, Querier, SeriesRef, Storage } from '../storage/interface.js';
import { MergeQuerier } from '../storage/merge.js';
import { Labels } from '../model/labels.js';
import { Block, deleteBlockDir, listBlockDirs } from './block.js';
import { TMP_FOR_CREATION, TMP_FOR_DELETION } from './block-writer.js';
import {
  compactBlocks,
  compactDataDir,
  compactHead,
  DEFAULT_BLOCK_RANGES_MS,
  type CompactOptions,
} from './compact.js';
import { headWithoutDeleted, HeadDeletionQuerier } from './db-deleted.js';
import { WalHeadLog } from './db-head-log.js';
import { Encbuf } from './encoding.js';
import { DEFAULT_CHUNK_RANGE_MS, Head, type HeadMetric } from './head.js';
import type { BlockMeta } from './meta.js';
import {
  RecordType,
  SampleBatch,
  decodeSamples,
  decodeSeries,
  decodeTombstones,
  encodeTombstones,
  recordType,
  type RefSeries,
  type Tombstone,
} from './record.js';
import { blocksBeyondRetention, DEFAULT_RETENTION_MS } from './retention.js';
import { Tombstones } from './tombstones.js';
import { checkpoint, type CheckpointStats } from './wal/checkpoint.js';
import { replay, type ReplayResult } from './wal/replay.js';
import { WAL, type FsyncMode, type WalCompression } from './wal/wal.js';

/**
 * Default chunk size of blocks we write: a 2 h block of 10 s samples holds two chunks of
 * 360 per series. A query for a few minutes decodes its series' chunk from the start, so
 * this is a trade (docs/format/chunks.md, "Chunk size of the blocks we write"): on the
 * shared benchmark's 2 h block, 0.841 B/sample against 0.814 at 720 and 0.865 at 240,
 * and a 5-minute query costs 1.5× what it costs on 120-sample chunks, against 2.3× at 720.
 */
export const DEFAULT_BLOCK_CHUNK_SAMPLES = 480;

/** Name of the lock file in the data directory. */
export const LOCK_FILENAME = 'lock';

/** Options of {@link openDB}. */
export interface DBOptions {
  /** Head chunk range (block width) in ms. Default 2 h. */
  chunkRangeMs?: number;
  /** WAL segment size; default 128 MiB. */
  walSegmentSizeBytes?: number;
  /** WAL durability mode (docs/format/wal.md); default `'segment'`. */
  fsync?: FsyncMode;
  /**
   * Compression of new WAL records (`--storage.tsdb.wal-compression`). Default `'snappy'`,
   * as Prometheus 2.42. Records of either kind are read whatever this says.
   */
  walCompression?: WalCompression;
  /** Receives one-line notices (repairs, replay summary). Default: console.warn. */
  logger?: (line: string) => void;
  /**
   * Replaces the built-in compaction (see {@link DB.compact}): called every
   * {@link compactIntervalMs} (never twice at once). It writes blocks from the head and
   * then calls `db.truncateHead(mint)`.
   */
  compactHead?: (db: DB) => Promise<void>;
  /** Period of the compaction timer. Default 1 min, as Prometheus. */
  compactIntervalMs?: number;
  /** No compaction timer and no compaction after commits: call {@link DB.compact} yourself. */
  disableAutoCompaction?: boolean;
  /** Block ranges of the merge planner (ms). Default 2h, 6h, 18h, 54h, 162h. */
  blockRangesMs?: readonly number[];
  /** Time retention in ms (`--storage.tsdb.retention.time`); 0 disables. Default 15d. */
  retentionMs?: number;
  /** Size retention in bytes (`--storage.tsdb.retention.size`); 0 (default) disables. */
  retentionBytes?: number;
  /**
   * When writing blocks (from the head and when merging), re-encode each series into
   * chunks of up to this many samples (≤ 65535; Prometheus 2.42 reads any count). Longer
   * chunks save each chunk's header, CRC, first timestamp and value and index entry (see
   * bench/tsdb/disk.bench.ts). 0 copies the head's 120-sample chunks as they are, as
   * Prometheus does. Default {@link DEFAULT_BLOCK_CHUNK_SAMPLES}.
   */
  blockChunkSamples?: number;
  /**
   * Consulted before a checkpoint deletes segments: returns the lowest segment a WAL
   * reader (remote write) still needs; segments at or above it are kept. Infinity: none.
   */
  walRetentionGuard?: () => number;
}

/** What opening the database found in the WAL. */
export interface OpenStats {
  replay: ReplayResult;
  series: number;
  samples: number;
  /** Records of types the head does not replay (exemplars, metadata…). */
  skippedRecords: number;
  /** Blocks opened. */
  blocks: number;
  durationMs: number;
}

/** Counters behind the self-metrics. */
interface DBStats {
  compactions: number;
  compactionsFailed: number;
  sizeRetentions: number;
  timeRetentions: number;
  walTruncations: number;
  walTruncationsFailed: number;
  checkpoints: number;
}

/** The head with its WAL and the data directory's blocks, as one {@link Storage}. */
export class DB implements Storage {
  readonly dir: string;
  readonly head: Head;
  readonly wal: WAL;
  /** What replay found when the database was opened. */
  readonly openStats: OpenStats;
  private readonly headLog: WalHeadLog;
  private readonly logger: (line: string) => void;
  private readonly opts: DBOptions;
  private readonly rangeMs: number;
  private timer: NodeJS.Timeout | null;
  private compacting: Promise<void> | null;
  private closed: boolean;
  private readonly walRetentionGuard: (() => number) | undefined;
  /** The blocks queriers see, sorted by minTime. */
  private blocks: Block[];
  /** Open queriers per block; a block gone from {@link blocks} closes at zero. */
  private readonly refs: Map<Block, number>;
  /** Deleted intervals of head series (by head ref). */
  private readonly headStones: Tombstones;
  private readonly stats: DBStats;
  private readonly lockPath: string;

  constructor(
    dir: string,
    head: Head,
    wal: WAL,
    headLog: WalHeadLog,
    openStats: OpenStats,
    opts: DBOptions,
    blocks: Block[] = [],
    headStones: Tombstones = new Tombstones(),
  ) {
    this.dir = dir;
    this.head = head;
    this.wal = wal;
    this.headLog = headLog;
    this.openStats = openStats;
    this.opts = opts;
    this.rangeMs = opts.chunkRangeMs ?? DEFAULT_CHUNK_RANGE_MS;
    this.logger = opts.logger ?? ((line) => console.warn(line));
    this.timer = null;
    this.compacting = null;
    this.closed = false;
    this.walRetentionGuard = opts.walRetentionGuard;
    this.blocks = blocks;
    this.refs = new Map();
    this.headStones = headStones;
    this.stats = {
      compactions: 0,
      compactionsFailed: 0,
      sizeRetentions: 0,
      timeRetentions: 0,
      walTruncations: 0,
      walTruncationsFailed: 0,
      checkpoints: 0,
    };
    this.lockPath = join(dir, LOCK_FILENAME);
    if (opts.disableAutoCompaction !== true) {
      this.timer = setInterval(() => void this.runCompaction(), opts.compactIntervalMs ?? 60_000);
      this.timer.unref();
    }
  }

  /**
   * A single-use appender; its commit writes the WAL first, then publishes to the head.
   * After a commit that leaves the head wider than 1.5 block ranges, compaction starts.
   */
  appender(): Appender {
    const inner = this.head.appender();
    if (this.opts.disableAutoCompaction === true) return inner;
    return new CompactionTriggeringAppender(inner, this);
  }

  /**
   * A querier over `[mint, maxt]` (ms, inclusive): the blocks overlapping the range merged
   * with the head. The blocks stay open until the querier is closed.
   */
  async querier(mint: number, maxt: number): Promise<Querier> {
    if (this.closed) throw new StorageError('ERR_DB_CLOSED', `database ${this.dir} is closed`);
    // A block covers [minTime, maxTime).
    const used = this.blocks.filter((b) => b.minTime <= maxt && b.maxTime > mint);
    const qs: Querier[] = [];
    for (const b of used) {
      qs.push(b.querierSync(mint, maxt));
      this.refs.set(b, (this.refs.get(b) ?? 0) + 1);
    }
    if (this.head.maxTime() >= mint || used.length === 0) {
      qs.push(
        new HeadDeletionQuerier(await this.head.querier(mint, maxt), this.head, this.headStones),
      );
    }
    return new DBQuerier(qs, () => {
      for (const b of used) this.release(b);
    });
  }

  /** The open blocks, sorted by minTime. */
  blockList(): readonly Block[] {
    return this.blocks;
  }

  /** Lowest timestamp held: the oldest block's minTime, or the head's; Infinity when empty. */
  startTime(): number {
    const h = this.head.minTime();
    return this.blocks.length > 0 ? Math.min(this.blocks[0].minTime, h) : h;
  }

  /** True when the head spans more than 1.5 block ranges (compaction has work). */
  headCompactable(): boolean {
    const hmin = this.head.minTime();
    const hmax = this.head.maxTime();
    return Number.isFinite(hmin) && Number.isFinite(hmax) && hmax - hmin > this.rangeMs * 1.5;
  }

  /**
   * Drops head data older than `mint` (now persisted elsewhere) and checkpoints the WAL
   * as Prometheus's `truncateWAL`: a new segment is started, and the older two thirds of
   * the closed segments are folded into a checkpoint that keeps the series still in the
   * head and the samples ≥ `mint`. Returns the checkpoint's stats, or null when there
   * were too few segments to bother.
   */
  async truncateHead(mint: number): Promise<CheckpointStats | null> {
    this.head.truncate(mint);
    const [first, lastOnDisk] = this.wal.segmentRange();
    if (first < 0) return null;
    // Start a new segment so that a quiet database does not keep its WAL forever.
    this.wal.nextSegment();
    // Never the segment written last; and only the older two thirds, which should hold
    // mostly data older than mint (about 3 h of WAL with 2 h blocks).
    let last = first + Math.floor(((lastOnDisk - 1 - first) * 2) / 3);
    // Keep what a WAL reader (remote write) has not read yet.
    if (this.walRetentionGuard !== undefined) last = Math.min(last, this.walRetentionGuard() - 1);
    if (lastOnDisk - 1 < 0 || last <= first) return null;
    const head = this.head;
    this.stats.walTruncations++;
    try {
      const st = await checkpoint(
        this.wal,
        first,
        last,
        (ref) => head.seriesByRef(ref) !== undefined,
        mint,
      );
      this.stats.checkpoints++;
      return st;
    } catch (err) {
      this.stats.walTruncationsFailed++;
      throw err;
    }
  }

  /**
   * One compaction pass, as Prometheus's `DB.Compact`: while the head spans more than 1.5
   * block ranges, its oldest aligned range becomes a block, which is loaded before the
   * head drops that data; then planned block merges; then retention. Returns the metas of
   * the blocks written. Never runs twice at once (a second call waits for the first).
   */
  async compact(): Promise<BlockMeta[]> {
    while (this.compacting !== null) await this.compacting;
    let written: BlockMeta[] = [];
    const run = this.compactOnce().then((w) => void (written = w));
    this.compacting = run.finally(() => (this.compacting = null));
    await this.compacting;
    return written;
  }

  private async compactOnce(): Promise<BlockMeta[]> {
    const written: BlockMeta[] = [];
    try {
      const opts: CompactOptions = {};
      const perChunk = this.opts.blockChunkSamples ?? DEFAULT_BLOCK_CHUNK_SAMPLES;
      if (perChunk > 0) opts.samplesPerChunk = perChunk;
      while (this.headCompactable() && !this.closed) {
        const mint = Math.floor(this.head.minTime() / this.rangeMs) * this.rangeMs;
        const maxt = mint + this.rangeMs;
        const meta = compactHead(
          this.dir,
          headWithoutDeleted(this.head, this.headStones),
          mint,
          maxt,
          opts,
        );
        if (meta !== null) {
          written.push(meta);
          this.stats.compactions++;
        }
        // The new block is queryable before the head lets go of its data.
        this.reloadBlocks();
        await this.truncateHead(maxt);
      }
      const merged = compactDataDir(
        this.dir,
        this.opts.blockRangesMs ?? DEFAULT_BLOCK_RANGES_MS,
        opts,
      );
      this.stats.compactions += merged.length;
      written.push(...merged);
      this.reloadBlocks();
    } catch (err) {
      this.stats.compactionsFailed++;
      // Whatever was written is still valid: make it visible.
      this.reloadBlocks();
      throw err;
    }
    this.applyRetention();
    return written;
  }

  /** Deletes whole blocks beyond the time and size retention, oldest first. */
  applyRetention(): string[] {
    const retentionMs = this.opts.retentionMs ?? DEFAULT_RETENTION_MS;
    const retentionBytes = this.opts.retentionBytes ?? 0;
    const byTime = blocksBeyondRetention(this.blocks, { retentionMs, retentionBytes: 0 });
    const bySize = blocksBeyondRetention(this.blocks, {
      retentionMs: 0,
      retentionBytes,
      extraBytes: this.walBytes(),
    });
    if (byTime.size > 0) this.stats.timeRetentions++;
    if ([...bySize].some((u) => !byTime.has(u))) this.stats.sizeRetentions++;
    const doomed = new Set([...byTime, ...bySize]);
    if (doomed.size === 0) return [];
    const kept: Block[] = [];
    for (const b of this.blocks) {
      if (!doomed.has(b.ulid)) {
        kept.push(b);
        continue;
      }
      deleteBlockDir(b.dir);
      this.logger(`db: deleting block ${b.ulid} [${b.minTime}, ${b.maxTime}) beyond retention`);
    }
    this.swapBlocks(kept);
    return [...doomed];
  }

  /** Re-reads the data directory's blocks: opens new ones, retires those gone. */
  reloadBlocks(): void {
    const byDir = new Map(this.blocks.map((b) => [b.dir, b]));
    const next: Block[] = [];
    for (const d of listBlockDirs(this.dir)) {
      const have = byDir.get(d);
      next.push(have ?? Block.open(d));
    }
    const parents = new Set<string>();
    for (const b of next) for (const p of b.meta.compaction.parents ?? []) parents.add(p.ulid);
    // Inputs of a merge whose deletion was interrupted are superseded by its output.
    const live = next.filter((b) => !parents.has(b.ulid));
    for (const b of next) if (parents.has(b.ulid) && existsSync(b.dir)) deleteBlockDir(b.dir);
    this.swapBlocks(live);
    for (const b of next) if (parents.has(b.ulid) && !byDir.has(b.dir)) b.close();
  }

  /**
   * Deletes the samples of series matching every matcher in `[mint, maxt]` (ms): tombstones
   * in the blocks overlapping the range, and in the head (logged to the WAL first).
   */
  async deleteSeries(matchers: readonly Matcher[], mint: number, maxt: number): Promise<void> {
    for (const b of this.blocks)
      if (b.minTime <= maxt && b.maxTime > mint) b.delete(mint, maxt, matchers);
    const q = await this.head.querier(mint, maxt);
    const stones: Tombstone[] = [];
    try {
      const set = q.select(false, null, matchers);
      while (set.next()) {
        const s = this.head.seriesByLabels(set.at().labels);
        if (s !== undefined) stones.push({ ref: s.ref, mint, maxt });
      }
      const e = set.err();
      if (e !== null) throw e;
    } finally {
      q.close();
    }
    if (stones.length === 0) return;
    const enc = new Encbuf(64 + stones.length * 24);
    encodeTombstones(enc, stones);
    this.wal.log(enc.get());
    await this.wal.commit();
    for (const st of stones) this.headStones.add(st.ref, st.mint, st.maxt);
  }

  /** Rewrites every block holding tombstones without the deleted samples. */
  cleanTombstones(): BlockMeta[] {
    const out: BlockMeta[] = [];
    for (const b of [...this.blocks]) {
      if (b.tombstones.size === 0) continue;
      const meta = compactBlocks(this.dir, [b]);
      if (meta !== null) out.push(meta);
      deleteBlockDir(b.dir);
    }
    if (out.length > 0 || this.blocks.some((b) => b.tombstones.size > 0)) this.reloadBlocks();
    return out;
  }

  /**
   * Writes a snapshot into `dir`: every block hard-linked (no copy), and with `withHead`
   * the head's data (without deleted samples) as one more block. Returns the blocks written.
   */
  snapshot(dir: string, withHead: boolean): string[] {
    mkdirSync(dir, { recursive: true });
    const out: string[] = [];
    for (const b of this.blocks) {
      linkTree(b.dir, join(dir, b.ulid));
      out.push(b.ulid);
    }
    if (withHead) {
      const hmin = this.head.minTime();
      const hmax = this.head.maxTime();
      if (Number.isFinite(hmin) && Number.isFinite(hmax)) {
        const perChunk = this.opts.blockChunkSamples ?? DEFAULT_BLOCK_CHUNK_SAMPLES;
        const meta = compactHead(
          dir,
          headWithoutDeleted(this.head, this.headStones),
          hmin,
          hmax + 1,
          perChunk > 0 ? { samplesPerChunk: perChunk } : {},
        );
        if (meta !== null) out.push(meta.ulid);
      }
    }
    return out;
  }

  /** Self-metrics under Prometheus 2.42's names: the head's, the WAL's and the blocks'. */
  metrics(): HeadMetric[] {
    const st = this.stats;
    const blocksBytes = this.blocks.reduce((n, b) => n + b.size(), 0);
    const lowest = this.startTime();
    const rows: HeadMetric[] = [
      {
        name: 'prometheus_tsdb_blocks_loaded',
        type: 'gauge',
        help: 'Number of currently loaded data blocks',
        value: this.blocks.length,
      },
      {
        name: 'prometheus_tsdb_compactions_total',
        type: 'counter',
        help: 'Total number of compactions that were executed for the partition.',
        value: st.compactions,
      },
      {
        name: 'prometheus_tsdb_compactions_failed_total',
        type: 'counter',
        help: 'Total number of compactions that failed for the partition.',
        value: st.compactionsFailed,
      },
      {
        name: 'prometheus_tsdb_size_retentions_total',
        type: 'counter',
        help: 'The number of times that blocks were deleted because the maximum number of bytes was exceeded.',
        value: st.sizeRetentions,
      },
      {
        name: 'prometheus_tsdb_time_retentions_total',
        type: 'counter',
        help: 'The number of times that blocks were deleted because the maximum time limit was exceeded.',
        value: st.timeRetentions,
      },
      {
        name: 'prometheus_tsdb_storage_blocks_bytes',
        type: 'gauge',
        help: 'The number of bytes that are currently used for local storage by all blocks.',
        value: blocksBytes,
      },
      // Prometheus reports MaxInt64 for an empty database.
      {
        name: 'prometheus_tsdb_lowest_timestamp',
        type: 'gauge',
        help: 'Lowest timestamp value stored in the database. The unit is decided by the library consumer.',
        value: Number.isFinite(lowest) ? lowest : 2 ** 63,
      },
      {
        name: 'prometheus_tsdb_lowest_timestamp_seconds',
        type: 'gauge',
        help: 'Lowest timestamp value stored in the database.',
        value: Number.isFinite(lowest) ? Math.floor(lowest / 1000) : 2 ** 63 / 1000,
      },
      {
        name: 'prometheus_tsdb_wal_segment_current',
        type: 'gauge',
        help: 'WAL segment index that TSDB is currently writing to.',
        value: this.wal.activeSegment(),
      },
      {
        name: 'prometheus_tsdb_wal_storage_size_bytes',
        type: 'gauge',
        help: 'Size of the write log directory.',
        value: this.walBytes(),
      },
      {
        name: 'prometheus_tsdb_wal_truncations_total',
        type: 'counter',
        help: 'Total number of write log truncations attempted.',
        value: st.walTruncations,
      },
      {
        name: 'prometheus_tsdb_wal_truncations_failed_total',
        type: 'counter',
        help: 'Total number of write log truncations that failed.',
        value: st.walTruncationsFailed,
      },
      {
        name: 'prometheus_tsdb_checkpoint_creations_total',
        type: 'counter',
        help: 'Total number of checkpoint creations attempted.',
        value: st.checkpoints,
      },
    ];
    return [...this.head.metrics(), ...rows];
  }

  /**
   * Stops the compaction timer, waits for a running compaction, closes the WAL and the
   * blocks no querier uses, and releases the lock.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    while (this.compacting !== null) await this.compacting.catch(() => undefined);
    await this.wal.close();
    this.swapBlocks([]);
    releaseLock(this.lockPath);
  }

  /** Called by a committing appender: starts compaction when the head is wide enough. */
  maybeCompact(): void {
    if (this.compacting === null && !this.closed && this.headCompactable())
      void this.runCompaction();
  }

  private async runCompaction(): Promise<void> {
    if (this.compacting !== null || this.closed) return;
    const custom = this.opts.compactHead;
    const run = custom !== undefined ? custom(this) : this.compactOnce().then(() => undefined);
    this.compacting = run
      .catch((err: Error) => this.logger(`db: compaction failed: ${err.message}`))
      .finally(() => (this.compacting = null));
    await this.compacting;
  }

  /** Makes `next` the visible block list; blocks left out close once no querier uses them. */
  private swapBlocks(next: Block[]): void {
    const keep = new Set(next);
    for (const b of this.blocks) if (!keep.has(b) && (this.refs.get(b) ?? 0) === 0) b.close();
    this.blocks = next.sort((a, b) => a.minTime - b.minTime || (a.ulid < b.ulid ? -1 : 1));
  }

  private release(b: Block): void {
    const n = (this.refs.get(b) ?? 1) - 1;
    if (n > 0) {
      this.refs.set(b, n);
      return;
    }
    this.refs.delete(b);
    if (!this.blocks.includes(b)) b.close();
  }

  private walBytes(): number {
    return dirBytes(this.wal.dir);
  }
}

/** An appender that asks the database to compact after a successful commit. */
class CompactionTriggeringAppender implements Appender {
  private readonly inner: Appender;
  private readonly db: DB;

  constructor(inner: Appender, db: DB) {
    this.inner = inner;
    this.db = db;
  }

  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef {
    return this.inner.append(ref, labels, t, v);
  }

  async commit(): Promise<void> {
    await this.inner.commit();
    this.db.maybeCompact();
  }

  rollback(): void {
    this.inner.rollback();
  }
}

/** A merge querier that runs `onClose` (releasing its blocks) once closed. */
class DBQuerier extends MergeQuerier {
  private onClose: (() => void) | null;

  constructor(qs: Querier[], onClose: () => void) {
    super(qs);
    this.onClose = onClose;
  }

  override close(): void {
    super.close();
    const f = this.onClose;
    this.onClose = null;
    f?.();
  }
}

function dirBytes(dir: string): number {
  let n = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      const st = statSync(join(dir, name));
      n += st.isDirectory() ? dirBytes(join(dir, name)) : st.size;
    } catch {
      // removed meanwhile
    }
  }
  return n;
}

/** Hard-links every file under `src` into the new directory `dst`. */
function linkTree(src: string, dst: string): void {
  mkdirSync(dst, { recursive: true });
  for (const name of readdirSync(src)) {
    const from = join(src, name);
    if (statSync(from).isDirectory()) linkTree(from, join(dst, name));
    else linkSync(from, join(dst, name));
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the data directory's lock file, holding our pid. A lock left by a process that
 * is gone (killed) is taken over; one held by a live process is an error naming it.
 */
function acquireLock(dir: string): string {
  const path = join(dir, LOCK_FILENAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StorageError(
          'ERR_LOCK',
          `cannot create lock file ${path}: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    let pid = NaN;
    try {
      pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
    } catch {
      // vanished or unreadable: try again
    }
    if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
      const who = pid === process.pid ? 'this process' : `process ${pid}`;
      throw new StorageError(
        'ERR_LOCKED',
        `data directory ${dir} is locked by ${who} (${path}); is another instance running?`,
      );
    }
    rmSync(path, { force: true });
  }
  throw new StorageError('ERR_LOCKED', `data directory ${dir} is locked (${path})`);
}

function releaseLock(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Deletes the blocks that are parents of another block: a merge finished writing its
 * output but crashed before deleting the inputs (Prometheus's `deletableBlocks`).
 */
function withoutMergedParents(blocks: Block[], logger: (line: string) => void): Block[] {
  const parents = new Set<string>();
  for (const b of blocks) for (const p of b.meta.compaction.parents ?? []) parents.add(p.ulid);
  if (parents.size === 0) return blocks;
  const kept: Block[] = [];
  for (const b of blocks) {
    if (!parents.has(b.ulid)) {
      kept.push(b);
      continue;
    }
    b.close();
    deleteBlockDir(b.dir);
    logger(`db: deleting block ${b.ulid}, already merged into a newer block`);
  }
  return kept;
}

/** Removes blocks left half-written or half-deleted by a crash. */
function removeLeftovers(dir: string): void {
  for (const name of readdirSync(dir)) {
    if (name.endsWith(TMP_FOR_CREATION) || name.endsWith(TMP_FOR_DELETION))
      rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Opens (creating when needed) the database in `dir`: takes `dir/lock`, removes
 * leftovers of interrupted block writes, opens the blocks, and replays the newest
 * checkpoint and the segments after it (`dir/wal`) into a new head; damage in the
 * segments is cut off (one log line says what was dropped) and the database opens.
 */
export async function openDB(dir: string, opts: DBOptions = {}): Promise<DB> {
  const started = performance.now();
  mkdirSync(dir, { recursive: true });
  const lockPath = acquireLock(dir);
  try {
    return openLocked(dir, opts, started);
  } catch (err) {
    releaseLock(lockPath);
    throw err;
  }
}

function openLocked(dir: string, opts: DBOptions, started: number): DB {
  const logger = opts.logger ?? ((line: string) => console.warn(line));
  removeLeftovers(dir);
  let blocks: Block[] = [];
  try {
    for (const d of listBlockDirs(dir)) blocks.push(Block.open(d));
    blocks = withoutMergedParents(blocks, logger);
  } catch (err) {
    for (const b of blocks) b.close();
    throw err;
  }
  let wal: WAL;
  try {
    wal = WAL.open(join(dir, 'wal'), {
      segmentSizeBytes: opts.walSegmentSizeBytes,
      fsync: opts.fsync,
      compression: opts.walCompression ?? 'snappy',
      logger,
    });
  } catch (err) {
    for (const b of blocks) b.close();
    throw err;
  }
  const headLog = new WalHeadLog(wal);
  const head = new Head({ chunkRangeMs: opts.chunkRangeMs, log: headLog });
  headLog.setLookup((ref) => head.seriesByRef(ref));
  // Samples the blocks hold already are out of bounds for the head, as in Prometheus.
  const blocksMaxt = blocks.reduce((m, b) => Math.max(m, b.maxTime), -Infinity);

  const series: RefSeries[] = [];
  const stones: Tombstone[] = [];
  const headStones = new Tombstones();
  const batch = new SampleBatch(4096);
  let nSeries = 0;
  let nSamples = 0;
  let skipped = 0;
  const result = replay(wal, (rec) => {
    switch (recordType(rec)) {
      case RecordType.Series:
        series.length = 0;
        decodeSeries(rec, series);
        for (let i = 0; i < series.length; i++) {
          head.replaySeries(series[i].ref, series[i].labels);
          headLog.markLogged(series[i].ref);
        }
        nSeries += series.length;
        break;
      case RecordType.Samples:
        batch.reset();
        decodeSamples(rec, batch);
        nSamples += batch.length;
        if (blocksMaxt > -Infinity) dropPersisted(batch, blocksMaxt);
        head.replaySamples(batch.refs, batch.ts, batch.vs, batch.length);
        break;
      case RecordType.Tombstones:
        stones.length = 0;
        decodeTombstones(rec, stones);
        for (const s of stones) headStones.add(s.ref, s.mint, s.maxt);
        break;
      default:
        skipped++;
    }
  });
  const stats: OpenStats = {
    replay: result,
    series: nSeries,
    samples: nSamples,
    skippedRecords: skipped,
    blocks: blocks.length,
    durationMs: performance.now() - started,
  };
  const db = new DB(dir, head, wal, headLog, stats, opts, blocks, headStones);
  // Series replayed without samples (all persisted) go at the first truncation.
  if (blocksMaxt > -Infinity) head.truncate(blocksMaxt);
  return db;
}

/** Removes from `batch` the samples older than `mint` (already in blocks), in place. */
function dropPersisted(batch: SampleBatch, mint: number): void {
  let w = 0;
  for (let r = 0; r < batch.length; r++) {
    if (batch.ts[r] < mint) continue;
    batch.refs[w] = batch.refs[r];
    batch.ts[w] = batch.ts[r];
    batch.vs[w] = batch.vs[r];
    w++;
  }
  batch.length = w;
}
