/**
 * The database: the head plus its write-ahead log (Prometheus `tsdb/db.go`, without the
 * blocks yet). {@link openDB} replays the newest checkpoint and the WAL segments after it
 * into the head — repairing a torn or damaged tail — and then every `Appender.commit()`
 * writes its WAL records before the head publishes the samples.
 *
 * Blocks and compaction plug in through {@link DBOptions.compactHead}: a timer calls it,
 * and it persists what it wants and then calls {@link DB.truncateHead}, which drops the
 * head's old data and checkpoints the WAL.
 * @module
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Appender, Querier, Storage } from '../storage/interface.js';
import { WalHeadLog } from './db-head-log.js';
import { Head } from './head.js';
import {
  RecordType,
  SampleBatch,
  decodeSamples,
  decodeSeries,
  recordType,
  type RefSeries,
} from './record.js';
import { checkpoint, type CheckpointStats } from './wal/checkpoint.js';
import { replay, type ReplayResult } from './wal/replay.js';
import { WAL, type FsyncMode } from './wal/wal.js';

/** Options of {@link openDB}. */
export interface DBOptions {
  /** Head chunk range (block width) in ms. Default 2 h. */
  chunkRangeMs?: number;
  /** WAL segment size; default 128 MiB. */
  walSegmentSizeBytes?: number;
  /** WAL durability mode (docs/format/wal.md); default `'segment'`. */
  fsync?: FsyncMode;
  /** Receives one-line notices (repairs, replay summary). Default: console.warn. */
  logger?: (line: string) => void;
  /**
   * The compaction seam: called every {@link compactIntervalMs} (never twice at once).
   * It writes blocks from the head and then calls `db.truncateHead(mint)`.
   */
  compactHead?: (db: DB) => Promise<void>;
  /** Period of the compactHead timer. Default 1 min, as Prometheus. */
  compactIntervalMs?: number;
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
  /** Records of types the head does not replay yet (tombstones, exemplars, metadata…). */
  skippedRecords: number;
  durationMs: number;
}

/** A head with its WAL, as one {@link Storage}. */
export class DB implements Storage {
  readonly dir: string;
  readonly head: Head;
  readonly wal: WAL;
  /** What replay found when the database was opened. */
  readonly openStats: OpenStats;
  private readonly headLog: WalHeadLog;
  private readonly logger: (line: string) => void;
  private timer: NodeJS.Timeout | null;
  private compacting: Promise<void> | null;
  private closed: boolean;
  private readonly walRetentionGuard: (() => number) | undefined;

  constructor(
    dir: string,
    head: Head,
    wal: WAL,
    headLog: WalHeadLog,
    openStats: OpenStats,
    opts: DBOptions,
  ) {
    this.dir = dir;
    this.head = head;
    this.wal = wal;
    this.headLog = headLog;
    this.openStats = openStats;
    this.logger = opts.logger ?? ((line) => console.warn(line));
    this.timer = null;
    this.compacting = null;
    this.closed = false;
    this.walRetentionGuard = opts.walRetentionGuard;
    const compactHead = opts.compactHead;
    if (compactHead !== undefined) {
      this.timer = setInterval(
        () => void this.runCompaction(compactHead),
        opts.compactIntervalMs ?? 60_000,
      );
      this.timer.unref();
    }
  }

  /** A single-use appender; its commit writes the WAL first, then publishes to the head. */
  appender(): Appender {
    return this.head.appender();
  }

  /** A querier over `[mint, maxt]` (ms, inclusive). Blocks join here once they exist. */
  querier(mint: number, maxt: number): Promise<Querier> {
    return this.head.querier(mint, maxt);
  }

  /** Lowest timestamp held, Infinity when empty. */
  startTime(): number {
    return this.head.minTime();
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
    return checkpoint(this.wal, first, last, (ref) => head.seriesByRef(ref) !== undefined, mint);
  }

  /** Stops the compaction timer, waits for a running compaction, and closes the WAL. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.compacting !== null) await this.compacting;
    await this.wal.close();
  }

  private async runCompaction(fn: (db: DB) => Promise<void>): Promise<void> {
    if (this.compacting !== null || this.closed) return;
    this.compacting = fn(this)
      .catch((err: Error) => this.logger(`db: compaction failed: ${err.message}`))
      .finally(() => (this.compacting = null));
    await this.compacting;
  }
}

/**
 * Opens (creating when needed) the database in `dir`: `dir/wal` holds the log. Replays
 * the newest checkpoint and the segments after it into a new head; damage in the
 * segments is cut off (one log line says what was dropped) and the database opens.
 */
export async function openDB(dir: string, opts: DBOptions = {}): Promise<DB> {
  const started = performance.now();
  mkdirSync(dir, { recursive: true });
  const logger = opts.logger ?? ((line: string) => console.warn(line));
  const wal = WAL.open(join(dir, 'wal'), {
    segmentSizeBytes: opts.walSegmentSizeBytes,
    fsync: opts.fsync,
    logger,
  });
  const headLog = new WalHeadLog(wal);
  const head = new Head({ chunkRangeMs: opts.chunkRangeMs, log: headLog });
  headLog.setLookup((ref) => head.seriesByRef(ref));

  const series: RefSeries[] = [];
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
        head.replaySamples(batch.refs, batch.ts, batch.vs, batch.length);
        nSamples += batch.length;
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
    durationMs: performance.now() - started,
  };
  return new DB(dir, head, wal, headLog, stats, opts);
}
