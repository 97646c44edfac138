/**
 * One part of an aggregated rollup (`sum by (…) (rate(x[1m]))` and the like over a range
 * query): the series of a select are dealt out to parts by group, so that every group is
 * computed whole, in one part, adding its series in the set's order. A part's result is
 * then bit for bit what the single-threaded path computes for those groups, and parts run
 * on separate threads (see range-workers.ts) merge back into the same group table.
 *
 * Groups are dealt by the order in which their keys first appear among all the set's
 * series (with samples or not), which every thread reading the same set sees alike; the
 * merged table lists groups in the order of their first series with samples, as
 * {@link GroupAccumulator} does.
 * @module
 */

import type { Labels } from '../model/labels.js';
import type { SampleIterator, SeriesSet } from '../storage/interface.js';
import { groupKeyFn } from './aggregations.js';
import { readSeries, type SeriesScratch } from './batch-read.js';
import { RANGE_FUNCTIONS } from './functions.js';
import {
  GroupAccumulator,
  rollupLookback,
  rollupRow,
  rollupSawStartTimeOverlap,
  type GroupTable,
  type StepAggregationOp,
  type StepGrid,
} from './rollup.js';

/** What an aggregated rollup computes, as plain data (a worker thread receives it). */
export interface RollupAggSpec {
  grid: StepGrid;
  /** The selector's time range (ms, inclusive). */
  mint: number;
  maxt: number;
  /** The range function, or '' for an instant selector read at each step. */
  func: string;
  /** The range selector's range (ms); 0 for an instant selector. */
  range: number;
  offset: number;
  /** The range function's number arguments. */
  params: number[];
  lookbackMs: number;
  op: StepAggregationOp;
  grouping: string[];
  without: boolean;
  /** Epoch ms after which the part gives up with {@link RollupPartTimeout}. */
  deadline: number;
}

/** Hooks a part calls back into the evaluator. */
export interface RollupPartHooks {
  /** Called every 256 series: throws to end the query (timeout, cancellation). */
  checkAbort(): void;
  /** A series of a counter function (rate, increase) had a sample in some window. */
  counterSeen(m: Labels): void;
  /** A series' start timestamp overlapped its previous sample. */
  startTimeOverlap(m: Labels): void;
}

/** A part's groups and their rows for every step. */
export interface RollupPartResult {
  table: GroupTable;
  /** Per group, the ordinal in the set of its first series with samples. */
  first: number[];
  /** Samples read per step, for the max-samples limit. */
  samples: Float64Array;
  /** Series read (all parts' series are counted: the set is walked whole). */
  series: number;
  /** Distinct group keys met (with more than one part; else -1): parts must agree on it. */
  keys: number;
}

/** Thrown by a part past its deadline. */
export class RollupPartTimeout extends Error {}

/** Reused sample arrays, grown on demand. */
const scratch: SeriesScratch = {
  ts: new Float64Array(1024),
  vs: new Float64Array(1024),
  st: new Float64Array(64),
};

/**
 * Computes part `part` of `parts` of the aggregated rollup `spec` over `set`: the groups
 * whose key is the (part + k·parts)-th distinct key met. With `parts` 1, the whole
 * aggregation, exactly as the single-threaded path reads it.
 */
export function runRollupPart(
  set: SeriesSet,
  spec: RollupAggSpec,
  part: number,
  parts: number,
  hooks: RollupPartHooks,
): RollupPartResult {
  const { grid, mint, maxt, func, range, offset, params, lookbackMs } = spec;
  const steps = grid.steps;
  const fn = func === '' ? null : RANGE_FUNCTIONS[func];
  const isCounter = func === 'rate' || func === 'increase';
  const samples = new Float64Array(steps);
  const acc = new GroupAccumulator(spec.op, spec.grouping, spec.without, steps);
  const keyOf = parts > 1 ? groupKeyFn(spec.grouping, spec.without) : null;
  const ordinals = new Map<string, number>();
  const first: number[] = [];
  const vals = new Float64Array(steps);
  const has = new Uint8Array(steps);
  let it: SampleIterator | undefined = undefined;
  let ordinal = -1;
  while (set.next()) {
    ordinal++;
    if (((ordinal + 1) & 255) === 0) {
      hooks.checkAbort();
      if (Date.now() > spec.deadline) throw new RollupPartTimeout('query timed out');
    }
    const s = set.at();
    if (keyOf !== null) {
      const key = keyOf(s.labels);
      let o = ordinals.get(key);
      if (o === undefined) ordinals.set(key, (o = ordinals.size));
      if (o % parts !== part) continue;
    }
    it = s.iterator(it);
    // Range selectors never see stale markers (instant ones end at them).
    const n = readSeries(it, mint, maxt, fn !== null, scratch);
    // Start timestamps, only for the series whose iterator has them.
    const st = it.atST !== undefined ? scratch.st : null;
    if (n === 0) continue;
    if (fn !== null) {
      const seen = rollupRow(
        scratch.ts,
        scratch.vs,
        n,
        grid,
        range,
        offset,
        func,
        fn,
        params,
        vals,
        has,
        0,
        samples,
        st,
      );
      if (seen && isCounter) hooks.counterSeen(s.labels);
      if (st !== null && rollupSawStartTimeOverlap()) hooks.startTimeOverlap(s.labels);
    } else {
      rollupLookback(scratch.ts, scratch.vs, n, grid, lookbackMs, offset, vals, has, 0, samples);
    }
    const groups = first.length;
    const j = acc.groupOf(s.labels);
    if (j === groups) first.push(ordinal);
    acc.add(j, vals, has, 0);
  }
  const keys = keyOf !== null ? ordinals.size : -1;
  return { table: acc.finish(), first, samples, series: ordinal + 1, keys };
}

/**
 * Merges the parts of one aggregation (each group in exactly one part) into the table
 * the single-threaded path builds: groups in the order of their first series.
 */
export function mergeRollupParts(parts: readonly RollupPartResult[]): RollupPartResult {
  if (parts.length === 1) return parts[0];
  const steps = parts[0].table.steps;
  const order: { first: number; p: number; j: number }[] = [];
  const samples = new Float64Array(steps);
  for (let p = 0; p < parts.length; p++) {
    const r = parts[p];
    for (let j = 0; j < r.first.length; j++) order.push({ first: r.first[j], p, j });
    for (let k = 0; k < steps; k++) samples[k] += r.samples[k];
  }
  order.sort((a, b) => a.first - b.first);
  const val = new Float64Array(order.length * steps);
  const cnt = new Float64Array(order.length * steps);
  const labels: Labels[] = [];
  const first: number[] = [];
  for (let g = 0; g < order.length; g++) {
    const { p, j } = order[g];
    const t = parts[p].table;
    val.set(t.val.subarray(j * steps, (j + 1) * steps), g * steps);
    cnt.set(t.cnt.subarray(j * steps, (j + 1) * steps), g * steps);
    labels.push(t.labels[j]);
    first.push(order[g].first);
  }
  const { series, keys } = parts[0];
  return { table: { labels, steps, val, cnt }, first, samples, series, keys };
}
