/**
 * The small interfaces the web room reads through, declared here as Prometheus's
 * `web/api/v1/api.go` declares `TargetRetriever` and friends. `cmd/` passes the concrete
 * objects (scrape manager, head, DB) in; nothing here names the TSDB.
 * @module
 */

import type { Labels } from '../model/labels.js';

/** Health of a target as the API shows it. */
export type TargetHealth = 'up' | 'down' | 'unknown';

/** One active target (`/api/v1/targets`). */
export interface ActiveTarget {
  scrapePool: string;
  scrapeUrl: string;
  discoveredLabels: Labels;
  labels: Labels;
  health: TargetHealth;
  lastError: string;
  /** Start of the last scrape (ms since the epoch), 0 before the first. */
  lastScrapeMs: number;
  lastScrapeDurationMs: number;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
}

/** The targets of one scrape pool. */
export interface PoolTargets {
  scrapePool: string;
  active: ActiveTarget[];
  dropped: { discoveredLabels: Labels }[];
}

/** Target state, per pool (the scrape manager). */
export interface TargetRetriever {
  targets(): PoolTargets[];
}

/** One metric's metadata as a target exposed it. */
export interface TargetMetadata {
  /** The target's labels (`instance`, `job`, …). */
  target: Labels;
  metric: string;
  type: string;
  help: string;
  unit: string;
}

/** Metadata the scrape caches hold; optional (the API answers empty lists without it). */
export interface MetadataRetriever {
  metadata(): TargetMetadata[];
}

/** Head figures for `/api/v1/status/tsdb` (the TSDB head has these methods). */
export interface HeadStatsSource {
  seriesCount(): number;
  chunkCount(): number;
  /** ms; Infinity/-Infinity or similar when empty. */
  minTime(): number;
  maxTime(): number;
}

/**
 * The admin operations (`/api/v1/admin/tsdb/*`). The DB may implement them later; until
 * then the API answers `unavailable` for an operation that is missing.
 */
export interface TSDBAdmin {
  deleteSeries?(
    matcherSets: import('../model/matcher.js').Matcher[][],
    mint: number,
    maxt: number,
  ): Promise<void>;
  cleanTombstones?(): Promise<void>;
  /** Writes a snapshot and returns its directory name. */
  snapshot?(skipHead: boolean): Promise<string>;
}

/** One row of the collector's own metrics. */
export interface SelfMetric {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels?: Record<string, string>;
  value: number;
}

/** A source of self-metric rows (the head's `metrics()`, the scrape manager's `rows()`). */
export type SelfMetricsSource = () => readonly SelfMetric[];

/** WAL replay progress (`/api/v1/status/walreplay`). */
export interface WalReplayStatus {
  min: number;
  max: number;
  current: number;
}

/** `/-/reload` and `/-/quit`. */
export interface Lifecycle {
  /** Re-reads the configuration; false when it was refused. */
  reload(): Promise<boolean>;
  /** Starts a clean shutdown. */
  quit(): void;
}
