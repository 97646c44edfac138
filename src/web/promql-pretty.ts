/**
 * Multi-line PromQL text, as Prometheus 2.42's `Expr.Pretty(0)` writes it
 * (`promql/parser/prettier.go`) for `/api/v1/format_query`.
 *
 * Each node knows its depth (`level`). A node whose one-line text ({@link exprString}) fits
 * in `maxCharactersPerLine` bytes is written on one line, indented by two spaces per level.
 * A longer node splits: an aggregation or a call puts each argument on its own line one
 * level deeper and closes its parenthesis on a line of its own; a binary expression puts
 * the operator (with `bool` and its matching clause) alone on a line between its operands,
 * both one level deeper; a parenthesis opens and closes on lines of its own. Selectors,
 * numbers and strings never split. The quirks of the Go code are kept on purpose, since the
 * point is byte-identical answers: a subquery short enough to fit is written without its
 * indent, and a unary operator takes the indent of its operand.
 * @module
 */

import type { Expr } from '../promql/parser/ast.js';
import {
  aggregationOpString,
  exprString,
  matchingString,
  subqueryTimeSuffix,
} from './promql-print.js';

/** Prometheus's `maxCharactersPerLine`. */
export const MAX_CHARACTERS_PER_LINE = 100;

/** Options of {@link prettyExpr}. */
export interface PrettyOptions {
  /** The query `e` was parsed from; see {@link exprString}. */
  source?: string;
  /** Split nodes longer than this many bytes (Prometheus's tests use 10). */
  maxCharactersPerLine?: number;
}

/** The text of `e` as `/api/v1/format_query` answers it. */
export function prettyExpr(e: Expr, opts: PrettyOptions = {}): string {
  const p = new Prettier(opts.source, opts.maxCharactersPerLine ?? MAX_CHARACTERS_PER_LINE);
  return p.pretty(e, 0);
}

function indent(level: number): string {
  return '  '.repeat(level);
}

class Prettier {
  private readonly source: string | undefined;
  private readonly limit: number;

  constructor(source: string | undefined, limit: number) {
    this.source = source;
    this.limit = limit;
  }

  /** One-line text of `e`, and whether it is too long for a line (Go counts bytes). */
  private oneLine(e: Expr): { text: string; split: boolean } {
    const text = exprString(e, this.source);
    // Only non-ASCII text can be longer in bytes than in UTF-16 units.
    const split = text.length > this.limit || Buffer.byteLength(text, 'utf8') > this.limit;
    return { text, split };
  }

  pretty(e: Expr, level: number): string {
    switch (e.type) {
      case 'aggregation': {
        const { text, split } = this.oneLine(e);
        if (!split) return indent(level) + text;
        let s = `${indent(level)}${aggregationOpString(e)}(\n`;
        if (e.param !== null) s += `${this.pretty(e.param, level + 1)},\n`;
        return `${s}${this.pretty(e.expr, level + 1)}\n${indent(level)})`;
      }
      case 'binaryExpr': {
        const { text, split } = this.oneLine(e);
        if (!split) return indent(level) + text;
        const op = `${indent(level)}${e.op}${e.bool ? ' bool' : ''}${matchingString(e)}`;
        return `${this.pretty(e.lhs, level + 1)}\n${op}\n${this.pretty(e.rhs, level + 1)}`;
      }
      case 'call': {
        const { text, split } = this.oneLine(e);
        if (!split) return indent(level) + text;
        const args = e.args.map((a) => this.pretty(a, level + 1)).join(',\n');
        return `${indent(level)}${e.func}(\n${args}\n${indent(level)})`;
      }
      case 'parenExpr': {
        const { text, split } = this.oneLine(e);
        if (!split) return indent(level) + text;
        return `${indent(level)}(\n${this.pretty(e.expr, level + 1)}\n${indent(level)})`;
      }
      case 'subquery': {
        const { text, split } = this.oneLine(e);
        // Go returns the short form without the indent.
        if (!split) return text;
        return this.pretty(e.expr, level) + subqueryTimeSuffix(e);
      }
      case 'unaryExpr':
        // The operand's own indent moves in front of the operator.
        return `${indent(level)}${e.op}${this.pretty(e.expr, level).trim()}`;
      case 'matrixSelector':
      case 'vectorSelector':
      case 'numberLiteral':
      case 'stringLiteral':
        return indent(level) + exprString(e, this.source);
    }
  }
}
