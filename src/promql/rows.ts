/**
 * Range-query values as rows: an instant vector at every step, one row of step values
 * per output series. Aggregations on the rollup path (see rollup.ts) already produce
 * their groups as rows; the binary operators here combine such rows whole, matching the
 * two sides' series once per query instead of once per step, so a dashboard's
 * `sum(rate(a[1m])) by (x) / sum(rate(b[1m])) by (x)` builds no object per step.
 *
 * Only the shapes whose answer cannot depend on the step are taken: one-to-one
 * matching with unique signatures on both sides (so no step can raise a matching error),
 * no `fill` modifiers, no set operators. Anything else returns null and the engine
 * evaluates step by step as before.
 * @module
 */

import { compareLabels, LabelsBuilder, type Labels } from '../model/labels.js';
import { dropsName, ELEM, elemBinop, resultMetric, signature } from './binary.js';
import type { BinaryOp, VectorMatching } from './parser/ast.js';
import { isComparison, isSetOp } from './parser/parser.js';
import type { GroupTable } from './rollup.js';
import type { ResultSeries } from './value.js';

/** An instant vector at every step: row `r` holds series `labels[r]`. */
export interface RowTable {
  labels: Labels[];
  /** Delayed `__name__` removal for every row (see Sample.dropName). */
  dropName: boolean;
  steps: number;
  /** `[row * steps + step]`; meaningful where `has` is 1. */
  val: Float64Array;
  has: Uint8Array;
  /** Input samples counted per step, for the query's sample limit. */
  samples: Float64Array;
}

/** The groups of an aggregation as rows (a group without inputs at a step has no value there). */
export function rowsOfGroups(g: GroupTable, samples: Float64Array): RowTable {
  const has = new Uint8Array(g.cnt.length);
  for (let x = 0; x < has.length; x++) has[x] = g.cnt[x] === 0 ? 0 : 1;
  return { labels: g.labels, dropName: false, steps: g.steps, val: g.val, has, samples };
}

/** `rows op s`, or `s op rows` when `swap`, as vectorScalarBinop at every step. */
export function rowsScalarBinop(
  op: BinaryOp,
  rows: RowTable,
  s: number,
  swap: boolean,
  bool: boolean,
): RowTable | null {
  if (isSetOp(op)) return null;
  const cmp = isComparison(op);
  const size = rows.labels.length * rows.steps;
  const val = new Float64Array(size);
  const has = new Uint8Array(size);
  const src = rows.val;
  const srcHas = rows.has;
  for (let x = 0; x < size; x++) {
    if (srcHas[x] === 0) continue;
    const f = src[x];
    if (swap) elemBinop(op, s, f);
    else elemBinop(op, f, s);
    let v = ELEM.v;
    let keep = ELEM.keep;
    if (cmp && swap) v = f;
    if (bool) {
      v = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    val[x] = v;
    has[x] = 1;
  }
  return {
    labels: rows.labels,
    dropName: rows.dropName || dropsName(op) || bool,
    steps: rows.steps,
    val,
    has,
    samples: rows.samples,
  };
}

/**
 * `lhs op rhs` between two instant vectors at every step, as vectorBinop; null when the
 * matching is not one-to-one, has a fill modifier, or a signature repeats on either side.
 */
export function rowsVectorBinop(
  op: BinaryOp,
  lhs: RowTable,
  rhs: RowTable,
  m: VectorMatching,
  bool: boolean,
  filled: boolean,
): RowTable | null {
  if (isSetOp(op) || filled || m.card !== 'one-to-one' || lhs.steps !== rhs.steps) return null;
  const right = new Map<string, number>();
  for (let r = 0; r < rhs.labels.length; r++) {
    const sig = signature(rhs.labels[r], m.on, m.labels);
    if (right.has(sig)) return null;
    right.set(sig, r);
  }
  const steps = lhs.steps;
  const seen = new Set<string>();
  const pairs: number[] = [];
  const labels: Labels[] = [];
  const lb = new LabelsBuilder();
  for (let l = 0; l < lhs.labels.length; l++) {
    const sig = signature(lhs.labels[l], m.on, m.labels);
    if (seen.has(sig)) return null;
    seen.add(sig);
    const r = right.get(sig);
    if (r === undefined) continue;
    pairs.push(l, r);
    labels.push(resultMetric(lhs.labels[l], rhs.labels[r], m, lb));
  }
  const val = new Float64Array(labels.length * steps);
  const has = new Uint8Array(val.length);
  const lv = lhs.val;
  const lh = lhs.has;
  const rv = rhs.val;
  const rh = rhs.has;
  for (let p = 0; p < labels.length; p++) {
    const a = pairs[2 * p] * steps;
    const b = pairs[2 * p + 1] * steps;
    const o = p * steps;
    if (op === '/' && !bool) {
      // The dashboards' ratio, without the operator switch.
      for (let k = 0; k < steps; k++) {
        if (lh[a + k] === 0 || rh[b + k] === 0) continue;
        val[o + k] = lv[a + k] / rv[b + k];
        has[o + k] = 1;
      }
      continue;
    }
    for (let k = 0; k < steps; k++) {
      if (lh[a + k] === 0 || rh[b + k] === 0) continue;
      elemBinop(op, lv[a + k], rv[b + k]);
      let v = ELEM.v;
      if (bool) v = ELEM.keep ? 1 : 0;
      else if (!ELEM.keep) continue;
      val[o + k] = v;
      has[o + k] = 1;
    }
  }
  const samples = new Float64Array(steps);
  for (let k = 0; k < steps; k++) samples[k] = lhs.samples[k] + rhs.samples[k];
  return {
    labels,
    dropName: bool || dropsName(op) || lhs.dropName,
    steps,
    val,
    has,
    samples,
  };
}

/**
 * The range-query result of `rows` on the grid `start + k * step`, sorted by labels, with
 * delayed name removal applied by `dropName`. Null when two rows end up with the same
 * labels (the step-by-step path then decides whether that is an error at some step).
 */
export function rowsToMatrix(
  rows: RowTable,
  start: number,
  step: number,
  dropName: (m: Labels) => Labels,
): ResultSeries[] | null {
  const { steps, val, has } = rows;
  const out: ResultSeries[] = [];
  const keys = new Set<string>();
  for (let r = 0; r < rows.labels.length; r++) {
    const o = r * steps;
    let n = 0;
    for (let k = 0; k < steps; k++) n += has[o + k];
    if (n === 0) continue;
    const metric = rows.dropName ? dropName(rows.labels[r]) : rows.labels[r];
    const key = metric.key();
    if (keys.has(key)) return null;
    keys.add(key);
    const ts = new Float64Array(n);
    const vs = new Float64Array(n);
    for (let k = 0, i = 0; k < steps; k++) {
      if (has[o + k] === 0) continue;
      ts[i] = start + k * step;
      vs[i] = val[o + k];
      i++;
    }
    out.push({ metric, ts, vs });
  }
  out.sort((a, b) => compareLabels(a.metric, b.metric));
  return out;
}
