/**
 * A scrape pool (Prometheus `scrapePool`): the targets of one job. It turns target groups
 * into targets (finishing and relabeling), keeps the dropped ones for the API, enforces
 * target_limit, and runs one {@link ScrapeLoop} per target.
 * @module
 */

import type { ScrapeConfig } from '../config/index.js';
import type { TargetGroup } from '../discovery/index.js';
import { Labels } from '../model/labels.js';
import { finishTargetLabels, parseDuration, type TargetJobConfig } from '../relabel/index.js';
import type { Appendable } from '../storage/interface.js';
import { PoolAgents, TargetFetcher } from './http.js';
import type { Logger } from './log.js';
import { ScrapeLoop, type Fetcher, type StopStaleness } from './loop.js';
import type { ScrapeMetrics } from './metrics.js';
import { Target } from './target.js';

/** A target that relabeling dropped, as the API lists it. */
export interface DroppedTarget {
  discoveredLabels: Labels;
}

/** What a pool needs besides its config. */
export interface ScrapePoolOptions {
  appendable: Appendable;
  metrics: ScrapeMetrics;
  logger: Logger;
  jitterSeed: number;
  userAgent: string;
  now?: () => number;
  /** Builds a target's fetcher; the default does HTTP(S). For tests. */
  fetcherFor?: (target: Target) => Fetcher;
}

/** The pool of one job; see the module comment. */
export class ScrapePool {
  readonly config: ScrapeConfig;
  private readonly opts: ScrapePoolOptions;
  private readonly agents: PoolAgents;
  private readonly jobConfig: TargetJobConfig;
  /** Active loops by target identity (labels and URL). */
  private readonly loops = new Map<string, ScrapeLoop>();
  private droppedTargets: DroppedTarget[] = [];
  /** Loops stopping in the background (waiting to write end-of-run stale markers). */
  private readonly stopping = new Set<Promise<void>>();
  /** Aborted at shutdown: pending end-of-run markers are then written at once. */
  private readonly flush = new AbortController();
  private stopped = false;

  constructor(config: ScrapeConfig, opts: ScrapePoolOptions) {
    this.config = config;
    this.opts = opts;
    this.agents = new PoolAgents(config.httpClient);
    this.jobConfig = {
      jobName: config.jobName,
      scrapeIntervalMs: config.scrapeIntervalMs,
      scrapeTimeoutMs: config.scrapeTimeoutMs,
      metricsPath: config.metricsPath,
      scheme: config.scheme,
      params: config.params,
      relabel: config.relabelConfigs.compiled,
    };
  }

  /**
   * Replaces the pool's targets with those of `groups`: new targets start, vanished ones
   * stop (their stale markers follow about two intervals later), unchanged ones go on.
   */
  sync(groups: readonly TargetGroup[]): void {
    if (this.stopped) return;
    this.opts.metrics.poolSyncs++;
    const wanted = new Map<string, Target>();
    const dropped: DroppedTarget[] = [];
    for (const g of groups) {
      for (const t of g.targets) {
        const discovered = Labels.from({ ...g.labels, ...t });
        const fin = finishTargetLabels(discovered, this.jobConfig);
        if (fin.error !== null) {
          this.opts.logger('warn', 'Creating target failed', {
            scrape_pool: this.config.jobName,
            target: discovered.toString(),
            err: fin.error,
          });
          continue;
        }
        if (fin.labels === null || fin.publicLabels === null) {
          if (fin.discoveredLabels !== null)
            dropped.push({ discoveredLabels: fin.discoveredLabels });
          continue;
        }
        const internal = fin.labels;
        const intervalMs =
          parseDuration(internal.get('__scrape_interval__')) ?? this.config.scrapeIntervalMs;
        const timeoutMs =
          parseDuration(internal.get('__scrape_timeout__')) ?? this.config.scrapeTimeoutMs;
        const target = new Target(
          fin.publicLabels,
          internal,
          fin.discoveredLabels ?? discovered,
          intervalMs,
          timeoutMs,
        );
        const id = target.labels.key() + '\u0000' + target.scrapeUrl;
        if (!wanted.has(id)) wanted.set(id, target);
      }
    }
    this.droppedTargets = dropped;

    for (const [id, loop] of this.loops) {
      if (wanted.has(id)) continue;
      this.loops.delete(id);
      this.stopInBackground(loop, 'delayed');
    }
    for (const [id, target] of wanted) {
      if (this.loops.has(id)) continue;
      const loop = this.newLoop(target);
      this.loops.set(id, loop);
    }
    const limit = this.config.targetLimit;
    const forced =
      limit > 0 && this.loops.size > limit
        ? `target_limit exceeded (number of targets: ${this.loops.size}, limit: ${limit})`
        : null;
    if (forced !== null) {
      this.opts.metrics.exceededTargetLimit++;
      this.opts.logger('error', 'Target limit exceeded', {
        scrape_pool: this.config.jobName,
        err: forced,
      });
    }
    for (const loop of this.loops.values()) {
      loop.forcedError = forced;
      loop.start();
    }
    this.opts.metrics.poolTargets.set(this.config.jobName, this.loops.size);
  }

  private newLoop(target: Target): ScrapeLoop {
    const c = this.config;
    const fetcher =
      this.opts.fetcherFor?.(target) ??
      new TargetFetcher(target.scrapeUrl, target.timeoutMs, this.agents, {
        userAgent: this.opts.userAgent,
        httpClient: c.httpClient,
        bodySizeLimitBytes: c.bodySizeLimitBytes,
      });
    return new ScrapeLoop({
      target,
      appendable: this.opts.appendable,
      fetcher,
      honorLabels: c.honorLabels,
      honorTimestamps: c.honorTimestamps,
      metricRelabel: c.metricRelabelConfigs.compiled,
      limits: {
        sampleLimit: c.sampleLimit,
        labelLimit: c.labelLimit,
        labelNameLengthLimit: c.labelNameLengthLimit,
        labelValueLengthLimit: c.labelValueLengthLimit,
      },
      metrics: this.opts.metrics,
      logger: this.opts.logger,
      jitterSeed: this.opts.jitterSeed,
      now: this.opts.now,
    });
  }

  private stopInBackground(loop: ScrapeLoop, staleness: StopStaleness): void {
    const p = loop.stop(staleness, this.flush.signal).finally(() => this.stopping.delete(p));
    this.stopping.add(p);
  }

  /** The active targets, in a stable order (by labels). */
  activeTargets(): Target[] {
    return [...this.loops.values()]
      .map((l) => l.target)
      .sort((a, b) => (a.labels.key() < b.labels.key() ? -1 : 1));
  }

  /** Targets relabeling dropped at the last sync. */
  dropped(): readonly DroppedTarget[] {
    return this.droppedTargets;
  }

  /** The loops (tests and benchmarks look at their caches). */
  activeLoops(): ScrapeLoop[] {
    return [...this.loops.values()];
  }

  /** Cuts short the wait of stopping targets: their end-of-run markers are written now. */
  flushPending(): void {
    this.flush.abort();
  }

  /**
   * Stops every loop. `staleness` says what the active targets write; 'none' and 'now' also
   * cut short the wait of targets that vanished earlier (their markers are written at once).
   */
  async stop(staleness: StopStaleness): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (staleness !== 'delayed') this.flush.abort();
    for (const loop of this.loops.values()) this.stopInBackground(loop, staleness);
    this.loops.clear();
    this.opts.metrics.poolTargets.delete(this.config.jobName);
    await Promise.all([...this.stopping]);
    this.agents.destroy();
  }
}
