/**
 * `histogram_quantile` and `histogram_fraction` over classic histograms: float series
 * with an `le` label, grouped by their other labels (Prometheus's `bucketQuantile`).
 * @module
 */

import { Labels, METRIC_NAME } from '../model/labels.js';
import { parseNumber } from './parser/lex.js';
import type { Sample } from './value.js';

/** Reports an annotation: kind and text without the `PromQL …:` prefix. */
export type Annotate = (kind: 'warn' | 'info', msg: string) => void;

interface Bucket {
  ub: number;
  count: number;
}

interface BucketGroup {
  metric: Labels;
  name: string;
  buckets: Bucket[];
}

/** Bucket series' labels without `le` and the name, computed once per label set. */
const WITHOUT_LE = new WeakMap<Labels, Labels>();

function groupBuckets(vec: Sample[], annotate: Annotate): BucketGroup[] {
  const groups = new Map<string, BucketGroup>();
  for (const s of vec) {
    const le = s.metric.get('le');
    const ub = le === '' ? null : parseNumber(le);
    if (ub === null || ub !== ub) {
      annotate(
        'warn',
        `bucket label "le" is missing or has a malformed value of ${JSON.stringify(le)} for metric name ${JSON.stringify(s.metric.get(METRIC_NAME))}`,
      );
      continue;
    }
    let metric = WITHOUT_LE.get(s.metric);
    if (!metric) WITHOUT_LE.set(s.metric, (metric = s.metric.without('le', METRIC_NAME)));
    const key = metric.key();
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { metric, name: s.metric.get(METRIC_NAME), buckets: [] }));
    g.buckets.push({ ub, count: s.v });
  }
  return [...groups.values()];
}

/** Sorts, merges equal bounds and fixes tiny precision errors and monotonicity. */
function prepare(buckets: Bucket[]): { buckets: Bucket[]; forced: boolean } {
  buckets.sort((a, b) => a.ub - b.ub);
  const merged: Bucket[] = [];
  for (const b of buckets) {
    const last = merged[merged.length - 1];
    if (last && last.ub === b.ub) last.count += b.count;
    else merged.push({ ub: b.ub, count: b.count });
  }
  let prev = merged[0].count;
  for (let i = 1; i < merged.length; i++) {
    const cur = merged[i].count;
    const delta = Math.abs(cur - prev);
    if (delta === 0) continue;
    if (delta / cur <= 1e-12) merged[i].count = prev;
    else prev = cur;
  }
  let forced = false;
  let max = merged[0].count;
  for (let i = 1; i < merged.length; i++) {
    if (merged[i].count > max) max = merged[i].count;
    else if (merged[i].count < max) {
      merged[i].count = max;
      forced = true;
    }
  }
  return { buckets: merged, forced };
}

/** Whether the last {@link bucketQuantileSorted} had to fix the counts' monotonicity. */
export const QUANTILE_FIX = { forced: false };

/**
 * The q-quantile of `m` classic buckets given as upper bounds `ub` (ascending) and
 * cumulative counts `cnt`, or NaN (Prometheus's `bucketQuantile`). Works in place: equal
 * bounds are merged and the counts are fixed for tiny precision errors and monotonicity.
 * Sets {@link QUANTILE_FIX}.
 */
export function bucketQuantileSorted(
  q: number,
  ub: Float64Array,
  cnt: Float64Array,
  m: number,
): number {
  QUANTILE_FIX.forced = false;
  if (q !== q) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  if (ub[m - 1] !== Infinity) return NaN;
  let n = 0;
  for (let i = 0; i < m; i++) {
    if (n > 0 && ub[n - 1] === ub[i]) {
      cnt[n - 1] += cnt[i];
    } else {
      ub[n] = ub[i];
      cnt[n] = cnt[i];
      n++;
    }
  }
  let prev = cnt[0];
  for (let i = 1; i < n; i++) {
    const cur = cnt[i];
    const delta = Math.abs(cur - prev);
    if (delta === 0) continue;
    if (delta / cur <= 1e-12) cnt[i] = prev;
    else prev = cur;
  }
  let forced = false;
  let max = cnt[0];
  for (let i = 1; i < n; i++) {
    if (cnt[i] > max) max = cnt[i];
    else if (cnt[i] < max) {
      cnt[i] = max;
      forced = true;
    }
  }
  if (n < 2) return NaN;
  const observations = cnt[n - 1];
  if (observations === 0) return NaN;
  QUANTILE_FIX.forced = forced;
  let rank = q * observations;
  let b = 0;
  while (b < n - 1 && !(cnt[b] >= rank)) b++;
  if (b === n - 1) return ub[n - 2];
  if (b === 0 && ub[0] <= 0) return ub[0];
  let start = 0;
  const end = ub[b];
  let count = cnt[b];
  if (b > 0) {
    start = ub[b - 1];
    count -= cnt[b - 1];
    rank -= cnt[b - 1];
  }
  return start + (end - start) * (rank / count);
}

/** The q-quantile of classic buckets, or NaN. */
export function bucketQuantile(q: number, raw: Bucket[]): { v: number; forced: boolean } {
  const sorted = raw.slice().sort((a, b) => a.ub - b.ub);
  const ub = new Float64Array(sorted.length);
  const cnt = new Float64Array(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    ub[i] = sorted[i].ub;
    cnt[i] = sorted[i].count;
  }
  const v = bucketQuantileSorted(q, ub, cnt, sorted.length);
  return { v, forced: QUANTILE_FIX.forced };
}

/** One histogram of a {@link HistogramSteps}: its bucket groups in bound order. */
interface StepHistogram {
  metric: Labels;
  name: string;
  groups: Int32Array;
  ubs: Float64Array;
}

/**
 * histogram_quantile over rows of values for all steps of a range query: an
 * aggregation's groups (rollup.ts's `GroupTable`) or a range function's series. Which row is
 * which bucket of which histogram is worked out once, and each step reads its bucket
 * counts from the rows into reused arrays. Gives what {@link histogramQuantile} gives on
 * that step's vector.
 */
export class HistogramSteps {
  private readonly hists: StepHistogram[] = [];
  /** Groups whose `le` is missing or malformed, with the label values for the warning. */
  private readonly malformed: { group: number; le: string; name: string }[] = [];
  private readonly ub: Float64Array;
  private readonly cnt: Float64Array;
  /**
   * Metric names already reported as needing the monotonicity fix: the query reports each
   * annotation once, so later steps need not build the text again.
   */
  private readonly fixReported = new Set<string>();

  /** `dropName`: the rows' vectors drop the metric name (it is then not reported). */
  constructor(labels: readonly Labels[], dropName: boolean) {
    const byKey = new Map<string, { metric: Labels; name: string; members: Bucket[] }>();
    for (let j = 0; j < labels.length; j++) {
      const m = labels[j];
      const le = m.get('le');
      const ub = le === '' ? null : parseNumber(le);
      if (ub === null || ub !== ub) {
        this.malformed.push({ group: j, le, name: dropName ? '' : m.get(METRIC_NAME) });
        continue;
      }
      const metric = m.without('le', METRIC_NAME);
      const key = metric.key();
      let h = byKey.get(key);
      if (!h) {
        h = { metric, name: dropName ? '' : m.get(METRIC_NAME), members: [] };
        byKey.set(key, h);
      }
      // `count` holds the group index here.
      h.members.push({ ub, count: j });
    }
    let most = 0;
    for (const h of byKey.values()) {
      h.members.sort((a, b) => a.ub - b.ub);
      most = Math.max(most, h.members.length);
      this.hists.push({
        metric: h.metric,
        name: h.name,
        groups: Int32Array.from(h.members, (b) => b.count),
        ubs: Float64Array.from(h.members, (b) => b.ub),
      });
    }
    this.ub = new Float64Array(most);
    this.cnt = new Float64Array(most);
  }

  /**
   * histogram_quantile(q, ·) at step `k`: row j's value is `val[j * steps + k]`, present
   * where `present` is not 0 there (a group table's `cnt`, or a step table's `has`).
   */
  quantile(
    q: number,
    val: Float64Array,
    present: Float64Array | Uint8Array,
    steps: number,
    k: number,
    annotate: Annotate,
  ): Sample[] {
    for (const x of this.malformed) {
      if (present[x.group * steps + k] === 0) continue;
      annotate(
        'warn',
        `bucket label "le" is missing or has a malformed value of ${JSON.stringify(x.le)} for metric name ${JSON.stringify(x.name)}`,
      );
    }
    const out: Sample[] = [];
    const { ub, cnt } = this;
    for (const h of this.hists) {
      let m = 0;
      for (let i = 0; i < h.groups.length; i++) {
        const at = h.groups[i] * steps + k;
        if (present[at] === 0) continue;
        ub[m] = h.ubs[i];
        cnt[m] = val[at];
        m++;
      }
      if (m === 0) continue;
      const v = bucketQuantileSorted(q, ub, cnt, m);
      if (QUANTILE_FIX.forced && !this.fixReported.has(h.name)) {
        this.fixReported.add(h.name);
        annotate(
          'info',
          `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${JSON.stringify(h.name)}`,
        );
      }
      out.push({ metric: h.metric, v, t: 0, dropName: false });
    }
    return out;
  }
}

/** histogram_quantile(q, v) over classic buckets. */
export function histogramQuantile(q: number, vec: Sample[], annotate: Annotate): Sample[] {
  const out: Sample[] = [];
  for (const g of groupBuckets(vec, annotate)) {
    const { v, forced } = bucketQuantile(q, g.buckets);
    if (forced) {
      annotate(
        'info',
        `input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name ${JSON.stringify(g.name)}`,
      );
    }
    out.push({ metric: g.metric, v, t: 0, dropName: false });
  }
  return out;
}

/** histogram_fraction(lower, upper, v) over classic buckets. */
export function histogramFraction(
  lower: number,
  upper: number,
  vec: Sample[],
  annotate: Annotate,
): Sample[] {
  const out: Sample[] = [];
  for (const g of groupBuckets(vec, annotate)) {
    out.push({
      metric: g.metric,
      v: bucketFraction(lower, upper, g.buckets),
      t: 0,
      dropName: false,
    });
  }
  return out;
}

function bucketFraction(lower: number, upper: number, raw: Bucket[]): number {
  const sorted = raw.slice().sort((a, b) => a.ub - b.ub);
  if (sorted[sorted.length - 1].ub !== Infinity) return NaN;
  const { buckets } = prepare(sorted);
  const total = buckets[buckets.length - 1].count;
  if (total === 0 || lower !== lower || upper !== upper) return NaN;
  if (lower >= upper) return 0;
  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  for (let i = 0; i < buckets.length; i++) {
    const count = buckets[i].count - (i > 0 ? buckets[i - 1].count : 0);
    const bUpper = buckets[i].ub;
    const bLower = i > 0 ? buckets[i - 1].ub : bUpper > 0 ? 0 : -Infinity;
    if (!lowerSet && bLower >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && bLower >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && bLower < lower && bUpper > lower) {
      lowerRank = rank + interpolate(count, bLower, bUpper, lower);
      lowerSet = true;
    }
    if (!upperSet && bLower < upper && bUpper > upper) {
      upperRank = rank + interpolate(count, bLower, bUpper, upper);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    rank += count;
  }
  if (!lowerSet || lowerRank > total) lowerRank = total;
  if (!upperSet || upperRank > total) upperRank = total;
  return (upperRank - lowerRank) / total;
}

/**
 * The share of a bucket's count below `v`. An infinitely wide bucket is not interpolated:
 * a point inside it sits at its finite end, so the part cut off holds no observations.
 */
function interpolate(count: number, lower: number, upper: number, v: number): number {
  if (lower === -Infinity) return count;
  if (upper === Infinity) return 0;
  return (count * (v - lower)) / (upper - lower);
}
