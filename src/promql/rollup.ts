/**
 * Series-at-a-time evaluation for range queries, as VictoriaMetrics's rollups: a range
 * function over a plain matrix selector is computed for every step while the series'
 * samples are read once, sliding the left-open window `(ref - range, ref]` over them with
 * two indices; an order-free aggregation on top adds each series' step values into
 * per-group typed arrays. Nothing is allocated per step or per sample.
 *
 * Grid: step k evaluates at `start + k * step`; a series' step values live in a row of
 * `steps` numbers plus a `has` flag per step (no output at that step when 0).
 * @module
 */

import type { Labels } from '../model/labels.js';
import { isStaleNaN } from '../model/stale.js';
import { groupKeyFn, groupLabels } from './aggregations.js';
import type { RangeFn, RangeWindow } from './functions.js';

/** The evaluation times of a range query. */
export interface StepGrid {
  start: number;
  step: number;
  steps: number;
}

/** The window handed to range functions; rollups run synchronously, so one is enough. */
const W: RangeWindow = { start: 0, end: 0, rangeMs: 0, evalT: 0, st: null, stOverlap: false };

/** Whether the last {@link rollupRow} call met a start timestamp overlapping the previous sample. */
export function rollupSawStartTimeOverlap(): boolean {
  return W.stOverlap === true;
}

/** Per sample, how many decreases (counter resets) lie at or before it; grown on demand. */
let decreases = new Int32Array(1024);

/**
 * Evaluates the range function `func` (`fn`) over one series at every step of `grid`: the
 * window of step k is `(ref - range, ref]` with `ref = start + k * step - offset`. Writes
 * `vals`/`has` at `[at, at + steps)`, adds each window's sample count to `samples[k]`, and
 * returns whether any window held a sample. `ts`/`vs` hold the series' first `n` samples
 * in time order, `st` their start timestamps when the series has them.
 */
export function rollupRow(
  ts: Float64Array,
  vs: Float64Array,
  n: number,
  grid: StepGrid,
  range: number,
  offset: number,
  func: string,
  fn: RangeFn,
  params: number[],
  vals: Float64Array,
  has: Uint8Array,
  at: number,
  samples: Float64Array,
  st: Float64Array | null = null,
): boolean {
  W.st = st;
  W.stOverlap = false;
  if (st === null && (func === 'rate' || func === 'increase')) {
    return rollupCounterRate(
      ts,
      vs,
      n,
      grid,
      range,
      offset,
      func === 'rate',
      vals,
      has,
      at,
      samples,
    );
  }
  if (st === null && (func === 'irate' || func === 'idelta')) {
    return rollupInstantRate(
      ts,
      vs,
      n,
      grid,
      range,
      offset,
      func === 'irate',
      vals,
      has,
      at,
      samples,
    );
  }
  const { start, step, steps } = grid;
  const w = W;
  w.rangeMs = range;
  let lo = 0;
  let hi = 0;
  let seen = false;
  for (let k = 0; k < steps; k++) {
    const t = start + k * step;
    const ref = t - offset;
    while (hi < n && ts[hi] <= ref) hi++;
    const from = ref - range;
    while (lo < hi && ts[lo] <= from) lo++;
    if (hi <= lo) {
      has[at + k] = 0;
      continue;
    }
    seen = true;
    samples[k] += hi - lo;
    w.start = from;
    w.end = ref;
    w.evalT = t;
    const v = fn(ts, vs, lo, hi, w, params);
    if (v === null) {
      has[at + k] = 0;
      continue;
    }
    vals[at + k] = v;
    has[at + k] = 1;
  }
  return seen;
}

/**
 * An instant selector at every step of `grid`: its latest sample in
 * `(ref - lookback, ref]` with `ref = start + k * step - offset`, unless that sample is a
 * stale marker. Writes `vals`/`has` at `[at, at + steps)` and counts one sample in
 * `samples[k]` per value. `ts`/`vs` hold the series' first `n` samples, stale markers
 * included.
 */
export function rollupLookback(
  ts: Float64Array,
  vs: Float64Array,
  n: number,
  grid: StepGrid,
  lookback: number,
  offset: number,
  vals: Float64Array,
  has: Uint8Array,
  at: number,
  samples: Float64Array,
): void {
  const { start, step, steps } = grid;
  let hi = 0;
  for (let k = 0; k < steps; k++) {
    const ref = start + k * step - offset;
    while (hi < n && ts[hi] <= ref) hi++;
    const i = hi - 1;
    const v = i >= 0 ? vs[i] : NaN;
    if (i < 0 || ts[i] <= ref - lookback || (v !== v && isStaleNaN(v))) {
      has[at + k] = 0;
      continue;
    }
    vals[at + k] = v;
    has[at + k] = 1;
    samples[k]++;
  }
}

/** Aggregations that {@link GroupAccumulator} computes. */
export type StepAggregationOp = 'sum' | 'count' | 'min' | 'max' | 'group';

/** An aggregation's result at every step: group-major values and input counts. */
export interface GroupTable {
  labels: Labels[];
  steps: number;
  /** `[group * steps + step]`. */
  val: Float64Array;
  /** Input series with a value, per group and step; 0 means no output. */
  cnt: Float64Array;
}

/**
 * Aggregates series rows into per-group rows for all steps at once. Each group adds its
 * series in the order they are given, as the per-step aggregation adds its input vector
 * (Kahan–Neumaier sums for `sum`, Go's NaN rules for `min`/`max`).
 */
export class GroupAccumulator {
  private readonly op: StepAggregationOp;
  private readonly steps: number;
  private readonly grouping: readonly string[];
  private readonly without: boolean;
  private readonly keyOf: (m: Labels) => string;
  private readonly byKey = new Map<string, number>();
  private readonly labels: Labels[] = [];
  private val: Float64Array;
  private c: Float64Array;
  private cnt: Float64Array;

  constructor(op: StepAggregationOp, grouping: readonly string[], without: boolean, steps: number) {
    this.op = op;
    this.steps = steps;
    this.grouping = grouping;
    this.without = without;
    this.keyOf = groupKeyFn(grouping, without);
    const size = 16 * steps;
    this.val = new Float64Array(size);
    this.c = new Float64Array(size);
    this.cnt = new Float64Array(size);
  }

  /** The index of the group of a series with labels `m`, made on first sight. */
  groupOf(m: Labels): number {
    const key = this.keyOf(m);
    let j = this.byKey.get(key);
    if (j !== undefined) return j;
    j = this.labels.length;
    this.byKey.set(key, j);
    this.labels.push(groupLabels(m, this.grouping, this.without));
    if ((j + 1) * this.steps > this.val.length) {
      const size = this.val.length * 2;
      this.val = grow(this.val, size);
      this.c = grow(this.c, size);
      this.cnt = grow(this.cnt, size);
    }
    return j;
  }

  /** Adds a series' row (`vals`/`has` at `[at, at + steps)`) into group `j`. */
  add(j: number, vals: Float64Array, has: Uint8Array, at: number): void {
    const steps = this.steps;
    const { op, val, c, cnt } = this;
    const g = j * steps;
    if (op === 'sum') {
      for (let k = 0; k < steps; k++) {
        if (has[at + k] === 0) continue;
        const f = vals[at + k];
        const x = g + k;
        if (cnt[x] === 0) {
          val[x] = f;
        } else {
          // Kahan–Neumaier step (mathutil.kahanSumInc), inlined for the hot loop.
          const sum = val[x];
          const t = sum + f;
          if (t === Infinity || t === -Infinity) c[x] = 0;
          else if (Math.abs(sum) >= Math.abs(f)) c[x] += sum - t + f;
          else c[x] += f - t + sum;
          val[x] = t;
        }
        cnt[x]++;
      }
      return;
    }
    for (let k = 0; k < steps; k++) {
      if (has[at + k] === 0) continue;
      const f = vals[at + k];
      const x = g + k;
      if (cnt[x] === 0) {
        val[x] = f;
      } else if (op === 'max') {
        if (val[x] < f || val[x] !== val[x]) val[x] = f;
      } else if (op === 'min') {
        if (val[x] > f || val[x] !== val[x]) val[x] = f;
      }
      cnt[x]++;
    }
  }

  /** The groups' results; the accumulator is not used afterwards. */
  finish(): GroupTable {
    const size = this.labels.length * this.steps;
    const { op, val, c, cnt } = this;
    for (let x = 0; x < size; x++) {
      if (cnt[x] === 0) continue;
      if (op === 'sum') val[x] += c[x];
      else if (op === 'count') val[x] = cnt[x];
      else if (op === 'group') val[x] = 1;
    }
    return {
      labels: this.labels,
      steps: this.steps,
      val: val.subarray(0, size),
      cnt: cnt.subarray(0, size),
    };
  }
}

function grow(a: Float64Array, size: number): Float64Array {
  const b = new Float64Array(size);
  b.set(a);
  return b;
}

/**
 * The parts of rate/increase windows that depend on the timestamps only, per step, for
 * the series last read: the series of one target share their scrape timestamps, so the
 * next series usually reuses them (checked sample by sample) and only the values are read.
 */
const windows = {
  /** The timestamps they were computed for (a copy), the grid and the window. */
  ts: new Float64Array(1024),
  n: -1,
  start: 0,
  step: 0,
  steps: 0,
  range: 0,
  offset: 0,
  /** Per step: the window's first and end sample index (`hi - lo` samples). */
  lo: new Int32Array(256),
  hi: new Int32Array(256),
  /** Per step: sampledInterval, durationToStart and durationToEnd (after the threshold). */
  interval: new Float64Array(256),
  toStart: new Float64Array(256),
  toEnd: new Float64Array(256),
};

/** Fills {@link windows} for `ts[0, n)` unless it already holds them. */
function counterWindows(
  ts: Float64Array,
  n: number,
  grid: StepGrid,
  range: number,
  offset: number,
): typeof windows {
  const w = windows;
  const { start, step, steps } = grid;
  if (
    w.n === n &&
    w.start === start &&
    w.step === step &&
    w.steps === steps &&
    w.range === range &&
    w.offset === offset
  ) {
    const prev = w.ts;
    let i = 0;
    while (i < n && prev[i] === ts[i]) i++;
    if (i === n) return w;
  }
  if (w.ts.length < n) w.ts = new Float64Array(Math.max(n, w.ts.length * 2));
  w.ts.set(ts.subarray(0, n));
  if (w.lo.length < steps) {
    const size = Math.max(steps, w.lo.length * 2);
    w.lo = new Int32Array(size);
    w.hi = new Int32Array(size);
    w.interval = new Float64Array(size);
    w.toStart = new Float64Array(size);
    w.toEnd = new Float64Array(size);
  }
  w.n = n;
  w.start = start;
  w.step = step;
  w.steps = steps;
  w.range = range;
  w.offset = offset;
  const { lo: los, hi: his, interval, toStart, toEnd } = w;
  let lo = 0;
  let hi = 0;
  for (let k = 0; k < steps; k++) {
    const ref = start + k * step - offset;
    while (hi < n && ts[hi] <= ref) hi++;
    const from = ref - range;
    while (lo < hi && ts[lo] <= from) lo++;
    los[k] = lo;
    his[k] = hi;
    const count = hi - lo;
    if (count < 2) continue;
    // functions.extrapolatedRate's time terms, the same operations in the same order.
    const firstT = ts[lo];
    const lastT = ts[hi - 1];
    let durationToStart = (firstT - from) / 1000;
    let durationToEnd = (ref - lastT) / 1000;
    const sampledInterval = (lastT - firstT) / 1000;
    const avg = sampledInterval / (count - 1);
    const threshold = avg * 1.1;
    if (durationToStart >= threshold) durationToStart = avg / 2;
    if (durationToEnd >= threshold) durationToEnd = avg / 2;
    interval[k] = sampledInterval;
    toStart[k] = durationToStart;
    toEnd[k] = durationToEnd;
  }
  return w;
}

/**
 * {@link rollupRow} for rate and increase: the same computation, but a window is searched
 * for counter resets only when the series decreases inside it (counted once per series),
 * which on counters is seldom, the terms that depend on time alone come from
 * {@link counterWindows}, and the extrapolation is inlined (no call and no window object
 * per step: these two functions are most of a dashboard's range queries).
 */
function rollupCounterRate(
  ts: Float64Array,
  vs: Float64Array,
  n: number,
  grid: StepGrid,
  range: number,
  offset: number,
  isRate: boolean,
  vals: Float64Array,
  has: Uint8Array,
  at: number,
  samples: Float64Array,
): boolean {
  if (decreases.length < n) decreases = new Int32Array(Math.max(n, decreases.length * 2));
  const dec = decreases;
  let d = 0;
  dec[0] = 0;
  for (let i = 1; i < n; i++) {
    if (vs[i] < vs[i - 1]) d++;
    dec[i] = d;
  }
  const w = counterWindows(ts, n, grid, range, offset);
  const { lo: los, hi: his, interval, toStart, toEnd } = w;
  const steps = grid.steps;
  const rangeS = range / 1000;
  let seen = false;
  for (let k = 0; k < steps; k++) {
    const lo = los[k];
    const hi = his[k];
    const count = hi - lo;
    if (count <= 0) {
      has[at + k] = 0;
      continue;
    }
    seen = true;
    samples[k] += count;
    if (count < 2) {
      has[at + k] = 0;
      continue;
    }
    // functions.extrapolatedRate for a counter, inlined: the same operations in the same
    // order, so the same bits (the rollup test compares with the step-by-step path).
    const firstV = vs[lo];
    let result = vs[hi - 1] - firstV;
    if (dec[hi - 1] !== dec[lo]) {
      let last = 0;
      for (let i = lo; i < hi; i++) {
        const v = vs[i];
        if (v < last) result += last;
        last = v;
      }
    }
    const sampledInterval = interval[k];
    let durationToStart = toStart[k];
    let durationToZero = durationToStart;
    if (result > 0 && firstV >= 0) durationToZero = sampledInterval * (firstV / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
    let factor = (sampledInterval + durationToStart + toEnd[k]) / sampledInterval;
    if (isRate) factor /= rangeS;
    vals[at + k] = result * factor;
    has[at + k] = 1;
  }
  return seen;
}

/**
 * {@link rollupRow} for irate and idelta, with functions.instantValue inlined (the same
 * operations in the same order, so the same bits): the last two samples of each window.
 */
function rollupInstantRate(
  ts: Float64Array,
  vs: Float64Array,
  n: number,
  grid: StepGrid,
  range: number,
  offset: number,
  isRate: boolean,
  vals: Float64Array,
  has: Uint8Array,
  at: number,
  samples: Float64Array,
): boolean {
  const { start, step, steps } = grid;
  let lo = 0;
  let hi = 0;
  let seen = false;
  for (let k = 0; k < steps; k++) {
    const ref = start + k * step - offset;
    while (hi < n && ts[hi] <= ref) hi++;
    const from = ref - range;
    while (lo < hi && ts[lo] <= from) lo++;
    const count = hi - lo;
    if (count <= 0) {
      has[at + k] = 0;
      continue;
    }
    seen = true;
    samples[k] += count;
    if (count < 2) {
      has[at + k] = 0;
      continue;
    }
    const last = vs[hi - 1];
    const prev = vs[hi - 2];
    let result = isRate && last < prev ? last : last - prev;
    const interval = ts[hi - 1] - ts[hi - 2];
    if (interval === 0) {
      has[at + k] = 0;
      continue;
    }
    if (isRate) result /= interval / 1000;
    vals[at + k] = result;
    has[at + k] = 1;
  }
  return seen;
}
