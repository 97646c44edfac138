/**
 * Helpers shared by the user-facing commands (`stat`, `query`, `federate`,
 * `diagnostics proxy-metrics`, `demo`). They exist because those commands are *clients*:
 * they talk HTTP to any Prometheus-compatible server (ours, a real Prometheus, Thanos…)
 * instead of wiring our own engine, so they share an API client, flag parsing and table
 * printing that belong to no room of the collector. Nothing here imports the TSDB,
 * scraper or engine.
 * @module
 */
export * from './flags.js';
export * from './prom-api.js';
export * from './table.js';
