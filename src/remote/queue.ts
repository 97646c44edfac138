/**
 * The queue of one remote_write endpoint (Prometheus `storage/remote.QueueManager`,
 * simplified): a {@link WalWatcher} feeds samples into a round; the round is split over
 * shards by series ref (so each series keeps its order), every shard sends its samples in
 * requests of `max_samples_per_send`, shards in parallel; when every request of the round
 * is acknowledged (2xx, or a 4xx that is dropped), the WAL position is saved.
 *
 * ```
 *  WAL ──watcher──▶ round columns ──ref % shards──▶ shard 0: batch, batch… ─┐
 *                                                   shard 1: batch…        ─┼─▶ all acked ─▶ save position
 *                                                   shard n-1              ─┘
 * ```
 *
 * A round is sent when it holds `max_samples_per_send × shards` samples and the WAL has no
 * more for now, when it is {@link roundDepth} requests per shard deep (a backlog), or when
 * its oldest sample has waited `batch_send_deadline`. While the receiver is down, the
 * round is retried and nothing more is read: the backlog stays in the WAL, not in memory.
 *
 * Shard scaling (every 10 s, applied between rounds): with `inRate` samples/s read from
 * the WAL, `sendSecondsPerSample` the mean shard-time spent per sent sample and `backlog`
 * the samples waiting in the WAL behind us (the WAL bytes not read yet, at the bytes per
 * sample of the last window; Prometheus uses the lag between the newest appended and the
 * newest sent timestamp, which a reader of the WAL does not know until it reads it), the
 * desired shards are `ceil(sendSecondsPerSample × (inRate + backlog / 20 s))`, clamped to
 * `[min_shards, max_shards]`, and changed only when 30 % away from the current number.
 * @module
 */

import { createHash } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { RemoteWriteConfig } from '../config/index.js';
import { Labels } from '../model/labels.js';
import { relabel } from '../relabel/index.js';
import type { RefSeries, SampleBatch } from '../tsdb/record.js';
import { RemoteWriteClient, type SendResult } from './client.js';
import { MetadataSender, type MetadataSource } from './metadata.js';
import type { MetricRow } from './metrics.js';
import { WriteRequestEncoder, encodeLabels } from './protobuf.js';
import { WalWatcher, type SavedPosition, type WalPosition } from './watcher.js';

/** Options of a {@link QueueManager}. */
export interface QueueOptions {
  /** The database's WAL folder. */
  walDir: string;
  /** Folder for per-endpoint state (`<dir>/<name-or-hash>/position`). */
  stateDir: string;
  /** `global.external_labels`. */
  externalLabels: Record<string, string>;
  logger?: (line: string) => void;
  /** How often the WAL is polled for new records (ms). Default 50. */
  pollIntervalMs?: number;
  /** Metadata to send when `metadata_config.send` is on; none is sent without it. */
  metadata?: MetadataSource;
}

/** The backoff before retry `attempt` (0-based): min·2^attempt, capped at max. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
}

/** Inputs of {@link desiredShards}. */
export interface ShardLoad {
  /** Samples per second read from the WAL. */
  inRate: number;
  /** Shard-seconds spent sending per sample. */
  sendSecondsPerSample: number;
  /** Samples waiting in the WAL behind the sender. */
  backlog: number;
  current: number;
  min: number;
  max: number;
}

/**
 * The number of shards the queue should run (see the module comment): enough to keep up
 * with the incoming rate and clear the backlog in about 20 s, clamped to [min, max], and
 * unchanged while within 30 % of the current number.
 */
export function desiredShards(l: ShardLoad): number {
  let d = Math.ceil(l.sendSecondsPerSample * (l.inRate + l.backlog / 20));
  d = Math.min(l.max, Math.max(l.min, d, 1));
  return Math.abs(d - l.current) > 0.3 * l.current ? d : l.current;
}

/** The folder name of an endpoint's state: its name, or a hash of its URL. */
export function endpointKey(cfg: RemoteWriteConfig): string {
  if (cfg.name !== '') return cfg.name.replace(/[^A-Za-z0-9_.-]/g, '_');
  return createHash('sha256').update(cfg.url).digest('hex').slice(0, 12);
}

/** Reads a saved position; null when none (or unreadable: then everything is resent). */
export function loadPosition(file: string): SavedPosition | null {
  try {
    const p = JSON.parse(readFileSync(file, 'utf8')) as SavedPosition;
    if (!Number.isInteger(p.segment) || !Number.isInteger(p.offset)) return null;
    if (p.shards === undefined || !Array.isArray(p.done) || p.done.length !== p.shards) {
      return { segment: p.segment, offset: p.offset };
    }
    return p;
  } catch {
    // missing or damaged: start from the beginning of the WAL (duplicates, no gaps)
  }
  return null;
}

/** Saves a position atomically (write, then rename). */
export function savePosition(file: string, p: SavedPosition): void {
  const tmp = file + '.tmp';
  const o: SavedPosition = { segment: p.segment, offset: p.offset };
  if (p.shards !== undefined && p.done !== undefined) {
    o.shards = p.shards;
    o.done = p.done;
  }
  writeFileSync(tmp, JSON.stringify(o) + '\n');
  renameSync(tmp, file);
}

/**
 * Rewrites one endpoint's position file in place: the JSON padded with spaces to at least
 * every length written before, written at offset 0 of a file kept open. A position is
 * saved after every acknowledged request, and an open/write/rename per request cost more
 * than the sending itself on a busy disk. A process killed mid-save cannot tear a write
 * this small (the kernel has it whole); a damaged file after a power loss reads as none,
 * and everything is sent again.
 */
class PositionWriter {
  private readonly file: string;
  private fd: number | null = null;
  private size = 0;

  constructor(file: string) {
    this.file = file;
  }

  save(p: SavedPosition): void {
    const o: SavedPosition = { segment: p.segment, offset: p.offset };
    if (p.shards !== undefined && p.done !== undefined) {
      o.shards = p.shards;
      o.done = p.done;
    }
    const json = JSON.stringify(o);
    this.size = Math.max(this.size, json.length + 1, 128);
    const buf = Buffer.alloc(this.size, 0x20);
    buf.write(json, 0, 'latin1');
    buf[this.size - 1] = 0x0a;
    if (this.fd === null) {
      // Start from a complete file (rename), then rewrite it in place.
      savePosition(this.file, p);
      this.fd = openSync(this.file, 'r+');
    }
    writeSync(this.fd, buf, 0, buf.length, 0);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/**
 * How many requests per shard one round may hold when the WAL has that much to send (a
 * backlog): a deep round keeps a shard busy with back-to-back requests, the next one
 * encoded while the last is on the wire, instead of waiting for every shard at the end
 * of each request. Up to 8, and rounds of at most ~32k samples beyond one request per
 * shard: many shards already overlap, and a round is read from the WAL in one go (the
 * event loop, scraping included, waits meanwhile). A function of the batch size and the
 * shards only, so a restart rebuilds a round the same (see SavedPosition).
 */
export function roundDepth(samplesPerRequestPerShard: number): number {
  return Math.max(1, Math.min(8, Math.floor(32_000 / samplesPerRequestPerShard)));
}

/**
 * Growable sample columns of one shard's part of a round: the series' slot in the
 * encoded-labels table, the timestamp and the value of each sample.
 */
class Columns {
  slots: Int32Array = new Int32Array(1024);
  ts: Float64Array = new Float64Array(1024);
  vs: Float64Array = new Float64Array(1024);
  length = 0;
  push(slot: number, t: number, v: number): void {
    const i = this.length;
    if (i === this.slots.length) {
      const slots = new Int32Array(i * 2);
      slots.set(this.slots);
      this.slots = slots;
      const ts = new Float64Array(i * 2);
      ts.set(this.ts);
      this.ts = ts;
      const vs = new Float64Array(i * 2);
      vs.set(this.vs);
      this.vs = vs;
    }
    this.slots[i] = slot;
    this.ts[i] = t;
    this.vs[i] = v;
    this.length = i + 1;
  }
}

/**
 * The protobuf `TimeSeries.labels` of a series with the external labels added (the
 * series' own label wins on a name both have); both inputs are sorted by name.
 */
function withExternalLabels(ls: Labels, ext: readonly string[]): Labels {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  const n = ls.size;
  while (i < n || j < ext.length) {
    if (j >= ext.length || (i < n && ls.name(i) <= ext[j])) {
      if (j < ext.length && ls.name(i) === ext[j]) j += 2;
      out.push(ls.name(i), ls.value(i));
      i++;
    } else {
      out.push(ext[j], ext[j + 1]);
      j += 2;
    }
  }
  return Labels.fromSortedPairs(out);
}

/** Sends one endpoint's share of the WAL. Start with {@link start}, end with {@link stop}. */
export class QueueManager {
  readonly cfg: RemoteWriteConfig;
  readonly key: string;
  private readonly positionFile: string;
  private readonly positionWriter: PositionWriter;
  private readonly client: RemoteWriteClient;
  private readonly watcher: WalWatcher;
  private readonly metadataSender: MetadataSender | null;
  private readonly logger: (line: string) => void;
  private readonly pollMs: number;
  /** `global.external_labels` as name/value pairs sorted by name. */
  private readonly externalPairs: string[];
  /** Slot of each series ref in {@link labelTable}; -1 when write_relabel_configs dropped it. */
  private readonly slotOfRef = new Map<number, number>();
  /** Encoded `TimeSeries.labels` of each series, by slot: encoded once, copied per request. */
  private readonly labelTable: Uint8Array[] = [];
  /** The round being built: each shard's samples (split by series ref as they are read). */
  private shardCols: Columns[] = [];
  /** Samples in the round. */
  private pending = 0;
  private readonly encoders: WriteRequestEncoder[] = [];
  private numShards: number;
  private running = false;
  private loop: Promise<void> | null = null;
  /** Wakes every pause (shards back off concurrently) when stopping. */
  private readonly wakers = new Set<() => void>();
  /** Saved position (what has been acknowledged). */
  private acked: WalPosition | null;
  /** Samples of each shard acknowledged in the current round (see SavedPosition). */
  private done: number[] = [];

  // Self-metrics.
  samplesTotal = 0;
  samplesFailed = 0;
  samplesRetried = 0;
  samplesDropped = 0;
  bytesTotal = 0;
  highestReadTs = 0;
  highestSentTs = 0;
  private inRead = 0;
  private sentSamplesWindow = 0;
  private sendSecondsWindow = 0;
  private bytesReadAtScale = 0;
  private lastScaleAt = 0;

  constructor(cfg: RemoteWriteConfig, opts: QueueOptions) {
    this.cfg = cfg;
    this.key = endpointKey(cfg);
    const dir = join(opts.stateDir, this.key);
    mkdirSync(dir, { recursive: true });
    this.positionFile = join(dir, 'position');
    this.positionWriter = new PositionWriter(this.positionFile);
    const saved = loadPosition(this.positionFile);
    this.acked = saved === null ? null : { segment: saved.segment, offset: saved.offset };
    this.client = new RemoteWriteClient(cfg);
    this.logger = opts.logger ?? ((l) => console.warn(l));
    this.pollMs = opts.pollIntervalMs ?? 50;
    this.externalPairs = Object.keys(opts.externalLabels)
      .filter((k) => opts.externalLabels[k] !== '')
      .sort()
      .flatMap((k) => [k, opts.externalLabels[k]]);
    this.numShards = Math.max(1, cfg.queueConfig.minShards);
    if (saved?.shards !== undefined && saved.done !== undefined) {
      // Resume the interrupted round with the split it had.
      this.numShards = saved.shards;
      this.done = saved.done.slice();
    }
    this.metadataSender =
      cfg.metadataConfig.send && opts.metadata !== undefined
        ? new MetadataSender(cfg, this.client, opts.metadata, {
            running: () => this.running,
            pause: (ms) => this.pause(ms),
            backoff: (attempt) =>
              backoffDelay(attempt, cfg.queueConfig.minBackoffMs, cfg.queueConfig.maxBackoffMs),
            logger: (line) => this.logger(`remote_write ${this.label()}: ${line}`),
          })
        : null;
    this.watcher = new WalWatcher(opts.walDir, this.acked, {
      series: (s) => this.storeSeries(s),
      samples: (b) => this.takeSamples(b),
    });
  }

  /** The position saved after the last acknowledged round, or null. */
  position(): WalPosition | null {
    return this.acked;
  }

  /** Starts reading and sending. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.lastScaleAt = performance.now();
    this.loop = this.run().catch((err: Error) => {
      this.logger(`remote_write ${this.label()}: queue stopped: ${err.message}`);
    });
    this.metadataSender?.start();
  }

  /**
   * Stops: a request in flight is abandoned (its round is sent again after a restart:
   * duplicates, never gaps).
   */
  async stop(): Promise<void> {
    this.running = false;
    for (const w of [...this.wakers]) w();
    await this.loop;
    this.positionWriter.close();
    await this.metadataSender?.stopped();
    this.watcher.close();
    this.client.close();
  }

  /** Self-metric rows with Prometheus's names. */
  metrics(): MetricRow[] {
    const labels = { remote_name: this.cfg.name || this.key, url: this.cfg.url };
    const row = (
      name: string,
      type: 'counter' | 'gauge',
      help: string,
      value: number,
    ): MetricRow => ({
      name: `prometheus_remote_storage_${name}`,
      type,
      help,
      labels,
      value,
    });
    return [
      row(
        'samples_total',
        'counter',
        'Total number of samples sent to remote storage.',
        this.samplesTotal,
      ),
      row(
        'samples_failed_total',
        'counter',
        'Total number of samples which failed on send to remote storage, non-recoverable errors.',
        this.samplesFailed,
      ),
      row(
        'samples_retried_total',
        'counter',
        'Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.',
        this.samplesRetried,
      ),
      row(
        'samples_dropped_total',
        'counter',
        'Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling or unintentionally because of an unknown reference ID.',
        this.samplesDropped,
      ),
      row(
        'samples_pending',
        'gauge',
        'The number of samples pending in the queues shards to be sent to the remote storage.',
        this.pending,
      ),
      row(
        'shards',
        'gauge',
        'The number of shards used for parallel sending to the remote endpoint.',
        this.numShards,
      ),
      row(
        'queue_highest_sent_timestamp_seconds',
        'gauge',
        'Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.',
        this.highestSentTs / 1000,
      ),
      row(
        'bytes_total',
        'counter',
        'The total number of bytes of data (not metadata) sent by the queue after compression.',
        this.bytesTotal,
      ),
      ...(this.metadataSender?.metrics(labels) ?? []),
    ];
  }

  private label(): string {
    return this.cfg.name || this.cfg.url;
  }

  private storeSeries(s: RefSeries): void {
    // External labels first; the series' own label wins; then write_relabel_configs.
    let ls = s.labels;
    if (this.externalPairs.length > 0) ls = withExternalLabels(ls, this.externalPairs);
    const out = relabel(ls, this.cfg.writeRelabelConfigs.compiled);
    const slot = this.slotOfRef.get(s.ref);
    if (out === null || out.size === 0) {
      this.slotOfRef.set(s.ref, -1);
    } else {
      const encoded = encodeLabels(out);
      if (slot !== undefined && slot >= 0) {
        this.labelTable[slot] = encoded;
      } else {
        this.slotOfRef.set(s.ref, this.labelTable.length);
        this.labelTable.push(encoded);
      }
    }
  }

  /** Makes room for the round's shards (their number changes only between rounds). */
  private ensureShardColumns(): void {
    while (this.shardCols.length < this.numShards) this.shardCols.push(new Columns());
    while (this.encoders.length < this.numShards) this.encoders.push(new WriteRequestEncoder());
  }

  private takeSamples(b: SampleBatch): void {
    const slotOfRef = this.slotOfRef;
    const cols = this.shardCols;
    const n = this.numShards;
    const refs = b.refs;
    const ts = b.ts;
    const vs = b.vs;
    let highest = this.highestReadTs;
    let taken = 0;
    for (let i = 0; i < b.length; i++) {
      const ref = refs[i];
      const t = ts[i];
      if (t > highest) highest = t;
      const slot = slotOfRef.get(ref);
      if (slot === undefined || slot < 0) {
        this.samplesDropped++;
        continue;
      }
      cols[ref % n].push(slot, t, vs[i]);
      taken++;
    }
    this.highestReadTs = highest;
    this.inRead += b.length;
    this.pending += taken;
  }

  private async run(): Promise<void> {
    const q = this.cfg.queueConfig;
    let firstPendingAt = 0;
    while (this.running) {
      this.ensureShardColumns();
      const full = q.maxSamplesPerSend * this.numShards;
      const target = full * roundDepth(full);
      const before = this.pending;
      const asked = Math.max(1, target - before);
      const exhausted = this.watcher.read(asked) < asked;
      if (this.watcher.err() !== null) {
        this.logger(
          `remote_write ${this.label()}: WAL read stopped: ${this.watcher.err()?.message}`,
        );
        return;
      }
      const pending = this.pending;
      if (before === 0 && pending > 0) firstPendingAt = performance.now();
      // An interrupted round being resumed must contain at least what it held before the
      // restart: read on until the target or until the WAL has nothing more, whatever the
      // deadline. Otherwise a round is sent once it fills a request per shard and the WAL
      // has no more for now, or when it is deep, or at the deadline.
      const resuming = this.done.length > 0;
      const due =
        pending >= target ||
        (pending > 0 && exhausted && (resuming || pending >= full)) ||
        (pending > 0 && !resuming && performance.now() - firstPendingAt >= q.batchSendDeadlineMs);
      if (!due) {
        // Samples-free records still move the position: save it when nothing is pending.
        if (pending === 0) this.ack(this.watcher.position());
        await this.pause(this.pollMs);
        continue;
      }
      const pos = this.watcher.position();
      if (!(await this.sendRound())) return; // stopped mid-round: not acknowledged
      this.ack(pos);
      this.maybeRescale();
    }
  }

  private pause(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(t);
        this.wakers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.wakers.add(wake);
    });
  }

  private ack(pos: WalPosition): void {
    const a = this.acked;
    if (a !== null && a.segment === pos.segment && a.offset === pos.offset) return;
    this.positionWriter.save(pos);
    this.acked = pos;
  }

  /** Records that shard `s` of the round in flight has its first `n` samples acknowledged. */
  private ackShard(s: number, n: number): void {
    this.done[s] = n;
    if (this.acked === null) this.acked = { segment: 0, offset: 0 };
    this.positionWriter.save({ ...this.acked, shards: this.numShards, done: this.done });
  }

  /** Sends the round over the shards; false when stopped before every batch was acknowledged. */
  private async sendRound(): Promise<boolean> {
    const n = this.numShards;
    if (this.done.length !== n) this.done = new Array<number>(n).fill(0);
    const sends: Promise<boolean>[] = [];
    for (let s = 0; s < n; s++) sends.push(this.sendShard(s, this.shardCols[s], this.encoders[s]));
    const results = await Promise.all(sends);
    if (results.every(Boolean)) {
      for (let s = 0; s < n; s++) this.shardCols[s].length = 0;
      this.pending = 0;
      this.done = [];
      return true;
    }
    return false;
  }

  /** The snappy-compressed WriteRequest of samples [start, end) of `cols`. */
  private requestBody(cols: Columns, start: number, end: number, enc: WriteRequestEncoder): Buffer {
    return enc.encodeSnappy(cols.slots, cols.ts, cols.vs, start, end, this.labelTable);
  }

  private async sendShard(s: number, cols: Columns, enc: WriteRequestEncoder): Promise<boolean> {
    const per = this.cfg.queueConfig.maxSamplesPerSend;
    // Samples acknowledged before a restart are skipped (the round is rebuilt the same).
    let start = Math.min(this.done[s], cols.length);
    if (start >= cols.length) return true;
    let end = Math.min(cols.length, start + per);
    let body = this.requestBody(cols, start, end, enc);
    for (;;) {
      const sent = this.sendBatch(cols, start, end, body);
      // Encode the shard's next request while this one is on the wire.
      const nextEnd = Math.min(cols.length, end + per);
      const next = end < cols.length ? this.requestBody(cols, end, nextEnd, enc) : null;
      if (!(await sent)) return false;
      if (next === null) return true;
      this.ackShard(s, end);
      start = end;
      end = nextEnd;
      body = next;
    }
  }

  /**
   * Sends `body`, the samples [start, end) of `cols`, until acknowledged or dropped; false
   * when stopped.
   */
  private async sendBatch(
    cols: Columns,
    start: number,
    end: number,
    body: Buffer,
  ): Promise<boolean> {
    const n = end - start;
    let maxTs = 0;
    for (let i = start; i < end; i++) if (cols.ts[i] > maxTs) maxTs = cols.ts[i];
    const q = this.cfg.queueConfig;
    for (let attempt = 0; this.running; attempt++) {
      const sentAt = performance.now();
      const res: SendResult = await this.client.send(body);
      if (res.status >= 200 && res.status < 300) {
        // Only acknowledged requests measure the cost of sending (an outage's retries
        // would make every sample look slow and ask for max_shards).
        this.sendSecondsWindow += (performance.now() - sentAt) / 1000;
        this.sentSamplesWindow += n;
        this.samplesTotal += n;
        this.bytesTotal += body.length;
        if (maxTs > this.highestSentTs) this.highestSentTs = maxTs;
        return true;
      }
      const recoverable =
        res.status === 0 || res.status >= 500 || (res.status === 429 && q.retryOnHttp429);
      if (!recoverable) {
        this.samplesFailed += n;
        this.logger(
          `remote_write ${this.label()}: dropped ${n} samples: HTTP ${res.status}: ${res.message.slice(0, 256)}`,
        );
        return true; // do not stall the queue
      }
      this.samplesRetried += n;
      let delay = backoffDelay(attempt, q.minBackoffMs, q.maxBackoffMs);
      if (res.status === 429 && res.retryAfterMs >= 0) delay = res.retryAfterMs;
      await this.pause(delay);
    }
    return false;
  }

  private maybeRescale(): void {
    const now = performance.now();
    const elapsed = (now - this.lastScaleAt) / 1000;
    if (elapsed < 10) return;
    const q = this.cfg.queueConfig;
    const inRate = this.inRead / elapsed;
    const perSample =
      this.sentSamplesWindow > 0 ? this.sendSecondsWindow / this.sentSamplesWindow : 0;
    const bytes = this.watcher.bytesRead - this.bytesReadAtScale;
    const backlog = bytes > 0 ? (this.watcher.pendingBytes() * this.inRead) / bytes : 0;
    const desired = desiredShards({
      inRate,
      sendSecondsPerSample: perSample,
      backlog,
      current: this.numShards,
      min: q.minShards,
      max: q.maxShards,
    });
    if (desired !== this.numShards) {
      this.logger(`remote_write ${this.label()}: shards ${this.numShards} → ${desired}`);
      this.numShards = desired;
    }
    this.inRead = 0;
    this.sentSamplesWindow = 0;
    this.sendSecondsWindow = 0;
    this.bytesReadAtScale = this.watcher.bytesRead;
    this.lastScaleAt = now;
  }
}
