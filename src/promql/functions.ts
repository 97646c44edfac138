/**
 * PromQL functions on float samples (Prometheus 3 semantics, `promql/functions.go`).
 * Range functions read a window as two Float64Array views and return one number (or
 * null for "no output") without allocating per sample.
 * @module
 */

import { Labels, LabelsBuilder, METRIC_NAME } from '../model/labels.js';
import { compileRegex } from '../model/regex.js';
import { KAHAN, kahanSumInc, quantile } from './mathutil.js';
import { extrapolatedRateST, instantRateST, resetsST } from './start-timestamps.js';
import type { Sample } from './value.js';

/** The time window a range function sees: `(start, end]` in ms, plus the selector range. */
export interface RangeWindow {
  start: number;
  end: number;
  rangeMs: number;
  /** The evaluation timestamp of the step (ms). */
  evalT: number;
  /**
   * Start timestamps of the series, parallel to `ts` (0: unknown), or null/absent when it
   * has none; rate, increase, irate and resets read them (start-timestamps.ts).
   */
  st?: Float64Array | null;
  /** Set by rate/increase when a start timestamp overlaps the previous sample; the caller warns and clears it. */
  stOverlap?: boolean;
}

/**
 * A range function: one value for the window `[lo, hi)` of a series (never empty), or
 * null for no output. `params` are the scalar arguments in order.
 */
export type RangeFn = (
  ts: Float64Array,
  vs: Float64Array,
  lo: number,
  hi: number,
  w: RangeWindow,
  params: number[],
) => number | null;

/** Adapts a function of whole-window views; for the rarer functions, where a view per call is fine. */
function windowed(
  fn: (ts: Float64Array, vs: Float64Array, w: RangeWindow, params: number[]) => number | null,
): RangeFn {
  return (ts, vs, lo, hi, w, p) => fn(ts.subarray(lo, hi), vs.subarray(lo, hi), w, p);
}

/**
 * rate, increase and delta over the window `[lo, hi)` (Prometheus's `extrapolatedRate`).
 * `scanResets` false skips the search for counter resets, for a caller that knows the
 * window holds no decrease.
 */
export function extrapolatedRate(
  ts: Float64Array,
  vs: Float64Array,
  lo: number,
  hi: number,
  w: RangeWindow,
  isCounter: boolean,
  isRate: boolean,
  scanResets = isCounter,
): number | null {
  const n = hi - lo;
  if (n < 2) return null;
  const firstT = ts[lo];
  const lastT = ts[hi - 1];
  const firstV = vs[lo];
  let result = vs[hi - 1] - firstV;
  if (scanResets) {
    let last = 0;
    for (let i = lo; i < hi; i++) {
      const v = vs[i];
      if (v < last) result += last;
      last = v;
    }
  }
  let durationToStart = (firstT - w.start) / 1000;
  let durationToEnd = (w.end - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const avg = sampledInterval / (n - 1);
  const threshold = avg * 1.1;
  if (durationToStart >= threshold) durationToStart = avg / 2;
  if (isCounter) {
    // A counter cannot go below zero: do not extrapolate past its zero point.
    let durationToZero = durationToStart;
    if (result > 0 && firstV >= 0) durationToZero = sampledInterval * (firstV / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= threshold) durationToEnd = avg / 2;
  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= w.rangeMs / 1000;
  return result * factor;
}

function instantValue(
  ts: Float64Array,
  vs: Float64Array,
  lo: number,
  hi: number,
  isRate: boolean,
): number | null {
  if (hi - lo < 2) return null;
  const last = vs[hi - 1];
  const prev = vs[hi - 2];
  let result = isRate && last < prev ? last : last - prev;
  const interval = ts[hi - 1] - ts[hi - 2];
  if (interval === 0) return null;
  if (isRate) result /= interval / 1000;
  return result;
}

/** Least-squares fit of the window; slope per second and intercept at `interceptT`. */
export function linearRegression(
  ts: Float64Array,
  vs: Float64Array,
  interceptT: number,
): [number, number] {
  let n = 0;
  let sumX = 0,
    cX = 0,
    sumY = 0,
    cY = 0,
    sumXY = 0,
    cXY = 0,
    sumX2 = 0,
    cX2 = 0;
  const initY = vs[0];
  let constY = true;
  for (let i = 0; i < ts.length; i++) {
    const y = vs[i];
    if (constY && i > 0 && y !== initY) constY = false;
    n++;
    const x = (ts[i] - interceptT) / 1000;
    kahanSumInc(x, sumX, cX);
    sumX = KAHAN.sum;
    cX = KAHAN.c;
    kahanSumInc(y, sumY, cY);
    sumY = KAHAN.sum;
    cY = KAHAN.c;
    kahanSumInc(x * y, sumXY, cXY);
    sumXY = KAHAN.sum;
    cXY = KAHAN.c;
    kahanSumInc(x * x, sumX2, cX2);
    sumX2 = KAHAN.sum;
    cX2 = KAHAN.c;
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) return [NaN, NaN];
    return [0, initY];
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  const slope = covXY / varX;
  return [slope, sumY / n - (slope * sumX) / n];
}

function avgOverTime(vs: Float64Array): number {
  let sum = vs[0];
  let count = 1;
  let mean = 0;
  let c = 0;
  let incremental = false;
  for (let i = 1; i < vs.length; i++) {
    const f = vs[i];
    count = i + 1;
    if (!incremental) {
      kahanSumInc(f, sum, c);
      if (KAHAN.sum !== Infinity && KAHAN.sum !== -Infinity) {
        sum = KAHAN.sum;
        c = KAHAN.c;
        continue;
      }
      // The sum would overflow: switch to an incremental mean from here on.
      incremental = true;
      mean = sum / (count - 1);
      c /= count - 1;
    }
    const q = (count - 1) / count;
    kahanSumInc(f / count, q * mean, q * c);
    mean = KAHAN.sum;
    c = KAHAN.c;
  }
  return incremental ? mean + c : sum / count + c / count;
}

function varianceOverTime(vs: Float64Array): number {
  let count = 0,
    mean = 0,
    cMean = 0,
    aux = 0,
    cAux = 0;
  for (let i = 0; i < vs.length; i++) {
    const f = vs[i];
    count++;
    const delta = f - (mean + cMean);
    kahanSumInc(delta / count, mean, cMean);
    mean = KAHAN.sum;
    cMean = KAHAN.c;
    kahanSumInc(delta * (f - (mean + cMean)), aux, cAux);
    aux = KAHAN.sum;
    cAux = KAHAN.c;
  }
  return (aux + cAux) / count;
}

function doubleExponentialSmoothing(vs: Float64Array, sf: number, tf: number): number | null {
  const n = vs.length;
  if (n < 2) return null;
  let s0 = 0;
  let s1 = vs[0];
  let b = vs[1] - vs[0];
  for (let i = 1; i < n; i++) {
    const x = sf * vs[i];
    // The trend of the first step is the first difference; later ones are smoothed.
    if (i > 1) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
}

/** Every range function, by name. `params` are the scalar arguments (in order). */
export const RANGE_FUNCTIONS: Record<string, RangeFn> = {
  rate: (ts, vs, lo, hi, w) =>
    w.st
      ? extrapolatedRateST(ts, vs, w.st, lo, hi, w, true)
      : extrapolatedRate(ts, vs, lo, hi, w, true, true),
  increase: (ts, vs, lo, hi, w) =>
    w.st
      ? extrapolatedRateST(ts, vs, w.st, lo, hi, w, false)
      : extrapolatedRate(ts, vs, lo, hi, w, true, false),
  delta: (ts, vs, lo, hi, w) => extrapolatedRate(ts, vs, lo, hi, w, false, false),
  irate: (ts, vs, lo, hi, w) =>
    w.st ? instantRateST(ts, vs, w.st, lo, hi) : instantValue(ts, vs, lo, hi, true),
  idelta: (ts, vs, lo, hi) => instantValue(ts, vs, lo, hi, false),
  deriv: windowed((ts, vs) => (ts.length < 2 ? null : linearRegression(ts, vs, ts[0])[0])),
  predict_linear: windowed((ts, vs, w, p) => {
    if (ts.length < 2) return null;
    const [slope, intercept] = linearRegression(ts, vs, w.evalT);
    return slope * p[0] + intercept;
  }),
  avg_over_time: windowed((_ts, vs) => avgOverTime(vs)),
  sum_over_time: (_ts, vs, lo, hi) => {
    let sum = 0,
      c = 0;
    for (let i = lo; i < hi; i++) {
      kahanSumInc(vs[i], sum, c);
      sum = KAHAN.sum;
      c = KAHAN.c;
    }
    return sum + c;
  },
  count_over_time: (_ts, _vs, lo, hi) => hi - lo,
  last_over_time: (_ts, vs, _lo, hi) => vs[hi - 1],
  first_over_time: (_ts, vs, lo) => vs[lo],
  ts_of_last_over_time: (ts, _vs, _lo, hi) => ts[hi - 1] / 1000,
  ts_of_first_over_time: (ts, _vs, lo) => ts[lo] / 1000,
  present_over_time: () => 1,
  max_over_time: (_ts, vs, lo, hi) => {
    let m = vs[lo];
    for (let i = lo + 1; i < hi; i++) if (vs[i] > m || m !== m) m = vs[i];
    return m;
  },
  min_over_time: (_ts, vs, lo, hi) => {
    let m = vs[lo];
    for (let i = lo + 1; i < hi; i++) if (vs[i] < m || m !== m) m = vs[i];
    return m;
  },
  ts_of_max_over_time: (ts, vs, lo, hi) => {
    let m = vs[lo],
      at = ts[lo];
    for (let i = lo + 1; i < hi; i++) {
      if (vs[i] >= m || m !== m) {
        m = vs[i];
        at = ts[i];
      }
    }
    return at / 1000;
  },
  ts_of_min_over_time: (ts, vs, lo, hi) => {
    let m = vs[lo],
      at = ts[lo];
    for (let i = lo + 1; i < hi; i++) {
      if (vs[i] <= m || m !== m) {
        m = vs[i];
        at = ts[i];
      }
    }
    return at / 1000;
  },
  stddev_over_time: windowed((_ts, vs) => Math.sqrt(varianceOverTime(vs))),
  stdvar_over_time: windowed((_ts, vs) => varianceOverTime(vs)),
  quantile_over_time: windowed((_ts, vs, _w, p) => quantile(p[0], Array.from(vs))),
  mad_over_time: windowed((_ts, vs) => {
    if (vs.some((v) => v !== v)) return NaN;
    const med = quantile(0.5, Array.from(vs));
    const dev = Array.from(vs, (v) => Math.abs(v - med));
    return quantile(0.5, dev);
  }),
  changes: (_ts, vs, lo, hi) => {
    let changes = 0;
    for (let i = lo + 1; i < hi; i++) {
      const cur = vs[i],
        prev = vs[i - 1];
      if (cur !== prev && !(cur !== cur && prev !== prev)) changes++;
    }
    return changes;
  },
  resets: (ts, vs, lo, hi, w) => {
    if (w.st) return resetsST(ts, vs, w.st, lo, hi);
    let resets = 0;
    for (let i = lo + 1; i < hi; i++) if (vs[i] < vs[i - 1]) resets++;
    return resets;
  },
  double_exponential_smoothing: windowed((_ts, vs, _w, p) =>
    doubleExponentialSmoothing(vs, p[0], p[1]),
  ),
};

/** Functions over range vectors whose output keeps the metric name. */
export const KEEPS_NAME = new Set([
  'last_over_time',
  'first_over_time',
  'sort',
  'sort_desc',
  'sort_by_label',
  'sort_by_label_desc',
  'label_replace',
  'label_join',
]);

const RAD = Math.PI / 180;

/** Element-wise math functions on instant vectors (they drop the metric name). */
export const MATH_FUNCTIONS: Record<string, (v: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  sgn: (v) => (v > 0 ? 1 : v < 0 ? -1 : v),
  acos: Math.acos,
  acosh: Math.acosh,
  asin: Math.asin,
  asinh: Math.asinh,
  atan: Math.atan,
  atanh: Math.atanh,
  cos: Math.cos,
  cosh: Math.cosh,
  sin: Math.sin,
  sinh: Math.sinh,
  tan: Math.tan,
  tanh: Math.tanh,
  deg: (v) => v / RAD,
  rad: (v) => v * RAD,
};

/** Date parts of a Unix time in seconds (UTC), for the time functions. */
export const TIME_FUNCTIONS: Record<string, (d: Date) => number> = {
  day_of_month: (d) => d.getUTCDate(),
  day_of_week: (d) => d.getUTCDay(),
  day_of_year: (d) => {
    const start = Date.UTC(d.getUTCFullYear(), 0, 1);
    return Math.floor((d.getTime() - start) / 86400000) + 1;
  },
  days_in_month: (d) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate(),
  hour: (d) => d.getUTCHours(),
  minute: (d) => d.getUTCMinutes(),
  month: (d) => d.getUTCMonth() + 1,
  year: (d) => d.getUTCFullYear(),
};

/** Expands `$1`, `${1}`, `$name` and `$$` in `template` the way Go's regexp.Expand does. */
export function expandTemplate(template: string, m: RegExpExecArray): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== '$' || i + 1 >= template.length) {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    let name: string;
    let end: number;
    if (next === '{') {
      const close = template.indexOf('}', i + 2);
      if (close < 0) {
        out += c;
        continue;
      }
      name = template.slice(i + 2, close);
      end = close;
    } else {
      let j = i + 1;
      while (j < template.length && /[A-Za-z0-9_]/.test(template[j])) j++;
      if (j === i + 1) {
        out += c;
        continue;
      }
      name = template.slice(i + 1, j);
      end = j - 1;
    }
    if (!/^[A-Za-z0-9_]+$/.test(name)) {
      out += c;
      continue;
    }
    if (/^\d+$/.test(name)) out += m[Number(name)] ?? '';
    else out += m.groups?.[name] ?? '';
    i = end;
  }
  return out;
}

/** Compiles label_replace's regex; RE2 `(?P<name>…)` groups become JS named groups. */
export function compileReplaceRegex(re: string): RegExp {
  return compileRegex(re.replace(/\(\?P</g, '(?<'));
}

/** Applies label_replace to one sample; returns the new labels. */
export function labelReplace(
  s: Sample,
  dst: string,
  repl: string,
  src: string,
  re: RegExp,
  lb: LabelsBuilder,
): Labels {
  const m = re.exec(s.metric.get(src));
  if (!m) return s.metric;
  const res = expandTemplate(repl, m);
  lb.reset(s.metric);
  lb.set(dst, res);
  return lb.labels();
}

/** Builds the labels of `absent()`'s output from a selector's equality matchers. */
export function absentLabels(
  matchers: readonly { type: string; name: string; value: string }[],
): Labels {
  // A label matched more than once has no single value to report, so it is left out.
  const seen = new Map<string, string | null>();
  const count = new Map<string, number>();
  for (const m of matchers) count.set(m.name, (count.get(m.name) ?? 0) + 1);
  for (const m of matchers) {
    if (m.name === METRIC_NAME || m.type !== '=') continue;
    seen.set(m.name, count.get(m.name)! > 1 ? null : m.value);
  }
  const b = new LabelsBuilder();
  for (const [n, v] of seen) if (v !== null) b.set(n, v);
  return b.labels();
}
