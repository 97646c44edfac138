/**
 * The scrape manager (Prometheus `scrape.Manager`): one pool per job, fed by discovery
 * updates, reconfigured on reload, and the source of target state for the API.
 * @module
 */

import { randomInt } from 'node:crypto';
import type { Config, ScrapeConfig } from '../config/index.js';
import type { TargetGroup, TargetSets } from '../discovery/index.js';
import type { Labels } from '../model/labels.js';
import type { Appendable } from '../storage/interface.js';
import type { Logger } from './log.js';
import { silentLogger } from './log.js';
import type { Fetcher } from './loop.js';
import type { MetricMetadata } from './metadata.js';
import { ScrapeMetrics } from './metrics.js';
import { ScrapePool } from './pool.js';
import type { Target, TargetHealth } from './target.js';

/** One active target as the API shows it (`/api/v1/targets`). */
export interface ActiveTargetInfo {
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

/** The targets of one pool. */
export interface PoolTargets {
  scrapePool: string;
  active: ActiveTargetInfo[];
  /** Targets dropped by relabeling: only their discovered labels. */
  dropped: { discoveredLabels: Labels }[];
}

/** The small interface the HTTP API reads target state through. */
export interface TargetRetriever {
  targets(): PoolTargets[];
}

/**
 * One metric family's metadata as one target exposed it: a row of
 * `/api/v1/targets/metadata`, and what remote_write sends as `MetricMetadata`.
 */
export interface TargetMetricMetadata extends MetricMetadata {
  /** The target's labels (`job`, `instance`, …). */
  readonly target: Labels;
}

/** Options of a {@link ScrapeManager}. */
export interface ScrapeManagerOptions {
  logger?: Logger;
  /** `User-Agent` of scrapes; default `meshmetrics/<version>` as given by the collector. */
  userAgent?: string;
  /** Seed mixed into target offsets; default random per process, as Prometheus's. */
  jitterSeed?: number;
  metrics?: ScrapeMetrics;
  now?: () => number;
  /** Replaces HTTP fetching (tests). */
  fetcherFor?: (target: Target) => Fetcher;
}

/**
 * The key of a scrape config: two configs with the same key scrape the same way, so a
 * reload keeps that pool running. Relabel rules compare as written.
 */
function configKey(sc: ScrapeConfig): string {
  return JSON.stringify(
    {
      ...sc,
      relabelConfigs: sc.relabelConfigs.rules,
      metricRelabelConfigs: sc.metricRelabelConfigs.rules,
      staticConfigs: undefined,
      fileSdConfigs: undefined,
      kubernetesSdConfigs: undefined,
    },
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
  );
}

/** Runs the pools of every job; see the module comment. */
export class ScrapeManager implements TargetRetriever {
  readonly metrics: ScrapeMetrics;
  private readonly appendable: Appendable;
  private readonly logger: Logger;
  private readonly userAgent: string;
  private readonly jitterSeed: number;
  private readonly now: (() => number) | undefined;
  private readonly fetcherFor: ((target: Target) => Fetcher) | undefined;
  private readonly pools = new Map<string, { pool: ScrapePool; key: string }>();
  /** Last target groups per job, so a restarted pool gets its targets at once. */
  private readonly groups = new Map<string, TargetGroup[]>();
  /** Pools of removed or changed jobs, writing their end-of-run markers. */
  private readonly retiring = new Set<ScrapePool>();
  private readonly retired = new Set<Promise<void>>();
  private stopped = false;

  constructor(appendable: Appendable, opts: ScrapeManagerOptions = {}) {
    this.appendable = appendable;
    this.logger = opts.logger ?? silentLogger;
    this.userAgent = opts.userAgent ?? 'meshmetrics';
    this.jitterSeed = opts.jitterSeed ?? randomInt(0, 2 ** 31);
    this.metrics = opts.metrics ?? new ScrapeMetrics();
    this.now = opts.now;
    this.fetcherFor = opts.fetcherFor;
  }

  /**
   * Applies a configuration: pools whose job config is unchanged keep running; changed
   * ones restart with their current targets; removed ones stop, and their targets' stale
   * markers follow about two intervals later.
   */
  applyConfig(cfg: Config): void {
    if (this.stopped) throw new Error('scrape manager is stopped');
    const wanted = new Map(cfg.scrapeConfigs.map((sc) => [sc.jobName, sc]));
    for (const [job, p] of this.pools) {
      const sc = wanted.get(job);
      if (sc !== undefined && configKey(sc) === p.key) continue;
      this.pools.delete(job);
      this.retire(p.pool);
      if (sc === undefined) this.groups.delete(job);
    }
    for (const [job, sc] of wanted) {
      if (this.pools.has(job)) continue;
      const pool = new ScrapePool(sc, {
        appendable: this.appendable,
        metrics: this.metrics,
        logger: this.logger,
        jitterSeed: this.jitterSeed,
        userAgent: this.userAgent,
        now: this.now,
        fetcherFor: this.fetcherFor,
      });
      this.pools.set(job, { pool, key: configKey(sc) });
      const g = this.groups.get(job);
      if (g !== undefined) pool.sync(g);
      this.metrics.poolReloads++;
    }
  }

  /** Takes the full target groups per job from discovery. */
  sync(sets: TargetSets): void {
    if (this.stopped) return;
    for (const [job, groups] of sets) {
      this.groups.set(job, groups);
      this.pools.get(job)?.pool.sync(groups);
    }
    // A job that discovery no longer reports has no targets.
    for (const [job, p] of this.pools) {
      if (!sets.has(job)) {
        this.groups.delete(job);
        p.pool.sync([]);
      }
    }
  }

  private retire(pool: ScrapePool): void {
    this.retiring.add(pool);
    const done = pool.stop('delayed').finally(() => {
      this.retiring.delete(pool);
      this.retired.delete(done);
    });
    this.retired.add(done);
  }

  /** Target state per pool, pools sorted by name. */
  targets(): PoolTargets[] {
    const out: PoolTargets[] = [];
    for (const job of [...this.pools.keys()].sort()) {
      const pool = this.pools.get(job)!.pool;
      out.push({
        scrapePool: job,
        active: pool.activeTargets().map((t) => ({
          scrapePool: job,
          scrapeUrl: t.scrapeUrl,
          discoveredLabels: t.discoveredLabels,
          labels: t.labels,
          health: t.health,
          lastError: t.lastError,
          lastScrapeMs: t.lastScrapeMs,
          lastScrapeDurationMs: t.lastScrapeDurationMs,
          scrapeIntervalMs: t.intervalMs,
          scrapeTimeoutMs: t.timeoutMs,
        })),
        dropped: pool.dropped().map((d) => ({ discoveredLabels: d.discoveredLabels })),
      });
    }
    return out;
  }

  /**
   * The metric metadata of every active target: pools by name, targets by labels, each
   * target's families in the order it first wrote them. Rows of one target are adjacent.
   * A snapshot: later scrapes do not change it.
   */
  metadata(): TargetMetricMetadata[] {
    const out: TargetMetricMetadata[] = [];
    for (const job of [...this.pools.keys()].sort()) {
      const loops = this.pools.get(job)!.pool.activeLoops();
      loops.sort((a, b) => (a.target.labels.key() < b.target.labels.key() ? -1 : 1));
      for (const loop of loops) {
        const target = loop.target.labels;
        for (const m of loop.cache.metadata.list()) {
          out.push({ target, metric: m.metric, type: m.type, help: m.help, unit: m.unit });
        }
      }
    }
    return out;
  }

  /** The pool of a job (tests and benchmarks). */
  pool(job: string): ScrapePool | undefined {
    return this.pools.get(job)?.pool;
  }

  /**
   * Stops every pool. With `staleness: true` every target writes its stale markers now
   * (the collector's clean shutdown); with false nothing is written, as Prometheus does on
   * shutdown. Either way, markers still pending for removed targets are written at once.
   */
  async stop(opts: { staleness: boolean } = { staleness: true }): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const pool of this.retiring) pool.flushPending();
    const done: Promise<void>[] = [...this.retired];
    for (const p of this.pools.values()) done.push(p.pool.stop(opts.staleness ? 'now' : 'none'));
    this.pools.clear();
    await Promise.all(done);
  }
}
