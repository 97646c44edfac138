/**
 * PromQL text of a syntax tree on one line, as Prometheus 2.42's `Expr.String()` writes it
 * (`promql/parser/printer.go`). `/api/v1/format_query` uses the multi-line form built on
 * top of this one, in promql-pretty.ts.
 * @module
 */

import { goQuote, METRIC_NAME } from '../model/index.js';
import type {
  Aggregation,
  BinaryExpr,
  Expr,
  StartOrEnd,
  Subquery,
  VectorSelector,
} from '../promql/parser/ast.js';
import { formatJsonValue } from './format.js';

/** Units of `model.Duration.String()`; `exact` units are used only when nothing remains. */
const UNITS: { unit: string; ms: number; exact: boolean }[] = [
  { unit: 'y', ms: 365 * 24 * 3600_000, exact: true },
  { unit: 'w', ms: 7 * 24 * 3600_000, exact: true },
  { unit: 'd', ms: 24 * 3600_000, exact: false },
  { unit: 'h', ms: 3600_000, exact: false },
  { unit: 'm', ms: 60_000, exact: false },
  { unit: 's', ms: 1000, exact: false },
  { unit: 'ms', ms: 1, exact: false },
];

/**
 * Prometheus's `model.Duration.String()`: `1h30m`, `5m`, `0s`. Years and weeks appear only
 * when they divide the duration exactly (`2w`, but `382d4h` rather than `1y2w3d4h`).
 */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let s = '';
  let rest = ms;
  for (const { unit, ms: f, exact } of UNITS) {
    if (exact && rest % f !== 0) continue;
    if (rest >= f) {
      s += Math.floor(rest / f) + unit;
      rest %= f;
    }
  }
  return s;
}

function atOffset(offset: number, timestamp: number | null, startOrEnd: StartOrEnd): string {
  let at = '';
  if (timestamp !== null) at = ` @ ${(timestamp / 1000).toFixed(3)}`;
  else if (startOrEnd !== null) at = ` @ ${startOrEnd}()`;
  let off = '';
  if (offset > 0) off = ` offset ${formatPromDuration(offset)}`;
  else if (offset < 0) off = ` offset -${formatPromDuration(-offset)}`;
  return at + off;
}

/**
 * The metric name as Prometheus's parser records it: only a name written before the braces
 * counts. Our parser also takes it from `{__name__="x"}`, which 2.42 prints unchanged, so
 * with the query text at hand a selector that starts with `{` has no name.
 */
function writtenName(vs: VectorSelector, source: string | undefined): string {
  if (source !== undefined && source.charCodeAt(vs.pos.start) === 0x7b /* { */) return '';
  return vs.name;
}

function selectorBody(vs: VectorSelector, source: string | undefined): string {
  const name = writtenName(vs, source);
  const parts: string[] = [];
  for (const m of vs.matchers) {
    if (m.name === METRIC_NAME && m.type === '=' && m.value === name) continue;
    parts.push(m.toString());
  }
  if (parts.length === 0) return name;
  parts.sort();
  return `${name}{${parts.join(',')}}`;
}

/**
 * Go's `fmt.Sprint(float64)` (`%v`, i.e. `%g` with the shortest digits): exponent form when
 * the decimal exponent is below -4 or at least 6, with a sign and two digits at least
 * (`1e+06`, `1.2345e-05`, `123456`, `0.0001`, `+Inf`).
 */
export function goFloatString(v: number): string {
  if (v !== v || !Number.isFinite(v) || v === 0) return formatJsonValue(v);
  // toExponential() without digits gives the shortest round-trip digits, as Go does.
  const e = v.toExponential();
  const at = e.indexOf('e');
  const exp = Number(e.slice(at + 1));
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const abs = Math.abs(exp);
    return `${e.slice(0, at)}e${sign}${abs < 10 ? '0' : ''}${abs}`;
  }
  // Inside these bounds JavaScript writes plain decimals with the same digits.
  return String(v);
}

/** `on (a) group_left (b)`-style suffix of a binary operator, with its leading space. */
export function matchingString(e: BinaryExpr): string {
  const vm = e.matching;
  if (vm === null || (vm.labels.length === 0 && !vm.on)) return '';
  let s = ` ${vm.on ? 'on' : 'ignoring'} (${vm.labels.join(', ')})`;
  if (vm.card === 'many-to-one' || vm.card === 'one-to-many') {
    s += ` group_${vm.card === 'many-to-one' ? 'left' : 'right'} (${vm.include.join(', ')})`;
  }
  return s;
}

/** `sum by (a) `: an aggregation's operator and grouping, as `getAggOpStr()` writes it. */
export function aggregationOpString(e: Aggregation): string {
  if (e.without) return `${e.op} without (${e.grouping.join(', ')}) `;
  if (e.grouping.length > 0) return `${e.op} by (${e.grouping.join(', ')}) `;
  return e.op;
}

/** `[5m:1m] @ 100.000 offset 1m`: what follows a subquery's inner expression. */
export function subqueryTimeSuffix(e: Subquery): string {
  const step = e.step === 0 ? '' : formatPromDuration(e.step);
  return `[${formatPromDuration(e.range)}:${step}]${atOffset(e.offset, e.timestamp, e.startOrEnd)}`;
}

/**
 * The PromQL text of `e` on one line. `source`, the query `e` was parsed from, lets
 * `{__name__="x"}` print as written rather than as `x`.
 */
export function exprString(e: Expr, source?: string): string {
  switch (e.type) {
    case 'vectorSelector':
      return selectorBody(e, source) + atOffset(e.offset, e.timestamp, e.startOrEnd);
    case 'matrixSelector': {
      const vs = e.selector;
      return `${selectorBody(vs, source)}[${formatPromDuration(e.range)}]${atOffset(vs.offset, vs.timestamp, vs.startOrEnd)}`;
    }
    case 'subquery':
      return exprString(e.expr, source) + subqueryTimeSuffix(e);
    case 'aggregation': {
      let s = aggregationOpString(e) + '(';
      if (e.param !== null) s += exprString(e.param, source) + ', ';
      return s + exprString(e.expr, source) + ')';
    }
    case 'binaryExpr':
      return `${exprString(e.lhs, source)} ${e.op}${e.bool ? ' bool' : ''}${matchingString(e)} ${exprString(e.rhs, source)}`;
    case 'call':
      return `${e.func}(${e.args.map((a) => exprString(a, source)).join(', ')})`;
    case 'numberLiteral':
      return goFloatString(e.val);
    case 'parenExpr':
      return `(${exprString(e.expr, source)})`;
    case 'stringLiteral':
      return goQuote(e.val);
    case 'unaryExpr':
      return `${e.op}${exprString(e.expr, source)}`;
  }
}
