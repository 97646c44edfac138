/**
 * The write-ahead log as the head sees it: a sink that makes a committed batch durable
 * before the head publishes it. The WAL implements this; the head knows nothing else of it.
 * @module
 */

import type { Labels } from '../model/labels.js';

/** A series first seen in a batch: the WAL records it before any of its samples. */
export interface HeadLogSeries {
  readonly ref: number;
  readonly labels: Labels;
}

/**
 * Receives each committed batch in order: {@link logSeries} (when new series were
 * created), then {@link logSamples}, then {@link commit}. The arrays passed in belong to
 * the appender and are reused after the call returns: encode or copy them synchronously.
 */
export interface HeadLog {
  /** Records new series. Called before logSamples for the same batch. */
  logSeries(series: readonly HeadLogSeries[]): void;
  /** Records `n` samples: series ref, timestamp (ms) and value (bits preserved). */
  logSamples(refs: Uint32Array, ts: Float64Array, vs: Float64Array, n: number): void;
  /** Resolves once everything logged so far is durable; the head publishes after that. */
  commit(): Promise<void>;
}
