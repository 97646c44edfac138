/**
 * The function table: argument types, variadic counts and return types, as in
 * Prometheus's `promql/parser/functions.go`. The engine's implementations live in
 * `../functions.ts`; this file only describes signatures for the type checker.
 * @module
 */

import { FUNCTION_RETURN, type ValueKind } from './ast.js';

/** A function signature. */
export interface FunctionSig {
  name: string;
  argTypes: ValueKind[];
  /** 0: exactly argTypes; n > 0: up to n more of the last type may be left out/added; -1: unbounded. */
  variadic: number;
  returnType: ValueKind;
  /** Needs a feature flag in Prometheus (`--enable-feature=promql-experimental-functions`). */
  experimental: boolean;
}

const S: ValueKind = 'scalar';
const V: ValueKind = 'vector';
const M: ValueKind = 'matrix';
const STR: ValueKind = 'string';

function sig(
  name: string,
  argTypes: ValueKind[],
  returnType: ValueKind,
  variadic = 0,
  experimental = false,
): FunctionSig {
  return { name, argTypes, variadic, returnType, experimental };
}

const LIST: FunctionSig[] = [
  ...[
    'abs',
    'ceil',
    'exp',
    'floor',
    'ln',
    'log2',
    'log10',
    'sqrt',
    'sgn',
    'acos',
    'acosh',
    'asin',
    'asinh',
    'atan',
    'atanh',
    'cos',
    'cosh',
    'sin',
    'sinh',
    'tan',
    'tanh',
    'deg',
    'rad',
    'absent',
    'sort',
    'sort_desc',
    'timestamp',
    'histogram_count',
    'histogram_sum',
    'histogram_avg',
    'histogram_stddev',
    'histogram_stdvar',
  ].map((n) => sig(n, [V], V)),
  ...[
    'absent_over_time',
    'avg_over_time',
    'changes',
    'count_over_time',
    'delta',
    'deriv',
    'idelta',
    'increase',
    'irate',
    'last_over_time',
    'first_over_time',
    'max_over_time',
    'min_over_time',
    'present_over_time',
    'rate',
    'resets',
    'stddev_over_time',
    'stdvar_over_time',
    'sum_over_time',
  ].map((n) => sig(n, [M], V)),
  ...[
    'mad_over_time',
    'ts_of_first_over_time',
    'ts_of_last_over_time',
    'ts_of_max_over_time',
    'ts_of_min_over_time',
  ].map((n) => sig(n, [M], V, 0, true)),
  ...[
    'day_of_month',
    'day_of_week',
    'day_of_year',
    'days_in_month',
    'hour',
    'minute',
    'month',
    'year',
  ].map((n) => sig(n, [V], V, 1)),
  sig('clamp', [V, S, S], V),
  sig('clamp_max', [V, S], V),
  sig('clamp_min', [V, S], V),
  sig('double_exponential_smoothing', [M, S, S], V, 0, true),
  sig('histogram_fraction', [S, S, V], V),
  sig('histogram_quantile', [S, V], V),
  sig('histogram_quantiles', [V, STR, S], V, -1, true),
  sig('info', [V, V], V, 1, true),
  sig('label_join', [V, STR, STR, STR], V, -1),
  sig('label_replace', [V, STR, STR, STR, STR], V),
  sig('pi', [], S),
  sig('predict_linear', [M, S], V),
  sig('quantile_over_time', [S, M], V),
  sig('round', [V, S], V, 1),
  sig('scalar', [V], S),
  sig('sort_by_label', [V, STR], V, -1, true),
  sig('sort_by_label_desc', [V, STR], V, -1, true),
  sig('time', [], S),
  sig('vector', [S], V),
  sig('start_timestamp', [V], V, 0, true),
  // Query-parameter functions (experimental duration-expression feature).
  ...['step', 'range', 'start', 'end'].map((n) => sig(n, [], S, 0, true)),
  sig('min_of', [S, S], S, 0, true),
  sig('max_of', [S, S], S, 0, true),
];

/** Every function, by name. */
export const FUNCTIONS: ReadonlyMap<string, FunctionSig> = new Map(LIST.map((f) => [f.name, f]));

for (const f of LIST) FUNCTION_RETURN[f.name] = f.returnType;
