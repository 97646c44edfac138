/**
 * Target label finishing, Prometheus's `PopulateLabels` (scrape/target.go): add the job's
 * scrape settings as labels, relabel, then check the address, the interval and timeout, drop
 * `__meta_*` labels, default `instance` to the address and validate values.
 * @module
 */

import { formatDuration, parseDuration } from '../model/duration.js';
import { ConfigError } from '../model/errors.js';
import { Labels } from '../model/labels.js';
import { RelabelBuilder } from './builder.js';
import type { CompiledRelabelConfig } from './config.js';
import { processBuilder } from './relabel.js';

/** The scrape settings of a job that finishing needs (a subset of the scrape config). */
export interface TargetJobConfig {
  jobName: string;
  scrapeIntervalMs: number;
  scrapeTimeoutMs: number;
  metricsPath: string;
  scheme: string;
  /** URL parameters; the first value of each becomes a `__param_<name>` label. */
  params?: Readonly<Record<string, readonly string[]>>;
  /** The job's compiled `relabel_configs`. */
  relabel: readonly CompiledRelabelConfig[];
  /**
   * Prometheus 3 behaviour (`no-default-scrape-port` in 2.43+): leave an address without a
   * port as it is, and strip `:80`/`:443` matching the scheme. False (the default) adds
   * `:80` or `:443` to a bare host, as Prometheus 2.x does.
   */
  noDefaultPort?: boolean;
}

/** What became of one discovered target. */
export interface FinishedTarget {
  /**
   * The target's labels after relabeling, internal ones (`__address__`, `__scheme__`,
   * `__metrics_path__`, `__param_*`, …) included and `__meta_*` removed; null when the
   * target was dropped or is invalid.
   */
  labels: Labels | null;
  /** The labels series get: `labels` without names starting with `__`; null with `labels`. */
  publicLabels: Labels | null;
  /** The labels before relabeling (the API's `discoveredLabels`); null for an invalid target. */
  discoveredLabels: Labels | null;
  /** Why the target is invalid (no address, bad interval…), or null. */
  error: ConfigError | null;
}

const JOB = 'job';
const INSTANCE = 'instance';
const ADDRESS = '__address__';
const SCHEME = '__scheme__';
const METRICS_PATH = '__metrics_path__';
const SCRAPE_INTERVAL = '__scrape_interval__';
const SCRAPE_TIMEOUT = '__scrape_timeout__';
const PARAM_PREFIX = '__param_';
const META_PREFIX = '__meta_';
const RESERVED_PREFIX = '__';

const builder = new RelabelBuilder();

/**
 * Finishes the labels of one discovered target (group labels already merged in, target
 * labels winning). Dropped targets keep their `discoveredLabels`; invalid ones carry an error.
 */
export function finishTargetLabels(discovered: Labels, job: TargetJobConfig): FinishedTarget {
  const lb = builder.reset(discovered);
  const scrapeLabels: [string, string][] = [
    [JOB, job.jobName],
    [SCRAPE_INTERVAL, formatDuration(job.scrapeIntervalMs)],
    [SCRAPE_TIMEOUT, formatDuration(job.scrapeTimeoutMs)],
    [METRICS_PATH, job.metricsPath],
    [SCHEME, job.scheme],
  ];
  for (const [n, v] of scrapeLabels) if (discovered.get(n) === '') lb.set(n, v);
  if (job.params) {
    for (const [k, v] of Object.entries(job.params))
      if (v.length > 0) lb.set(PARAM_PREFIX + k, v[0]);
  }
  const pre = lb.labels();
  const invalid = (msg: string): FinishedTarget => ({
    labels: null,
    publicLabels: null,
    discoveredLabels: null,
    error: new ConfigError(msg),
  });

  lb.reset(pre);
  if (!processBuilder(lb, job.relabel))
    return { labels: null, publicLabels: null, discoveredLabels: pre, error: null };
  const lset = lb.labels();
  let addr = lset.get(ADDRESS);
  if (addr === '') return invalid('no address');

  lb.reset(lset);
  const scheme = lset.get(SCHEME);
  const split = splitHostPort(addr);
  if (!job.noDefaultPort && split === null && splitHostPort(addr + ':1234') !== null) {
    if (scheme === 'http' || scheme === '') addr += ':80';
    else if (scheme === 'https') addr += ':443';
    else return invalid(`invalid scheme: ${JSON.stringify(job.scheme)}`);
    lb.set(ADDRESS, addr);
  }
  if (job.noDefaultPort && split !== null) {
    if ((split[1] === '80' && scheme === 'http') || (split[1] === '443' && scheme === 'https'))
      lb.set(ADDRESS, split[0]);
  }
  if (addr.includes('/')) return invalid(`${JSON.stringify(addr)} is not a valid hostname`);

  const interval = lset.get(SCRAPE_INTERVAL);
  const intervalMs = parseDuration(interval);
  if (intervalMs === null)
    return invalid(
      `error parsing scrape interval: not a valid duration string: ${JSON.stringify(interval)}`,
    );
  if (intervalMs === 0) return invalid('scrape interval cannot be 0');
  const timeout = lset.get(SCRAPE_TIMEOUT);
  const timeoutMs = parseDuration(timeout);
  if (timeoutMs === null)
    return invalid(
      `error parsing scrape timeout: not a valid duration string: ${JSON.stringify(timeout)}`,
    );
  if (timeoutMs === 0) return invalid('scrape timeout cannot be 0');
  if (timeoutMs > intervalMs) {
    return invalid(
      `scrape timeout cannot be greater than scrape interval (${JSON.stringify(timeout)} > ${JSON.stringify(interval)})`,
    );
  }

  // Meta labels go after relabeling; other internal labels stay with the target.
  for (let i = 0; i < lset.size; i++)
    if (lset.name(i).startsWith(META_PREFIX)) lb.del(lset.name(i));
  // Default the instance label to the address (with the port added above).
  if (lset.get(INSTANCE) === '') lb.set(INSTANCE, addr);

  const res = lb.labels();
  for (let i = 0; i < res.size; i++) {
    if (LONE_SURROGATE.test(res.value(i))) {
      return invalid(
        `invalid label value for ${JSON.stringify(res.name(i))}: ${JSON.stringify(res.value(i))}`,
      );
    }
  }
  const pub: string[] = [];
  for (let i = 0; i < res.size; i++)
    if (!res.name(i).startsWith(RESERVED_PREFIX)) pub.push(res.name(i), res.value(i));
  return {
    labels: res,
    publicLabels: pub.length === res.size * 2 ? res : Labels.fromSortedPairs(pub),
    discoveredLabels: pre,
    error: null,
  };
}

// A label value must be valid UTF-8; in a JavaScript string that means no lone surrogate.
const LONE_SURROGATE = /\p{Cs}/u;

/** Go's `net.SplitHostPort`: [host, port], or null when `s` has no valid port part. */
export function splitHostPort(s: string): [string, string] | null {
  const i = s.lastIndexOf(':');
  if (i < 0) return null;
  let host: string;
  let j = 0;
  let k = 0;
  if (s[0] === '[') {
    const end = s.indexOf(']');
    if (end < 0 || end + 1 !== i) return null;
    host = s.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = s.slice(0, i);
    if (host.includes(':')) return null;
  }
  if (s.indexOf('[', j) >= 0 || s.indexOf(']', k) >= 0) return null;
  return [host, s.slice(i + 1)];
}

// Durations are the model's; re-exported for the scrape pool, which sees relabel's surface.
export { formatDuration, parseDuration };
