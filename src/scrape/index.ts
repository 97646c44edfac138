/**
 * Scraping: the manager, one pool per job, one loop per target, the scrape cache,
 * target health and staleness. The scraper writes through an `Appendable` only.
 * @module
 */
export { CachedSeries, CacheEntry, ScrapeCache } from './cache.js';
export { PoolAgents, ScrapeError, TargetFetcher } from './http.js';
export type { FetchResult, HttpScrapeOptions } from './http.js';
export { formatLogLine, logfmtLogger, logfmtValue, silentLogger } from './log.js';
export type { Logger, LogLevel } from './log.js';
export { isSampleRejection, ScrapeLoop } from './loop.js';
export type { Fetcher, ScrapeLimits, ScrapeLoopOptions, StopStaleness } from './loop.js';
export { ScrapeManager } from './manager.js';
export type {
  ActiveTargetInfo,
  TargetMetricMetadata,
  PoolTargets,
  ScrapeManagerOptions,
  TargetRetriever,
} from './manager.js';
export { MetadataStore } from './metadata.js';
export type { MetadataType, MetricMetadata } from './metadata.js';
export { ScrapeMetrics } from './metrics.js';
export type { MetricRow } from './metrics.js';
export { ScrapePool } from './pool.js';
export type { DroppedTarget, ScrapePoolOptions } from './pool.js';
export { Target, targetURL } from './target.js';
export type { TargetHealth } from './target.js';
