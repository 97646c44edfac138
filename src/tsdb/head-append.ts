/**
 * The head's appender (Prometheus `tsdb/head_append.go`): checks each sample against the
 * committed state, batches it in typed arrays, and at commit hands the batch to the
 * write-ahead log before publishing it to the series.
 * @module
 */

import { StorageError } from '../model/errors.js';
import type { Labels } from '../model/labels.js';
import {
  ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP,
  ERR_INVALID_SAMPLE,
  ERR_NOT_FOUND,
  ERR_OUT_OF_BOUNDS,
  ERR_OUT_OF_ORDER_SAMPLE,
} from '../storage/errors.js';
import type { Appender, SeriesRef } from '../storage/interface.js';
import type { Head } from './head.js';
import type { HeadLogSeries } from './head-log.js';
import { hashLabels, sameBits, type MemSeries } from './head-series.js';

/** Typed-array buffers of one batch, pooled across appenders (a scrape reuses the last one's). */
class AppendBatch {
  refs = new Uint32Array(256);
  ts = new Float64Array(256);
  vs = new Float64Array(256);
  /** Series of the first `n` samples; keeps its capacity across batches (see {@link clear}). */
  series: (MemSeries | null)[] = [];
  n = 0;

  grow(): void {
    const cap = this.refs.length * 2;
    const refs = new Uint32Array(cap);
    refs.set(this.refs);
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    const vs = new Float64Array(cap);
    vs.set(this.vs);
    this.refs = refs;
    this.ts = ts;
    this.vs = vs;
  }

  /** Empties the batch; nulls the series slots rather than setting length 0, which frees them. */
  clear(): void {
    this.series.fill(null, 0, this.n);
    this.n = 0;
  }
}

const batchPool: AppendBatch[] = [];
const MAX_POOLED = 8;

/** Thrown when an appender is used after commit or rollback. */
const ERR_APPENDER_CLOSED = Object.freeze(
  new StorageError('ERR_APPENDER_CLOSED', 'appender was already committed or rolled back'),
);

/**
 * A single-use batch of appends to the head. Samples become visible to queriers only
 * after {@link commit} resolves.
 */
export class HeadAppender implements Appender {
  private readonly head: Head;
  private batch: AppendBatch | null;
  private readonly newSeries: HeadLogSeries[];
  /** Appends older than this are out of bounds; fixed when the appender is created. */
  private readonly minValidTime: number;
  private mint: number;
  private maxt: number;

  constructor(head: Head) {
    this.head = head;
    this.batch = batchPool.pop() ?? new AppendBatch();
    this.newSeries = [];
    this.minValidTime = head.minValidTime();
    this.mint = Infinity;
    this.maxt = -Infinity;
  }

  /**
   * Adds a sample. Rejections throw frozen sentinels: out of bounds (older than the head
   * accepts), out of order (older than the series' newest sample), duplicate (same
   * timestamp, other value bits). The same timestamp with the same bits is a no-op.
   */
  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef {
    const b = this.batch;
    if (b === null) throw ERR_APPENDER_CLOSED;
    const head = this.head;
    if (t < this.minValidTime) {
      head.stats.outOfBounds++;
      throw ERR_OUT_OF_BOUNDS;
    }
    let s = ref > 0 ? head.seriesByRef(ref) : undefined;
    if (s === undefined) {
      if (labels.size === 0) throw ref > 0 ? ERR_NOT_FOUND : ERR_INVALID_SAMPLE;
      if (!validLabels(labels)) throw ERR_INVALID_SAMPLE;
      const hash = hashLabels(labels);
      s = head.seriesByLabels(labels, hash);
      if (s === undefined) {
        s = head.createSeries(labels, hash);
        this.newSeries.push({ ref: s.ref, labels: s.labels });
      }
    }
    const last = s.maxTime;
    if (t <= last) {
      if (t < last) {
        head.stats.outOfOrder++;
        throw ERR_OUT_OF_ORDER_SAMPLE;
      }
      if (!sameBits(s.lastV, v)) {
        head.stats.duplicates++;
        throw ERR_DUPLICATE_SAMPLE_FOR_TIMESTAMP;
      }
      return s.ref; // exact duplicate (e.g. federation): accepted, nothing to store
    }
    let n = b.n;
    if (n === b.refs.length) b.grow();
    b.refs[n] = s.ref;
    b.ts[n] = t;
    b.vs[n] = v;
    b.series[n] = s;
    b.n = ++n;
    s.pending++;
    if (t < this.mint) this.mint = t;
    if (t > this.maxt) this.maxt = t;
    return s.ref;
  }

  /** Logs the batch (when the head has a log), then publishes it to the series. */
  async commit(): Promise<void> {
    const b = this.batch;
    if (b === null) throw ERR_APPENDER_CLOSED;
    const head = this.head;
    const log = head.log;
    if (log !== null) {
      try {
        if (this.newSeries.length > 0) log.logSeries(this.newSeries);
        if (b.n > 0) log.logSamples(b.refs, b.ts, b.vs, b.n);
        await log.commit();
      } catch (err) {
        this.release();
        throw new StorageError(
          'ERR_WAL',
          `cannot commit ${b.n} samples to the write-ahead log: ${String(err)}`,
          {
            cause: err,
          },
        );
      }
    }
    const n = b.n;
    const series = b.series;
    const ts = b.ts;
    const vs = b.vs;
    let appended = 0;
    for (let i = 0; i < n; i++) {
      const s = series[i]!;
      s.pending--;
      const t = ts[i];
      if (head.publish(s, ts, vs, i)) {
        appended++;
      } else if (t === s.maxTime) {
        // Two samples with one timestamp in the same batch: the first one won.
        if (!sameBits(s.lastV, vs[i])) head.stats.duplicates++;
      } else {
        head.stats.outOfOrder++;
      }
    }
    head.stats.samplesAppended += appended;
    if (appended > 0) head.updateMinMaxTime(this.mint, this.maxt);
    this.batch = null;
    recycle(b);
  }

  /** Discards the batch. Series it created stay (empty) until the next truncation. */
  rollback(): void {
    if (this.batch === null) throw ERR_APPENDER_CLOSED;
    this.release();
  }

  private release(): void {
    const b = this.batch!;
    for (let i = 0; i < b.n; i++) b.series[i]!.pending--;
    this.batch = null;
    recycle(b);
  }
}

function recycle(b: AppendBatch): void {
  b.clear();
  if (batchPool.length < MAX_POOLED) batchPool.push(b);
}

/** Label names must be non-empty and strictly increasing (sorted, no repeats). */
function validLabels(ls: Labels): boolean {
  let prev = '';
  for (let i = 0; i < ls.size; i++) {
    const name = ls.name(i);
    if (name === '' || (i > 0 && name <= prev)) return false;
    prev = name;
  }
  return true;
}
