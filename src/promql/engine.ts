/**
 * The PromQL engine: instant and range queries over a {@link Queryable}.
 *
 * Every selector is selected once for the whole query: before evaluation the tree is
 * walked to find each selector's time range (subquery ranges, offsets and `@` included,
 * as Prometheus's `getTimeRangesForSelector`), and its samples are loaded into
 * Float64Arrays. Evaluation then runs step by step; a selector at a step is a binary
 * search into those arrays, and a range window is a pair of subarray views, so no
 * object is made per sample. Errors are thrown from deep inside and caught once in
 * {@link Engine.exec}, where they become {@link QueryError}s; annotations are collected
 * in lists and never thrown.
 * @module
 */

import { QueryError, PromError } from '../model/errors.js';
import { Labels, LabelsBuilder, METRIC_NAME, compareLabels } from '../model/labels.js';
import { isStaleNaN } from '../model/stale.js';
import { Matcher } from '../model/matcher.js';
import type {
  Queryable,
  Querier,
  SampleIterator,
  SelectHints,
  SeriesSet,
} from '../storage/interface.js';
import {
  aggregate,
  aggregateK,
  aggregateLimit,
  countValues,
  groupKeyFn,
  groupLabels,
} from './aggregations.js';
import { EvalError, scalarBinop, setBinop, vectorBinop, vectorScalarBinop } from './binary.js';
import {
  KEEPS_NAME,
  MATH_FUNCTIONS,
  RANGE_FUNCTIONS,
  TIME_FUNCTIONS,
  absentLabels,
  compileReplaceRegex,
  labelReplace,
  type RangeFn,
  type RangeWindow,
} from './functions.js';
import { histogramFraction, histogramQuantile, HistogramSteps } from './histogram.js';
import { formatFloatF, formatFloatG } from './mathutil.js';
import { isValidUtf8 } from './parser/lex.js';
import {
  kindOf,
  walk,
  type Call,
  type Expr,
  type PosRange,
  type Subquery,
  type VectorSelector,
} from './parser/ast.js';
import { isSetOp, lineCol, parseExpr, PromQLParseError } from './parser/parser.js';
import { dropStaleMarkers, hasStaleMarker, readSeries, type SeriesScratch } from './batch-read.js';
import { readSamplesWithST, startTimeOverlapWarning } from './start-timestamps.js';
import { matcherTriples, RangeWorkerTimeout, type RangeWorkers } from './range-workers.js';
import {
  mergeRollupParts,
  RollupPartTimeout,
  runRollupPart,
  type RollupAggSpec,
  type RollupPartResult,
} from './rollup-part.js';
import {
  rowsOfGroups,
  rowsScalarBinop,
  rowsToMatrix,
  rowsVectorBinop,
  type RowTable,
} from './rows.js';
import {
  GroupAccumulator,
  rollupRow,
  rollupSawStartTimeOverlap,
  type GroupTable,
  type StepAggregationOp,
  type StepGrid,
} from './rollup.js';
import type {
  QueryResult,
  QueryValue,
  RangeSeries,
  ResultSeries,
  Sample,
  StepValue,
} from './value.js';

/** Engine settings; the defaults are Prometheus's. */
export interface EngineOptions {
  /** How far back an instant selector looks for a sample (ms). Default 5m. */
  lookbackDeltaMs?: number;
  /** Most samples a query may hold at once. Default 50,000,000. */
  maxSamples?: number;
  /** Query timeout (ms). Default 2m. */
  timeoutMs?: number;
  /** Step of subqueries without an explicit one (ms). Default 1m. */
  defaultEvalIntervalMs?: number;
  /**
   * Worker threads that take parts of large aggregated range queries over persisted
   * data (see range-workers.ts); none by default.
   */
  rangeWorkers?: RangeWorkers | null;
}

/** Most points a range query may return per series. */
export const MAX_POINTS_PER_SERIES = 11000;

/** Largest block (samples) the loader allocates unless one series needs more. */
const MAX_LOAD_BLOCK = 1 << 18;

/** Samples of one selected series, loaded once per query. */
interface LoadedSeries {
  metric: Labels;
  ts: Float64Array;
  vs: Float64Array;
  hasStale: boolean;
  /** Start timestamps parallel to `ts`, only for series whose iterator has them. */
  st?: Float64Array;
}

/**
 * A range function's values for all steps of a range query, series-major. `vals`/`has`
 * are null when an aggregation consumed the rows as they were computed (see load()).
 */
interface StepTable {
  steps: number;
  vals: Float64Array | null;
  has: Uint8Array | null;
  /** Samples read per step, for the max-samples limit. */
  samples: Float64Array;
}

/**
 * How a range query reads a selector series-at-a-time: the rollup call over it (null for
 * an instant selector, whose value at a step is its latest sample within the lookback),
 * and the aggregation that adds up the rows (null when they are kept per series, which
 * only a rollup call does).
 */
interface RollupPlan {
  sel: VectorSelector;
  rc: RollupCall | null;
  agg: Extract<Expr, { type: 'aggregation' }> | null;
  op: StepAggregationOp | null;
}

/**
 * A range function over a plain matrix selector with constant other arguments: what a
 * range query can evaluate series-at-a-time over all steps (see rollup.ts).
 */
interface RollupCall {
  call: Call;
  /** Index of the matrix argument. */
  mi: number;
  arg: Extract<Expr, { type: 'matrixSelector' }>;
  fn: RangeFn;
  params: number[];
  checkCounter: boolean;
}

/** The parts of a rollup call, or null when `e` is not one (see {@link RollupCall}). */
function rollupCall(e: Expr): RollupCall | null {
  if (e.type !== 'call' || !(e.func in RANGE_FUNCTIONS)) return null;
  let mi = e.args.findIndex((a) => kindOf(a) === 'matrix');
  if (mi < 0) mi = 0;
  const arg = unwrapParens(e.args[mi]);
  if (arg.type !== 'matrixSelector' || arg.selector.extended !== null) return null;
  const params: number[] = [];
  for (let i = 0; i < e.args.length; i++) {
    if (i === mi) continue;
    const x = unwrapParens(e.args[i]);
    if (x.type !== 'numberLiteral') return null;
    params.push(x.val);
  }
  const checkCounter = e.func === 'rate' || e.func === 'increase';
  return { call: e, mi, arg, fn: RANGE_FUNCTIONS[e.func], params, checkCounter };
}

/**
 * The aggregation of a range query that can read its argument's rows for all steps
 * (`sum|count|min|max|group` of a rollup call or of a plain instant selector, not grouping
 * by the name), or null.
 */
function stepAggregation(
  e: Extract<Expr, { type: 'aggregation' }>,
): { op: StepAggregationOp; rc: RollupCall | null; sel: VectorSelector } | null {
  const op = e.op;
  if (op !== 'sum' && op !== 'count' && op !== 'min' && op !== 'max' && op !== 'group') return null;
  if (!e.without && e.grouping.includes(METRIC_NAME)) return null;
  const arg = unwrapParens(e.expr);
  if (arg.type === 'vectorSelector') {
    return arg.extended === null ? { op, rc: null, sel: arg } : null;
  }
  const rc = rollupCall(arg);
  if (rc === null) return null;
  // These check their parameters at each step, which the per-step path does.
  const f = rc.call.func;
  if (f === 'quantile_over_time' || f === 'double_exponential_smoothing') return null;
  return { op, rc, sel: rc.arg.selector };
}

/** Thrown inside evaluation to end the query with a typed error. */
class AbortQuery extends Error {
  readonly type: 'timeout' | 'canceled' | 'execution';
  constructor(type: 'timeout' | 'canceled' | 'execution', message: string) {
    super(message);
    this.type = type;
  }
}

/** Runs PromQL queries. One engine serves many queries concurrently. */
export class Engine {
  readonly lookbackDeltaMs: number;
  readonly maxSamples: number;
  readonly timeoutMs: number;
  readonly defaultEvalIntervalMs: number;
  readonly rangeWorkers: RangeWorkers | null;

  constructor(opts: EngineOptions = {}) {
    this.rangeWorkers = opts.rangeWorkers ?? null;
    this.lookbackDeltaMs = opts.lookbackDeltaMs ?? 5 * 60_000;
    this.maxSamples = opts.maxSamples ?? 50_000_000;
    this.timeoutMs = opts.timeoutMs ?? 120_000;
    this.defaultEvalIntervalMs = opts.defaultEvalIntervalMs ?? 60_000;
  }

  /** Evaluates `query` at time `t` (ms). Throws a {@link QueryError}. */
  async instantQuery(
    queryable: Queryable,
    query: string,
    t: number,
    signal?: AbortSignal,
  ): Promise<QueryResult> {
    return this.exec(queryable, query, t, t, 0, signal);
  }

  /** Evaluates `query` at every step of `[start, end]` (ms). Throws a {@link QueryError}. */
  async rangeQuery(
    queryable: Queryable,
    query: string,
    start: number,
    end: number,
    step: number,
    signal?: AbortSignal,
  ): Promise<QueryResult> {
    if (!(step > 0))
      throw new QueryError(
        'bad_data',
        'zero or negative query resolution step widths are not accepted. Try a positive integer',
      );
    if (end < start)
      throw new QueryError('bad_data', 'end timestamp must not be before start time');
    if ((end - start) / step > MAX_POINTS_PER_SERIES) {
      throw new QueryError(
        'bad_data',
        'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
      );
    }
    return this.exec(queryable, query, start, end, step, signal);
  }

  /** Parses and runs a query; `step` 0 means an instant query at `start`. */
  async exec(
    queryable: Queryable,
    query: string,
    start: number,
    end: number,
    step: number,
    signal?: AbortSignal,
  ): Promise<QueryResult> {
    let expr: Expr;
    try {
      expr = parseExpr(query, { stepMs: step, rangeMs: end - start });
    } catch (e) {
      if (e instanceof PromQLParseError) throw new QueryError('bad_data', e.message, { cause: e });
      throw e;
    }
    return this.execExpr(queryable, query, expr, start, end, step, signal);
  }

  /**
   * Runs an already parsed expression (`query` is its text, for annotation positions).
   * The tree must not be shared with a concurrent query.
   */
  async execExpr(
    queryable: Queryable,
    query: string,
    expr: Expr,
    start: number,
    end: number,
    step: number,
    signal?: AbortSignal,
  ): Promise<QueryResult> {
    if (step > 0) {
      const k = kindOf(expr);
      if (k !== 'scalar' && k !== 'vector') {
        throw new QueryError(
          'bad_data',
          `invalid expression type ${JSON.stringify(k === 'matrix' ? 'range vector' : k)} for range query, must be Scalar or instant Vector`,
        );
      }
    }
    const ev = new Evaluator(this, query, start, end, step, signal);
    let querier: Querier | null = null;
    try {
      querier = await ev.load(queryable, expr);
      const value = step > 0 ? await ev.runRange(expr) : ev.runInstant(expr);
      return { value, warnings: [...ev.warnings], infos: [...ev.infos] };
    } catch (e) {
      if (e instanceof QueryError) throw e;
      if (e instanceof AbortQuery) throw new QueryError(e.type, e.message, { cause: e });
      if (e instanceof EvalError || e instanceof PromError) {
        throw new QueryError('execution', e.message, { cause: e });
      }
      throw new QueryError('execution', `unexpected error: ${(e as Error).message}`, { cause: e });
    } finally {
      querier?.close();
    }
  }
}

/** Index of the first element of sorted `a` greater than `x`. */
function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The index of the sample an instant selector picks at `ref` from loaded series `s`: the
 * latest at or before `ref` and after `minT` (the lookback window), unless it is a stale
 * marker; -1 when there is none.
 */
function pickedSample(s: LoadedSeries, ref: number, minT: number): number {
  const i = upperBound(s.ts, ref) - 1;
  if (i < 0 || s.ts[i] <= minT) return -1;
  const v = s.vs[i];
  return v !== v && isStaleNaN(v) ? -1 : i;
}

/**
 * Reads a selector's series over `[mint, maxt]`. The samples are copied into shared blocks
 * (one copy per sample), and each series gets views onto its part. A full block is not
 * grown: a fresh, larger one takes over and only the series being read moves, so nothing
 * already read is copied again. Range selectors (`range` > 0) never see stale markers:
 * they are dropped here, once.
 */
function loadSamples(set: SeriesSet, mint: number, maxt: number, range: number): LoadedSeries[] {
  const loaded: LoadedSeries[] = [];
  let it: SampleIterator | undefined = undefined;
  let tsBuf = new Float64Array(1024);
  let vsBuf = new Float64Array(1024);
  let n = 0;
  while (set.next()) {
    const s = set.at();
    it = s.iterator(it);
    if (it.atST !== undefined) {
      const r = readSamplesWithST(it, mint, maxt, range > 0);
      if (r !== null) loaded.push({ metric: s.labels, ...r });
      continue;
    }
    let lo = n;
    let hasStale = false;
    const batched = it.readBatch !== undefined;
    for (let vt = it.seek(mint); vt !== 0; vt = it.next()) {
      if (n === tsBuf.length) {
        const part = n - lo;
        const size = Math.max(Math.min(n * 2, MAX_LOAD_BLOCK), part * 2);
        const nt = new Float64Array(size);
        nt.set(tsBuf.subarray(lo, n));
        tsBuf = nt;
        const nv = new Float64Array(size);
        nv.set(vsBuf.subarray(lo, n));
        vsBuf = nv;
        lo = 0;
        n = part;
      }
      if (batched) {
        // A chunk at a time (see batch-read.ts); stale markers are handled below.
        const c = it.readBatch!(maxt, tsBuf, vsBuf, n);
        if (c === 0) break;
        n += c;
        continue;
      }
      const t = it.atT();
      if (t > maxt) break;
      const v = it.atV();
      if (v !== v && isStaleNaN(v)) {
        if (range > 0) continue;
        hasStale = true;
      }
      tsBuf[n] = t;
      vsBuf[n] = v;
      n++;
    }
    const err = it.err();
    if (err) throw err;
    if (batched) {
      if (range > 0) n = dropStaleMarkers(tsBuf, vsBuf, lo, n);
      else hasStale = hasStaleMarker(vsBuf, lo, n);
    }
    if (n === lo) continue;
    loaded.push({
      metric: s.labels,
      ts: tsBuf.subarray(lo, n),
      vs: vsBuf.subarray(lo, n),
      hasStale,
    });
  }
  return loaded;
}

/** A copy of `a` in an array of twice its length. */
function doubled<T extends Float64Array | Uint8Array>(a: T): T {
  const b = new (a.constructor as new (n: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

const NO_SAMPLES = new Float64Array(0);

/** Removes `__name__` (with `__type__` and `__unit__`, which describe it) from samples marked for delayed name removal. */
function materialiseNames(vec: Sample[]): Sample[] {
  let any = false;
  for (const s of vec) if (s.dropName) any = true;
  if (!any) return vec;
  return vec.map((s) =>
    s.dropName ? { metric: dropMetricName(s.metric), v: s.v, t: s.t, dropName: false } : s,
  );
}

/** The labels without the metric name and the type/unit labels that belong to it. */
export function dropMetricName(m: Labels): Labels {
  return m.without(METRIC_NAME, '__type__', '__unit__');
}

function unwrapParens(e: Expr): Expr {
  while (e.type === 'parenExpr') e = e.expr;
  return e;
}

class Evaluator {
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();
  private readonly eng: Engine;
  private readonly query: string;
  private readonly start: number;
  private readonly end: number;
  private readonly step: number;
  private readonly signal: AbortSignal | undefined;
  private readonly deadline: number;
  private readonly data = new Map<VectorSelector, LoadedSeries[]>();
  private readonly subqueryCache = new Map<Subquery, Map<number, Sample[]>>();
  private readonly regexCache = new Map<string, RegExp>();
  /** Range-function results for every step, per call (see precomputed()); null: not applicable. */
  private readonly stepTables = new Map<Call, StepTable | null>();
  /** Sample counts per step of instant selectors aggregated at load (see loadRollup()). */
  private readonly selectorTables = new Map<VectorSelector, StepTable>();
  /**
   * Per aggregation on the fast path: its groups and their results for every step,
   * group-major (`[group * steps + step]`), filled in one pass over the step table.
   */
  private readonly groupIndex = new Map<Expr, GroupTable>();
  /** Per aggregation: whether (and how) it reads a rollup call's rows; see stepAggregation. */
  private readonly stepAggs = new Map<Expr, ReturnType<typeof stepAggregation>>();
  /** Per histogram_quantile call of a range query: its bucket layout over a group table. */
  private readonly histogramSteps = new Map<Call, HistogramSteps>();
  /** Reused while reading one series at a time (see loadRollup()). */
  /** One series' samples at a time, while rows are computed (see readSeries). */
  private readonly scratch: SeriesScratch = {
    ts: new Float64Array(1024),
    vs: new Float64Array(1024),
    st: new Float64Array(64),
  };
  /** Nesting depth of subquery evaluation; step tables only serve the outer steps. */
  private subqueryDepth = 0;
  /**
   * Group labels per aggregation, by input series (`without`) or by grouping values
   * (`by`): computed once per query, not per step.
   */
  private readonly groupCache = new Map<Expr, Map<Labels | string, Labels>>();
  private readonly lb = new LabelsBuilder();
  private samplesInStep = 0;

  constructor(
    eng: Engine,
    query: string,
    start: number,
    end: number,
    step: number,
    signal: AbortSignal | undefined,
  ) {
    this.eng = eng;
    this.query = query;
    this.start = start;
    this.end = end;
    this.step = step;
    this.signal = signal;
    this.deadline = Date.now() + eng.timeoutMs;
  }

  // ---- loading ----------------------------------------------------------------------

  /** Selects every selector of `expr` once, over the whole range it will need. */
  async load(queryable: Queryable, expr: Expr): Promise<Querier | null> {
    const ranges: {
      sel: VectorSelector;
      mint: number;
      maxt: number;
      range: number;
      func: string;
      sorted: boolean;
      rollup: RollupPlan | null;
    }[] = [];
    walk(expr, (e, path) => {
      if (e.type !== 'vectorSelector') return;
      const parent = path[path.length - 1];
      const range = parent && parent.type === 'matrixSelector' ? parent.range : 0;
      let func = '';
      for (let i = path.length - 1; i >= 0; i--) {
        const p = path[i];
        if (p.type === 'call') {
          func = p.func;
          break;
        }
      }
      const [mint, maxt] = this.selectorRange(e, path, range);
      ranges.push({
        sel: e,
        mint,
        maxt,
        range,
        func,
        sorted: !feedsOnlyAggregation(path),
        rollup: this.rollupPlan(e, path),
      });
    });
    // info()'s info-series selector is read at the reference times of its first argument,
    // so it needs the union of that argument's ranges, and only its name matchers.
    const infoMatchers = new Map<VectorSelector, Matcher[]>();
    walk(expr, (e) => {
      if (e.type !== 'call' || e.func !== 'info' || e.args.length < 2) return;
      const sel = unwrapParens(e.args[1]);
      if (sel.type !== 'vectorSelector') return;
      const inner = new Set<VectorSelector>();
      walk(e.args[0], (x) => {
        if (x.type === 'vectorSelector') inner.add(x);
      });
      const r = ranges.find((x) => x.sel === sel);
      if (!r) return;
      r.mint = Infinity;
      r.maxt = -Infinity;
      for (const x of ranges) {
        if (!inner.has(x.sel)) continue;
        r.mint = Math.min(r.mint, x.mint - this.eng.lookbackDeltaMs);
        r.maxt = Math.max(r.maxt, x.maxt);
      }
      if (r.mint > r.maxt) r.mint = r.maxt = 0;
      infoMatchers.set(sel, infoNameMatchers(sel));
    });
    if (ranges.length === 0) return null;
    let mint = Infinity;
    let maxt = -Infinity;
    for (const r of ranges) {
      mint = Math.min(mint, r.mint);
      maxt = Math.max(maxt, r.maxt);
    }
    const querier = await queryable.querier(mint, maxt);
    // Whether worker threads can read what this querier reads (see range-workers.ts).
    const workers = this.step > 0 ? this.eng.rangeWorkers : null;
    const source = workers !== null ? workers.source(mint, maxt) : null;
    for (const r of ranges) {
      const hints: SelectHints = {
        start: r.mint,
        end: r.maxt,
        step: this.step,
        func: r.func,
        range: r.range,
      };
      const set = querier.select(r.sorted, hints, infoMatchers.get(r.sel) ?? r.sel.matchers);
      if (r.rollup !== null && r.rollup.agg !== null) {
        const split =
          workers !== null && source !== null
            ? {
                workers,
                source,
                qmint: mint,
                qmaxt: maxt,
                sorted: r.sorted,
                hints,
                reselect: () => querier.select(r.sorted, hints, r.sel.matchers),
              }
            : null;
        await this.loadAggregatedRollup(set, r.rollup, r.mint, r.maxt, split);
      } else if (r.rollup !== null && r.rollup.rc !== null) {
        this.loadRollup(set, r.rollup.rc, r.mint, r.maxt);
      } else this.data.set(r.sel, loadSamples(set, r.mint, r.maxt, r.range));
      const err = set.err();
      if (err) throw err;
      for (const w of set.warnings()) this.warnings.add(w);
    }
    return querier;
  }

  /**
   * How a range query can read `sel` series-at-a-time (see {@link RollupPlan}), or null
   * when it is read step by step: in instant queries, subqueries, with `@`, with an
   * extended range, or anywhere but as the matrix argument of a rollup call or as the
   * argument of an aggregation on the {@link groupTable} path.
   */
  private rollupPlan(sel: VectorSelector, path: readonly Expr[]): RollupPlan | null {
    if (this.step === 0 || this.fixedAt(sel) !== null) return null;
    if (path.some((p) => p.type === 'subquery')) return null;
    let i = path.length - 1;
    if (i >= 0 && path[i].type !== 'matrixSelector') {
      while (i >= 0 && path[i].type === 'parenExpr') i--;
      const p = i >= 0 ? path[i] : null;
      if (p === null || p.type !== 'aggregation') return null;
      const sa = this.stepAggregationOf(p);
      if (sa === null || sa.rc !== null || sa.sel !== sel) return null;
      return { sel, rc: null, agg: p, op: sa.op };
    }
    if (i < 0) return null;
    i--;
    while (i >= 0 && path[i].type === 'parenExpr') i--;
    if (i < 0) return null;
    const rc = rollupCall(path[i]);
    if (rc === null || rc.arg.selector !== sel) return null;
    i--;
    while (i >= 0 && path[i].type === 'parenExpr') i--;
    const p = i >= 0 ? path[i] : null;
    if (p !== null && p.type === 'aggregation') {
      const sa = this.stepAggregationOf(p);
      if (sa !== null && sa.rc !== null && sa.rc.call === rc.call)
        return { sel, rc: sa.rc, agg: p, op: sa.op };
    }
    return { sel, rc, agg: null, op: null };
  }

  /** stepAggregation(e), computed once per query. */
  private stepAggregationOf(
    e: Extract<Expr, { type: 'aggregation' }>,
  ): ReturnType<typeof stepAggregation> {
    let sa = this.stepAggs.get(e);
    if (sa === undefined) this.stepAggs.set(e, (sa = stepAggregation(e)));
    return sa;
  }

  /**
   * Reads the selector of a rollup call (not under an aggregation: see
   * loadAggregatedRollup()) one series at a time into reused arrays and evaluates the call
   * over all steps at once into its step table, one row per series, so the samples are
   * never kept.
   */
  private loadRollup(set: SeriesSet, rc: RollupCall, mint: number, maxt: number): void {
    const steps = Math.floor((this.end - this.start) / this.step) + 1;
    const grid: StepGrid = { start: this.start, step: this.step, steps };
    const samples = new Float64Array(steps);
    // One row per series, growing by doubling.
    let vals = new Float64Array(64 * steps);
    let has = new Uint8Array(vals.length);
    const loaded: LoadedSeries[] = [];
    const scratch = this.scratch;
    let it: SampleIterator | undefined = undefined;
    let read = 0;
    while (set.next()) {
      // The whole query's work happens here: honour the timeout and cancellation.
      if ((++read & 255) === 0) this.checkAbort();
      const s = set.at();
      it = s.iterator(it);
      // Range selectors never see stale markers.
      const n = readSeries(it, mint, maxt, true, scratch);
      // Start timestamps, only for the series whose iterator has them.
      const st = it.atST !== undefined ? scratch.st : null;
      if (n === 0) continue;
      const at = loaded.length * steps;
      if (at + steps > vals.length) {
        vals = doubled(vals);
        has = doubled(has);
      }
      const { range, selector } = rc.arg;
      const seen = rollupRow(
        scratch.ts,
        scratch.vs,
        n,
        grid,
        range,
        selector.offset,
        rc.call.func,
        rc.fn,
        rc.params,
        vals,
        has,
        at,
        samples,
        st,
      );
      if (seen && rc.checkCounter) this.checkCounterName(s.labels, rc.call.args[rc.mi].pos);
      if (st !== null && rollupSawStartTimeOverlap())
        this.warnStartTimeOverlap(s.labels, rc.call.args[rc.mi].pos);
      loaded.push({ metric: s.labels, ts: NO_SAMPLES, vs: NO_SAMPLES, hasStale: false });
    }
    this.data.set(rc.arg.selector, loaded);
    this.stepTables.set(rc.call, { steps, vals, has, samples });
  }

  /**
   * Reads a rollup selector under an aggregation (see runRollupPart()): on the main thread
   * alone, or, when `split` offers workers over the same persisted data and an earlier run
   * found the selector large, with each worker computing a share of the groups at the
   * same time. Either way each group adds its series in the same order, so the bits match.
   */
  private async loadAggregatedRollup(
    set: SeriesSet,
    plan: RollupPlan,
    mint: number,
    maxt: number,
    split: {
      workers: RangeWorkers;
      source: unknown;
      qmint: number;
      qmaxt: number;
      sorted: boolean;
      hints: SelectHints;
      /** The same select again, for computing on this thread alone after all. */
      reselect: () => SeriesSet;
    } | null,
  ): Promise<void> {
    const { sel, rc, agg, op } = plan;
    const steps = Math.floor((this.end - this.start) / this.step) + 1;
    const spec: RollupAggSpec = {
      grid: { start: this.start, step: this.step, steps },
      mint,
      maxt,
      func: rc !== null ? rc.call.func : '',
      range: rc !== null ? rc.arg.range : 0,
      offset: rc !== null ? rc.arg.selector.offset : sel.offset,
      params: rc !== null ? rc.params : [],
      lookbackMs: this.eng.lookbackDeltaMs,
      op: op!,
      grouping: agg!.grouping,
      without: agg!.without,
      deadline: this.deadline,
    };
    const pos = rc !== null ? rc.call.args[rc.mi].pos : sel.pos;
    const key = sel.matchers.join(',');
    // One metric name only, so the annotations come out as on one thread.
    const oneName = sel.matchers.some((m) => m.name === METRIC_NAME && m.type === '=');
    const parts =
      split !== null && oneName && split.workers.worthSplitting(key, steps)
        ? split.workers.parts
        : 1;
    const remote: Promise<RollupPartResult & { counterNames: string[] }>[] = [];
    for (let p = 1; p < parts; p++) {
      const { workers, source, qmint, qmaxt, sorted, hints } = split!;
      const matchers = matcherTriples(sel.matchers);
      remote.push(
        workers.run({ source, qmint, qmaxt, sorted, hints, matchers, spec, part: p, parts }),
      );
    }
    let results: RollupPartResult[];
    try {
      const hooks = {
        checkAbort: () => this.checkAbort(),
        counterSeen: (m: Labels) => this.checkCounterName(m, pos),
        startTimeOverlap: (m: Labels) => this.warnStartTimeOverlap(m, pos),
      };
      const local = runRollupPart(set, spec, 0, parts, hooks);
      let others: Awaited<(typeof remote)[number]>[] | null = null;
      try {
        others = await Promise.all(remote);
      } catch (e) {
        if (e instanceof RangeWorkerTimeout) throw e;
        // A worker failed: computed below on this thread alone.
      }
      if (
        others !== null &&
        others.every((o) => o.series === local.series && o.keys === local.keys)
      ) {
        for (const o of others) {
          for (const name of o.counterNames) {
            this.checkCounterName(Labels.fromSortedPairs([METRIC_NAME, name]), pos);
          }
        }
        results = [local, ...others];
      } else if (parts === 1) {
        results = [local];
      } else {
        // A worker failed, or saw other series than this thread (the store changed
        // between the two selects): the groups were not dealt alike, so start again here.
        const again = split!.reselect();
        results = [runRollupPart(again, spec, 0, 1, hooks)];
        const err = again.err();
        if (err) throw err;
      }
    } catch (e) {
      // The workers' parts are no longer wanted (they end at the deadline themselves).
      for (const r of remote) r.catch(() => {});
      if (e instanceof RollupPartTimeout || e instanceof RangeWorkerTimeout)
        throw new AbortQuery('timeout', 'query timed out in expression evaluation');
      throw e;
    }
    const merged = mergeRollupParts(results);
    split?.workers.noteSeries(key, merged.series);
    this.data.set(sel, []);
    const table = { steps, vals: null, has: null, samples: merged.samples };
    if (rc !== null) this.stepTables.set(rc.call, table);
    else this.selectorTables.set(sel, table);
    this.groupIndex.set(agg!, merged.table);
  }

  /** The `[mint, maxt]` a selector needs over the whole query (getTimeRangesForSelector). */
  private selectorRange(sel: VectorSelector, path: Expr[], range: number): [number, number] {
    let start = this.start;
    let end = this.end;
    let subqOffset = 0;
    let subqRange = 0;
    let subqTs: number | null = null;
    for (const p of path) {
      if (p.type !== 'subquery') continue;
      subqOffset += p.offset;
      subqRange += p.range;
      const at = this.fixedAt(p);
      if (at !== null) {
        subqOffset = p.offset;
        subqRange = p.range;
        subqTs = at;
      }
    }
    if (subqTs !== null) {
      start = subqTs;
      end = subqTs;
    }
    const at = this.fixedAt(sel);
    if (at !== null) {
      start = at;
      end = at;
    } else {
      start -= subqOffset + subqRange;
      end -= subqOffset;
    }
    start -= range === 0 ? this.eng.lookbackDeltaMs : range;
    // Extended ranges also read the samples around the window edges.
    if (sel.extended !== null && range > 0) start -= this.eng.lookbackDeltaMs;
    if (sel.extended === 'smoothed') end += this.eng.lookbackDeltaMs;
    start -= sel.offset;
    end -= sel.offset;
    return [start, end];
  }

  /** The `@` time of a selector or subquery, or null when it has none. */
  private fixedAt(e: VectorSelector | Subquery): number | null {
    if (e.timestamp !== null) return e.timestamp;
    if (e.startOrEnd === 'start') return this.start;
    if (e.startOrEnd === 'end') return this.end;
    return null;
  }

  // ---- top level ----------------------------------------------------------------------

  runInstant(expr: Expr): QueryValue {
    const t = this.start;
    const v = this.evalStep(expr, t);
    switch (v.kind) {
      case 'scalar':
        return { type: 'scalar', t, v: v.v };
      case 'string':
        return { type: 'string', t, v: v.s };
      case 'vector': {
        const vec = this.finishVector(v.vec);
        return { type: 'vector', samples: vec.map((s) => ({ metric: s.metric, t, v: s.v })) };
      }
      case 'matrix': {
        const out: ResultSeries[] = [];
        const seen = new Set<string>();
        for (const s of v.series) {
          const metric = s.dropName ? dropMetricName(s.metric) : s.metric;
          const key = metric.key();
          if (seen.has(key))
            throw new EvalError('vector cannot contain metrics with the same labelset');
          seen.add(key);
          out.push({ metric, ts: s.ts, vs: s.vs });
        }
        out.sort((a, b) => compareLabels(a.metric, b.metric));
        return { type: 'matrix', series: out };
      }
    }
  }

  async runRange(expr: Expr): Promise<QueryValue> {
    const rows = this.rowsOf(expr);
    if (rows !== null) {
      // The rows were computed without the step loop's checks: a query past its timeout
      // fails here as it would have at its next step.
      this.checkAbort();
      for (let k = 0; k < rows.steps; k++) {
        this.samplesInStep = 0;
        this.countSamples(rows.samples[k]);
      }
      const series = rowsToMatrix(rows, this.start, this.step, dropMetricName);
      if (series !== null) return { type: 'matrix', series };
    }
    const acc = new Map<string, { metric: Labels; ts: number[]; vs: number[] }>();
    let lastYield = Date.now();
    for (let t = this.start; t <= this.end; t += this.step) {
      this.checkAbort();
      if (Date.now() - lastYield > 20) {
        // Let other work run between steps of a long query.
        await new Promise((r) => setImmediate(r));
        lastYield = Date.now();
      }
      const v = this.evalStep(expr, t);
      if (v.kind === 'scalar') {
        let s = acc.get('');
        if (!s) acc.set('', (s = { metric: Labels.EMPTY, ts: [], vs: [] }));
        s.ts.push(t);
        s.vs.push(v.v);
        continue;
      }
      if (v.kind !== 'vector') throw new EvalError(`invalid expression type for range query`);
      for (const smp of this.finishVector(v.vec)) {
        const key = smp.metric.key();
        let s = acc.get(key);
        if (!s) acc.set(key, (s = { metric: smp.metric, ts: [], vs: [] }));
        s.ts.push(t);
        s.vs.push(smp.v);
      }
    }
    const series: ResultSeries[] = [...acc.values()].map((s) => ({
      metric: s.metric,
      ts: Float64Array.from(s.ts),
      vs: Float64Array.from(s.vs),
    }));
    series.sort((a, b) => compareLabels(a.metric, b.metric));
    return { type: 'matrix', series };
  }

  /** Applies delayed name removal and rejects duplicate label sets. */
  private finishVector(vec: Sample[]): Sample[] {
    const out = materialiseNames(vec);
    if (out.length > 1) {
      const seen = new Set<string>();
      for (const s of out) {
        const k = s.metric.key();
        if (seen.has(k))
          throw new EvalError('vector cannot contain metrics with the same labelset');
        seen.add(k);
      }
    }
    return out;
  }

  private evalStep(expr: Expr, t: number): StepValue {
    this.samplesInStep = 0;
    return this.eval(expr, t);
  }

  private checkAbort(): void {
    if (this.signal?.aborted) throw new AbortQuery('canceled', 'query was canceled');
    if (Date.now() > this.deadline)
      throw new AbortQuery('timeout', 'query timed out in expression evaluation');
  }

  private countSamples(n: number): void {
    this.samplesInStep += n;
    if (this.samplesInStep > this.eng.maxSamples) {
      throw new AbortQuery(
        'execution',
        'query processing would load too many samples into memory in query execution',
      );
    }
  }

  private annotate(kind: 'warn' | 'info', msg: string, pos: PosRange): void {
    const { line, col } = lineCol(this.query, pos.start);
    const text = `PromQL ${kind === 'warn' ? 'warning' : 'info'}: ${msg} (${line}:${col})`;
    (kind === 'warn' ? this.warnings : this.infos).add(text);
  }

  // ---- evaluation ---------------------------------------------------------------------

  private eval(e: Expr, t: number): StepValue {
    switch (e.type) {
      case 'numberLiteral':
        return { kind: 'scalar', v: e.val };
      case 'stringLiteral':
        return { kind: 'string', s: e.val };
      case 'parenExpr':
        return this.eval(e.expr, t);
      case 'unaryExpr': {
        const v = this.eval(e.expr, t);
        if (e.op === '+') return v;
        if (v.kind === 'scalar') return { kind: 'scalar', v: -v.v };
        if (v.kind === 'vector') {
          return {
            kind: 'vector',
            vec: v.vec.map((s) => ({ metric: s.metric, v: -s.v, t: s.t, dropName: true })),
          };
        }
        throw new EvalError('unary expression only allowed on scalar or instant vector');
      }
      case 'vectorSelector':
        return { kind: 'vector', vec: this.selectVector(e, t) };
      case 'matrixSelector':
        return { kind: 'matrix', series: this.selectMatrix(e.selector, e.range, t) };
      case 'subquery':
        return { kind: 'matrix', series: this.evalSubquery(e, t) };
      case 'call':
        return this.evalCall(e, t);
      case 'aggregation':
        return { kind: 'vector', vec: this.evalAggregation(e, t) };
      case 'binaryExpr': {
        const l = this.eval(e.lhs, t);
        const r = this.eval(e.rhs, t);
        if (l.kind === 'scalar' && r.kind === 'scalar')
          return { kind: 'scalar', v: scalarBinop(e.op, l.v, r.v) };
        if (l.kind === 'vector' && r.kind === 'scalar') {
          return { kind: 'vector', vec: vectorScalarBinop(e.op, l.vec, r.v, false, e.bool) };
        }
        if (l.kind === 'scalar' && r.kind === 'vector') {
          return { kind: 'vector', vec: vectorScalarBinop(e.op, r.vec, l.v, true, e.bool) };
        }
        if (l.kind === 'vector' && r.kind === 'vector') {
          const m = e.matching ?? { card: 'one-to-one', on: false, labels: [], include: [] };
          if (isSetOp(e.op)) return { kind: 'vector', vec: setBinop(e.op, l.vec, r.vec, m) };
          return {
            kind: 'vector',
            vec: vectorBinop(e.op, l.vec, r.vec, m, e.bool, e.fillLeft, e.fillRight),
          };
        }
        throw new EvalError('binary expression must contain only scalar and instant vector types');
      }
    }
  }

  private selectVector(sel: VectorSelector, t: number): Sample[] {
    const ref = (this.fixedAt(sel) ?? t) - sel.offset;
    const minT = ref - this.eng.lookbackDeltaMs;
    const out: Sample[] = [];
    for (const s of this.data.get(sel) ?? []) {
      const i = pickedSample(s, ref, minT);
      if (i < 0) continue;
      let v = s.vs[i];
      if (sel.extended === 'smoothed' && s.ts[i] < ref && i + 1 < s.ts.length) {
        // Interpolate between the samples around the reference time.
        const t2 = s.ts[i + 1];
        const v2 = s.vs[i + 1];
        if (t2 <= ref + this.eng.lookbackDeltaMs && !isStaleNaN(v2)) {
          v = v + ((v2 - v) * (ref - s.ts[i])) / (t2 - s.ts[i]);
        }
      }
      out.push({ metric: s.metric, v, t: s.ts[i], dropName: false });
    }
    this.countSamples(out.length);
    return out;
  }

  /**
   * start_timestamp() of a selector: for each sample the selector picks at `t`, its start
   * timestamp in seconds (0 when unknown), at the sample's time.
   */
  private selectStartTimestamps(sel: VectorSelector, t: number): Sample[] {
    const ref = (this.fixedAt(sel) ?? t) - sel.offset;
    const minT = ref - this.eng.lookbackDeltaMs;
    const out: Sample[] = [];
    for (const s of this.data.get(sel) ?? []) {
      const i = pickedSample(s, ref, minT);
      if (i < 0) continue;
      out.push({ metric: s.metric, v: s.st ? s.st[i] / 1000 : 0, t: s.ts[i], dropName: true });
    }
    this.countSamples(out.length);
    return out;
  }

  private selectMatrix(sel: VectorSelector, range: number, t: number): RangeSeries[] {
    const ref = (this.fixedAt(sel) ?? t) - sel.offset;
    const out: RangeSeries[] = [];
    let total = 0;
    for (const s of this.data.get(sel) ?? []) {
      const lo = upperBound(s.ts, ref - range);
      const hi = upperBound(s.ts, ref);
      if (hi <= lo) continue;
      let ts = s.ts.subarray(lo, hi);
      let vs = s.vs.subarray(lo, hi);
      if (s.hasStale) {
        let n = 0;
        for (let i = 0; i < vs.length; i++) if (!isStaleNaN(vs[i])) n++;
        if (n === 0) continue;
        if (n !== vs.length) {
          const nt = new Float64Array(n);
          const nv = new Float64Array(n);
          let j = 0;
          for (let i = 0; i < vs.length; i++) {
            if (isStaleNaN(vs[i])) continue;
            nt[j] = ts[i];
            nv[j++] = vs[i];
          }
          ts = nt;
          vs = nv;
        }
      }
      total += ts.length;
      out.push({ metric: s.metric, ts, vs, dropName: false });
    }
    this.countSamples(total);
    return out;
  }

  private evalSubquery(sq: Subquery, t: number): RangeSeries[] {
    const ref = (this.fixedAt(sq) ?? t) - sq.offset;
    const step = sq.step > 0 ? sq.step : this.eng.defaultEvalIntervalMs;
    const from = ref - sq.range;
    let first = Math.floor(from / step) * step;
    if (first <= from) first += step;
    let cache = this.subqueryCache.get(sq);
    if (!cache) this.subqueryCache.set(sq, (cache = new Map()));
    const acc = new Map<
      string,
      { metric: Labels; dropName: boolean; ts: number[]; vs: number[] }
    >();
    let total = 0;
    for (let st = first; st <= ref; st += step) {
      let vec = cache.get(st);
      if (!vec) {
        this.checkAbort();
        const saved = this.samplesInStep;
        this.subqueryDepth++;
        let v: StepValue;
        try {
          v = this.eval(sq.expr, st);
        } finally {
          this.subqueryDepth--;
        }
        this.samplesInStep = saved;
        if (v.kind === 'scalar') vec = [{ metric: Labels.EMPTY, v: v.v, t: st, dropName: false }];
        else if (v.kind === 'vector') vec = v.vec;
        else throw new EvalError('subquery is only allowed on instant vector');
        cache.set(st, vec);
      }
      for (const smp of vec) {
        const key = smp.metric.key();
        let s = acc.get(key);
        if (!s) acc.set(key, (s = { metric: smp.metric, dropName: smp.dropName, ts: [], vs: [] }));
        s.ts.push(st);
        s.vs.push(smp.v);
      }
      total += vec.length;
    }
    this.countSamples(total);
    const out: RangeSeries[] = [];
    for (const s of acc.values()) {
      out.push({
        metric: s.metric,
        ts: Float64Array.from(s.ts),
        vs: Float64Array.from(s.vs),
        dropName: s.dropName,
      });
    }
    return out;
  }

  private scalarArg(e: Expr, t: number): number {
    const v = this.eval(e, t);
    if (v.kind !== 'scalar') throw new EvalError('expected scalar argument');
    return v.v;
  }

  private vectorArg(e: Expr, t: number): Sample[] {
    const v = this.eval(e, t);
    if (v.kind !== 'vector') throw new EvalError('expected instant vector argument');
    return v.vec;
  }

  private stringArg(e: Expr, t: number): string {
    const v = this.eval(e, t);
    if (v.kind !== 'string') throw new EvalError('expected string argument');
    return v.s;
  }

  private regex(re: string): RegExp {
    let r = this.regexCache.get(re);
    if (!r) {
      r = compileReplaceRegex(re);
      this.regexCache.set(re, r);
    }
    return r;
  }

  private evalCall(e: Call, t: number): StepValue {
    const f = e.func;
    const args = e.args;
    if (f in RANGE_FUNCTIONS || f === 'absent_over_time')
      return { kind: 'vector', vec: this.evalRangeCall(e, t) };
    const math = MATH_FUNCTIONS[f] as ((v: number) => number) | undefined;
    if (math) return { kind: 'vector', vec: this.mapVector(this.vectorArg(args[0], t), math) };
    const timeFn = TIME_FUNCTIONS[f] as ((d: Date) => number) | undefined;
    if (timeFn) {
      const vec =
        args.length === 0
          ? [{ metric: Labels.EMPTY, v: t / 1000, t, dropName: false }]
          : this.vectorArg(args[0], t);
      return {
        kind: 'vector',
        vec: this.mapVector(vec, (v) =>
          Number.isFinite(v) ? timeFn(new Date(Math.trunc(v) * 1000)) : NaN,
        ),
      };
    }
    switch (f) {
      case 'time':
        return { kind: 'scalar', v: t / 1000 };
      case 'pi':
        return { kind: 'scalar', v: Math.PI };
      case 'step':
        return { kind: 'scalar', v: this.step / 1000 };
      case 'min_of':
        return { kind: 'scalar', v: goMin(this.scalarArg(args[0], t), this.scalarArg(args[1], t)) };
      case 'max_of':
        return { kind: 'scalar', v: goMax(this.scalarArg(args[0], t), this.scalarArg(args[1], t)) };
      case 'range':
        return { kind: 'scalar', v: (this.end - this.start) / 1000 };
      case 'start':
        return { kind: 'scalar', v: this.start / 1000 };
      case 'end':
        return { kind: 'scalar', v: this.end / 1000 };
      case 'vector':
        return {
          kind: 'vector',
          vec: [{ metric: Labels.EMPTY, v: this.scalarArg(args[0], t), t, dropName: false }],
        };
      case 'scalar': {
        const vec = this.vectorArg(args[0], t);
        return { kind: 'scalar', v: vec.length === 1 ? vec[0].v : NaN };
      }
      case 'round': {
        const to = args.length > 1 ? this.scalarArg(args[1], t) : 1;
        const inv = 1 / to;
        return {
          kind: 'vector',
          vec: this.mapVector(this.vectorArg(args[0], t), (v) => Math.floor(v * inv + 0.5) / inv),
        };
      }
      case 'clamp': {
        const vec = this.vectorArg(args[0], t);
        const min = this.scalarArg(args[1], t);
        const max = this.scalarArg(args[2], t);
        if (max < min) return { kind: 'vector', vec: [] };
        return { kind: 'vector', vec: this.mapVector(vec, (v) => goMax(min, goMin(max, v))) };
      }
      case 'clamp_min': {
        const vec = this.vectorArg(args[0], t);
        const min = this.scalarArg(args[1], t);
        return { kind: 'vector', vec: this.mapVector(vec, (v) => goMax(min, v)) };
      }
      case 'clamp_max': {
        const vec = this.vectorArg(args[0], t);
        const max = this.scalarArg(args[1], t);
        return { kind: 'vector', vec: this.mapVector(vec, (v) => goMin(max, v)) };
      }
      case 'timestamp': {
        const inner = unwrapParens(args[0]);
        const vec = this.vectorArg(args[0], t);
        const useSampleT = inner.type === 'vectorSelector';
        return {
          kind: 'vector',
          vec: vec.map((s) => ({
            metric: s.metric,
            v: (useSampleT ? s.t : t) / 1000,
            t: s.t,
            dropName: true,
          })),
        };
      }
      case 'start_timestamp': {
        // Start timestamps belong to stored samples: an expression's output has none.
        const inner = unwrapParens(args[0]);
        if (inner.type === 'vectorSelector')
          return { kind: 'vector', vec: this.selectStartTimestamps(inner, t) };
        this.vectorArg(args[0], t);
        return { kind: 'vector', vec: [] };
      }
      case 'absent': {
        const vec = this.vectorArg(args[0], t);
        if (vec.length > 0) return { kind: 'vector', vec: [] };
        const inner = unwrapParens(args[0]);
        const metric =
          inner.type === 'vectorSelector' ? absentLabels(inner.matchers) : Labels.EMPTY;
        return { kind: 'vector', vec: [{ metric, v: 1, t, dropName: false }] };
      }
      case 'sort':
      case 'sort_desc': {
        this.sortIneffective(e);
        const vec = this.vectorArg(args[0], t).slice();
        const desc = f === 'sort_desc';
        vec.sort((a, b) => {
          if (a.v !== a.v) return b.v !== b.v ? 0 : 1;
          if (b.v !== b.v) return -1;
          return desc ? b.v - a.v : a.v - b.v;
        });
        return { kind: 'vector', vec };
      }
      case 'sort_by_label':
      case 'sort_by_label_desc': {
        this.sortIneffective(e);
        const vec = this.vectorArg(args[0], t).slice();
        const names = args.slice(1).map((a) => this.stringArg(a, t));
        const sign = f === 'sort_by_label' ? 1 : -1;
        vec.sort((a, b) => {
          for (const n of names) {
            const c = naturalCompare(a.metric.get(n), b.metric.get(n));
            if (c !== 0) return sign * c;
          }
          return sign * compareLabels(a.metric, b.metric);
        });
        return { kind: 'vector', vec };
      }
      case 'label_replace': {
        const vec = this.vectorArg(args[0], t);
        const dst = this.stringArg(args[1], t);
        const repl = this.stringArg(args[2], t);
        const src = this.stringArg(args[3], t);
        const reText = this.stringArg(args[4], t);
        let re: RegExp;
        try {
          re = this.regex(reText);
        } catch {
          throw new EvalError(`invalid regular expression in label_replace(): ${reText}`);
        }
        if (!validLabelName(dst))
          throw new EvalError(`invalid destination label name in label_replace(): ${dst}`);
        const out = vec.map((s) => {
          const metric = labelReplace(s, dst, repl, src, re, this.lb);
          return {
            metric,
            v: s.v,
            t: s.t,
            dropName: dst === METRIC_NAME && metric !== s.metric ? false : s.dropName,
          };
        });
        return { kind: 'vector', vec: out };
      }
      case 'label_join': {
        const vec = this.vectorArg(args[0], t);
        const dst = this.stringArg(args[1], t);
        const sep = this.stringArg(args[2], t);
        const srcs = args.slice(3).map((a) => this.stringArg(a, t));
        if (!validLabelName(dst))
          throw new EvalError(`invalid destination label name in label_join(): ${dst}`);
        const out = vec.map((s) => {
          const val = srcs.map((n) => s.metric.get(n)).join(sep);
          this.lb.reset(s.metric);
          this.lb.set(dst, val);
          return {
            metric: this.lb.labels(),
            v: s.v,
            t: s.t,
            dropName: dst === METRIC_NAME ? false : s.dropName,
          };
        });
        return { kind: 'vector', vec: out };
      }
      case 'histogram_quantile': {
        const fast = this.histogramQuantileStep(e, t);
        if (fast !== null) return { kind: 'vector', vec: fast };
        const q = this.scalarArg(args[0], t);
        const vec = materialiseNames(this.vectorArg(args[1], t));
        if (!(q >= 0 && q <= 1))
          this.annotate(
            'warn',
            `quantile value should be between 0 and 1, got ${formatFloatG(q)}`,
            args[0].pos,
          );
        return {
          kind: 'vector',
          vec: histogramQuantile(q, vec, (kind, msg) => this.annotate(kind, msg, args[1].pos)),
        };
      }
      case 'histogram_quantiles': {
        const vec = materialiseNames(this.vectorArg(args[0], t));
        const label = this.stringArg(args[1], t);
        const out: Sample[] = [];
        for (const a of args.slice(2)) {
          const q = this.scalarArg(a, t);
          if (!(q >= 0 && q <= 1))
            this.annotate(
              'warn',
              `quantile value should be between 0 and 1, got ${formatFloatG(q)}`,
              a.pos,
            );
          let qs = formatFloatF(q);
          if (/^-?\d+$/.test(qs)) qs += '.0';
          for (const s of histogramQuantile(q, vec, (kind, msg) =>
            this.annotate(kind, msg, args[0].pos),
          )) {
            this.lb.reset(s.metric);
            this.lb.set(label, qs);
            out.push({ metric: this.lb.labels(), v: s.v, t, dropName: false });
          }
        }
        return { kind: 'vector', vec: out };
      }
      case 'histogram_fraction': {
        const lo = this.scalarArg(args[0], t);
        const hi = this.scalarArg(args[1], t);
        const vec = materialiseNames(this.vectorArg(args[2], t));
        return {
          kind: 'vector',
          vec: histogramFraction(lo, hi, vec, (kind, msg) => this.annotate(kind, msg, args[2].pos)),
        };
      }
      case 'histogram_count':
      case 'histogram_sum':
      case 'histogram_avg':
      case 'histogram_stddev':
      case 'histogram_stdvar':
        // Native histograms only: float samples yield nothing.
        this.vectorArg(args[0], t);
        return { kind: 'vector', vec: [] };
      case 'info':
        return { kind: 'vector', vec: this.evalInfo(e, t) };
      default:
        throw new EvalError(`function ${JSON.stringify(f)} is not supported`);
    }
  }

  /**
   * `info(v, selector)`: adds the data labels of the info series (default `target_info`)
   * that share v's identifying labels (`instance`, `job`), read at v's own reference time.
   */
  private evalInfo(e: Call, t: number): Sample[] {
    const base = this.vectorArg(e.args[0], t);
    const sel = e.args[1] ? unwrapParens(e.args[1]) : null;
    const selector = sel && sel.type === 'vectorSelector' ? sel : null;
    const nameMatchers = selector ? infoNameMatchers(selector) : [DEFAULT_INFO_MATCHER];
    const dataMatchers = selector ? selector.matchers.filter((m) => m.name !== METRIC_NAME) : [];
    const ref = this.referenceTime(e.args[0], t);
    // Per identifying key, the latest info series of each info metric name.
    const infos = new Map<string, Map<string, { metric: Labels; t: number }>>();
    if (selector) {
      const minT = ref - this.eng.lookbackDeltaMs;
      for (const s of this.data.get(selector) ?? []) {
        const i = pickedSample(s, ref, minT);
        if (i < 0) continue;
        if (!dataMatchers.every((m) => m.matches(s.metric.get(m.name)))) continue;
        const key = s.metric.get('instance') + '\xff' + s.metric.get('job');
        let byName = infos.get(key);
        if (!byName) infos.set(key, (byName = new Map()));
        const name = s.metric.get(METRIC_NAME);
        const prev = byName.get(name);
        // Conflicting series of one info metric: the one with the latest sample wins.
        if (!prev || s.ts[i] > prev.t) byName.set(name, { metric: s.metric, t: s.ts[i] });
      }
    }
    const out: Sample[] = [];
    const acceptsEmpty = dataMatchers.every((m) => m.matchesEmpty());
    // A base series that is itself an info series (it meets every name matcher, at least
    // one of them positive) passes unchanged.
    const positive = nameMatchers.some((m) => m.type === '=' || m.type === '=~');
    const names = dataMatchers.length > 0 ? dataMatchers.map((m) => m.name) : null;
    for (const s of base) {
      if (positive && nameMatchers.every((m) => m.matches(s.metric.get(METRIC_NAME)))) {
        out.push(s);
        continue;
      }
      const byName = infos.get(s.metric.get('instance') + '\xff' + s.metric.get('job'));
      if (!byName) {
        if (acceptsEmpty) out.push(s);
        continue;
      }
      this.lb.reset(s.metric);
      const added = new Map<string, string>();
      for (const info of byName.values()) {
        info.metric.forEach((n, v) => {
          if (n === METRIC_NAME || n === 'instance' || n === 'job') return;
          if (names && !names.includes(n)) return;
          if (s.metric.has(n)) return;
          const had = added.get(n);
          if (had !== undefined && had !== v) {
            throw new EvalError(
              `conflicting label: ${JSON.stringify(n)} has values ${JSON.stringify(had)} and ${JSON.stringify(v)} in info series`,
            );
          }
          added.set(n, v);
          this.lb.set(n, v);
        });
      }
      out.push({ metric: this.lb.labels(), v: s.v, t: s.t, dropName: s.dropName });
    }
    return out;
  }

  /**
   * Range query fast path for `sum|count|min|max|group (range_fn(selector[r]))`: the
   * aggregation's results for all steps, from the function's rows (see loadRollup()), and
   * the function's step table (for the sample counts). Null when it does not apply.
   */
  private groupTable(
    e: Extract<Expr, { type: 'aggregation' }>,
  ): { g: GroupTable; table: StepTable } | null {
    if (this.step === 0 || this.subqueryDepth > 0) return null;
    const sa = this.stepAggregationOf(e);
    if (sa === null) return null;
    if (sa.rc === null) {
      // An instant selector's rows exist only when load() planned them.
      const table = this.selectorTables.get(sa.sel);
      const g = this.groupIndex.get(e);
      return table !== undefined && g !== undefined ? { g, table } : null;
    }
    const { call, arg, fn, params, mi, checkCounter } = sa.rc;
    const table = this.precomputed(call, arg, fn, params, mi, checkCounter);
    if (!table) return null;
    const g =
      this.groupIndex.get(e) ??
      this.aggregateAllSteps(sa.op, e, this.data.get(arg.selector) ?? [], table);
    return { g, table };
  }

  /**
   * `e` at every step of a range query as rows (see rows.ts): aggregations on the
   * {@link groupTable} path and binary operators over them and number literals. Null
   * when any part is outside that, and the query is evaluated step by step.
   */
  private rowsOf(e: Expr): RowTable | null {
    switch (e.type) {
      case 'parenExpr':
        return this.rowsOf(e.expr);
      case 'aggregation': {
        const gt = this.groupTable(e);
        return gt === null ? null : rowsOfGroups(gt.g, gt.table.samples);
      }
      case 'binaryExpr': {
        const l = unwrapParens(e.lhs);
        const r = unwrapParens(e.rhs);
        if (l.type === 'numberLiteral') {
          const rows = this.rowsOf(r);
          return rows && rowsScalarBinop(e.op, rows, l.val, true, e.bool);
        }
        if (r.type === 'numberLiteral') {
          const rows = this.rowsOf(l);
          return rows && rowsScalarBinop(e.op, rows, r.val, false, e.bool);
        }
        const lr = this.rowsOf(l);
        const rr = lr && this.rowsOf(r);
        if (lr === null || rr === null) return null;
        const m = e.matching ?? { card: 'one-to-one', on: false, labels: [], include: [] };
        const filled = e.fillLeft !== null || e.fillRight !== null;
        return rowsVectorBinop(e.op, lr, rr, m, e.bool, filled);
      }
      default:
        return null;
    }
  }

  /** This step's row of {@link groupTable}, as an instant vector; null when it does not apply. */
  private aggregateStepTable(
    e: Extract<Expr, { type: 'aggregation' }>,
    t: number,
  ): Sample[] | null {
    const gt = this.groupTable(e);
    if (gt === null) return null;
    const { g, table } = gt;
    const k = (t - this.start) / this.step;
    this.countSamples(table.samples[k]);
    const { val, cnt, steps } = g;
    const out: Sample[] = [];
    for (let j = 0; j < g.labels.length; j++) {
      const at = j * steps + k;
      if (cnt[at] === 0) continue;
      out.push({ metric: g.labels[j], v: val[at], t, dropName: false });
    }
    return out;
  }

  /**
   * Range query fast path for `histogram_quantile(q, v)` with a constant `q`, where `v` is
   * an aggregation on the {@link groupTable} path or a range function with a step table:
   * reads this step's bucket counts from their rows instead of building `v`'s vector.
   * Null when it does not apply.
   */
  private histogramQuantileStep(e: Call, t: number): Sample[] | null {
    if (this.step === 0 || this.subqueryDepth > 0) return null;
    const qe = unwrapParens(e.args[0]);
    const inner = unwrapParens(e.args[1]);
    if (qe.type !== 'numberLiteral') return null;
    let rows: { val: Float64Array; present: Float64Array | Uint8Array; samples: Float64Array };
    let hs = this.histogramSteps.get(e);
    if (inner.type === 'aggregation') {
      const gt = this.groupTable(inner);
      if (gt === null) return null;
      rows = { val: gt.g.val, present: gt.g.cnt, samples: gt.table.samples };
      if (hs === undefined) hs = new HistogramSteps(gt.g.labels, false);
    } else {
      const rc = rollupCall(inner);
      if (rc === null) return null;
      const f = rc.call.func;
      if (f === 'quantile_over_time' || f === 'double_exponential_smoothing') return null;
      const { call, arg, fn, params, mi, checkCounter } = rc;
      const table = this.precomputed(call, arg, fn, params, mi, checkCounter);
      if (table === null || table.vals === null || table.has === null) return null;
      rows = { val: table.vals, present: table.has, samples: table.samples };
      if (hs === undefined) {
        const labels = (this.data.get(arg.selector) ?? []).map((s) => s.metric);
        hs = new HistogramSteps(labels, !KEEPS_NAME.has(f));
      }
    }
    this.histogramSteps.set(e, hs);
    const q = qe.val;
    if (!(q >= 0 && q <= 1))
      this.annotate(
        'warn',
        `quantile value should be between 0 and 1, got ${formatFloatG(q)}`,
        e.args[0].pos,
      );
    const k = (t - this.start) / this.step;
    const steps = Math.floor((this.end - this.start) / this.step) + 1;
    this.countSamples(rows.samples[k]);
    return hs.quantile(q, rows.val, rows.present, steps, k, (kind, msg) =>
      this.annotate(kind, msg, e.args[1].pos),
    );
  }

  /** The time at which an expression's first selector reads, after `@` and offsets. */
  private referenceTime(e: Expr, t: number): number {
    let ref = t;
    let done = false;
    walk(e, (x, path) => {
      if (done || x.type !== 'vectorSelector') return;
      done = true;
      let r = t;
      for (const p of path) if (p.type === 'subquery') r = (this.fixedAt(p) ?? r) - p.offset;
      ref = (this.fixedAt(x) ?? r) - x.offset;
    });
    return ref;
  }

  private sortIneffective(e: Call): void {
    if (this.step > 0)
      this.annotate(
        'warn',
        'sort is ineffective for range queries since results are always ordered by labels',
        e.pos,
      );
  }

  private mapVector(vec: Sample[], fn: (v: number) => number): Sample[] {
    return vec.map((s) => ({ metric: s.metric, v: fn(s.v), t: s.t, dropName: true }));
  }

  private evalRangeCall(e: Call, t: number): Sample[] {
    const f = e.func;
    let mi = e.args.findIndex((a) => kindOf(a) === 'matrix');
    if (mi < 0) mi = 0;
    const params: number[] = [];
    for (let i = 0; i < e.args.length; i++) if (i !== mi) params.push(this.scalarArg(e.args[i], t));
    const arg = unwrapParens(e.args[mi]);
    let series: RangeSeries[];
    let w: RangeWindow;
    if (arg.type === 'matrixSelector') {
      const ref = (this.fixedAt(arg.selector) ?? t) - arg.selector.offset;
      w = { start: ref - arg.range, end: ref, rangeMs: arg.range, evalT: t };
      series = f === 'absent_over_time' ? this.selectMatrix(arg.selector, arg.range, t) : [];
    } else if (arg.type === 'subquery') {
      const ref = (this.fixedAt(arg) ?? t) - arg.offset;
      w = { start: ref - arg.range, end: ref, rangeMs: arg.range, evalT: t };
      series = this.evalSubquery(arg, t);
    } else {
      throw new EvalError(`expected range vector argument in call to ${f}`);
    }
    if (f === 'absent_over_time') {
      if (series.length > 0) return [];
      const metric =
        arg.type === 'matrixSelector' ? absentLabels(arg.selector.matchers) : Labels.EMPTY;
      return [{ metric, v: 1, t, dropName: false }];
    }
    if (f === 'double_exponential_smoothing') {
      if (!(params[0] > 0 && params[0] < 1))
        throw new EvalError(
          `invalid smoothing factor. Expected: 0 < sf < 1, got: ${params[0].toFixed(6)}`,
        );
      if (!(params[1] > 0 && params[1] < 1))
        throw new EvalError(
          `invalid trend factor. Expected: 0 < tf < 1, got: ${params[1].toFixed(6)}`,
        );
    }
    const fn = RANGE_FUNCTIONS[f];
    const keep = KEEPS_NAME.has(f);
    const checkCounter = (f === 'rate' || f === 'increase') && arg.type === 'matrixSelector';
    const out: Sample[] = [];
    if (arg.type === 'matrixSelector' && arg.selector.extended !== null) {
      return this.evalExtendedRange(e, arg, w, t);
    }
    if (arg.type === 'matrixSelector') {
      const pre = this.precomputed(e, arg, fn, params, mi, checkCounter);
      if (pre) {
        // Range query: read this step's row of the table computed for all steps at once.
        const k = (t - this.start) / this.step;
        const loaded = this.data.get(arg.selector) ?? [];
        const { steps: n, vals, has } = pre;
        if (vals === null || has === null) throw new Error('BUG: step table rows were not kept');
        for (let i = 0; i < loaded.length; i++) {
          if (has[i * n + k] === 1) {
            out.push({ metric: loaded[i].metric, v: vals[i * n + k], t, dropName: !keep });
          }
        }
        this.countSamples(pre.samples[k]);
        return out;
      }
      // Hot path: run the function over each loaded series' window in place.
      let total = 0;
      for (const s of this.data.get(arg.selector) ?? []) {
        const lo = upperBound(s.ts, w.start);
        const hi = upperBound(s.ts, w.end);
        if (hi <= lo) continue;
        total += hi - lo;
        if (checkCounter) this.checkCounterName(s.metric, e.args[mi].pos);
        w.st = s.st ?? null;
        const v = fn(s.ts, s.vs, lo, hi, w, params);
        if (w.stOverlap) {
          w.stOverlap = false;
          this.warnStartTimeOverlap(s.metric, e.args[mi].pos);
        }
        if (v !== null) out.push({ metric: s.metric, v, t, dropName: !keep });
      }
      this.countSamples(total);
    } else {
      for (const s of series) {
        const v = fn(s.ts, s.vs, 0, s.ts.length, w, params);
        if (v === null) continue;
        out.push({ metric: s.metric, v, t, dropName: keep ? s.dropName : true });
      }
    }
    if (f === 'quantile_over_time' && !(params[0] >= 0 && params[0] <= 1) && out.length > 0) {
      this.annotate(
        'warn',
        `quantile value should be between 0 and 1, got ${formatFloatG(params[0])}`,
        e.args[0].pos,
      );
    }
    return out;
  }

  /**
   * Aggregates a step table into per-group results for every step at once, reading it
   * in memory order (series by series, then step by step). Used when the table was not
   * consumed while it was computed.
   */
  private aggregateAllSteps(
    op: StepAggregationOp,
    e: Extract<Expr, { type: 'aggregation' }>,
    loaded: LoadedSeries[],
    table: StepTable,
  ): GroupTable {
    const { vals, has, steps } = table;
    if (vals === null || has === null) throw new Error('BUG: step table rows were not kept');
    const acc = new GroupAccumulator(op, e.grouping, e.without, steps);
    for (let i = 0; i < loaded.length; i++)
      acc.add(acc.groupOf(loaded[i].metric), vals, has, i * steps);
    const g = acc.finish();
    this.groupIndex.set(e, g);
    return g;
  }

  /**
   * For a range query, a range function over a plain matrix selector evaluated for every
   * step at once (series-at-a-time, see rollup.ts): normally computed while loading;
   * otherwise here, from the loaded samples. Null where that does not apply: inside
   * subqueries, with `@`, or with non-constant parameters.
   */
  private precomputed(
    e: Call,
    arg: Extract<Expr, { type: 'matrixSelector' }>,
    fn: RangeFn,
    params: number[],
    mi: number,
    checkCounter: boolean,
  ): StepTable | null {
    if (this.step === 0 || this.subqueryDepth > 0 || this.fixedAt(arg.selector) !== null) {
      return null;
    }
    if (arg.selector.extended !== null) return null;
    let table = this.stepTables.get(e);
    if (table !== undefined) return table;
    table = null;
    const constant = e.args.every((a, i) => i === mi || unwrapParens(a).type === 'numberLiteral');
    if (constant) {
      const steps = Math.floor((this.end - this.start) / this.step) + 1;
      const grid: StepGrid = { start: this.start, step: this.step, steps };
      const loaded = this.data.get(arg.selector) ?? [];
      const vals = new Float64Array(loaded.length * steps);
      const has = new Uint8Array(loaded.length * steps);
      const samples = new Float64Array(steps);
      for (let i = 0; i < loaded.length; i++) {
        const { ts, vs, metric } = loaded[i];
        const off = arg.selector.offset;
        const at = i * steps;
        const seen = rollupRow(
          ts,
          vs,
          ts.length,
          grid,
          arg.range,
          off,
          e.func,
          fn,
          params,
          vals,
          has,
          at,
          samples,
          loaded[i].st ?? null,
        );
        if (seen && checkCounter) this.checkCounterName(metric, e.args[mi].pos);
        if (loaded[i].st !== undefined && rollupSawStartTimeOverlap())
          this.warnStartTimeOverlap(metric, e.args[mi].pos);
      }
      table = { steps, vals, has, samples };
    }
    this.stepTables.set(e, table);
    return table;
  }

  /**
   * A range function over an `anchored` or `smoothed` selector: the window is extended to
   * its edges (the last sample at or before the start; for `smoothed` values interpolated
   * at both edges) and rate/increase/delta are not extrapolated.
   */
  private evalExtendedRange(
    e: Call,
    arg: Extract<Expr, { type: 'matrixSelector' }>,
    w: RangeWindow,
    t: number,
  ): Sample[] {
    const f = e.func;
    const smoothed = arg.selector.extended === 'smoothed';
    const allowed = smoothed
      ? ['delta', 'increase', 'rate']
      : ['changes', 'delta', 'increase', 'rate', 'resets'];
    if (!allowed.includes(f)) {
      throw new EvalError(
        `${arg.selector.extended} modifier can only be used with: ${allowed.join(', ')} - not with ${f}`,
      );
    }
    const lookback = this.eng.lookbackDeltaMs;
    const isCounter = f !== 'delta';
    const out: Sample[] = [];
    for (const s of this.data.get(arg.selector) ?? []) {
      const ts = s.ts;
      const vs = s.vs;
      const lo = upperBound(ts, w.start - lookback);
      const hi = smoothed ? upperBound(ts, w.end + lookback) : upperBound(ts, w.end);
      if (hi <= lo) continue;
      // first: the sample at or before the start (else the first one); last: for smoothed,
      // the first sample at or after the end (else the last one).
      let first = lo;
      while (first + 1 < hi - 1 && ts[first + 1] <= w.start) first++;
      if (ts[first] > w.start) first = lo;
      let last = hi - 1;
      if (smoothed) {
        last = lo;
        while (last < hi - 1 && ts[last] < w.end) last++;
      }
      if (ts[last] <= w.start) continue;
      if (smoothed && ts[first] >= w.end) continue;
      if (f === 'changes' || f === 'resets') {
        const v = RANGE_FUNCTIONS[f](ts, vs, first, last + 1, w, []);
        if (v !== null) out.push({ metric: s.metric, v, t, dropName: true });
        continue;
      }
      const left =
        smoothed && ts[first] < w.start && first + 1 < hi
          ? interpolate(ts[first], vs[first], ts[first + 1], vs[first + 1], w.start, isCounter)
          : vs[first];
      const right =
        smoothed && last > lo && ts[last] > w.end
          ? interpolate(ts[last - 1], vs[last - 1], ts[last], vs[last], w.end, isCounter)
          : vs[last];
      let result = right - left;
      if (isCounter) {
        // Resets strictly inside the edges; the edges handled theirs when interpolating.
        if (ts[first] <= w.start) first++;
        if (ts[last] >= w.end) last--;
        let prev = left;
        for (let i = first; i <= last; i++) {
          if (vs[i] < prev) result += prev;
          prev = vs[i];
        }
        if (right < prev) result += prev;
      }
      if (f === 'rate') result /= w.rangeMs / 1000;
      out.push({ metric: s.metric, v: result, t, dropName: true });
    }
    return out;
  }

  private warnStartTimeOverlap(m: Labels, pos: PosRange): void {
    this.annotate('warn', startTimeOverlapWarning(m.get(METRIC_NAME)), pos);
  }

  private checkCounterName(m: Labels, pos: PosRange): void {
    const name = m.get(METRIC_NAME);
    if (name !== '' && !/_(total|sum|count|bucket)$/.test(name)) {
      this.annotate(
        'info',
        `metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${JSON.stringify(name)}`,
        pos,
      );
    }
  }

  private evalAggregation(e: Extract<Expr, { type: 'aggregation' }>, t: number): Sample[] {
    let param = 0;
    let label = '';
    if (e.param) {
      if (e.op === 'count_values') label = this.stringArg(e.param, t);
      else param = this.scalarArg(e.param, t);
    }
    const fused = this.aggregateStepTable(e, t);
    if (fused) return fused;
    const vec = this.vectorArg(e.expr, t);
    let cache = this.groupCache.get(e);
    if (!cache) this.groupCache.set(e, (cache = new Map()));
    const keyOf = groupKeyFn(e.grouping, false);
    const groups = cache;
    // `by`: find the group from the listed labels' values, building its label set once
    // per group; `without`: build it once per input series (cached across steps).
    const group: (m: Labels) => Labels = e.without
      ? (m) => {
          let g = groups.get(m);
          if (!g) groups.set(m, (g = groupLabels(m, e.grouping, true)));
          return g;
        }
      : (m) => {
          const key = keyOf(m);
          let g = groups.get(key);
          if (!g) groups.set(key, (g = groupLabels(m, e.grouping, false)));
          return g;
        };
    switch (e.op) {
      case 'topk':
      case 'bottomk':
        return aggregateK(e.op, vec, group, param);
      case 'limitk':
      case 'limit_ratio':
        return aggregateLimit(e.op, vec, group, param);
      case 'count_values':
        return countValues(label, vec, group);
      case 'quantile':
        if (!(param >= 0 && param <= 1) && vec.length > 0) {
          this.annotate(
            'warn',
            `quantile value should be between 0 and 1, got ${formatFloatG(param)}`,
            e.param!.pos,
          );
        }
        return aggregate(e.op, vec, group, param);
      default:
        return aggregate(e.op, vec, group, param);
    }
  }
}

const DEFAULT_INFO_MATCHER = new Matcher('=', METRIC_NAME, 'target_info');
const ANY_INFO_MATCHER = new Matcher('=~', METRIC_NAME, '.+_info');

/** Aggregations whose result does not depend on the order of their input series. */
const ORDER_FREE_AGGREGATIONS = new Set([
  'sum',
  'count',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'quantile',
]);

/**
 * Whether a selector's series reach an order-free aggregation through per-series steps
 * only (parentheses, range and math functions), so the select need not sort them:
 * sorting thousands of label sets costs more than the aggregation itself.
 */
function feedsOnlyAggregation(path: readonly Expr[]): boolean {
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i];
    if (p.type === 'aggregation') return ORDER_FREE_AGGREGATIONS.has(p.op);
    if (p.type === 'parenExpr' || p.type === 'matrixSelector') continue;
    if (p.type === 'call' && (p.func in RANGE_FUNCTIONS || p.func in MATH_FUNCTIONS)) continue;
    return false;
  }
  return false;
}

/** The name matchers of info()'s selector, `__name__="target_info"` when it has none. */
function infoNameMatchers(sel: VectorSelector): Matcher[] {
  const ms = sel.matchers.filter((m) => m.name === METRIC_NAME);
  if (ms.length === 0) return [DEFAULT_INFO_MATCHER];
  // Only negative name matchers: they narrow the info metrics (`*_info`), not all series.
  if (!ms.some((m) => m.type === '=' || m.type === '=~')) ms.push(ANY_INFO_MATCHER);
  return ms;
}

/**
 * Linear interpolation at `t` between two samples. For a counter that reset between
 * them, the line starts from zero, so the value sits on the post-reset ramp.
 */
function interpolate(
  t1: number,
  y1: number,
  t2: number,
  y2: number,
  t: number,
  isCounter: boolean,
): number {
  if (isCounter && y2 < y1) y1 = 0;
  return y1 + ((y2 - y1) * (t - t1)) / (t2 - t1);
}

/** Go's math.Max: NaN wins. */
function goMax(a: number, b: number): number {
  return a !== a || b !== b ? NaN : Math.max(a, b);
}
/** Go's math.Min: NaN wins. */
function goMin(a: number, b: number): number {
  return a !== a || b !== b ? NaN : Math.min(a, b);
}

/** Prometheus 3 accepts any non-empty UTF-8 label name. */
function validLabelName(n: string): boolean {
  return n.length > 0 && isValidUtf8(n);
}

/** Natural-order string comparison (digits compared as numbers), as sort_by_label. */
function naturalCompare(a: string, b: string): number {
  const re = /(\d+|\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const nx = /^\d/.test(x);
    const ny = /^\d/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}
