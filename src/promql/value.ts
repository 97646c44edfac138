/**
 * Values the evaluator passes between nodes, and the typed results the API serialises.
 * Range data travels as Float64Array views over the loaded samples (no object per sample);
 * an instant vector holds one small record per series, as Prometheus's `Sample`.
 * @module
 */

import type { Labels } from '../model/labels.js';

/** One element of an instant vector while evaluating. */
export interface Sample {
  metric: Labels;
  v: number;
  /** Timestamp of the underlying stored sample (ms); used by `timestamp()`. */
  t: number;
  /** Delayed `__name__` removal: drop the name when the result leaves the engine. */
  dropName: boolean;
}

/** One series of a range vector: a window of samples, as views. */
export interface RangeSeries {
  metric: Labels;
  ts: Float64Array;
  vs: Float64Array;
  dropName: boolean;
}

/** What a node evaluates to at one step. */
export type StepValue =
  | { kind: 'scalar'; v: number }
  | { kind: 'string'; s: string }
  | { kind: 'vector'; vec: Sample[] }
  | { kind: 'matrix'; series: RangeSeries[] };

/** One sample of an instant-query result. */
export interface ResultSample {
  metric: Labels;
  t: number;
  v: number;
}

/** One series of a range-query (or range-vector) result, points in time order. */
export interface ResultSeries {
  metric: Labels;
  ts: Float64Array;
  vs: Float64Array;
}

/** A query result, typed as the API's `resultType`. */
export type QueryValue =
  | { type: 'scalar'; t: number; v: number }
  | { type: 'string'; t: number; v: string }
  | { type: 'vector'; samples: ResultSample[] }
  | { type: 'matrix'; series: ResultSeries[] };

/** The outcome of a query: a value plus annotations that were not fatal. */
export interface QueryResult {
  value: QueryValue;
  /** `PromQL warning: …` texts. */
  warnings: string[];
  /** `PromQL info: …` texts. */
  infos: string[];
}
