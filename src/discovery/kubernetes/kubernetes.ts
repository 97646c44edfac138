/**
 * `kubernetes_sd_configs` with role `pod`: lists and watches pods through the API the
 * way client-go's reflector does for Prometheus. List (getting a resourceVersion), then
 * watch from it with bookmarks; after a broken or expired watch, watch again from the
 * last resourceVersion seen; on 410 Gone, list again and send what changed meanwhile.
 * One list/watch per namespace of `namespaces.names`, or one for all namespaces.
 * @module
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KubernetesSdConfig } from '../../config/index.js';
import { SERVICE_ACCOUNT_DIR } from '../../config/index.js';
import { DiscoveryMetrics } from '../metrics.js';
import { sleep, stderrLogger } from '../target-group.js';
import type { Discoverer, DiscoveryLogger, TargetGroup } from '../target-group.js';
import { KubeApiError, KubeClient, kubeConnection } from './client.js';
import type { KubeConnection } from './client.js';
import { podSource, podTargetGroup } from './pod.js';
import type { Pod, Status, WatchEvent } from './types.js';

/** Options of a KubernetesDiscoverer. */
export interface KubernetesDiscovererOptions {
  logger?: DiscoveryLogger;
  metrics?: DiscoveryMetrics;
  /** First retry delay after a failed request; doubles up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Server-side watch timeout; client-go picks 5–10 minutes at random. */
  watchTimeoutSeconds?: () => number;
  /** Overrides the connection (tests); by default built from the config and environment. */
  connection?: KubeConnection;
  /** Service-account directory for the in-cluster configuration and `own_namespace`. */
  serviceAccountDir?: string;
}

/** Discovers pods; see the module comment. */
export class KubernetesDiscoverer implements Discoverer {
  private readonly config: KubernetesSdConfig;
  private readonly logger: DiscoveryLogger;
  private readonly metrics: DiscoveryMetrics;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly watchTimeoutSeconds: () => number;
  private readonly connection: KubeConnection | undefined;
  private readonly saDir: string;

  constructor(config: KubernetesSdConfig, options: KubernetesDiscovererOptions = {}) {
    this.config = config;
    this.logger = options.logger ?? stderrLogger;
    this.metrics = options.metrics ?? new DiscoveryMetrics();
    this.retryDelayMs = options.retryDelayMs ?? 800;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.watchTimeoutSeconds =
      options.watchTimeoutSeconds ?? (() => Math.floor(300 * (1 + Math.random())));
    this.connection = options.connection;
    this.saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  }

  async run(signal: AbortSignal, up: (groups: TargetGroup[]) => void): Promise<void> {
    if (this.config.role !== 'pod') {
      this.logger('error', 'Kubernetes SD role not supported, no targets discovered', {
        role: this.config.role,
      });
      return;
    }
    const conn = this.connection ?? (await kubeConnection(this.config, process.env, this.saDir));
    const client = new KubeClient(conn);
    const namespaces = [...this.config.namespaces.names];
    if (this.config.namespaces.ownNamespace)
      namespaces.push((await readFile(join(this.saDir, 'namespace'), 'utf8')).trim());
    const paths =
      namespaces.length === 0
        ? ['/api/v1/pods']
        : [...new Set(namespaces)].map((ns) => `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`);
    const selector = this.config.selectors.find((s) => s.role === 'pod');
    const query = { labelSelector: selector?.label ?? '', fieldSelector: selector?.field ?? '' };
    await Promise.all(paths.map((p) => this.listWatch(client, p, query, signal, up)));
  }

  /** The reflector loop of one path. */
  private async listWatch(
    client: KubeClient,
    path: string,
    query: Record<string, string>,
    signal: AbortSignal,
    up: (groups: TargetGroup[]) => void,
  ): Promise<void> {
    /** Pods known from this path, by group source. */
    const known = new Map<string, Pod>();
    let delay = this.retryDelayMs;
    let resourceVersion = '';
    let mustList = true;
    while (!signal.aborted) {
      try {
        if (mustList) {
          const list = await client.list(path, query, signal);
          resourceVersion = list.metadata.resourceVersion;
          this.replace(known, list.items, up);
          mustList = false;
        }
        let gone = false;
        await client.watch(
          path,
          {
            ...query,
            resourceVersion,
            allowWatchBookmarks: 'true',
            timeoutSeconds: String(this.watchTimeoutSeconds()),
          },
          signal,
          (ev) => {
            const rv = this.apply(known, ev, up);
            if (rv === 'gone') gone = true;
            else if (rv !== '') resourceVersion = rv;
            return !gone;
          },
        );
        if (gone) {
          this.logger('info', 'watch resource version too old, listing again', {
            path,
            resourceVersion,
          });
          mustList = true;
        }
        delay = this.retryDelayMs;
      } catch (err) {
        if (signal.aborted) return;
        this.metrics.kubernetesRequestErrorsTotal++;
        if (err instanceof KubeApiError && err.status === 410) {
          mustList = true;
          continue;
        }
        this.logger('warn', 'Kubernetes list/watch failed, retrying', {
          path,
          err: (err as Error).message,
          retryInMs: delay,
        });
        await sleep(delay, signal);
        delay = Math.min(delay * 2, this.maxRetryDelayMs);
      }
    }
  }

  /** Applies a full list: sends every pod, and empty groups for pods no longer there. */
  private replace(known: Map<string, Pod>, pods: Pod[], up: (groups: TargetGroup[]) => void): void {
    const fresh = new Map<string, Pod>();
    for (const p of pods) fresh.set(podSource(p.metadata.namespace ?? '', p.metadata.name), p);
    const groups: TargetGroup[] = [];
    for (const source of known.keys()) {
      if (!fresh.has(source)) {
        this.metrics.kubernetesEventsTotal.delete++;
        groups.push({ source, targets: [], labels: {} });
      }
    }
    for (const [source, p] of fresh) {
      this.metrics.kubernetesEventsTotal[known.has(source) ? 'update' : 'add']++;
      groups.push(podTargetGroup(p));
    }
    known.clear();
    for (const [s, p] of fresh) known.set(s, p);
    if (groups.length > 0) up(groups);
  }

  /** Applies one watch event; returns its resourceVersion, '' for none, or 'gone' for 410. */
  private apply(
    known: Map<string, Pod>,
    ev: WatchEvent,
    up: (groups: TargetGroup[]) => void,
  ): string {
    if (ev.type === 'ERROR') {
      const st = ev.object as Status;
      if (st.code === 410) return 'gone';
      throw new KubeApiError(
        st.code ?? 0,
        `watch error event: ${st.message ?? JSON.stringify(st)}`,
      );
    }
    const pod = ev.object as Pod;
    const rv = pod.metadata?.resourceVersion ?? '';
    if (ev.type === 'BOOKMARK') return rv;
    const source = podSource(pod.metadata.namespace ?? '', pod.metadata.name);
    if (ev.type === 'DELETED') {
      this.metrics.kubernetesEventsTotal.delete++;
      known.delete(source);
      up([{ source, targets: [], labels: {} }]);
    } else {
      this.metrics.kubernetesEventsTotal[known.has(source) ? 'update' : 'add']++;
      known.set(source, pod);
      up([podTargetGroup(pod)]);
    }
    return rv;
  }
}
