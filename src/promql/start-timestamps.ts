/**
 * Range functions over samples that carry start timestamps (Prometheus 3.x, PROM-77): the
 * start timestamp (ST) of a cumulative sample says when its count began, the ST of a delta
 * sample where the interval it covers starts. rate, increase, irate and resets read them
 * to find counter resets that the values alone hide, and rate and increase use the first
 * sample's ST, when it lies inside the window, as a zero point instead of extrapolating
 * to the left.
 *
 * An ST of 0 means "unknown". `st` is parallel to the window's `ts`/`vs` (the same
 * indices). These variants run only for series that have start timestamps; the plain
 * functions in functions.ts stay as they are for every other series.
 *
 * Where start timestamps come from and where they go:
 * - Storage hands them out through the optional `SampleIterator.atST()`, which only
 *   iterators over series with start timestamps have. The engine tests for it once per
 *   series and then keeps a third parallel array for that series alone (see
 *   readSamplesWithST and the rollup loader); series without it take the old paths.
 * - Matrix selectors carry them into rate, increase, irate and resets (delta, idelta and
 *   the `anchored`/`smoothed` forms ignore them, as in Prometheus); start_timestamp() reads
 *   them from an instant selector. Subqueries and every other expression drop them.
 * - Today only the promqltest store (`@st` lines) keeps them. The TSDB does not: no
 *   ingestion path produces them yet (the text format has none; OpenMetrics `_created`
 *   lines are stored as their own `*_created` series, as Prometheus does by default), and a
 *   head that kept them in memory without a WAL record and a block encoding would lose them
 *   on restart and at compaction, so rate() over the same data would change with its age.
 *   The way in later: an optional start timestamp on `Appender.append` fed by the scraper
 *   from a family's `_created` line (or remote-write v2's created timestamp), a sparse side
 *   table in the head series, a WAL record, then a chunk encoding.
 * @module
 */

import { isStaleNaN } from '../model/stale.js';
import type { SampleIterator } from '../storage/interface.js';
import type { RangeWindow } from './functions.js';

/** One series' samples in `[mint, maxt]` with their start timestamps, in parallel arrays. */
export interface SamplesWithST {
  ts: Float64Array;
  vs: Float64Array;
  st: Float64Array;
  hasStale: boolean;
}

/**
 * Reads the samples of an iterator that has `atST` over `[mint, maxt]` into fresh arrays
 * (series with start timestamps are few, so they get arrays of their own instead of the
 * loader's shared blocks). `dropStale` leaves out stale markers, as range selectors do.
 * Returns null when no sample lies in the range.
 */
export function readSamplesWithST(
  it: SampleIterator,
  mint: number,
  maxt: number,
  dropStale: boolean,
): SamplesWithST | null {
  const atST = it.atST!.bind(it);
  let ts: Float64Array = new Float64Array(64);
  let vs: Float64Array = new Float64Array(64);
  let st: Float64Array = new Float64Array(64);
  let n = 0;
  let hasStale = false;
  for (let vt = it.seek(mint); vt !== 0; vt = it.next()) {
    const t = it.atT();
    if (t > maxt) break;
    const v = it.atV();
    if (v !== v && isStaleNaN(v)) {
      if (dropStale) continue;
      hasStale = true;
    }
    if (n === ts.length) {
      ts = grown(ts);
      vs = grown(vs);
      st = grown(st);
    }
    ts[n] = t;
    vs[n] = v;
    st[n] = atST();
    n++;
  }
  const err = it.err();
  if (err) throw err;
  if (n === 0) return null;
  return { ts: ts.subarray(0, n), vs: vs.subarray(0, n), st: st.subarray(0, n), hasStale };
}

function grown(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * Whether the sample `(currST, currT)` starts a new count after `(prevST, prevT)`: its ST
 * lies after the previous sample, or equals the previous sample's time while that one had
 * a known ST of its own (a delta series). An ST equal to the previous time after an
 * unknown (0), self-referencing (ST = T) or invalid (ST > T) previous ST is OTel's
 * "cumulative with unknown start", not a reset. An unknown, invalid or `ST = T` current
 * ST never signals a reset.
 */
export function isStartTimestampReset(
  prevST: number,
  prevT: number,
  currST: number,
  currT: number,
): boolean {
  if (currST === 0 || currST >= currT) return false;
  if (currST < prevT) return false;
  if (currST > prevT) return true;
  if (prevST > prevT) return false;
  return prevST !== 0 && prevST !== prevT;
}

/**
 * Whether a sample's ST overlaps the previous sample: it starts before the previous
 * sample's time without sharing its start (neither a delta, `currST = prevT`, nor the same
 * cumulative count, `currST = prevST`). Prometheus warns about such data.
 */
export function startTimeOverlaps(prevST: number, prevT: number, currST: number): boolean {
  return currST !== 0 && currST < prevT && currST !== prevST;
}

/**
 * rate and increase (`isRate`) over the window `[lo, hi)` with start timestamps `st`, as
 * Prometheus's `extrapolatedRate` for counters: a decrease or an ST reset adds the previous
 * value; when the first sample's ST lies inside the window (after its left-open start and
 * before the sample), a zero at that ST replaces the extrapolation to the left, which also
 * lets a single sample give a result. Sets `w.stOverlap` when an ST overlaps the previous
 * sample. Returns null for no output.
 */
export function extrapolatedRateST(
  ts: Float64Array,
  vs: Float64Array,
  st: Float64Array,
  lo: number,
  hi: number,
  w: RangeWindow,
  isRate: boolean,
): number | null {
  const n = hi - lo;
  const firstT = ts[lo];
  const lastT = ts[hi - 1];
  const firstV = vs[lo];
  let result = vs[hi - 1] - firstV;
  let overlap = false;
  for (let i = lo + 1; i < hi; i++) {
    const prevV = vs[i - 1];
    if (!overlap && startTimeOverlaps(st[i - 1], ts[i - 1], st[i])) overlap = true;
    if (vs[i] < prevV || isStartTimestampReset(st[i - 1], ts[i - 1], st[i], ts[i])) {
      result += prevV;
    }
  }
  if (overlap) w.stOverlap = true;
  let durationToStart = (firstT - w.start) / 1000;
  let durationToEnd = (w.end - lastT) / 1000;
  let sampledInterval = (lastT - firstT) / 1000;
  // Computed before an ST zero point widens the sampled interval, as Prometheus does.
  const avg = n > 1 ? sampledInterval / (n - 1) : 0;
  const threshold = avg * 1.1;
  const firstST = st[lo];
  if (firstST !== 0 && firstST > w.start && firstST < firstT) {
    // A zero-valued sample at the first ST: no extrapolation to the left.
    durationToStart = 0;
    sampledInterval = (lastT - firstST) / 1000;
    result += firstV;
  } else if (n < 2) {
    return null;
  } else {
    if (durationToStart >= threshold) durationToStart = avg / 2;
    // A counter cannot go below zero: do not extrapolate past its zero point.
    let durationToZero = durationToStart;
    if (result > 0 && firstV >= 0) durationToZero = sampledInterval * (firstV / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avg / 2;
  let factor =
    sampledInterval !== 0
      ? (sampledInterval + durationToStart + durationToEnd) / sampledInterval
      : 1;
  if (isRate) factor /= w.rangeMs / 1000;
  return result * factor;
}

/** irate over the window `[lo, hi)` with start timestamps: the last two samples, where an ST reset counts as a counter reset. */
export function instantRateST(
  ts: Float64Array,
  vs: Float64Array,
  st: Float64Array,
  lo: number,
  hi: number,
): number | null {
  if (hi - lo < 2) return null;
  const i = hi - 1;
  const j = hi - 2;
  const interval = ts[i] - ts[j];
  if (interval === 0) return null;
  const reset = vs[i] < vs[j] || isStartTimestampReset(st[j], ts[j], st[i], ts[i]);
  return (reset ? vs[i] : vs[i] - vs[j]) / (interval / 1000);
}

/** resets over the window `[lo, hi)` with start timestamps: decreases plus ST resets. */
export function resetsST(
  ts: Float64Array,
  vs: Float64Array,
  st: Float64Array,
  lo: number,
  hi: number,
): number {
  let resets = 0;
  for (let i = lo + 1; i < hi; i++) {
    if (vs[i] < vs[i - 1] || isStartTimestampReset(st[i - 1], ts[i - 1], st[i], ts[i])) resets++;
  }
  return resets;
}

/** The warning Prometheus gives for {@link startTimeOverlaps} data (without the position). */
export function startTimeOverlapWarning(metricName: string): string {
  return `sample has start time that overlaps with previous sample timestamp for metric ${JSON.stringify(metricName)}`;
}
