/**
 * The PromQL syntax tree, modelled on Prometheus's `web/ui/mantine-ui/src/promql/ast.ts`
 * (itself the JSON of `translate_ast.go`). Every node carries its source position so that
 * errors and annotations can point at it. Durations and timestamps are milliseconds.
 * @module
 */

import type { Matcher } from '../../model/matcher.js';

/** The four types an expression can evaluate to, spelt as in Prometheus's messages. */
export type ValueKind = 'scalar' | 'string' | 'vector' | 'matrix';

/** Human names of {@link ValueKind}s as they appear in error messages. */
export const KIND_NAMES: Record<ValueKind, string> = {
  scalar: 'scalar',
  string: 'string',
  vector: 'instant vector',
  matrix: 'range vector',
};

/** A half-open span of the query text, as character offsets. */
export interface PosRange {
  start: number;
  end: number;
}

/** Aggregation operators. */
export type AggregationOp =
  | 'sum'
  | 'min'
  | 'max'
  | 'avg'
  | 'group'
  | 'stddev'
  | 'stdvar'
  | 'count'
  | 'count_values'
  | 'bottomk'
  | 'topk'
  | 'quantile'
  | 'limitk'
  | 'limit_ratio';

/** Binary operators. */
export type BinaryOp =
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '^'
  | 'atan2'
  | '=='
  | '!='
  | '>'
  | '<'
  | '>='
  | '<='
  | 'and'
  | 'or'
  | 'unless';

/** `@ start()` / `@ end()` or none. */
export type StartOrEnd = 'start' | 'end' | null;

/** Vector matching of a binary expression between two instant vectors. */
export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** True for `on(...)`, false for `ignoring(...)` (or no clause). */
  on: boolean;
  labels: string[];
  /** Extra labels of `group_left(...)`/`group_right(...)`. */
  include: string[];
}

/** `sum by (a) (x)`, `topk(3, x)`, … */
export interface Aggregation {
  type: 'aggregation';
  op: AggregationOp;
  expr: Expr;
  param: Expr | null;
  grouping: string[];
  without: boolean;
  pos: PosRange;
}

/** `a + on(x) b`, `a > bool b`, … */
export interface BinaryExpr {
  type: 'binaryExpr';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  matching: VectorMatching | null;
  bool: boolean;
  /** `fill(v)`, `fill_left(v)`, `fill_right(v)`: values for a missing operand; null when absent. */
  fillLeft: number | null;
  fillRight: number | null;
  pos: PosRange;
}

/** A function call. */
export interface Call {
  type: 'call';
  func: string;
  args: Expr[];
  pos: PosRange;
}

/** `name{matchers}` with optional offset and `@`. */
export interface VectorSelector {
  type: 'vectorSelector';
  name: string;
  matchers: Matcher[];
  offset: number;
  timestamp: number | null;
  startOrEnd: StartOrEnd;
  /**
   * Experimental extended range selection: `anchored` takes the last sample at or before
   * each window edge, `smoothed` interpolates between the samples around it.
   */
  extended: 'anchored' | 'smoothed' | null;
  pos: PosRange;
}

/** `selector[range]`; offset and `@` live on the inner selector, as in Prometheus. */
export interface MatrixSelector {
  type: 'matrixSelector';
  selector: VectorSelector;
  range: number;
  pos: PosRange;
}

/** `expr[range:step]`; step 0 means the default evaluation interval. */
export interface Subquery {
  type: 'subquery';
  expr: Expr;
  range: number;
  step: number;
  offset: number;
  timestamp: number | null;
  startOrEnd: StartOrEnd;
  pos: PosRange;
}

/** A number. */
export interface NumberLiteral {
  type: 'numberLiteral';
  val: number;
  pos: PosRange;
}

/** `( expr )`. */
export interface ParenExpr {
  type: 'parenExpr';
  expr: Expr;
  pos: PosRange;
}

/** A string. */
export interface StringLiteral {
  type: 'stringLiteral';
  val: string;
  pos: PosRange;
}

/** `-expr` or `+expr`. */
export interface UnaryExpr {
  type: 'unaryExpr';
  op: '-' | '+';
  expr: Expr;
  pos: PosRange;
}

/** Any PromQL expression. */
export type Expr =
  | Aggregation
  | BinaryExpr
  | Call
  | MatrixSelector
  | Subquery
  | NumberLiteral
  | ParenExpr
  | StringLiteral
  | UnaryExpr
  | VectorSelector;

/** The type an expression evaluates to. */
export function kindOf(e: Expr): ValueKind {
  switch (e.type) {
    case 'aggregation':
      return 'vector';
    case 'binaryExpr':
      return kindOf(e.lhs) === 'scalar' && kindOf(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'call':
      return FUNCTION_RETURN[e.func] ?? 'vector';
    case 'matrixSelector':
    case 'subquery':
      return 'matrix';
    case 'numberLiteral':
      return 'scalar';
    case 'parenExpr':
      return kindOf(e.expr);
    case 'stringLiteral':
      return 'string';
    case 'unaryExpr':
      return kindOf(e.expr);
    case 'vectorSelector':
      return 'vector';
  }
}

/** Filled by functions.ts at load time, kept here to avoid an import cycle. */
export const FUNCTION_RETURN: Record<string, ValueKind> = {};

/** Calls `fn` on every node, parents first; `path` holds the ancestors. */
export function walk(e: Expr, fn: (e: Expr, path: Expr[]) => void, path: Expr[] = []): void {
  fn(e, path);
  path.push(e);
  switch (e.type) {
    case 'aggregation':
      if (e.param) walk(e.param, fn, path);
      walk(e.expr, fn, path);
      break;
    case 'binaryExpr':
      walk(e.lhs, fn, path);
      walk(e.rhs, fn, path);
      break;
    case 'call':
      for (const a of e.args) walk(a, fn, path);
      break;
    case 'matrixSelector':
      walk(e.selector, fn, path);
      break;
    case 'subquery':
    case 'parenExpr':
    case 'unaryExpr':
      walk(e.expr, fn, path);
      break;
    default:
      break;
  }
  path.pop();
}
