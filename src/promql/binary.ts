/**
 * Binary operators: scalar/scalar, vector/scalar and vector/vector with matching
 * (`on`/`ignoring`, `group_left`/`group_right`) and the set operators, as Prometheus's
 * `VectorBinop`, `VectorAnd`/`Or`/`Unless` and `VectorscalarBinop`.
 * @module
 */

import { Labels, LabelsBuilder, METRIC_NAME } from '../model/labels.js';
import { isComparison } from './parser/parser.js';
import type { BinaryOp, VectorMatching } from './parser/ast.js';
import { goPow } from './mathutil.js';
import type { Sample } from './value.js';

/** Thrown by binary operations; the engine turns it into an execution QueryError. */
export class EvalError extends Error {}

/** Result of applying `op` to two floats: the value and whether a comparison keeps it. */
export const ELEM = { v: 0, keep: true };

/** Applies `op` to two floats, leaving the result in {@link ELEM}. */
export function elemBinop(op: BinaryOp, l: number, r: number): void {
  ELEM.keep = true;
  switch (op) {
    case '+':
      ELEM.v = l + r;
      return;
    case '-':
      ELEM.v = l - r;
      return;
    case '*':
      ELEM.v = l * r;
      return;
    case '/':
      ELEM.v = l / r;
      return;
    case '%':
      ELEM.v = l % r;
      return;
    case '^':
      ELEM.v = goPow(l, r);
      return;
    case 'atan2':
      ELEM.v = Math.atan2(l, r);
      return;
    case '==':
      ELEM.v = l;
      ELEM.keep = l === r;
      return;
    case '!=':
      ELEM.v = l;
      ELEM.keep = l !== r;
      return;
    case '>':
      ELEM.v = l;
      ELEM.keep = l > r;
      return;
    case '<':
      ELEM.v = l;
      ELEM.keep = l < r;
      return;
    case '>=':
      ELEM.v = l;
      ELEM.keep = l >= r;
      return;
    case '<=':
      ELEM.v = l;
      ELEM.keep = l <= r;
      return;
    default:
      throw new EvalError(`operator ${JSON.stringify(op)} not allowed for scalar operations`);
  }
}

/** Operators whose result no longer measures the input metric, so the name goes. */
export function dropsName(op: BinaryOp): boolean {
  return (
    op === '+' ||
    op === '-' ||
    op === '*' ||
    op === '/' ||
    op === '%' ||
    op === '^' ||
    op === 'atan2'
  );
}

/** scalar op scalar; a comparison (which must carry `bool`) gives 1 or 0. */
export function scalarBinop(op: BinaryOp, l: number, r: number): number {
  elemBinop(op, l, r);
  if (isComparison(op)) return ELEM.keep ? 1 : 0;
  return ELEM.v;
}

/** vector op scalar, or scalar op vector when `swap`. */
export function vectorScalarBinop(
  op: BinaryOp,
  vec: Sample[],
  s: number,
  swap: boolean,
  bool: boolean,
): Sample[] {
  const out: Sample[] = [];
  const cmp = isComparison(op);
  for (const x of vec) {
    let l = x.v;
    let r = s;
    if (swap) {
      l = s;
      r = x.v;
    }
    elemBinop(op, l, r);
    let v = ELEM.v;
    let keep = ELEM.keep;
    if (cmp && swap) v = r;
    if (bool) {
      v = keep ? 1 : 0;
      keep = true;
    }
    if (keep)
      out.push({ metric: x.metric, v, t: x.t, dropName: x.dropName || dropsName(op) || bool });
  }
  return out;
}

/** Signatures per matching clause and label set, so a range query computes each once. */
const SIGNATURES = new WeakMap<
  readonly string[],
  { on: Map<Labels, string>; ignoring: Map<Labels, string> }
>();

/** The matching signature of a label set under `on(...)`/`ignoring(...)`. */
export function signature(m: Labels, on: boolean, names: readonly string[]): string {
  let c = SIGNATURES.get(names);
  if (!c) SIGNATURES.set(names, (c = { on: new Map(), ignoring: new Map() }));
  const cache = on ? c.on : c.ignoring;
  let k = cache.get(m);
  if (k === undefined) {
    k = computeSignature(m, on, names);
    cache.set(m, k);
  }
  return k;
}

function computeSignature(m: Labels, on: boolean, names: readonly string[]): string {
  let k = '';
  m.forEach((n, v) => {
    const listed = names.includes(n);
    if (on ? listed : !listed && n !== METRIC_NAME) k += n.length + ':' + n + v.length + ':' + v;
  });
  return k;
}

/** `lhs and/or/unless rhs`. */
export function setBinop(op: BinaryOp, lhs: Sample[], rhs: Sample[], m: VectorMatching): Sample[] {
  const sig = (s: Sample): string => signature(s.metric, m.on, m.labels);
  if (op === 'and') {
    if (lhs.length === 0 || rhs.length === 0) return [];
    const right = new Set(rhs.map(sig));
    return lhs.filter((s) => right.has(sig(s)));
  }
  if (op === 'unless') {
    if (lhs.length === 0 || rhs.length === 0) return lhs;
    const right = new Set(rhs.map(sig));
    return lhs.filter((s) => !right.has(sig(s)));
  }
  // or
  if (lhs.length === 0) return rhs;
  if (rhs.length === 0) return lhs;
  const left = new Set(lhs.map(sig));
  const out = lhs.slice();
  for (const s of rhs) if (!left.has(sig(s))) out.push(s);
  return out;
}

/** Arithmetic and comparison between two instant vectors. */
export function vectorBinop(
  op: BinaryOp,
  lhs: Sample[],
  rhs: Sample[],
  m: VectorMatching,
  bool: boolean,
  fillLeft: number | null = null,
  fillRight: number | null = null,
): Sample[] {
  if (fillLeft === null && fillRight === null && (lhs.length === 0 || rhs.length === 0)) return [];
  const oneToMany = m.card === 'one-to-many';
  if (oneToMany) [lhs, rhs] = [rhs, lhs];
  const rightSigs = new Map<string, Sample>();
  for (const rs of rhs) {
    const sig = signature(rs.metric, m.on, m.labels);
    const dup = rightSigs.get(sig);
    if (dup) {
      const side = oneToMany ? 'left' : 'right';
      const matched = m.on
        ? rs.metric.keep(...m.labels)
        : rs.metric.without(...m.labels, METRIC_NAME);
      throw new EvalError(
        `found duplicate series for the match group ${matched.toString()} on the ${side} hand-side of the operation: ` +
          `[${dup.metric.toString()}, ${rs.metric.toString()}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    rightSigs.set(sig, rs);
  }
  const matchedSigs = new Map<string, Set<string> | null>();
  const out: Sample[] = [];
  const lb = new LabelsBuilder();
  const dropOp = dropsName(op);
  for (const ls of lhs) {
    const sig = signature(ls.metric, m.on, m.labels);
    const rs = rightSigs.get(sig);
    if (!rs) {
      // fill_right (in the matching's own orientation): the missing side takes the fill value.
      if (fillRight !== null) {
        const metric = resultMetric(ls.metric, Labels.EMPTY, m, lb);
        pushFilled(
          out,
          op,
          ls.v,
          fillRight,
          oneToMany,
          bool,
          metric,
          ls,
          bool || dropOp || ls.dropName,
        );
      }
      continue;
    }
    let fl = ls.v;
    let fr = rs.v;
    if (oneToMany) [fl, fr] = [fr, fl];
    elemBinop(op, fl, fr);
    // Matching errors are found before the comparison filters, so that a filtered
    // many-to-one match still fails (as Prometheus).
    const metric = resultMetric(ls.metric, rs.metric, m, lb);
    const inserted = matchedSigs.get(sig);
    if (m.card === 'one-to-one') {
      if (inserted !== undefined) {
        throw new EvalError(
          'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)',
        );
      }
      matchedSigs.set(sig, null);
    } else {
      const key = metric.key();
      if (inserted === undefined || inserted === null) matchedSigs.set(sig, new Set([key]));
      else if (inserted.has(key))
        throw new EvalError(
          'multiple matches for labels: grouping labels must ensure unique results',
        );
      else inserted.add(key);
    }
    let v = ELEM.v;
    if (bool) v = ELEM.keep ? 1 : 0;
    else if (!ELEM.keep) continue;
    out.push({ metric, v, t: ls.t, dropName: bool || dropOp || ls.dropName });
  }
  if (fillLeft !== null) {
    const leftSigs = lhsSigs(lhs, m);
    for (const [sig, rs] of rightSigs) {
      if (leftSigs.has(sig)) continue;
      const base = m.on ? rs.metric.keep(...m.labels) : rs.metric.without(METRIC_NAME, ...m.labels);
      lb.reset(base);
      for (const ln of m.include) lb.set(ln, rs.metric.get(ln));
      pushFilled(out, op, fillLeft, rs.v, oneToMany, bool, lb.labels(), rs, true);
    }
  }
  return out;
}

function lhsSigs(lhs: Sample[], m: VectorMatching): Set<string> {
  const set = new Set<string>();
  for (const s of lhs) set.add(signature(s.metric, m.on, m.labels));
  return set;
}

/** One result of a fill modifier: `l op r` in the matching's orientation (swapped back for group_right). */
function pushFilled(
  out: Sample[],
  op: BinaryOp,
  l: number,
  r: number,
  swapped: boolean,
  bool: boolean,
  metric: Labels,
  src: Sample,
  dropName: boolean,
): void {
  if (swapped) [l, r] = [r, l];
  elemBinop(op, l, r);
  let v = ELEM.v;
  if (bool) v = ELEM.keep ? 1 : 0;
  else if (!ELEM.keep) return;
  out.push({ metric, v, t: src.t, dropName });
}

/** The labels of a vector/vector result from its matched left and right series. */
export function resultMetric(
  lhs: Labels,
  rhs: Labels,
  m: VectorMatching,
  lb: LabelsBuilder,
): Labels {
  if (m.card === 'one-to-one') {
    if (m.on) {
      lhs = lhs.keep(...m.labels);
    } else if (m.labels.length > 0) {
      lhs = lhs.without(...m.labels);
    }
  }
  if (m.include.length === 0) return lhs;
  lb.reset(lhs);
  for (const ln of m.include) lb.set(ln, rhs.get(ln));
  return lb.labels();
}
