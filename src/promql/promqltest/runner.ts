/**
 * Runs promqltest scripts against our engine over the in-memory store, checking results
 * the way Prometheus's harness does (FORMAT.md, "How results are matched"), including the
 * range-mode consistency check of every instant eval.
 *
 * Classification rule (applied per eval, from the script text alone):
 * - native-histogram: the expected lines hold `{{…}}`, or, in a `clear` segment where a
 *   load put histogram samples (or `load_with_nhcb` made a custom-bucket histogram), the
 *   expression names one of those metrics or selects without a metric-name equality
 *   (`{…}` alone, or `__name__` with `!=`, `=~`, `!~`). Such evals are skipped.
 * - experimental: the eval line uses a function flagged experimental in the function
 *   table, a duration function (`step()`, `range()`, `min_of()`, …), `limitk`/
 *   `limit_ratio`, the `anchored`/`smoothed` modifiers, `fill*()` modifiers or the
 *   `__type__`/`__unit__` labels. These run and are counted apart.
 * Everything else is plain. This is the rule of peer-tests/promql/tools/count_evals.py.
 * @module
 */

import { readFileSync } from 'node:fs';
import { Labels, compareLabels } from '../../model/labels.js';
import { STALE_NAN, isStaleNaN } from '../../model/stale.js';
import { QueryError } from '../../model/errors.js';
import type { Engine } from '../engine.js';
import { FUNCTIONS } from '../parser/functions.js';
import { walk, type Expr } from '../parser/ast.js';
import { parseExpr } from '../parser/parser.js';
import { formatDuration } from '../parser/lex.js';
import type { QueryResult, QueryValue } from '../value.js';
import { MemStorage } from './memstore.js';
import { parseScript, type EvalCmd, type LoadCmd, type SeqValue } from './script.js';

/** How an eval is counted. */
export type EvalClass = 'plain' | 'experimental' | 'native-histogram';

/** The outcome of one eval. */
export interface EvalOutcome {
  line: number;
  text: string;
  cls: EvalClass;
  /** null when passed; otherwise why it failed. */
  failure: string | null;
}

/** The outcome of a script. */
export interface FileResult {
  file: string;
  outcomes: EvalOutcome[];
}

const DURATION_FUNCS = ['max_of', 'min_of', 'range', 'step', 'start', 'end'];
const EXPERIMENTAL_RE = new RegExp(
  '\\b(' +
    [...FUNCTIONS.values()]
      .filter((f) => f.experimental)
      .map((f) => f.name)
      .concat(DURATION_FUNCS)
      .join('|') +
    ')\\s*\\(|\\b(limitk|limit_ratio|anchored|smoothed)\\b|\\bfill(_left|_right)?\\s*\\(|__type__|__unit__',
);
const NAMELESS_SELECT_RE = /__name__\s*(=~|!=|!~)|(^|[^\w}\]])\{/;

/** Classifies an eval by the rule in the module comment. */
export function classifyEval(cmd: EvalCmd, histogramNames: ReadonlySet<string>): EvalClass {
  const expr = cmd.expr;
  let nh = cmd.expectsHistogram;
  if (!nh && histogramNames.size > 0) {
    for (const n of histogramNames) {
      if (
        n !== '' &&
        new RegExp(`(?<![\\w:])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![\\w:])`).test(expr)
      )
        nh = true;
    }
    if (NAMELESS_SELECT_RE.test(expr)) nh = true;
  }
  if (nh) return 'native-histogram';
  return EXPERIMENTAL_RE.test(cmd.text) ? 'experimental' : 'plain';
}

const MIN_NORMAL = 2.2250738585072014e-308;

/** The harness's float comparison (`util/almost`, with the stale-marker case). */
export function almostEqual(a: number, b: number): boolean {
  if (isStaleNaN(a) || isStaleNaN(b)) return isStaleNaN(a) && isStaleNaN(b);
  if (a !== a && b !== b) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < 1e-6 * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < 1e-6;
}

function fmt(v: number): string {
  if (isStaleNaN(v)) return 'stale';
  return String(v);
}

function loadInto(store: MemStorage, cmd: LoadCmd): void {
  for (const s of cmd.series) {
    // Within one load block a repeated series replaces the earlier line.
    // Float64Arrays keep the stale marker's NaN payload; plain arrays may not.
    const ts = new Float64Array(s.values.length);
    const vs = new Float64Array(s.values.length);
    // Start timestamps are given as offsets from the sample's time; an absolute 0 means none.
    const st = s.st ? new Float64Array(s.values.length) : undefined;
    let n = 0;
    s.values.forEach((v, i) => {
      if (typeof v === 'number' || v === 'stale') {
        ts[n] = i * cmd.intervalMs;
        if (st) {
          const off = s.st![i];
          st[n] = off === null || off === undefined ? 0 : ts[n] + off;
        }
        vs[n++] = v === 'stale' ? STALE_NAN : v;
      }
    });
    store.load(s.labels, ts.subarray(0, n), vs.subarray(0, n), st?.subarray(0, n));
  }
}

/** Runs one script file. */
export async function runScriptFile(file: string, engine: Engine): Promise<FileResult> {
  return runScript(file, readFileSync(file, 'utf8'), engine);
}

/** Runs script text. */
export async function runScript(file: string, text: string, engine: Engine): Promise<FileResult> {
  const cmds = parseScript(text);
  const store = new MemStorage();
  let histNames = new Set<string>();
  const outcomes: EvalOutcome[] = [];
  for (const cmd of cmds) {
    if (cmd.kind === 'clear') {
      store.clear();
      histNames = new Set();
      continue;
    }
    if (cmd.kind === 'load') {
      loadInto(store, dedupeLoad(cmd));
      for (const n of cmd.histogramNames) histNames.add(n);
      continue;
    }
    const cls = classifyEval(cmd, histNames);
    if (cls === 'native-histogram') {
      outcomes.push({ line: cmd.line, text: cmd.text, cls, failure: 'skipped' });
      continue;
    }
    let failure: string | null;
    try {
      failure = await runEval(cmd, engine, store);
    } catch (e) {
      failure = `runner error: ${(e as Error).message}`;
    }
    outcomes.push({ line: cmd.line, text: cmd.text, cls, failure });
  }
  return { file, outcomes };
}

function dedupeLoad(cmd: LoadCmd): LoadCmd {
  const byKey = new Map<string, LoadCmd['series'][number]>();
  for (const s of cmd.series) byKey.set(s.labels.key(), s);
  return { ...cmd, series: [...byKey.values()] };
}

async function query(cmd: EvalCmd, engine: Engine, store: MemStorage): Promise<QueryResult> {
  if (cmd.range)
    return engine.rangeQuery(store, cmd.expr, cmd.range.start, cmd.range.end, cmd.range.step);
  return engine.instantQuery(store, cmd.expr, cmd.at);
}

/** Runs one eval; returns null on success or a one-line reason. */
export async function runEval(
  cmd: EvalCmd,
  engine: Engine,
  store: MemStorage,
): Promise<string | null> {
  let res: QueryResult;
  try {
    res = await query(cmd, engine, store);
  } catch (e) {
    if (!(e instanceof QueryError)) return `unexpected error: ${(e as Error).stack}`;
    if (!cmd.fail) return `error: ${e.message}`;
    if (cmd.failMsg !== undefined && e.message !== cmd.failMsg)
      return `expected error ${JSON.stringify(cmd.failMsg)}, got ${JSON.stringify(e.message)}`;
    if (cmd.failRegex !== undefined && !new RegExp(cmd.failRegex).test(e.message)) {
      return `expected error matching ${JSON.stringify(cmd.failRegex)}, got ${JSON.stringify(e.message)}`;
    }
    return null;
  }
  if (cmd.fail) return `expected an error, got a ${res.value.type} result`;
  const annErr = checkAnnotations(cmd, res);
  if (annErr) return annErr;
  const err = checkValue(cmd, res.value, cmd.range !== null);
  if (err) return err;
  if (
    !cmd.range &&
    !cmd.ordered &&
    cmd.expectString === null &&
    cmd.expectRange === null &&
    !/\b(start|end|range|step)\s*\(/.test(cmd.expr)
  ) {
    // Range-mode consistency: the middle step of [t-1m, t+1m] must give the same answer.
    let rr: QueryResult;
    try {
      rr = await engine.rangeQuery(store, cmd.expr, cmd.at - 60_000, cmd.at + 60_000, 60_000);
    } catch (e) {
      return `range-mode check: error: ${(e as Error).message}`;
    }
    if (rr.value.type !== 'matrix') return 'range-mode check: not a matrix';
    const series = rr.value.series;
    for (let i = 1; i < series.length; i++) {
      if (compareLabels(series[i - 1].metric, series[i].metric) >= 0)
        return 'range-mode check: matrix not sorted';
    }
    let mid: QueryValue;
    if (cmd.scalar !== null) {
      const pts: number[] = [];
      for (const s of series)
        for (let i = 0; i < s.ts.length; i++) if (s.ts[i] === cmd.at) pts.push(s.vs[i]);
      if (pts.length !== 1) return `range-mode check: expected one scalar point, got ${pts.length}`;
      mid = { type: 'scalar', t: cmd.at, v: pts[0] };
    } else {
      const samples = [];
      for (const s of series)
        for (let i = 0; i < s.ts.length; i++)
          if (s.ts[i] === cmd.at) samples.push({ metric: s.metric, t: cmd.at, v: s.vs[i] });
      mid = { type: 'vector', samples };
    }
    const e2 = checkValue(cmd, mid, false);
    if (e2) return `range-mode check: ${e2}`;
  }
  if (!cmd.range && !TIME_DEPENDENT_RE.test(cmd.expr)) {
    // Step invariance: with every selector pinned by `@ <t>`, the answer must not depend
    // on the evaluation time.
    const t = cmd.at;
    const times = t === 0 ? [-1000, 1000] : [-10 * t, 0, t / 5, t, 10 * t];
    for (const at of times) {
      const expr = parseExpr(cmd.expr);
      pinSelectors(expr, t);
      let r: QueryResult;
      try {
        r = await engine.execExpr(store, cmd.expr, expr, at, at, 0);
      } catch (e) {
        return `@ check at ${at / 1000}s: error: ${(e as Error).message}`;
      }
      const e3 = checkValue(cmd, r.value, false);
      if (e3) return `@ check at ${at / 1000}s: ${e3}`;
    }
  }
  return null;
}

const TIME_DEPENDENT_RE =
  /\b(time|timestamp|predict_linear|day_of_month|day_of_week|day_of_year|days_in_month|hour|minute|month|year|start|end|range|step)\s*\(/;

/** Adds `@ t` to every selector and subquery without one, except inside an `@` subquery. */
function pinSelectors(e: Expr, t: number): void {
  walk(e, (n, path) => {
    if (n.type !== 'vectorSelector' && n.type !== 'subquery') return;
    if (n.timestamp !== null || n.startOrEnd !== null) return;
    for (const p of path)
      if (p.type === 'subquery' && (p.timestamp !== null || p.startOrEnd !== null)) return;
    n.timestamp = t;
  });
}

function checkAnnotations(cmd: EvalCmd, res: QueryResult): string | null {
  if (cmd.legacyWarn && res.warnings.length === 0) return 'expected a warning, got none';
  if (cmd.legacyInfo && res.infos.length === 0) return 'expected an info annotation, got none';
  if (cmd.noWarn && res.warnings.length > 0)
    return `expected no warnings, got ${JSON.stringify(res.warnings)}`;
  if (cmd.noInfo && res.infos.length > 0)
    return `expected no info, got ${JSON.stringify(res.infos)}`;
  for (const kind of ['warn', 'info'] as const) {
    const exp = cmd.annotations.filter((a) => a.kind === kind);
    if (exp.length === 0) continue;
    const got = kind === 'warn' ? res.warnings : res.infos;
    if (got.length === 0) return `expected ${kind} annotation, got none`;
    for (const g of got) {
      const ok = exp.some((a) =>
        a.msg !== undefined
          ? a.msg === g
          : a.regex !== undefined
            ? new RegExp(a.regex).test(g)
            : true,
      );
      if (!ok) return `unexpected ${kind} annotation ${JSON.stringify(g)}`;
    }
  }
  return null;
}

function checkValue(cmd: EvalCmd, v: QueryValue, rangeEval: boolean): string | null {
  if (cmd.expectString !== null) {
    if (v.type !== 'string') return `expected string, got ${v.type}`;
    return v.v === cmd.expectString
      ? null
      : `expected string ${JSON.stringify(cmd.expectString)}, got ${JSON.stringify(v.v)}`;
  }
  if (cmd.scalar !== null) {
    if (v.type === 'scalar')
      return almostEqual(cmd.scalar, v.v) ? null : `expected scalar ${cmd.scalar}, got ${v.v}`;
    if (rangeEval && v.type === 'matrix' && v.series.length === 1 && v.series[0].vs.length === 1) {
      return almostEqual(cmd.scalar, v.series[0].vs[0])
        ? null
        : `expected scalar ${cmd.scalar}, got ${v.series[0].vs[0]}`;
    }
    return `expected scalar, got ${v.type}`;
  }
  if (rangeEval || cmd.expectRange) {
    if (v.type !== 'matrix') return `expected range vector, got ${v.type}`;
    const r = cmd.range ?? cmd.expectRange!;
    return checkMatrix(cmd.series, v.series, r);
  }
  if (v.type !== 'vector') return `expected instant vector, got ${v.type}`;
  const expected = new Map<string, { labels: Labels; v: SeqValue; idx: number }>();
  cmd.series.forEach((s, idx) =>
    expected.set(s.labels.key(), { labels: s.labels, v: s.values[0] ?? null, idx }),
  );
  if (v.samples.length !== cmd.series.length) {
    const got = v.samples
      .slice(0, 4)
      .map((s) => `${s.metric.toString()} ${fmt(s.v)}`)
      .join(', ');
    return `expected ${cmd.series.length} samples, got ${v.samples.length}: ${got}${v.samples.length > 4 ? ', …' : ''}`;
  }
  for (let i = 0; i < v.samples.length; i++) {
    const s = v.samples[i];
    const e = expected.get(s.metric.key());
    if (!e) return `unexpected series ${s.metric.toString()} ${fmt(s.v)}`;
    if (cmd.ordered && e.idx !== i)
      return `expected ${e.labels.toString()} at position ${e.idx}, got it at ${i}`;
    if (e.v === 'stale') {
      if (!isStaleNaN(s.v)) return `${s.metric.toString()}: expected stale, got ${fmt(s.v)}`;
      continue;
    }
    if (typeof e.v !== 'number') return `expected histogram for ${s.metric.toString()}`;
    if (!almostEqual(e.v, s.v))
      return `${s.metric.toString()}: expected ${fmt(e.v)}, got ${fmt(s.v)}`;
  }
  return null;
}

function checkMatrix(
  exp: EvalCmd['series'],
  got: { metric: Labels; ts: Float64Array; vs: Float64Array }[],
  r: { start: number; end: number; step: number },
): string | null {
  for (let i = 1; i < got.length; i++) {
    if (compareLabels(got[i - 1].metric, got[i].metric) >= 0) return 'matrix not sorted by labels';
  }
  const byKey = new Map(exp.map((s) => [s.labels.key(), s]));
  const expNonEmpty = exp.filter((s) => s.values.some((x) => x !== null));
  if (got.length !== expNonEmpty.length) {
    const names = got
      .slice(0, 4)
      .map((s) => s.metric.toString())
      .join(', ');
    return `expected ${expNonEmpty.length} series, got ${got.length}: ${names}`;
  }
  for (const s of got) {
    const e = byKey.get(s.metric.key());
    if (!e) return `unexpected series ${s.metric.toString()}`;
    const pts: [number, number][] = [];
    e.values.forEach((x, i) => {
      if (typeof x === 'number' || x === 'stale')
        pts.push([r.start + i * r.step, x === 'stale' ? STALE_NAN : x]);
    });
    if (pts.length !== s.ts.length) {
      return `${s.metric.toString()}: expected ${pts.length} points, got ${s.ts.length} (${Array.from(s.vs.slice(0, 6), fmt).join(' ')}) at ${Array.from(s.ts.slice(0, 6), (t) => formatDuration(t)).join(' ')}`;
    }
    for (let i = 0; i < pts.length; i++) {
      if (pts[i][0] !== s.ts[i])
        return `${s.metric.toString()}: expected point at ${formatDuration(pts[i][0])}, got ${formatDuration(s.ts[i])}`;
      if (!almostEqual(pts[i][1], s.vs[i]))
        return `${s.metric.toString()} at ${formatDuration(pts[i][0])}: expected ${fmt(pts[i][1])}, got ${fmt(s.vs[i])}`;
    }
  }
  return null;
}
