/**
 * The discovery manager: runs the discoverers of every scrape config, keyed by job,
 * merges their groups, and publishes the full set of groups per job to subscribers,
 * at most once per `updateIntervalMs` (5 s, as Prometheus's discovery manager). On a
 * config reload it keeps the discoverers of jobs whose discovery config did not change.
 * @module
 */

import { isDeepStrictEqual } from 'node:util';
import type { ScrapeConfig } from '../config/index.js';
import { FileDiscoverer } from './file/file.js';
import type { FileDiscovererOptions } from './file/file.js';
import { KubernetesDiscoverer } from './kubernetes/kubernetes.js';
import type { KubernetesDiscovererOptions } from './kubernetes/kubernetes.js';
import { DiscoveryMetrics } from './metrics.js';
import { StaticDiscoverer } from './static/static.js';
import { stderrLogger } from './target-group.js';
import type { Discoverer, DiscoveryLogger, TargetGroup } from './target-group.js';

/** Groups per job name. */
export type TargetSets = Map<string, TargetGroup[]>;

/** Options of a DiscoveryManager. */
export interface DiscoveryManagerOptions {
  /** Minimum time between two updates to subscribers; default 5000. */
  updateIntervalMs?: number;
  logger?: DiscoveryLogger;
  metrics?: DiscoveryMetrics;
  fileOptions?: FileDiscovererOptions;
  kubernetesOptions?: KubernetesDiscovererOptions;
  /** Builds the discoverers of one scrape config; the default covers static, file and kubernetes. */
  discoverersFor?: (sc: ScrapeConfig) => Discoverer[];
}

/** The discovery part of a scrape config; a change here restarts the job's discoverers. */
function discoveryKey(sc: ScrapeConfig): unknown {
  return { s: sc.staticConfigs, f: sc.fileSdConfigs, k: sc.kubernetesSdConfigs };
}

interface Running {
  controller: AbortController;
  done: Promise<void>;
}

interface JobState {
  key: unknown;
  running: Running[];
  /** Current groups by `<provider index>/<source>`. */
  groups: Map<string, TargetGroup>;
}

/** Runs discovery for a set of scrape configs; see the module comment. */
export class DiscoveryManager {
  readonly metrics: DiscoveryMetrics;
  private readonly updateIntervalMs: number;
  private readonly logger: DiscoveryLogger;
  private readonly discoverersFor: (sc: ScrapeConfig) => Discoverer[];
  private readonly jobs = new Map<string, JobState>();
  private readonly subscribers = new Set<(sets: TargetSets) => void>();
  private dirty = false;
  private lastSentAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(options: DiscoveryManagerOptions = {}) {
    this.updateIntervalMs = options.updateIntervalMs ?? 5000;
    this.logger = options.logger ?? stderrLogger;
    this.metrics = options.metrics ?? new DiscoveryMetrics();
    const fileOptions = { logger: this.logger, metrics: this.metrics, ...options.fileOptions };
    const kubeOptions = {
      logger: this.logger,
      metrics: this.metrics,
      ...options.kubernetesOptions,
    };
    this.discoverersFor =
      options.discoverersFor ??
      ((sc) => [
        ...(sc.staticConfigs.length > 0 ? [new StaticDiscoverer(sc.staticConfigs)] : []),
        ...sc.fileSdConfigs.map((c) => new FileDiscoverer(c, fileOptions)),
        ...sc.kubernetesSdConfigs.map((c) => new KubernetesDiscoverer(c, kubeOptions)),
      ]);
  }

  /** Calls `fn` with the full target sets after every (throttled) change; returns an unsubscribe. */
  subscribe(fn: (sets: TargetSets) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  /** The current groups per job (non-empty groups only). */
  targetSets(): TargetSets {
    const out: TargetSets = new Map();
    for (const [job, st] of this.jobs) out.set(job, [...st.groups.values()]);
    return out;
  }

  /**
   * Starts, keeps or stops discoverers so they match `configs`. Jobs whose discovery
   * configuration is unchanged keep running with their groups.
   */
  applyConfig(configs: readonly ScrapeConfig[]): void {
    if (this.stopped) throw new Error('discovery manager is stopped');
    const wanted = new Map(configs.map((sc) => [sc.jobName, sc]));
    for (const [job, st] of this.jobs) {
      const sc = wanted.get(job);
      if (sc && isDeepStrictEqual(st.key, discoveryKey(sc))) continue;
      void this.stopJob(st);
      this.jobs.delete(job);
    }
    for (const sc of configs) if (!this.jobs.has(sc.jobName)) this.startJob(sc);
    this.markDirty();
  }

  /** Stops every discoverer and waits for them to end; no update is sent afterwards. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const done: Promise<void>[] = [];
    for (const st of this.jobs.values()) done.push(...this.stopJob(st));
    this.jobs.clear();
    await Promise.all(done);
  }

  private startJob(sc: ScrapeConfig): void {
    const st: JobState = { key: discoveryKey(sc), running: [], groups: new Map() };
    this.jobs.set(sc.jobName, st);
    this.discoverersFor(sc).forEach((d, i) => {
      const controller = new AbortController();
      const up = (groups: TargetGroup[]): void => {
        if (controller.signal.aborted || this.jobs.get(sc.jobName) !== st) return;
        this.metrics.receivedUpdatesTotal++;
        for (const g of groups) {
          const key = `${i}/${g.source}`;
          if (g.targets.length === 0) st.groups.delete(key);
          else st.groups.set(key, g);
        }
        this.markDirty();
      };
      const done = d.run(controller.signal, up).catch((err: unknown) => {
        if (controller.signal.aborted) return;
        this.metrics.discovererFailuresTotal++;
        this.logger('error', 'Discoverer failed', {
          job: sc.jobName,
          err: (err as Error).message ?? String(err),
        });
      });
      st.running.push({ controller, done });
    });
  }

  private stopJob(st: JobState): Promise<void>[] {
    for (const r of st.running) r.controller.abort();
    return st.running.map((r) => r.done);
  }

  /** Schedules an update no sooner than `updateIntervalMs` after the previous one. */
  private markDirty(): void {
    this.dirty = true;
    if (this.timer || this.stopped) return;
    const wait = Math.max(0, this.lastSentAt + this.updateIntervalMs - Date.now());
    this.timer = setTimeout(() => this.send(), wait);
  }

  private send(): void {
    this.timer = null;
    if (!this.dirty || this.stopped) return;
    this.dirty = false;
    this.lastSentAt = Date.now();
    const sets = this.targetSets();
    this.metrics.updatesTotal++;
    this.metrics.discoveredTargets = {};
    for (const [job, groups] of sets) {
      this.metrics.discoveredTargets[job] = groups.reduce((n, g) => n + g.targets.length, 0);
    }
    for (const fn of this.subscribers) {
      try {
        fn(sets);
      } catch (err) {
        this.logger('error', 'Discovery subscriber failed', { err: (err as Error).message });
      }
    }
  }
}
