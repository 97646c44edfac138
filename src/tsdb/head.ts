/**
 * The head: the in-memory, most recent part of the TSDB, as Prometheus's `tsdb/head.go`.
 * It owns the series registry (ref → {@link MemSeries}, label hash → series), the
 * postings, the string pool and the closed-chunk arena; it hands out appenders
 * (head-append.ts) and queriers (querier.ts), replays the WAL, and is truncated once its
 * oldest data has been compacted into a block.
 * @module
 */

import { compareLabels, type Labels } from '../model/labels.js';
import type { Appendable, Appender, Querier, Queryable } from '../storage/interface.js';
import { HeadAppender } from './head-append.js';
import type { HeadLog } from './head-log.js';
import {
  CLOSED_STRIDE,
  ChunkArena,
  MemSeries,
  APPEND_NEW_CHUNK,
  APPEND_REJECTED,
  hashLabels,
} from './head-series.js';
import { MemPostings, memPostingsIndex, type PostingsIndex } from './index/postings.js';
import { Interner } from './intern.js';
import { HeadQuerier } from './querier.js';
import { XORSlab } from './chunkenc/xor-slab.js';

export { hashLabels } from './head-series.js';

/** Default chunk range: the head's block size, 2 h in ms. */
export const DEFAULT_CHUNK_RANGE_MS = 2 * 60 * 60 * 1000;

/** Options of a {@link Head}. */
export interface HeadOptions {
  /** Width of a block in ms; chunks never cross a multiple of it. Default 2 h. */
  chunkRangeMs?: number;
  /** Write-ahead log sink; commits wait for it before publishing. */
  log?: HeadLog | null;
}

/** One self-metric row, readable by the collector's /metrics. */
export interface HeadMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels?: Record<string, string>;
  value: number;
}

/** A chunk handed to compaction: its time span and encoded XOR bytes (a snapshot). */
export interface HeadChunkMeta {
  mint: number;
  maxt: number;
  /** XOR chunk bytes; the chunk's own header gives the sample count. */
  bytes: Uint8Array;
}

/** A series handed to compaction, with its chunks overlapping the asked range. */
export interface HeadCompactionSeries {
  ref: number;
  labels: Labels;
  /** Chunks in time order. They may reach outside the range: clip samples when writing a block. */
  chunks: HeadChunkMeta[];
}

/** Counters of the head, by Prometheus's names (see {@link Head.metrics}). */
class HeadStats {
  samplesAppended = 0;
  outOfOrder = 0;
  outOfBounds = 0;
  duplicates = 0;
  seriesCreated = 0;
  seriesRemoved = 0;
  chunksCreated = 0;
  chunksRemoved = 0;
  truncations = 0;
}

/**
 * The head block. Single-threaded: appends publish at commit, and a select snapshots each
 * series' chunks (views plus sample counts) when its series set reaches it, so appends,
 * chunk cuts and truncations between two reads never tear a series being iterated.
 */
export class Head implements Appendable, Queryable {
  readonly chunkRange: number;
  readonly log: HeadLog | null;
  readonly stats = new HeadStats();
  /** Series by ref (refs are dense and never reused; removed ones leave `undefined`). */
  private readonly byRef: (MemSeries | undefined)[] = [];
  /** Series by label hash; collisions keep an array. */
  private readonly byHash = new Map<number, MemSeries | MemSeries[]>();
  private numSeries = 0;
  private nextRef = 1;
  readonly postings = new MemPostings();
  readonly postingsIndex: PostingsIndex;
  readonly interner = new Interner();
  readonly arena = new ChunkArena();
  /** The series' open chunks. */
  readonly openChunks = new XORSlab();
  private numChunks = 0;
  private mint = Infinity;
  private maxt = -Infinity;
  /** Lowest timestamp the head accepts from now on (raised by truncation). */
  private minValid = -Infinity;
  /** WAL refs that turned out to name an existing series (duplicate series records). */
  private readonly replayAlias = new Map<number, number>();

  constructor(opts: HeadOptions = {}) {
    this.chunkRange = opts.chunkRangeMs ?? DEFAULT_CHUNK_RANGE_MS;
    this.log = opts.log ?? null;
    this.postingsIndex = memPostingsIndex(this.postings);
  }

  /** Oldest sample time in the head, Infinity when empty. */
  minTime(): number {
    return this.mint;
  }

  /** Newest sample time in the head, -Infinity when empty. */
  maxTime(): number {
    return this.maxt;
  }

  /** Number of series in the head. */
  seriesCount(): number {
    return this.numSeries;
  }

  /**
   * The lowest timestamp an append may carry: the later of the last truncation point and
   * half a chunk range behind the newest sample (Prometheus `appendableMinValidTime`), so
   * nothing lands in a range that may already be compacting.
   */
  minValidTime(): number {
    const cwEnd = this.maxt - this.chunkRange / 2;
    return cwEnd > this.minValid ? cwEnd : this.minValid;
  }

  appender(): Appender {
    return new HeadAppender(this);
  }

  /** A querier over `[mint, maxt]` (ms, inclusive). */
  querier(mint: number, maxt: number): Promise<Querier> {
    return Promise.resolve(new HeadQuerier(this, mint, maxt));
  }

  /** The series with this ref, if present. */
  seriesByRef(ref: number): MemSeries | undefined {
    return this.byRef[ref];
  }

  /** The series with exactly these labels, if present. */
  seriesByLabels(ls: Labels, hash = hashLabels(ls)): MemSeries | undefined {
    const e = this.byHash.get(hash);
    if (e === undefined) return undefined;
    if (e instanceof MemSeries) return e.labels.equals(ls) ? e : undefined;
    for (const s of e) if (s.labels.equals(ls)) return s;
    return undefined;
  }

  /**
   * Finds or creates the series for `ls` (which must be valid: non-empty, sorted, unique
   * names). Returns the series and whether it is new.
   */
  getOrCreate(ls: Labels, refHint = 0): { series: MemSeries; created: boolean } {
    const hash = hashLabels(ls);
    const have = this.seriesByLabels(ls, hash);
    if (have !== undefined) return { series: have, created: false };
    return { series: this.createSeries(ls, hash, refHint), created: true };
  }

  /**
   * Creates a series that is not present yet (check with {@link seriesByLabels} first),
   * under `refHint` when given (WAL replay) or the next free ref.
   */
  createSeries(ls: Labels, hash = hashLabels(ls), refHint = 0): MemSeries {
    const ref = refHint > 0 ? refHint : this.nextRef;
    if (ref >= this.nextRef) this.nextRef = ref + 1;
    const s = new MemSeries(ref, this.interner.internLabels(ls), this.openChunks);
    this.byRef[ref] = s;
    const e = this.byHash.get(hash);
    if (e === undefined) this.byHash.set(hash, s);
    else if (e instanceof MemSeries) this.byHash.set(hash, [e, s]);
    else e.push(s);
    this.postings.add(ref, s.labels);
    this.numSeries++;
    this.stats.seriesCreated++;
    return s;
  }

  /**
   * Publishes sample `i` of a batch to its series (used by commit and replay). Returns
   * false when the series already has a newer or equal sample. It takes the batch's arrays
   * and an index, not the two numbers: a timestamp or a fractional value passed to a call
   * that is not inlined is boxed, a heap number per sample.
   */
  publish(s: MemSeries, ts: ArrayLike<number>, vs: ArrayLike<number>, i: number): boolean {
    const code = s.append(ts, vs, i, this.chunkRange, this.arena);
    if (code === APPEND_REJECTED) return false;
    if (code === APPEND_NEW_CHUNK) {
      this.numChunks++;
      this.stats.chunksCreated++;
    }
    return true;
  }

  /** Widens the head's time range after samples in [mint, maxt] were published. */
  updateMinMaxTime(mint: number, maxt: number): void {
    if (mint < this.mint) this.mint = mint;
    if (maxt > this.maxt) this.maxt = maxt;
  }

  /**
   * WAL replay: registers a series under the ref the log gave it. A ref seen before for
   * the same labels (a duplicate record after a restart) maps onto the existing series.
   */
  replaySeries(ref: number, labels: Labels): void {
    const existing = this.byRef[ref];
    if (existing !== undefined) return;
    const { series, created } = this.getOrCreate(labels, ref);
    if (!created && series.ref !== ref) this.replayAlias.set(ref, series.ref);
  }

  /**
   * WAL replay: publishes logged samples without logging them again. Samples for unknown
   * series or older than the head accepts are skipped and counted, as Prometheus does.
   */
  replaySamples(
    refs: ArrayLike<number>,
    ts: ArrayLike<number>,
    vs: ArrayLike<number>,
    n: number,
  ): void {
    let mint = Infinity;
    let maxt = -Infinity;
    let appended = 0;
    for (let i = 0; i < n; i++) {
      let ref = refs[i];
      let s = this.byRef[ref];
      if (s === undefined) {
        const alias = this.replayAlias.get(ref);
        if (alias === undefined) continue;
        ref = alias;
        s = this.byRef[ref];
        if (s === undefined) continue;
      }
      const t = ts[i];
      if (t < this.minValid) {
        this.stats.outOfBounds++;
        continue;
      }
      if (!this.publish(s, ts, vs, i)) {
        this.stats.outOfOrder++;
        continue;
      }
      appended++;
      if (t < mint) mint = t;
      if (t > maxt) maxt = t;
    }
    this.stats.samplesAppended += appended;
    if (appended > 0) this.updateMinMaxTime(mint, maxt);
  }

  /**
   * Drops every chunk whose samples are all older than `mint`, then the series left
   * without chunks (and without uncommitted samples), with their postings. From now on
   * appends older than `mint` are out of bounds.
   */
  truncate(mint: number): void {
    if (mint > this.minValid) this.minValid = mint;
    this.stats.truncations++;
    const deleted = new Set<number>();
    const deletedLabels: Labels[] = [];
    let newMint = Infinity;
    const byRef = this.byRef;
    for (let ref = 1; ref < byRef.length; ref++) {
      const s = byRef[ref];
      if (s === undefined) continue;
      const dropped = s.truncateChunksBefore(mint, this.arena);
      if (dropped > 0) {
        this.numChunks -= dropped;
        this.stats.chunksRemoved += dropped;
      }
      if (!s.hasOpenChunk() && s.closed.length === 0 && s.pending === 0) {
        deleted.add(ref);
        deletedLabels.push(s.labels);
        this.removeSeries(s);
      } else {
        const smin = s.minTime();
        if (smin < newMint) newMint = smin;
      }
    }
    if (deleted.size > 0) {
      this.postings.delete(deleted, deletedLabels);
      this.interner.rebuild(this.liveLabels());
    }
    // maxt stays: it keeps minValidTime moving forward even when the head is empty.
    this.mint = newMint;
  }

  private *liveLabels(): Iterable<Labels> {
    for (const s of this.byRef) if (s !== undefined) yield s.labels;
  }

  private removeSeries(s: MemSeries): void {
    this.byRef[s.ref] = undefined;
    const hash = hashLabels(s.labels);
    const e = this.byHash.get(hash);
    if (e === s) this.byHash.delete(hash);
    else if (Array.isArray(e)) {
      const rest = e.filter((x) => x !== s);
      if (rest.length === 1) this.byHash.set(hash, rest[0]);
      else this.byHash.set(hash, rest);
    }
    this.numSeries--;
    this.stats.seriesRemoved++;
  }

  /**
   * Series with chunks overlapping `[mint, maxt]`, sorted by labels, for compaction into
   * a block. Chunk bytes are snapshots: the open chunk is copied.
   */
  compactionSeries(mint: number, maxt: number): HeadCompactionSeries[] {
    const out: HeadCompactionSeries[] = [];
    for (const s of this.sortedSeries(this.postings.allPostings())) {
      const chunks: HeadChunkMeta[] = [];
      const cl = s.closed;
      for (let k = 0; k < cl.length; k += CLOSED_STRIDE) {
        if (cl[k + 3] < mint || cl[k + 2] > maxt) continue;
        chunks.push({ mint: cl[k + 2], maxt: cl[k + 3], bytes: this.arena.view(cl[k], cl[k + 1]) });
      }
      const h = s.head;
      if (h !== null && h.numSamples() > 0 && s.maxTime >= mint && s.headMint <= maxt) {
        chunks.push({ mint: s.headMint, maxt: s.maxTime, bytes: h.compact() });
      }
      if (chunks.length > 0) out.push({ ref: s.ref, labels: s.labels, chunks });
    }
    return out;
  }

  /** The series of a postings list, sorted by labels. */
  sortedSeries(refs: Uint32Array): MemSeries[] {
    const out: MemSeries[] = [];
    for (let i = 0; i < refs.length; i++) {
      const s = this.byRef[refs[i]];
      if (s !== undefined) out.push(s);
    }
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    return out;
  }

  /** Number of chunks held (open ones included). */
  chunkCount(): number {
    return this.numChunks;
  }

  /**
   * Self-metrics under Prometheus 2.42's names, for the collector's own /metrics.
   * `type="float"` labels follow Prometheus, which splits some counters by sample type.
   */
  metrics(): HeadMetric[] {
    const st = this.stats;
    const float = { type: 'float' };
    return [
      {
        name: 'prometheus_tsdb_head_series',
        type: 'gauge',
        help: 'Total number of series in the head block.',
        value: this.numSeries,
      },
      {
        name: 'prometheus_tsdb_head_chunks',
        type: 'gauge',
        help: 'Total number of chunks in the head block.',
        value: this.numChunks,
      },
      {
        name: 'prometheus_tsdb_head_samples_appended_total',
        type: 'counter',
        help: 'Total number of appended samples.',
        labels: float,
        value: st.samplesAppended,
      },
      {
        name: 'prometheus_tsdb_out_of_order_samples_total',
        type: 'counter',
        help: 'Total number of out of order samples ingestion failed attempts due to out of order being disabled.',
        labels: float,
        value: st.outOfOrder,
      },
      {
        name: 'prometheus_tsdb_out_of_bound_samples_total',
        type: 'counter',
        help: 'Total number of out of bound samples ingestion failed attempts with out of order support disabled.',
        labels: float,
        value: st.outOfBounds,
      },
      {
        name: 'prometheus_tsdb_head_series_created_total',
        type: 'counter',
        help: 'Total number of series created in the head',
        value: st.seriesCreated,
      },
      {
        name: 'prometheus_tsdb_head_series_removed_total',
        type: 'counter',
        help: 'Total number of series removed in the head',
        value: st.seriesRemoved,
      },
      {
        name: 'prometheus_tsdb_head_chunks_created_total',
        type: 'counter',
        help: 'Total number of chunks created in the head',
        value: st.chunksCreated,
      },
      {
        name: 'prometheus_tsdb_head_chunks_removed_total',
        type: 'counter',
        help: 'Total number of chunks removed in the head',
        value: st.chunksRemoved,
      },
      {
        name: 'prometheus_tsdb_head_truncations_total',
        type: 'counter',
        help: 'Total number of head truncations attempted.',
        value: st.truncations,
      },
      // Prometheus reports MaxInt64/MinInt64 for an empty head.
      {
        name: 'prometheus_tsdb_head_min_time',
        type: 'gauge',
        help: 'Minimum time bound of the head block. The unit is decided by the library consumer.',
        value: this.mint === Infinity ? 2 ** 63 : this.mint,
      },
      {
        name: 'prometheus_tsdb_head_max_time',
        type: 'gauge',
        help: 'Maximum timestamp of the head block. The unit is decided by the library consumer.',
        value: this.maxt === -Infinity ? -(2 ** 63) : this.maxt,
      },
      {
        name: 'prometheus_tsdb_head_min_time_seconds',
        type: 'gauge',
        help: 'Minimum time bound of the head block.',
        value: (this.mint === Infinity ? 2 ** 63 : this.mint) / 1000,
      },
      {
        name: 'prometheus_tsdb_head_max_time_seconds',
        type: 'gauge',
        help: 'Maximum timestamp of the head block.',
        value: (this.maxt === -Infinity ? -(2 ** 63) : this.maxt) / 1000,
      },
      {
        name: 'meshmetrics_tsdb_head_duplicate_samples_total',
        type: 'counter',
        help: 'Total number of samples rejected for a different value at an existing timestamp.',
        value: st.duplicates,
      },
    ];
  }
}
