/**
 * PromQL text → {@link Expr}. Lezer (Prometheus's own grammar, `@prometheus-io/lezer-promql`)
 * builds a concrete tree; this module walks it with `switch (node.type.id)` (error nodes
 * have id 0), as codemirror-promql does, and applies the checks of Prometheus's Go parser
 * (`checkAST`) that the lezer grammar leaves out, with the same messages.
 * @module
 */

import type { SyntaxNode } from '@lezer/common';
import * as T from '@prometheus-io/lezer-promql';
import { ParseError } from '../../model/errors.js';
import { Matcher, type MatchType } from '../../model/matcher.js';
import { METRIC_NAME } from '../../model/labels.js';
import {
  KIND_NAMES,
  kindOf,
  type AggregationOp,
  type BinaryOp,
  type Expr,
  type PosRange,
  type StartOrEnd,
  type ValueKind,
  type VectorMatching,
  type VectorSelector,
} from './ast.js';
import { FUNCTIONS } from './functions.js';
import { parseDurationMs, parseNumber, unquoteString } from './lex.js';

/** A PromQL syntax or type error; `message` reads `1:5: parse error: …` as Prometheus's. */
export class PromQLParseError extends ParseError {
  readonly pos: PosRange;
  readonly reason: string;
  constructor(query: string, pos: PosRange, reason: string) {
    const { line, col } = lineCol(query, pos.start);
    super(`${line}:${col}: parse error: ${reason}`);
    this.name = 'PromQLParseError';
    this.pos = pos;
    this.reason = reason;
  }
}

/** Line and 1-based column of a character offset. */
export function lineCol(query: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lastBreak = -1;
  for (let i = 0; i < offset && i < query.length; i++) {
    if (query.charCodeAt(i) === 10) {
      line++;
      lastBreak = i;
    }
  }
  return { line, col: offset - lastBreak };
}

const AGG_OPS: Record<number, AggregationOp> = {
  [T.Sum]: 'sum',
  [T.Min]: 'min',
  [T.Max]: 'max',
  [T.Avg]: 'avg',
  [T.Group]: 'group',
  [T.Stddev]: 'stddev',
  [T.Stdvar]: 'stdvar',
  [T.Count]: 'count',
  [T.CountValues]: 'count_values',
  [T.Bottomk]: 'bottomk',
  [T.Topk]: 'topk',
  [T.Quantile]: 'quantile',
  [T.LimitK]: 'limitk',
  [T.LimitRatio]: 'limit_ratio',
};
const PARAM_AGGS = new Set<AggregationOp>([
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

const BIN_OPS: Record<number, BinaryOp> = {
  [T.Add]: '+',
  [T.Sub]: '-',
  [T.Mul]: '*',
  [T.Div]: '/',
  [T.Mod]: '%',
  [T.Pow]: '^',
  [T.Atan2]: 'atan2',
  [T.Eql]: '==',
  [T.Neq]: '!=',
  [T.Gtr]: '>',
  [T.Lss]: '<',
  [T.Gte]: '>=',
  [T.Lte]: '<=',
  [T.And]: 'and',
  [T.Or]: 'or',
  [T.Unless]: 'unless',
};
const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set<BinaryOp>(['and', 'or', 'unless']);

/** Reports whether `op` is a comparison operator. */
export function isComparison(op: BinaryOp): boolean {
  return COMPARISON.has(op);
}
/** Reports whether `op` is `and`, `or` or `unless`. */
export function isSetOp(op: BinaryOp): boolean {
  return SET_OPS.has(op);
}

const MATCH_OPS: Record<number, MatchType> = {
  [T.EqlSingle]: '=',
  [T.Neq]: '!=',
  [T.EqlRegex]: '=~',
  [T.NeqRegex]: '!~',
};

function hasError(n: SyntaxNode): boolean {
  let found = false;
  n.toTree().iterate({
    enter: (x) => {
      if (x.type.id === 0) found = true;
      return !found;
    },
  });
  return found;
}

/** The children of a node, without comments (`# ...` may stand between any two tokens). */
function kids(n: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = n.firstChild; c; c = c.nextSibling) if (c.type.id !== T.LineComment) out.push(c);
  return out;
}

/** Query facts that duration expressions (`step()`, `range()`) may refer to. */
export interface ParseOptions {
  /** Step of the range query (ms), 0 for an instant query. */
  stepMs?: number;
  /** `end - start` of the query (ms). */
  rangeMs?: number;
}

/** Parses a PromQL expression; throws {@link PromQLParseError}. */
export function parseExpr(query: string, opts: ParseOptions = {}): Expr {
  return new Walker(query, opts).parse();
}

/**
 * Go accepts `2.` and `1./6.`; the lezer grammar does not. Replacing such a dot by a space
 * keeps every offset (and the value) unchanged.
 */
function blankTrailingDots(q: string): string {
  let out = '';
  let quote = '';
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote) {
      if (c === '\\' && quote !== '`') {
        out += c + (q[i + 1] ?? '');
        i++;
        continue;
      }
      if (c === quote) quote = '';
      out += c;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    if (c === '.' && i > 0 && /[0-9]/.test(q[i - 1]) && !/[0-9eE]/.test(q[i + 1] ?? '')) {
      let j = i - 1;
      while (j >= 0 && /[0-9]/.test(q[j])) j--;
      if (j < 0 || !/[A-Za-z0-9_:.]/.test(q[j])) {
        out += ' ';
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** Go's lexer keywords, which its parser errors write as `<by>`. */
const GO_KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
]);

/**
 * How Go's parser names the token an error stops at (`Item.desc()`): `<by>`,
 * `identifier "foo"`, `number "5"`, `string "\"a\""`, or the quoted punctuation.
 */
function goTokenDesc(text: string, inBracket: boolean): string {
  if (text === '') return 'character';
  // Inside `[...]` Go's lexer takes one colon only.
  if (inBracket && text.startsWith(':')) return "colon ':'";
  const ident = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(text);
  if (ident) {
    const w = ident[0];
    if (GO_KEYWORDS.has(w.toLowerCase())) return `<${w}>`;
    return `identifier ${JSON.stringify(w)}`;
  }
  const num = /^(0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)(?![A-Za-z0-9_])/.exec(text);
  if (num) return `number ${JSON.stringify(num[0])}`;
  const str = /^("(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)/.exec(text);
  if (str) {
    // Go quotes at most 10 characters of a longer token (`%.10q...`).
    const v = str[0];
    return `string ${v.length > 10 ? JSON.stringify(v.slice(0, 10)) + '...' : JSON.stringify(v)}`;
  }
  const op = /^(==|!=|>=|<=|=~|!~|[-+*/%^(){}[\],=<>@;!])/.exec(text);
  if (op) return JSON.stringify(op[0]);
  if (text.charCodeAt(0) < 0x80) return JSON.stringify(text.split(/\s/)[0]);
  // Go's lexer stops at a character it has no token for.
  return `character: '${String.fromCodePoint(text.codePointAt(0) ?? 0)}'`;
}

const AGGREGATION_GROUPING =
  /\b(sum|min|max|avg|group|stddev|stdvar|count|count_values|bottomk|topk|quantile)\s*(by|without)\s*\([^()]*\)\s*$/i;

/**
 * The rule Go's parser was in when it stopped, as its error productions name it
 * (` in @, expected timestamp`), found from the text before the error; '' when unknown.
 */
function goErrorContext(before: string, open: { brace: boolean }, token: string): string {
  const b = before.trimEnd();
  if (/@\s*((start|end)\s*)?$/i.test(b)) return ' in @, expected timestamp';
  if (/\boffset\s*-?$/i.test(b)) return ' in offset, expected duration';
  if (open.brace) {
    if (/["'`]$/.test(b)) return ' in label matching, expected "," or "}"';
    if (/(=|!=|=~|!~)$/.test(b)) return ' in label matching, expected string';
    if (/[A-Za-z0-9_]$/.test(b)) return ' in label matching, expected label matching operator';
    if (/[{,]$/.test(b)) return ' in label matching, expected identifier or "}"';
  }
  if (/^(by|without)\b/i.test(token) && AGGREGATION_GROUPING.test(b)) return ' in aggregation';
  return '';
}

/** Open parentheses, and whether a `[` or `{` is open, before `end` (strings and comments skipped). */
function goLexerDepths(
  q: string,
  end: number,
): { parens: number; bracket: boolean; brace: boolean } {
  let parens = 0;
  let bracket = false;
  let brace = false;
  for (let i = 0; i < end && i < q.length; i++) {
    const c = q[i];
    if (c === '"' || c === "'" || c === '`') {
      for (i++; i < end && q[i] !== c; i++) if (q[i] === '\\' && c !== '`') i++;
    } else if (c === '#') {
      while (i < end && q[i] !== '\n') i++;
    } else if (c === '(') parens++;
    else if (c === ')') parens--;
    else if (c === '[') bracket = true;
    else if (c === ']') bracket = false;
    else if (c === '{') brace = true;
    else if (c === '}') brace = false;
  }
  return { parens, bracket, brace };
}

class Walker {
  private readonly q: string;
  private readonly opts: ParseOptions;
  private allowEmptySelector = false;
  /** Offsets of scalar `min_of`/`max_of` calls parsed through a stand-in name. */
  private readonly scalarMinMax = new Map<number, 'min_of' | 'max_of'>();
  constructor(q: string, opts: ParseOptions) {
    this.q = q;
    this.opts = opts;
  }

  parse(): Expr {
    // Duration keywords are case-insensitive in Go's lexer, lower-case only in lezer's.
    let text = blankTrailingDots(this.q).replace(/\b(step|range)(?=\s*\()/gi, (m) =>
      m.toLowerCase(),
    );
    let tree = T.parser.parse(text);
    if (hasError(tree.topNode) && /\b(min_of|max_of)\s*\(/.test(text)) {
      // Lezer knows min_of/max_of only inside durations. As scalar functions, parse them as
      // a same-length stand-in call and remember where they were.
      const retry = text.replace(
        /\b(min_of|max_of)(?=\s*\()/g,
        (m: string, _g: string, off: number) => {
          this.scalarMinMax.set(off, m as 'min_of' | 'max_of');
          return 'minute';
        },
      );
      const t2 = T.parser.parse(retry);
      if (!hasError(t2.topNode)) {
        text = retry;
        tree = t2;
      } else this.scalarMinMax.clear();
    }
    const top = tree.topNode;
    // Report the first error node, as Prometheus's parser stops at the first unexpected token.
    let err: SyntaxNode | null = null;
    tree.iterate({
      enter: (n) => {
        if (err) return false;
        if (n.type.id === 0) {
          err = n.node;
          return false;
        }
        return undefined;
      },
    });
    if (err !== null) {
      const e = err as SyntaxNode;
      const text = this.q.slice(e.from, e.to).trim();
      if (this.q.trim() === '') this.fail({ start: 0, end: 0 }, 'no expression found in input');
      const open = goLexerDepths(this.q, e.from);
      if (e.from >= this.q.trimEnd().length) {
        // Go's lexer reports unclosed brackets at the end before the parser sees the end.
        if (open.brace) this.fail(e, 'unexpected end of input inside braces');
        if (open.parens > 0) this.fail(e, 'unclosed left parenthesis');
        if (open.bracket) this.fail(e, 'unclosed left bracket');
        this.fail(e, `unexpected end of input${goErrorContext(this.q.slice(0, e.from), open, '')}`);
      }
      if (text.startsWith(')') && open.parens === 0) {
        // Go's lexer counts the parenthesis first, so the position is just after it.
        const at = this.q.indexOf(')', e.from) + 1;
        this.fail({ start: at, end: at }, "unexpected right parenthesis ')'");
      }
      const fn = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(this.q.slice(0, e.from));
      if (fn && this.q.slice(e.from).trimStart().startsWith('(') && !FUNCTIONS.has(fn[1])) {
        this.fail(
          { start: fn.index, end: e.from },
          `unknown function with name ${JSON.stringify(fn[1])}`,
        );
      }
      const bang = /^!([^=~])/u.exec(this.q.slice(e.from));
      if (open.brace && bang) {
        this.fail(e, `unexpected character after '!' inside braces: '${bang[1]}'`);
      }
      // An empty error node stands before the token that did not fit.
      const next = text === '' ? this.q.slice(e.from).trim() : text;
      const context = goErrorContext(this.q.slice(0, e.from), open, next);
      this.fail(e, `unexpected ${goTokenDesc(next, open.bracket)}${context}`);
    }
    const body = kids(top);
    if (body.length === 0)
      throw new PromQLParseError(this.q, { start: 0, end: 0 }, 'no expression found in input');
    const e = this.expr(body[0]);
    return e;
  }

  private fail(n: SyntaxNode | PosRange, reason: string): never {
    const pos = 'start' in n ? n : { start: n.from, end: n.to };
    throw new PromQLParseError(this.q, pos, reason);
  }

  private pos(n: SyntaxNode): PosRange {
    return { start: n.from, end: n.to };
  }

  private text(n: SyntaxNode): string {
    return this.q.slice(n.from, n.to);
  }

  private expectType(e: Expr, want: ValueKind, context: string): void {
    const got = kindOf(e);
    if (got !== want)
      this.fail(e.pos, `expected type ${KIND_NAMES[want]} in ${context}, got ${KIND_NAMES[got]}`);
  }

  expr(n: SyntaxNode): Expr {
    switch (n.type.id) {
      case T.AggregateExpr:
        return this.aggregation(n);
      case T.BinaryExpr:
        return this.binary(n);
      case T.FunctionCall:
        return this.call(n);
      case T.MatrixSelector:
        return this.matrix(n);
      case T.SubqueryExpr:
        return this.subquery(n);
      case T.NumberDurationLiteral:
        return { type: 'numberLiteral', val: this.number(n), pos: this.pos(n) };
      case T.ParenExpr: {
        const inner = kids(n)[0];
        return { type: 'parenExpr', expr: this.expr(inner), pos: this.pos(n) };
      }
      case T.StringLiteral:
        return { type: 'stringLiteral', val: this.string(n), pos: this.pos(n) };
      case T.UnaryExpr:
        return this.unary(n);
      case T.VectorSelector:
        return this.vectorSelector(n);
      case T.OffsetExpr:
        return this.offset(n);
      case T.StepInvariantExpr:
        return this.at(n);
      case T.AnchoredExpr:
      case T.SmoothedExpr:
        return this.extendedRange(n, n.type.id === T.AnchoredExpr ? 'anchored' : 'smoothed');
      default:
        this.fail(n, `unexpected ${JSON.stringify(this.text(n))}`);
    }
  }

  private number(n: SyntaxNode): number {
    const s = this.text(n).replace(/\s+/g, '');
    const v = parseNumber(s);
    if (v !== null) return v;
    const d = parseDurationMs(s);
    if (d !== null) return d / 1000;
    this.fail(n, `bad number or duration syntax: ${JSON.stringify(s)}`);
  }

  private string(n: SyntaxNode): string {
    try {
      return unquoteString(this.text(n));
    } catch (e) {
      this.fail(n, (e as Error).message);
    }
  }

  /** A duration in range/offset/step position: a duration literal or a number of seconds. */
  private duration(n: SyntaxNode): number {
    const id = n.type.id;
    if (id === T.DurationStep) return this.opts.stepMs ?? 0;
    if (id === T.DurationRange) return this.opts.rangeMs ?? 0;
    if (id === T.DurationExpr || id === T.OffsetDurationExpr) {
      const k = kids(n);
      if (k.length === 1) return this.duration(k[0]);
      if (k.length >= 2 && (k[0].type.id === T.DurationMinOf || k[0].type.id === T.DurationMaxOf)) {
        const vals = k.slice(1).map((c) => this.duration(c));
        return k[0].type.id === T.DurationMinOf ? Math.min(...vals) : Math.max(...vals);
      }
      if (k.length === 2 && k[0].type.id === T.UnaryOp) {
        const v = this.duration(k[1]);
        return this.text(k[0]) === '-' ? -v : v;
      }
      if (k.length === 3) {
        const a = this.duration(k[0]);
        const b = this.duration(k[2]);
        switch (k[1].type.id) {
          case T.Add:
            return a + b;
          case T.Sub:
            return a - b;
          case T.Mul:
            return (a * b) / 1000;
          case T.Div:
            return (a / b) * 1000;
          case T.Mod:
            return a % b;
          case T.Pow:
            return Math.pow(a / 1000, b / 1000) * 1000;
        }
      }
      if (k.length === 3 && k[0].type.id === T.ParenExpr) return this.duration(k[1]);
      this.fail(n, `unsupported duration expression ${JSON.stringify(this.text(n))}`);
    }
    if (id === T.ParenExpr) return this.duration(kids(n)[0]);
    const s = this.text(n);
    const d = parseDurationMs(s);
    if (d !== null) return d;
    const v = parseNumber(s);
    if (v !== null && Number.isFinite(v)) return Math.round(v * 1000);
    this.fail(n, `unexpected duration ${JSON.stringify(s)}`);
  }

  private aggregation(n: SyntaxNode): Expr {
    let op: AggregationOp | null = null;
    let grouping: string[] = [];
    let without = false;
    let args: Expr[] = [];
    for (const c of kids(n)) {
      switch (c.type.id) {
        case T.AggregateOp:
          op = AGG_OPS[kids(c)[0].type.id];
          break;
        case T.AggregateModifier: {
          const k = kids(c);
          without = k[0].type.id === T.Without;
          grouping = this.grouping(k[1]);
          break;
        }
        case T.FunctionCallBody:
          args = kids(c).map((a) => this.expr(a));
          break;
      }
    }
    if (op === null) this.fail(n, 'aggregation operator expected');
    const want = PARAM_AGGS.has(op) ? 2 : 1;
    if (args.length !== want) {
      this.fail(
        n,
        `wrong number of arguments for aggregate expression provided, expected ${want}, got ${args.length}`,
      );
    }
    const expr = args[args.length - 1];
    const param = want === 2 ? args[0] : null;
    this.expectType(expr, 'vector', 'aggregation expression');
    if (param)
      this.expectType(param, op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter');
    return { type: 'aggregation', op, expr, param, grouping, without, pos: this.pos(n) };
  }

  private grouping(n: SyntaxNode): string[] {
    return kids(n).map((l) =>
      l.type.id === T.QuotedLabelName ? this.string(kids(l)[0]) : this.text(l),
    );
  }

  private binary(n: SyntaxNode): Expr {
    const k = kids(n);
    const first = k[0];
    const firstText = this.text(first);
    if (
      k[1] &&
      k[1].type.id === T.Pow &&
      first.type.id === T.NumberDurationLiteral &&
      /^[-+]/.test(firstText)
    ) {
      // Lezer lexes `-2 ^ 2` as (-2)^2; in Go's grammar `^` binds tighter than unary minus.
      const magnitude = Math.abs(this.number(first));
      const inner = this.binary0(n, k, {
        type: 'numberLiteral',
        val: magnitude,
        pos: this.pos(first),
      });
      if (firstText[0] === '+') return inner;
      if (inner.type === 'numberLiteral') return { ...inner, val: -inner.val };
      return { type: 'unaryExpr', op: '-', expr: inner, pos: this.pos(n) };
    }
    return this.binary0(n, k, this.expr(first));
  }

  private binary0(n: SyntaxNode, k: SyntaxNode[], lhs: Expr): Expr {
    const rhs = this.expr(k[k.length - 1]);
    const opNode = k[1];
    const op = BIN_OPS[opNode.type.id];
    let bool = false;
    let matching: VectorMatching | null = null;
    let fillLeft: number | null = null;
    let fillRight: number | null = null;
    for (let i = 2; i < k.length - 1; i++) {
      const c = k[i];
      if (c.type.id === T.BoolModifier) bool = true;
      else if (c.type.id === T.MatchingModifierClause) matching = this.matching(c);
      else if (c.type.id === T.FillModifier) {
        for (const clause of kids(c)) {
          const [kw, val] = kids(clause);
          const v = this.number(val);
          if (kw.type.id === T.Fill || kw.type.id === T.FillLeft) fillLeft = v;
          if (kw.type.id === T.Fill || kw.type.id === T.FillRight) fillRight = v;
        }
      }
    }
    const opPos = this.pos(opNode);
    const lt = kindOf(lhs);
    const rt = kindOf(rhs);
    if (bool && !isComparison(op))
      this.fail(opPos, 'bool modifier can only be used on comparison operators');
    if (isComparison(op) && !bool && lt === 'scalar' && rt === 'scalar') {
      this.fail(opPos, 'comparisons between scalars must use BOOL modifier');
    }
    if (matching && matching.on) {
      for (const l of matching.labels) {
        if (matching.include.includes(l))
          this.fail(
            opPos,
            `label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`,
          );
      }
    }
    const pos = this.pos(n);
    if (lt !== 'scalar' && lt !== 'vector')
      this.fail(lhs.pos, 'binary expression must contain only scalar and instant vector types');
    if (rt !== 'scalar' && rt !== 'vector')
      this.fail(rhs.pos, 'binary expression must contain only scalar and instant vector types');
    if (lt !== 'vector' || rt !== 'vector') {
      if (matching && (matching.labels.length > 0 || matching.on)) {
        this.fail(pos, 'vector matching only allowed between instant vectors');
      }
      matching = null;
    } else {
      if (!matching) matching = { card: 'one-to-one', on: false, labels: [], include: [] };
      if (isSetOp(op)) {
        if (matching.card === 'one-to-many' || matching.card === 'many-to-one') {
          this.fail(pos, `no grouping allowed for ${JSON.stringify(op)} operation`);
        }
        matching.card = 'many-to-many';
      }
    }
    if ((lt === 'scalar' || rt === 'scalar') && isSetOp(op)) {
      this.fail(pos, `set operator ${JSON.stringify(op)} not allowed in binary scalar expression`);
    }
    if (
      (fillLeft !== null || fillRight !== null) &&
      (lt !== 'vector' || rt !== 'vector' || isSetOp(op))
    ) {
      this.fail(
        pos,
        'fill modifiers are only allowed between instant vectors with arithmetic or comparison operators',
      );
    }
    return { type: 'binaryExpr', op, lhs, rhs, matching, bool, fillLeft, fillRight, pos };
  }

  private matching(n: SyntaxNode): VectorMatching {
    const m: VectorMatching = { card: 'one-to-one', on: false, labels: [], include: [] };
    const k = kids(n);
    for (let i = 0; i < k.length; i++) {
      const id = k[i].type.id;
      const next = k[i + 1];
      const labels = next && next.type.id === T.GroupingLabels ? this.grouping(next) : null;
      if (id === T.On || id === T.Ignoring) {
        m.on = id === T.On;
        m.labels = labels ?? [];
      } else if (id === T.GroupLeft || id === T.GroupRight) {
        m.card = id === T.GroupLeft ? 'many-to-one' : 'one-to-many';
        m.include = labels ?? [];
      }
      if (labels) i++;
    }
    return m;
  }

  private call(n: SyntaxNode): Expr {
    const k = kids(n);
    const name = this.scalarMinMax.get(n.from) ?? this.text(k[0]);
    const fn = FUNCTIONS.get(name);
    if (!fn) this.fail(k[0], `unknown function with name ${JSON.stringify(name)}`);
    // info()'s second argument selects info series by data-label matchers, which may all
    // match the empty string; it is exempt from the non-empty-matcher rule.
    const args = k[1]
      ? kids(k[1]).map((a, i) => {
          this.allowEmptySelector = name === 'info' && i === 1;
          try {
            return this.expr(a);
          } finally {
            this.allowEmptySelector = false;
          }
        })
      : [];
    const pos = this.pos(n);
    if (name === 'info' && args.length === 1) {
      // The default info-series selector, made explicit so that it is selected like any other.
      const def = new Matcher('=', METRIC_NAME, 'target_info');
      args.push({
        type: 'vectorSelector',
        name: 'target_info',
        matchers: [def],
        offset: 0,
        timestamp: null,
        startOrEnd: null,
        extended: null,
        pos,
      });
    }
    const nargs = args.length;
    if (fn.variadic === 0) {
      if (nargs !== fn.argTypes.length) {
        this.fail(
          pos,
          `expected ${fn.argTypes.length} argument(s) in call to ${JSON.stringify(name)}, got ${nargs}`,
        );
      }
    } else {
      const na = fn.argTypes.length - 1;
      if (na > nargs)
        this.fail(
          pos,
          `expected at least ${na} argument(s) in call to ${JSON.stringify(name)}, got ${nargs}`,
        );
      const max = na + fn.variadic;
      if (fn.variadic > 0 && max < nargs) {
        this.fail(
          pos,
          `expected at most ${max} argument(s) in call to ${JSON.stringify(name)}, got ${nargs}`,
        );
      }
    }
    args.forEach((a, i) => {
      const t = fn.argTypes[Math.min(i, fn.argTypes.length - 1)];
      if (t === 'string' && a.type !== 'stringLiteral' && kindOf(a) === 'string') return;
      this.expectType(a, t, `call to function ${JSON.stringify(name)}`);
    });
    if (name === 'label_replace' || name === 'label_join') {
      // Prometheus rejects invalid destination label names at evaluation; nothing to do here.
    }
    return { type: 'call', func: name, args, pos };
  }

  private vectorSelector(n: SyntaxNode): VectorSelector {
    let name = '';
    const matchers: Matcher[] = [];
    for (const c of kids(n)) {
      if (c.type.id === T.Identifier) name = this.text(c);
      else if (c.type.id === T.LabelMatchers) {
        for (const m of kids(c)) matchers.push(this.matcher(m, (nm) => (name = nm)));
      }
    }
    const pos = this.pos(n);
    const named = matchers.filter((m) => m.name === METRIC_NAME);
    if (name !== '') {
      if (named.length > 0) {
        this.fail(
          pos,
          `metric name must not be set twice: ${JSON.stringify(name)} or ${JSON.stringify(named[0].value)}`,
        );
      }
      matchers.unshift(new Matcher('=', METRIC_NAME, name));
    } else if (named.length > 0 && named[0].type === '=') {
      name = named[0].value;
    }
    if (!this.allowEmptySelector && !matchers.some((m) => !m.matchesEmpty())) {
      this.fail(pos, 'vector selector must contain at least one non-empty matcher');
    }
    return {
      type: 'vectorSelector',
      name,
      matchers,
      offset: 0,
      timestamp: null,
      startOrEnd: null,
      extended: null,
      pos,
    };
  }

  private matcher(n: SyntaxNode, setName: (n: string) => void): Matcher {
    const k = kids(n);
    if (n.type.id === T.QuotedLabelName) {
      // `{"metric_name"}`: a bare quoted name is the metric name.
      const nm = this.string(k[0]);
      setName(nm);
      return new Matcher('=', METRIC_NAME, nm);
    }
    const labelNode = k[0];
    const label =
      labelNode.type.id === T.QuotedLabelName
        ? this.string(kids(labelNode)[0])
        : this.text(labelNode);
    const opNode = kids(k[1])[0];
    const type = MATCH_OPS[opNode.type.id];
    const value = this.string(k[2]);
    try {
      return new Matcher(type, label, value);
    } catch (e) {
      // Go reports a bad regex at the start of its matcher.
      const at = { start: k[0].from, end: k[2].to };
      this.fail(at, `invalid regular expression in label matcher: ${(e as Error).message}`);
    }
  }

  private matrix(n: SyntaxNode): Expr {
    const k = kids(n);
    const inner = this.expr(k[0]);
    // Go reports these at the `[`.
    const bracket = this.q.indexOf('[', k[0].to);
    const at = { start: bracket, end: n.to };
    if (inner.type !== 'vectorSelector') this.fail(at, 'ranges only allowed for vector selectors');
    if (inner.offset !== 0) this.fail(at, 'no offset modifiers allowed before range');
    if (inner.timestamp !== null || inner.startOrEnd)
      this.fail(at, 'no @ modifiers allowed before range');
    const range = this.duration(k[1]);
    if (range <= 0) this.fail(k[1], 'duration must be greater than 0');
    return { type: 'matrixSelector', selector: inner, range, pos: this.pos(n) };
  }

  private subquery(n: SyntaxNode): Expr {
    const k = kids(n);
    const expr = this.expr(k[0]);
    const durations = k.filter((c) => c.type.id === T.DurationExpr);
    const range = this.duration(durations[0]);
    const step = durations[1] ? this.duration(durations[1]) : 0;
    if (kindOf(expr) !== 'vector') {
      this.fail(
        n,
        `subquery is only allowed on instant vector, got ${KIND_NAMES[kindOf(expr)]} instead`,
      );
    }
    if (step < 0) this.fail(durations[1], 'step must be positive');
    return {
      type: 'subquery',
      expr,
      range,
      step,
      offset: 0,
      timestamp: null,
      startOrEnd: null,
      pos: this.pos(n),
    };
  }

  private modifiable(
    e: Expr,
    what: string,
    n: SyntaxNode,
  ): VectorSelector | Extract<Expr, { type: 'subquery' }> {
    let target: Expr = e;
    // Lezer attaches a trailing modifier to the whole `a + b` or `-a`; Go's grammar binds it
    // to the rightmost operand, so descend there.
    for (;;) {
      if (target.type === 'binaryExpr') target = target.rhs;
      else if (target.type === 'unaryExpr') target = target.expr;
      else break;
    }
    if (target.type === 'matrixSelector') target = target.selector;
    if (target.type !== 'vectorSelector' && target.type !== 'subquery') {
      this.fail(
        n,
        `${what} modifier must be preceded by an instant vector selector or range vector selector or a subquery`,
      );
    }
    return target;
  }

  private offset(n: SyntaxNode): Expr {
    const k = kids(n);
    const e = this.expr(k[0]);
    const t = this.modifiable(e, 'offset', n);
    if (t.offset !== 0) this.fail(n, 'offset may not be set multiple times');
    t.offset = this.duration(k[k.length - 1]);
    e.pos = this.pos(n);
    return e;
  }

  private at(n: SyntaxNode): Expr {
    const k = kids(n);
    const e = this.expr(k[0]);
    const t = this.modifiable(e, '@', n);
    if (t.timestamp !== null || t.startOrEnd !== null)
      this.fail(n, '@ <timestamp> may not be set multiple times');
    const atIdx = k.findIndex((c) => c.type.id === T.At);
    const rest = k.slice(atIdx + 1);
    let soe: StartOrEnd = null;
    if (rest.length === 1 && rest[0].type.id === T.AtModifierPreprocessors) {
      soe = kids(rest[0])[0].type.id === T.AtStart ? 'start' : 'end';
      t.startOrEnd = soe;
    } else {
      const text = this.q.slice(rest[0].from, rest[rest.length - 1].to).replace(/\s+/g, '');
      const v =
        parseNumber(text) ??
        ((parseDurationMs(text.replace(/^[+-]/, '')) ?? NaN) / 1000) *
          (text.startsWith('-') ? -1 : 1);
      if (!Number.isFinite(v)) this.fail(n, `timestamp out of bounds for @ modifier: ${v}`);
      t.timestamp = Math.round(v * 1000);
    }
    e.pos = this.pos(n);
    return e;
  }

  /** `sel[r] anchored`, `sel[r] smoothed`, `sel smoothed`: flags on the inner selector. */
  private extendedRange(n: SyntaxNode, kind: 'anchored' | 'smoothed'): Expr {
    const e = this.expr(kids(n)[0]);
    let target: Expr = e;
    if (target.type === 'matrixSelector') target = target.selector;
    if (target.type !== 'vectorSelector') {
      this.fail(
        n,
        `${kind} modifier must be preceded by an instant vector selector or range vector selector`,
      );
    }
    target.extended = kind;
    e.pos = this.pos(n);
    return e;
  }

  private unary(n: SyntaxNode): Expr {
    const k = kids(n);
    const op = this.text(k[0]) === '-' ? '-' : '+';
    const expr = this.expr(k[1]);
    const t = kindOf(expr);
    if (t !== 'scalar' && t !== 'vector') {
      this.fail(
        n,
        `unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(KIND_NAMES[t])}`,
      );
    }
    if (expr.type === 'numberLiteral') {
      if (op === '-') expr.val = -expr.val;
      expr.pos = this.pos(n);
      return expr;
    }
    return { type: 'unaryExpr', op, expr, pos: this.pos(n) };
  }
}
