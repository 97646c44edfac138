/**
 * Metadata sending (`metadata_config`), as Prometheus 2.42's `MetadataWatcher` and
 * `QueueManager.AppendMetadata`: every `send_interval` the metadata of every active target
 * is collected, deduplicated on (family, type, help, unit), and sent in WriteRequests that
 * hold only `metadata`, `max_samples_per_send` entries each. Metadata does not go through
 * the WAL: a request is retried with backoff while the endpoint is down, and the next
 * interval sends the current set again.
 * @module
 */

import snappy from 'snappy';
import type { RemoteWriteConfig } from '../config/index.js';
import type { RemoteWriteClient } from './client.js';
import type { MetricRow } from './metrics.js';
import { encodeMetadataRequest, type RemoteMetadata } from './protobuf.js';

/**
 * Where the metadata to send comes from; the collector passes the scrape manager's
 * (`ScrapeManager.metadata()`). Called once per `send_interval`; rows of several targets
 * may repeat a family.
 */
export interface MetadataSource {
  metadata(): readonly RemoteMetadata[];
}

/** Unique entries of `rows` in first-seen order, keyed on all four fields. */
export function dedupMetadata(rows: readonly RemoteMetadata[]): RemoteMetadata[] {
  const seen = new Set<string>();
  const out: RemoteMetadata[] = [];
  for (const r of rows) {
    const key = `${r.metric}\u0000${r.type}\u0000${r.help}\u0000${r.unit}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ metric: r.metric, type: r.type, help: r.help, unit: r.unit });
  }
  return out;
}

/** Hooks the sender borrows from its {@link QueueManager}. */
export interface MetadataSenderHooks {
  /** False once the queue is stopping. */
  running(): boolean;
  /** Sleeps `ms`, woken early when the queue stops. */
  pause(ms: number): Promise<void>;
  /** The backoff before retry `attempt`. */
  backoff(attempt: number): number;
  logger(line: string): void;
}

/** Sends one endpoint's metadata periodically. */
export class MetadataSender {
  private readonly cfg: RemoteWriteConfig;
  private readonly client: RemoteWriteClient;
  private readonly source: MetadataSource;
  private readonly hooks: MetadataSenderHooks;
  private loop: Promise<void> | null = null;

  // Self-metrics.
  metadataTotal = 0;
  metadataFailed = 0;
  metadataRetried = 0;
  metadataBytes = 0;

  constructor(
    cfg: RemoteWriteConfig,
    client: RemoteWriteClient,
    source: MetadataSource,
    hooks: MetadataSenderHooks,
  ) {
    this.cfg = cfg;
    this.client = client;
    this.source = source;
    this.hooks = hooks;
  }

  /** Starts the periodic loop (the first send is one interval after the start, as 2.42). */
  start(): void {
    this.loop ??= this.run().catch((err: Error) => {
      this.hooks.logger(`metadata sending stopped: ${err.message}`);
    });
  }

  /** Resolves when the loop has seen that the queue stopped. */
  async stopped(): Promise<void> {
    await this.loop;
  }

  private async run(): Promise<void> {
    const h = this.hooks;
    while (h.running()) {
      await h.pause(this.cfg.metadataConfig.sendIntervalMs);
      if (!h.running()) return;
      await this.sendAll(dedupMetadata(this.source.metadata()));
    }
  }

  /** Sends `items` in requests of `max_samples_per_send`; exposed for tests. */
  async sendAll(items: readonly RemoteMetadata[]): Promise<void> {
    const per = Math.max(1, this.cfg.metadataConfig.maxSamplesPerSend);
    for (let i = 0; i < items.length && this.hooks.running(); i += per) {
      const chunk = items.slice(i, i + per);
      await this.sendChunk(chunk);
    }
  }

  private async sendChunk(chunk: readonly RemoteMetadata[]): Promise<void> {
    const body = snappy.compressSync(encodeMetadataRequest(chunk));
    const q = this.cfg.queueConfig;
    for (let attempt = 0; this.hooks.running(); attempt++) {
      const res = await this.client.send(body);
      if (res.status >= 200 && res.status < 300) {
        this.metadataTotal += chunk.length;
        this.metadataBytes += body.length;
        return;
      }
      const recoverable =
        res.status === 0 || res.status >= 500 || (res.status === 429 && q.retryOnHttp429);
      if (!recoverable) {
        this.metadataFailed += chunk.length;
        this.hooks.logger(
          `non-recoverable error while sending metadata: count=${chunk.length} HTTP ${res.status}: ${res.message.slice(0, 256)}`,
        );
        return;
      }
      this.metadataRetried += chunk.length;
      let delay = this.hooks.backoff(attempt);
      if (res.status === 429 && res.retryAfterMs >= 0) delay = res.retryAfterMs;
      await this.hooks.pause(delay);
    }
  }

  /** Self-metric rows with Prometheus 2.42's names, labelled like the queue's. */
  metrics(labels: Record<string, string>): MetricRow[] {
    const row = (name: string, help: string, value: number): MetricRow => ({
      name: `prometheus_remote_storage_${name}`,
      type: 'counter',
      help,
      labels,
      value,
    });
    return [
      row(
        'metadata_total',
        'Total number of metadata entries sent to remote storage.',
        this.metadataTotal,
      ),
      row(
        'metadata_failed_total',
        'Total number of metadata entries which failed on send to remote storage, non-recoverable errors.',
        this.metadataFailed,
      ),
      row(
        'metadata_retried_total',
        'Total number of metadata entries which failed on send to remote storage but were retried because the send error was recoverable.',
        this.metadataRetried,
      ),
      row(
        'metadata_bytes_total',
        'The total number of bytes of metadata sent by the queue after compression.',
        this.metadataBytes,
      ),
    ];
  }
}
