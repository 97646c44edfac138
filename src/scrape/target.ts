/**
 * A scrape target (Prometheus `scrape/target.go`): its labels, its URL, its health as the
 * last scrape left it, and the stable offset within the interval at which it is scraped.
 * @module
 */

import { fnv1a32, type Labels } from '../model/labels.js';

/** Health of a target: unknown until its first scrape ends. */
export type TargetHealth = 'up' | 'down' | 'unknown';

const ADDRESS = '__address__';
const SCHEME = '__scheme__';
const METRICS_PATH = '__metrics_path__';
const PARAM_PREFIX = '__param_';

/** The scrape URL of a finished label set: scheme, address, metrics path and `__param_*`. */
export function targetURL(labels: Labels): string {
  const scheme = labels.get(SCHEME) || 'http';
  let path = labels.get(METRICS_PATH) || '/metrics';
  if (!path.startsWith('/')) path = '/' + path;
  const q = new URLSearchParams();
  for (let i = 0; i < labels.size; i++) {
    const n = labels.name(i);
    if (n.startsWith(PARAM_PREFIX)) q.append(n.slice(PARAM_PREFIX.length), labels.value(i));
  }
  const qs = q.toString();
  return `${scheme}://${labels.get(ADDRESS)}${path}${qs ? '?' + qs : ''}`;
}

/** One target of a pool. The loop updates the health fields after every scrape. */
export class Target {
  /** Labels series get: `job`, `instance` and the rest, without `__` names. */
  readonly labels: Labels;
  /** Labels after relabeling, internal ones (`__address__`, `__scheme__`, …) included. */
  readonly internalLabels: Labels;
  /** Labels as discovered, before relabeling (the API's `discoveredLabels`). */
  readonly discoveredLabels: Labels;
  readonly scrapeUrl: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Identity within a pool: hash of the labels and the URL. */
  readonly hash: number;

  health: TargetHealth;
  /** Message of the last scrape error, '' after a successful scrape. */
  lastError: string;
  /** Start of the last scrape (ms since the epoch), 0 before the first. */
  lastScrapeMs: number;
  /** Wall time of the last scrape, in ms. */
  lastScrapeDurationMs: number;

  constructor(
    labels: Labels,
    internalLabels: Labels,
    discoveredLabels: Labels,
    intervalMs: number,
    timeoutMs: number,
  ) {
    this.labels = labels;
    this.internalLabels = internalLabels;
    this.discoveredLabels = discoveredLabels;
    this.scrapeUrl = targetURL(internalLabels);
    this.intervalMs = intervalMs;
    this.timeoutMs = timeoutMs;
    this.hash = fnv1a32(labels.key() + '\u0000' + this.scrapeUrl);
    this.health = 'unknown';
    this.lastError = '';
    this.lastScrapeMs = 0;
    this.lastScrapeDurationMs = 0;
  }

  /**
   * Milliseconds from `nowMs` to this target's first scrape: Prometheus's
   * `offset = (hash ^ jitterSeed) % interval`, counted from the start of the current
   * interval, so targets of one pool spread over the interval and keep their slot across
   * restarts of the same process.
   */
  offsetMs(nowMs: number, jitterSeed: number): number {
    const interval = this.intervalMs;
    const base = interval - (nowMs % interval);
    const offset = ((this.hash ^ jitterSeed) >>> 0) % interval;
    let next = base + offset;
    if (next >= interval) next -= interval;
    return next;
  }
}
