/**
 * Aggregation operators (`sum`, `avg`, `topk`, …) with Prometheus 3 semantics
 * (`promql/engine.go`: `aggregation`, `aggregationK`, `aggregationCountValues`).
 * @module
 */

import { Labels, LabelsBuilder, METRIC_NAME } from '../model/labels.js';
import { goQuote, isValidUtf8 } from './parser/lex.js';
import type { AggregationOp } from './parser/ast.js';
import { EvalError } from './binary.js';
import { KAHAN, kahanSumInc, formatFloatF, quantile } from './mathutil.js';
import type { Sample } from './value.js';

/** The output labels of a group: `by` keeps the listed labels, `without` drops them and the name. */
export function groupLabels(m: Labels, grouping: readonly string[], without: boolean): Labels {
  return without ? m.without(...grouping, METRIC_NAME) : m.keep(...grouping);
}

/**
 * A string naming the group of a series, made from the grouping labels' values only,
 * so that no label set is built per series: for `by`, the listed labels' values
 * (length-prefixed, absent as empty); for `without`, the key of the group's labels.
 */
export function groupKeyFn(grouping: readonly string[], without: boolean): (m: Labels) => string {
  if (without) return (m) => groupLabels(m, grouping, true).key();
  if (grouping.length === 1) {
    const name = grouping[0];
    return (m) => m.get(name);
  }
  return (m) => {
    let key = '';
    for (let i = 0; i < grouping.length; i++) {
      const v = m.get(grouping[i]);
      key += `${v.length}:${v}`;
    }
    return key;
  };
}

/** Maps a series' labels to its group's labels (the caller caches it per series). */
export type GroupFn = (m: Labels) => Labels;

interface Group {
  labels: Labels;
  dropName: boolean;
  value: number;
  mean: number;
  c: number;
  count: number;
  incremental: boolean;
  values: number[];
  samples: Sample[];
}

/** Runs a simple aggregation (not topk/bottomk/limitk/limit_ratio/count_values). */
export function aggregate(
  op: AggregationOp,
  vec: Sample[],
  group: GroupFn,
  param: number,
): Sample[] {
  const groups = new Map<string, Group>();
  const order: Group[] = [];
  for (const s of vec) {
    const f = s.v;
    const labels = group(s.metric);
    const key = labels.key();
    let g = groups.get(key);
    if (!g) {
      g = {
        labels,
        dropName: s.dropName,
        value: f,
        mean: f,
        c: 0,
        count: 1,
        incremental: false,
        values: [],
        samples: [],
      };
      // An infinite or NaN input makes the variance NaN, whatever follows.
      if (op === 'stddev' || op === 'stdvar') g.value = Number.isFinite(f) ? 0 : NaN;
      if (op === 'group') g.value = 1;
      if (op === 'quantile') g.values.push(f);
      groups.set(key, g);
      order.push(g);
      continue;
    }
    // Delayed name removal: the group loses its name if any member was to lose it.
    if (s.dropName) g.dropName = true;
    switch (op) {
      case 'sum':
        kahanSumInc(f, g.value, g.c);
        g.value = KAHAN.sum;
        g.c = KAHAN.c;
        break;
      case 'avg':
        g.count++;
        if (!g.incremental) {
          kahanSumInc(f, g.value, g.c);
          if (KAHAN.sum !== Infinity && KAHAN.sum !== -Infinity) {
            g.value = KAHAN.sum;
            g.c = KAHAN.c;
            break;
          }
          // The running sum would overflow: continue with an incremental mean.
          g.incremental = true;
          g.mean = g.value / (g.count - 1);
          g.c /= g.count - 1;
        }
        {
          const q = (g.count - 1) / g.count;
          kahanSumInc(f / g.count, q * g.mean, q * g.c);
          g.mean = KAHAN.sum;
          g.c = KAHAN.c;
        }
        break;
      case 'count':
        g.count++;
        break;
      case 'group':
        break;
      case 'max':
        if (g.value < f || g.value !== g.value) g.value = f;
        break;
      case 'min':
        if (g.value > f || g.value !== g.value) g.value = f;
        break;
      case 'stddev':
      case 'stdvar': {
        g.count++;
        const delta = f - g.mean;
        g.mean += delta / g.count;
        g.value += delta * (f - g.mean);
        break;
      }
      case 'quantile':
        g.values.push(f);
        break;
      default:
        throw new EvalError(`unsupported aggregation ${op}`);
    }
  }
  const out: Sample[] = [];
  for (const g of order) {
    let v: number;
    switch (op) {
      case 'sum':
        v = g.value + g.c;
        break;
      case 'avg':
        v = g.incremental ? g.mean + g.c : g.value / g.count + g.c / g.count;
        break;
      case 'count':
        v = g.count;
        break;
      case 'stdvar':
        v = g.value / g.count;
        break;
      case 'stddev':
        v = Math.sqrt(g.value / g.count);
        break;
      case 'quantile':
        v = quantile(param, g.values);
        break;
      default:
        v = g.value;
    }
    out.push({ metric: g.labels, v, t: 0, dropName: g.dropName && g.labels.has(METRIC_NAME) });
  }
  return out;
}

/** `topk`/`bottomk`: the k largest/smallest per group, keeping the input labels. */
export function aggregateK(
  op: 'topk' | 'bottomk',
  vec: Sample[],
  group: GroupFn,
  kParam: number,
): Sample[] {
  if (kParam !== kParam) throw new EvalError('Parameter value is NaN');
  if (kParam >= 2 ** 63) throw new EvalError(`Scalar value ${kParam} overflows int64`);
  const k = Math.trunc(kParam);
  if (k < 1) return [];
  const groups = new Map<string, Sample[]>();
  const order: Sample[][] = [];
  for (const s of vec) {
    const key = group(s.metric).key();
    let g = groups.get(key);
    if (!g) {
      g = [];
      groups.set(key, g);
      order.push(g);
    }
    g.push(s);
  }
  // NaN sorts last for both: it is never "larger" nor "smaller" than a number.
  const cmp =
    op === 'topk'
      ? (a: Sample, b: Sample): number =>
          a.v !== a.v ? (b.v !== b.v ? 0 : 1) : b.v !== b.v ? -1 : b.v - a.v
      : (a: Sample, b: Sample): number =>
          a.v !== a.v ? (b.v !== b.v ? 0 : 1) : b.v !== b.v ? -1 : a.v - b.v;
  const out: Sample[] = [];
  for (const g of order) {
    const sorted = g.slice().sort(cmp);
    for (let i = 0; i < Math.min(k, sorted.length); i++) out.push(sorted[i]);
  }
  return out;
}

/** `limitk(k, v)`: the first k series per group; `limit_ratio(r, v)`: a stable hash-based sample. */
export function aggregateLimit(
  op: 'limitk' | 'limit_ratio',
  vec: Sample[],
  group: GroupFn,
  p: number,
): Sample[] {
  if (p !== p)
    throw new EvalError(op === 'limitk' ? 'Parameter value is NaN' : 'Ratio value is NaN');
  const groups = new Map<string, number>();
  const out: Sample[] = [];
  if (op === 'limitk') {
    const k = Math.trunc(p);
    if (k < 1) return [];
    for (const s of vec) {
      const key = group(s.metric).key();
      const n = groups.get(key) ?? 0;
      if (n < k) {
        out.push(s);
        groups.set(key, n + 1);
      }
    }
    return out;
  }
  const r = Math.max(-1, Math.min(1, p));
  for (const s of vec) {
    const h = s.metric.hash() / 2 ** 32;
    if (r >= 0 ? h < r : h >= 1 + r) out.push(s);
  }
  return out;
}

/** `count_values("label", v)`: counts samples per distinct value. */
export function countValues(label: string, vec: Sample[], group: GroupFn): Sample[] {
  // Prometheus 3 accepts any non-empty UTF-8 label name.
  if (label === '' || !isValidUtf8(label))
    throw new EvalError(`invalid label name ${goQuote(label)}`);
  const counts = new Map<string, Sample>();
  const lb = new LabelsBuilder();
  for (const s of vec) {
    lb.reset(group(s.metric));
    lb.set(label, formatFloatF(s.v));
    const labels = lb.labels();
    const key = labels.key();
    const g = counts.get(key);
    if (g) {
      g.v++;
      if (s.dropName) g.dropName = labels.has(METRIC_NAME);
    } else
      counts.set(key, {
        metric: labels,
        v: 1,
        t: 0,
        dropName: s.dropName && labels.has(METRIC_NAME),
      });
  }
  return [...counts.values()];
}
