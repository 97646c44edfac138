/**
 * The storage contracts. The scraper and the remote-write receiver write through an
 * {@link Appender}; the PromQL engine, the API and /federate read through a
 * {@link Querier}. The TSDB implements both; nothing outside `cmd/` names the TSDB.
 *
 * Timestamps are milliseconds since the epoch, as numbers (exact up to 2^53). Ranges
 * are inclusive at both ends: `[mint, maxt]`.
 * @module
 */

import type { Labels } from '../model/labels.js';
import type { Matcher } from '../model/matcher.js';

/** A series reference handed out by an Appender; 0 means unknown. Never cache 0. */
export type SeriesRef = number;

/** Kind of the sample an iterator stands on: an erasable enum. */
export const ValueType = { None: 0, Float: 1 } as const;
export type ValueType = (typeof ValueType)[keyof typeof ValueType];

/**
 * A cursor over the samples of one series in increasing time order. No object per sample:
 * read the current one with {@link atT} and {@link atV}.
 */
export interface SampleIterator {
  /** Moves to the next sample; returns ValueType.None at the end or on error. */
  next(): ValueType;
  /**
   * Moves to the first sample with timestamp >= t. Does not move back: if the iterator
   * already stands on such a sample, it stays there.
   */
  seek(t: number): ValueType;
  /** Timestamp of the current sample (ms). */
  atT(): number;
  /** Value of the current sample. */
  atV(): number;
  /**
   * Start timestamp (ms) of the current sample, 0 when unknown: when the cumulative count
   * it reports began (a created timestamp), or where the interval of a delta sample starts.
   * Optional, and present only on iterators over series that carry start timestamps, so a
   * reader tests for it once per series and the others cost nothing.
   */
  atST?(): number;
  /** The error that ended iteration, if any; check after next() returned None. */
  err(): Error | null;
  /**
   * Optional bulk read, for iterators that decode a chunk at a time: copies the current
   * sample and the following ones already decoded, up to time `maxt` and at most
   * `ts.length - at` of them, into `ts`/`vs` from index `at`, and leaves the iterator on
   * the last one copied (next() moves past it, to the next chunk). Returns how many were
   * copied; 0 when the current sample is later than `maxt`. Call it only after next() or
   * seek() returned a sample.
   */
  readBatch?(maxt: number, ts: Float64Array, vs: Float64Array, at: number): number;
}

/** One series of a select: its labels and a way to iterate its samples. */
export interface Series {
  readonly labels: Labels;
  /** A fresh iterator, or `reuse` reset onto this series when it is of the right kind. */
  iterator(reuse?: SampleIterator): SampleIterator;
}

/** A pull cursor over series, in label order when the select asked for sorted output. */
export interface SeriesSet {
  next(): boolean;
  /** The current series; valid until the next call to next(). */
  at(): Series;
  err(): Error | null;
  /** Non-fatal problems met while selecting (they become API warnings). */
  warnings(): readonly string[];
}

/** Hints a select may use to load less; implementations may ignore them. */
export interface SelectHints {
  /** Start and end of the time range needed (ms, inclusive). */
  start: number;
  end: number;
  /** Query step (ms), 0 for an instant query. */
  step: number;
  /** Name of the surrounding function, e.g. 'rate', or 'series' for metadata-only selects. */
  func: string;
  /** Range of the enclosing range selector (ms), 0 when none. */
  range: number;
}

/** Reads series from one source over a fixed time range. Close it when done. */
export interface Querier {
  /** Series matching every matcher (an AND), sorted by labels when `sorted` is true. */
  select(sorted: boolean, hints: SelectHints | null, matchers: readonly Matcher[]): SeriesSet;
  /** Sorted, unique values of label `name`, among series matching `matchers` when given. */
  labelValues(name: string, matchers?: readonly Matcher[]): string[];
  /** Sorted, unique label names, among series matching `matchers` when given. */
  labelNames(matchers?: readonly Matcher[]): string[];
  close(): void;
}

/** Opens queriers over `[mint, maxt]` (ms, inclusive). */
export interface Queryable {
  querier(mint: number, maxt: number): Promise<Querier>;
}

/**
 * A single-use batch of writes. Call {@link commit} or {@link rollback} exactly once;
 * an appender must not be reused after that.
 */
export interface Appender {
  /**
   * Adds a sample. With `ref` 0 the series is found or created from `labels`; with a ref
   * returned earlier, `labels` may be Labels.EMPTY. Returns the series ref to cache.
   * Rejections throw one of the frozen sentinels of storage/errors (compare with `===`).
   */
  append(ref: SeriesRef, labels: Labels, t: number, v: number): SeriesRef;
  /** Makes the batch durable (WAL first) and visible to queriers. */
  commit(): Promise<void>;
  /** Discards the batch. */
  rollback(): void;
}

/** Hands out appenders. */
export interface Appendable {
  appender(): Appender;
}

/** Both sides of a store. */
export interface Storage extends Queryable, Appendable {
  /** Lowest timestamp the store holds, or Infinity when empty. */
  startTime(): number;
  close(): Promise<void>;
}
