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

/** The q-quantile of classic buckets, or NaN. */
export function bucketQuantile(q: number, raw: Bucket[]): { v: number; forced: boolean } {
  if (q !== q) return { v: NaN, forced: false };
  if (q < 0) return { v: -Infinity, forced: false };
  if (q > 1) return { v: Infinity, forced: false };
  const sorted = raw.slice().sort((a, b) => a.ub - b.ub);
  if (sorted[sorted.length - 1].ub !== Infinity) return { v: NaN, forced: false };
  const { buckets, forced } = prepare(sorted);
  if (buckets.length < 2) return { v: NaN, forced: false };
  const observations = buckets[buckets.length - 1].count;
  if (observations === 0) return { v: NaN, forced: false };
  let rank = q * observations;
  let b = 0;
  while (b < buckets.length - 1 && !(buckets[b].count >= rank)) b++;
  if (b === buckets.length - 1) return { v: buckets[buckets.length - 2].ub, forced };
  if (b === 0 && buckets[0].ub <= 0) return { v: buckets[0].ub, forced };
  let start = 0;
  const end = buckets[b].ub;
  let count = buckets[b].count;
  if (b > 0) {
    start = buckets[b - 1].ub;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return { v: start + (end - start) * (rank / count), forced };
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
