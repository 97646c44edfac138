/**
 * The PromQL room: parser, engine and result types. The engine reads through the
 * storage contracts only.
 * @module
 */

export { Engine, MAX_POINTS_PER_SERIES, type EngineOptions } from './engine.js';
export { RangeWorkers, type RangeWorkersOptions } from './range-workers.js';
export type { QueryResult, QueryValue, ResultSample, ResultSeries } from './value.js';
export { parseExpr, PromQLParseError } from './parser/parser.js';
export type { Expr } from './parser/ast.js';
