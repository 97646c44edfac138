/**
 * PromQL text of a syntax tree, as Prometheus's `Expr.String()` writes it
 * (`promql/parser/printer.go`), for `/api/v1/format_query`. Prometheus 2.42's endpoint uses
 * `Pretty()`, which equals `String()` for expressions up to 100 characters; longer ones are
 * kept on one line here.
 * @module
 */

import { goQuote, METRIC_NAME } from '../model/index.js';
import type { Expr, StartOrEnd, VectorSelector } from '../promql/parser/ast.js';
import { formatJsonValue } from './format.js';

const UNITS: [string, number][] = [
  ['y', 365 * 24 * 3600_000],
  ['w', 7 * 24 * 3600_000],
  ['d', 24 * 3600_000],
  ['h', 3600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];

/** Prometheus's `model.Duration.String()`: `1h30m`, `5m`, `0s`. */
export function formatPromDuration(ms: number): string {
  if (ms === 0) return '0s';
  let s = '';
  let rest = ms;
  for (const [u, f] of UNITS) {
    if (rest >= f) {
      s += Math.floor(rest / f) + u;
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

function selectorBody(vs: VectorSelector): string {
  const parts: string[] = [];
  if (vs.matchers.length > 1 || vs.name === '') {
    for (const m of vs.matchers) {
      if (m.name === METRIC_NAME && m.type === '=' && m.value === vs.name) continue;
      parts.push(m.toString());
    }
  }
  if (parts.length === 0) return vs.name;
  parts.sort();
  return `${vs.name}{${parts.join(',')}}`;
}

function numberText(v: number): string {
  if (v !== v || !Number.isFinite(v)) return formatJsonValue(v);
  const a = Math.abs(v);
  if (a >= 1e21 && Number.isInteger(v)) return BigInt(v).toString();
  if (a !== 0 && a < 1e-6) return v.toFixed(20).replace(/0+$/, '');
  return formatJsonValue(v);
}

/** The PromQL text of `e`. */
export function exprString(e: Expr): string {
  switch (e.type) {
    case 'vectorSelector':
      return selectorBody(e) + atOffset(e.offset, e.timestamp, e.startOrEnd);
    case 'matrixSelector': {
      const vs = e.selector;
      return `${selectorBody(vs)}[${formatPromDuration(e.range)}]${atOffset(vs.offset, vs.timestamp, vs.startOrEnd)}`;
    }
    case 'subquery':
      return `${exprString(e.expr)}[${formatPromDuration(e.range)}:${e.step === 0 ? '' : formatPromDuration(e.step)}]${atOffset(e.offset, e.timestamp, e.startOrEnd)}`;
    case 'aggregation': {
      let s: string = e.op;
      if (e.without) s += ` without (${e.grouping.join(', ')}) `;
      else if (e.grouping.length > 0) s += ` by (${e.grouping.join(', ')}) `;
      s += '(';
      if (e.param !== null) s += exprString(e.param) + ', ';
      return s + exprString(e.expr) + ')';
    }
    case 'binaryExpr': {
      let matching = '';
      const vm = e.matching;
      if (vm !== null && (vm.labels.length > 0 || vm.on)) {
        matching = ` ${vm.on ? 'on' : 'ignoring'} (${vm.labels.join(', ')})`;
        if (vm.card === 'many-to-one' || vm.card === 'one-to-many') {
          matching += ` group_${vm.card === 'many-to-one' ? 'left' : 'right'} (${vm.include.join(', ')})`;
        }
      }
      return `${exprString(e.lhs)} ${e.op}${e.bool ? ' bool' : ''}${matching} ${exprString(e.rhs)}`;
    }
    case 'call':
      return `${e.func}(${e.args.map(exprString).join(', ')})`;
    case 'numberLiteral':
      return numberText(e.val);
    case 'parenExpr':
      return `(${exprString(e.expr)})`;
    case 'stringLiteral':
      return goQuote(e.val);
    case 'unaryExpr':
      return `${e.op}${exprString(e.expr)}`;
  }
}
