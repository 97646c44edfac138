/**
 * Runs one {@link QueueManager} per `remote_write` entry, each independent (own position,
 * own shards), and tells the database how much WAL they still need.
 *
 * WAL retention hook: the database asks {@link RemoteWriteManager.lowWatermarkSegment}
 * before a checkpoint deletes segments (`DBOptions.walRetentionGuard`) and keeps every
 * segment at or above the answer. An endpoint whose unsent data is older than
 * `walMaxAgeMs` stops holding the WAL back (its samples past that age may be lost).
 * @module
 */

import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { RemoteWriteConfig } from '../config/index.js';
import { segmentPath } from '../tsdb/wal/index.js';
import type { MetadataSource } from './metadata.js';
import type { MetricRow } from './metrics.js';
import { QueueManager } from './queue.js';

/** Options of a {@link RemoteWriteManager}. */
export interface RemoteWriteManagerOptions {
  /** The database folder: the WAL is `<dataDir>/wal`, state goes in `<dataDir>/remote`. */
  dataDir: string;
  logger?: (line: string) => void;
  /** Unsent WAL older than this no longer holds segments back (ms). Default 6 h. */
  walMaxAgeMs?: number;
  /** How often each queue polls the WAL (ms). Default 50. */
  pollIntervalMs?: number;
  /** The scraped metadata the queues send (`metadata_config`); none is sent without it. */
  metadata?: MetadataSource;
  /**
   * The newest sample timestamp appended to the database (ms; -Infinity when none), for
   * `prometheus_remote_storage_highest_timestamp_in_seconds`. Without it the gauge shows
   * the newest timestamp the queues read from the WAL.
   */
  highestTimestamp?: () => number;
}

/** Starts, reconfigures and stops the remote-write queues. */
export class RemoteWriteManager {
  private readonly opts: RemoteWriteManagerOptions;
  private queues: QueueManager[] = [];

  constructor(opts: RemoteWriteManagerOptions) {
    this.opts = opts;
  }

  /** Replaces the queues with ones for `configs` and starts them. */
  async applyConfig(
    configs: readonly RemoteWriteConfig[],
    externalLabels: Record<string, string> = {},
  ): Promise<void> {
    await this.stop();
    this.queues = configs.map(
      (cfg) =>
        new QueueManager(cfg, {
          walDir: join(this.opts.dataDir, 'wal'),
          stateDir: join(this.opts.dataDir, 'remote'),
          externalLabels,
          logger: this.opts.logger,
          pollIntervalMs: this.opts.pollIntervalMs,
          metadata: this.opts.metadata,
        }),
    );
    for (const q of this.queues) q.start();
  }

  /** The running queues. */
  get queueManagers(): readonly QueueManager[] {
    return this.queues;
  }

  /**
   * The lowest WAL segment some endpoint still has to read; Infinity when none holds the
   * WAL back. Segments below it may be checkpointed and deleted.
   */
  lowWatermarkSegment(): number {
    const maxAge = this.opts.walMaxAgeMs ?? 6 * 3600_000;
    const walDir = join(this.opts.dataDir, 'wal');
    let low = Infinity;
    for (const q of this.queues) {
      const p = q.position();
      const seg = p === null ? 0 : p.segment;
      let mtime = Date.now();
      try {
        mtime = statSync(segmentPath(walDir, seg)).mtimeMs;
      } catch {
        // gone already: nothing to hold
        continue;
      }
      if (Date.now() - mtime > maxAge) continue;
      low = Math.min(low, seg);
    }
    return low;
  }

  /**
   * Self-metric rows of every queue, and the one
   * `prometheus_remote_storage_highest_timestamp_in_seconds` gauge: as in Prometheus 2.42,
   * a single series without labels for the newest timestamp appended (not per queue); a
   * queue's progress is its `queue_highest_sent_timestamp_seconds`.
   */
  metrics(): MetricRow[] {
    let highest = this.opts.highestTimestamp?.() ?? -Infinity;
    if (this.opts.highestTimestamp === undefined) {
      for (const q of this.queues) highest = Math.max(highest, q.highestReadTs);
    }
    return [
      {
        name: 'prometheus_remote_storage_highest_timestamp_in_seconds',
        type: 'gauge',
        help: 'Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.',
        labels: {},
        value: Number.isFinite(highest) && highest > 0 ? highest / 1000 : 0,
      },
      ...this.queues.flatMap((q) => q.metrics()),
    ];
  }

  /** Stops every queue (positions are saved after each acknowledged round). */
  async stop(): Promise<void> {
    const qs = this.queues;
    this.queues = [];
    await Promise.all(qs.map((q) => q.stop()));
  }
}
