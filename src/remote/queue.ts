/**
 * The queue of one remote_write endpoint (Prometheus `storage/remote.QueueManager`,
 * simplified): a {@link WalWatcher} reads the WAL into rounds; a round is split over
 * shards by series ref as it is read (so each series keeps its order); every shard sends
 * its part in requests of `max_samples_per_send`, one request in flight per shard, its
 * next request encoded meanwhile. Shards do not wait for each other: a shard done with
 * round N goes on to round N+1 while a slower one still sends round N, up to
 * {@link roundsInFlight} rounds read ahead.
 *
 * ```
 *  WAL ──watcher──▶ round N+2 (reading) ──ref % shards──▶ shard 0: N, N+1, N+2… ─┐
 *                   round N+1 (sealed)                    shard 1: N, N+1…      ─┼─▶ rounds done by every
 *                   round N   (sealed)                    shard n-1: N…         ─┘   shard ─▶ save position
 * ```
 *
 * The saved WAL position only moves past a round once every shard has it acknowledged
 * (2xx, or a 4xx that is dropped), so it never passes a sample a slow request still
 * carries. With it are saved the end of each round in flight and what each shard has
 * acknowledged of it: a restart rebuilds those rounds from the same records with the same
 * split and request boundaries, and skips what was acknowledged (see SavedPosition).
 *
 * Why rounds, not Prometheus's free-running queue per shard: Prometheus 2.42 keeps no
 * position (after a restart its WAL watcher sends only samples newer than its start, so
 * a backlog not sent yet is lost); this queue resumes exactly. A round is what makes that cheap to save — one WAL position per
 * round plus one count per shard — where a queue per shard would need a position per
 * shard and sample. A receiver such as Prometheus rejects a whole request with one
 * sample it already has, so a request rebuilt after a restart must hold the same samples
 * as before, never old ones mixed with new: fixed rounds give exactly that.
 *
 * A round is sealed when it holds `max_samples_per_send × shards` samples and the WAL has
 * no more for now, when it is {@link roundDepth} requests per shard deep (a backlog), or
 * when its oldest sample has waited `batch_send_deadline`. While the receiver is down,
 * each shard retries its request and nothing more is read once the rounds in flight are
 * full: the backlog stays in the WAL, not in memory.
 *
 * Shard scaling (every 10 s): with `inRate` samples/s read from the WAL,
 * `sendSecondsPerSample` the mean shard-time spent per sent sample (from a request's first
 * attempt to its acknowledgement, retries included, as Prometheus) and `backlog` the
 * samples waiting in the WAL behind us (the WAL bytes not read yet, at the bytes per
 * sample of the last window; Prometheus uses the lag between the newest appended and the
 * newest sent timestamp, which a reader of the WAL does not know until it reads it), the
 * desired shards are `ceil(sendSecondsPerSample × (inRate + backlog / 20 s))`, clamped to
 * `[min_shards, max_shards]`, and changed only when 30 % away from the current number. A
 * new number applies once the rounds in flight are sent (a series changes shard with it).
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
import {
  WalWatcher,
  comparePositions,
  type SavedPosition,
  type SavedRound,
  type WalPosition,
} from './watcher.js';

/**
 * At most how long an acknowledgement waits to be saved (ms): a kill loses at most this
 * much progress, which a restart sends again.
 */
const PROGRESS_SAVE_MS = 100;

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

/** The saved rounds of `p` when well formed (every `done` one count per shard), else null. */
function savedRounds(p: SavedPosition): { shards: number; rounds: SavedRound[] } | null {
  const n = p.shards;
  if (n === undefined || !Number.isInteger(n) || n < 1 || !Array.isArray(p.rounds)) return null;
  for (const r of p.rounds) {
    if (!Number.isInteger(r.segment) || !Number.isInteger(r.offset)) return null;
    if (!Number.isInteger(r.samples) || !Number.isInteger(r.perRequest) || r.perRequest < 1) {
      return null;
    }
    if (!Array.isArray(r.done) || r.done.length !== n) return null;
  }
  return { shards: n, rounds: p.rounds };
}

/** Reads a saved position; null when none (or unreadable: then everything is resent). */
export function loadPosition(file: string): SavedPosition | null {
  try {
    const p = JSON.parse(readFileSync(file, 'utf8')) as SavedPosition;
    if (!Number.isInteger(p.segment) || !Number.isInteger(p.offset)) return null;
    const r = savedRounds(p);
    if (r === null || r.rounds.length === 0) return { segment: p.segment, offset: p.offset };
    return { segment: p.segment, offset: p.offset, ...r };
  } catch {
    // missing or damaged: start from the beginning of the WAL (duplicates, no gaps)
  }
  return null;
}

/** The JSON a position is saved as (the rounds in flight only when there are some). */
function positionJson(p: SavedPosition): string {
  const o: SavedPosition = { segment: p.segment, offset: p.offset };
  if (p.shards !== undefined && p.rounds !== undefined && p.rounds.length > 0) {
    o.shards = p.shards;
    o.rounds = p.rounds;
  }
  return JSON.stringify(o);
}

/** Saves a position atomically (write, then rename). */
export function savePosition(file: string, p: SavedPosition): void {
  const tmp = file + '.tmp';
  writeFileSync(tmp, positionJson(p) + '\n');
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
    const json = positionJson(p);
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
 * backlog): fewer, larger rounds when shards are few (less bookkeeping per sample). Up
 * to 8, and rounds of at most ~32k samples beyond one request per shard: a round is read
 * from the WAL in one go (the event loop, scraping included, waits meanwhile).
 */
export function roundDepth(samplesPerRequestPerShard: number): number {
  return Math.max(1, Math.min(8, Math.floor(32_000 / samplesPerRequestPerShard)));
}

/**
 * How many rounds may be read ahead of the oldest one not yet sent by every shard: enough
 * that each shard has about `capacity` samples (Prometheus's per-shard queue size) queued
 * behind its request, so a shard is not idle while a slower one finishes; at least 2 (one
 * sent, one read ahead), at most 8.
 */
export function roundsInFlight(capacity: number, samplesPerRequest: number, depth: number): number {
  return Math.max(2, Math.min(8, Math.ceil(capacity / (samplesPerRequest * depth))));
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

/**
 * Series ref → slot in the encoded-labels table, for the refs the head hands out (small
 * integers counting up): pages of 64k entries allocated as refs reach them, so a lookup
 * per sample is two array reads instead of a hash. An entry is the slot + 1; 0 when the
 * ref is unknown, -1 when write_relabel_configs dropped the series.
 */
class SlotTable {
  private readonly pages: (Int32Array | undefined)[] = [];
  /** Refs of 2^32 and above (not handed out by this head; kept correct all the same). */
  private readonly large = new Map<number, number>();

  /** The entry of `ref` (see the class comment). */
  get(ref: number): number {
    if (ref > 0xffffffff) return this.large.get(ref) ?? 0;
    const page = this.pages[ref >>> 16];
    return page === undefined ? 0 : page[ref & 0xffff];
  }

  set(ref: number, entry: number): void {
    if (ref > 0xffffffff) {
      this.large.set(ref, entry);
      return;
    }
    const i = ref >>> 16;
    let page = this.pages[i];
    if (page === undefined) {
      page = new Int32Array(0x10000);
      while (this.pages.length < i) this.pages.push(undefined);
      this.pages[i] = page;
    }
    page[ref & 0xffff] = entry;
  }
}

/**
 * A round: the samples of the WAL records after the previous round's end up to
 * {@link Round.end}, each shard's part in its own columns.
 */
class Round {
  readonly shards: number;
  /** Samples per request (kept from before a restart for a rebuilt round). */
  readonly perRequest: number;
  readonly cols: Columns[];
  /** Per shard: samples acknowledged (2xx or dropped), from the start of its part. */
  readonly done: number[];
  /** Per shard: samples handed to the shard's sender (acknowledged or in flight). */
  readonly taken: number[];
  /** The position after the round's last record; set when sealed. */
  end: WalPosition = { segment: 0, offset: 0 };
  /** Samples in the round. */
  samples = 0;
  /** When its first sample was read (ms, performance.now()). */
  firstAt = 0;
  /** Shards whose part is not all acknowledged yet (counted when sealed). */
  unfinished = 0;
  /**
   * Samples a shard's part may hold: whole requests only, so no part ends in a short
   * request that costs an HTTP round trip for a few samples (Infinity for a round rebuilt
   * after a restart, which must hold exactly the records it held before).
   */
  readonly room: number;
  /** The length of the longest part. */
  longest = 0;

  constructor(shards: number, perRequest: number, cols: Columns[], room: number) {
    this.shards = shards;
    this.perRequest = perRequest;
    this.cols = cols;
    this.room = room;
    this.done = new Array<number>(shards).fill(0);
    this.taken = new Array<number>(shards).fill(0);
  }
}

/** One request of a shard: samples [start, end) of its part of `round`. */
interface ShardRequest {
  round: Round;
  start: number;
  end: number;
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
  /** Slot of each series ref in {@link labelTable}. */
  private readonly slotOfRef = new SlotTable();
  /** Encoded `TimeSeries.labels` of each series, by slot: encoded once, copied per request. */
  private readonly labelTable: Uint8Array[] = [];
  /** The round being read, or null between rounds. */
  private building: Round | null = null;
  /** Sealed rounds not yet acknowledged by every shard, oldest first. */
  private readonly rounds: Round[] = [];
  /** Rounds in flight at the last stop or kill, to rebuild before reading on. */
  private resume: SavedRound[];
  /** Since when the first of {@link resume} is being rebuilt (ms). */
  private resumeSince = 0;
  /** Scratch of {@link fits}: a record's samples per shard. */
  private shardCounts = new Int32Array(0);
  /** Columns of finished rounds, for reuse. */
  private readonly freeCols: Columns[] = [];
  /** Samples read and not yet acknowledged or dropped. */
  private pending = 0;
  private readonly encoders: WriteRequestEncoder[] = [];
  /** Shards of the rounds being sent. */
  private numShards: number;
  /** Shards wanted by the last rescale; applied once no round is in flight. */
  private wantShards: number;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly shardLoops: Promise<void>[] = [];
  /** Per shard: wakes its sender waiting for a round. */
  private readonly shardWakers: ((() => void) | null)[] = [];
  /** Wakes every pause (shards back off concurrently) when stopping. */
  private readonly wakers = new Set<() => void>();
  /** Wakes the reader waiting for a round to finish. */
  private settled: (() => void) | null = null;
  /** Saved position (every round before it is acknowledged). */
  private acked: WalPosition | null;
  /** A progress save due (see {@link progressChanged}), or null. */
  private saveTimer: ReturnType<typeof setTimeout> | null = null;

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
    this.resume = [];
    if (saved?.shards !== undefined && saved.rounds !== undefined) {
      // Rebuild the interrupted rounds with the split they had.
      this.numShards = saved.shards;
      this.resume = saved.rounds.slice();
    }
    this.wantShards = this.numShards;
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
      fits: (b) => this.fits(b),
    });
  }

  /** The position saved after the last round every shard acknowledged, or null. */
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
   * Stops: requests in flight are abandoned (their rounds are rebuilt and sent again after
   * a restart: duplicates, never gaps).
   */
  async stop(): Promise<void> {
    this.running = false;
    for (const w of [...this.wakers]) w();
    for (const w of this.shardWakers) w?.();
    this.settled?.();
    this.client.close(); // ends the requests in flight: their senders see the stop
    await this.loop;
    await Promise.all(this.shardLoops);
    if (this.saveTimer !== null) this.saveProgress(); // acknowledgements not saved yet
    this.positionWriter.close();
    await this.metadataSender?.stopped();
    this.watcher.close();
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
    const entry = this.slotOfRef.get(s.ref);
    if (out === null || out.size === 0) {
      this.slotOfRef.set(s.ref, -1);
    } else {
      const encoded = encodeLabels(out);
      if (entry > 0) {
        this.labelTable[entry - 1] = encoded;
      } else {
        this.labelTable.push(encoded);
        this.slotOfRef.set(s.ref, this.labelTable.length);
      }
    }
  }

  private takeSamples(b: SampleBatch): void {
    const round = this.building as Round; // the reader opens a round before reading
    const slotOfRef = this.slotOfRef;
    const cols = round.cols;
    const n = round.shards;
    const refs = b.refs;
    const ts = b.ts;
    const vs = b.vs;
    let highest = this.highestReadTs;
    let taken = 0;
    let longest = round.longest;
    for (let i = 0; i < b.length; i++) {
      const ref = refs[i];
      const t = ts[i];
      if (t > highest) highest = t;
      const entry = slotOfRef.get(ref);
      if (entry <= 0) {
        this.samplesDropped++;
        continue;
      }
      const c = cols[ref % n];
      c.push(entry - 1, t, vs[i]);
      if (c.length > longest) longest = c.length;
      taken++;
    }
    round.longest = longest;
    this.highestReadTs = highest;
    this.inRead += b.length;
    this.pending += taken;
    round.samples += taken;
  }

  /**
   * Whether a record's samples fit in the round being read: true for an empty round,
   * else when no shard's part would grow past the round's room (unknown refs are counted
   * too: at worst the round is sealed a record early). A record that does not fit is held
   * back by the watcher and starts the next round.
   */
  private fits(b: SampleBatch): boolean {
    const round = this.building;
    if (round === null || round.samples === 0 || round.longest + b.length <= round.room) {
      return true;
    }
    const n = round.shards;
    if (this.shardCounts.length < n) this.shardCounts = new Int32Array(n);
    const counts = this.shardCounts;
    counts.fill(0, 0, n);
    const refs = b.refs;
    for (let i = 0; i < b.length; i++) counts[refs[i] % n]++;
    const cols = round.cols;
    for (let s = 0; s < n; s++) if (cols[s].length + counts[s] > round.room) return false;
    return true;
  }

  /**
   * A new empty round over `shards` shards (columns reused from finished rounds) whose
   * parts hold `room` samples each.
   */
  private openRound(shards: number, perRequest: number, room: number): Round {
    const cols: Columns[] = [];
    for (let s = 0; s < shards; s++) cols.push(this.freeCols.pop() ?? new Columns());
    return new Round(shards, perRequest, cols, room);
  }

  /** Starts a sender per shard not running yet (senders of shards beyond the count idle). */
  private startShards(): void {
    while (this.encoders.length < this.numShards) this.encoders.push(new WriteRequestEncoder());
    while (this.shardLoops.length < this.numShards) {
      const s = this.shardLoops.length;
      this.shardWakers.push(null);
      this.shardLoops.push(
        this.shardLoop(s).catch((err: Error) => {
          this.logger(`remote_write ${this.label()}: shard ${s} stopped: ${err.message}`);
        }),
      );
    }
  }

  /** Reads the WAL into rounds and seals them for the shards (see the module comment). */
  private async run(): Promise<void> {
    const q = this.cfg.queueConfig;
    while (this.running) {
      if (this.building === null) {
        // (Not while rebuilding the rounds of before a restart: they keep their split.)
        if (this.wantShards !== this.numShards && this.resume.length === 0) {
          // A series changes shard with the count: let the rounds in flight finish first.
          if (this.rounds.length > 0) {
            await this.roundSettled();
            continue;
          }
          this.logger(
            `remote_write ${this.label()}: shards ${this.numShards} → ${this.wantShards}`,
          );
          this.numShards = this.wantShards;
        }
        const full = q.maxSamplesPerSend * this.numShards;
        const limit = roundsInFlight(q.capacity, q.maxSamplesPerSend, roundDepth(full));
        if (this.rounds.length >= limit) {
          await this.roundSettled();
          continue;
        }
        this.startShards();
        this.building =
          this.resume.length > 0
            ? this.openRound(this.numShards, this.resume[0].perRequest, Infinity)
            : this.openRound(
                this.numShards,
                q.maxSamplesPerSend,
                q.maxSamplesPerSend * roundDepth(full),
              );
      }
      const round = this.building;
      const full = q.maxSamplesPerSend * round.shards;
      const target = full * roundDepth(full);
      const before = round.samples;
      // A round being rebuilt is read up to exactly where it ended before the restart.
      const plan = this.resume.length > 0 ? this.resume[0] : null;
      const asked = plan !== null ? Number.MAX_SAFE_INTEGER : Math.max(1, target - before);
      const got = this.watcher.read(asked, plan);
      if (this.watcher.err() !== null) {
        this.logger(
          `remote_write ${this.label()}: WAL read stopped: ${this.watcher.err()?.message}`,
        );
        return;
      }
      const now = performance.now();
      if (before === 0 && round.samples > 0) round.firstAt = now;
      if (plan !== null) {
        const at = comparePositions(this.watcher.position(), plan);
        if (at === 0) {
          this.resume.shift();
          this.resumeSince = 0;
          if (round.samples === plan.samples) {
            this.seal(round, plan.done);
          } else {
            // Other samples than before (write_relabel_configs changed): send it whole.
            this.logger(
              `remote_write ${this.label()}: a round in flight before the restart has ${round.samples} samples now, ${plan.samples} then; resending it whole`,
            );
            this.seal(round, null);
          }
          continue;
        }
        if (this.resumeSince === 0) this.resumeSince = now;
        if (at < 0 && now - this.resumeSince < Math.max(q.batchSendDeadlineMs, 5000)) {
          await this.pause(this.pollMs);
          continue;
        }
        // Passed or never reached (the WAL changed under us): send it all again.
        this.logger(
          `remote_write ${this.label()}: cannot rebuild the rounds in flight before the restart; resending them whole`,
        );
        this.resume = [];
        this.resumeSince = 0;
      }
      const exhausted = got < asked;
      const samples = round.samples;
      const due =
        samples >= target ||
        (samples > 0 && this.watcher.heldBack()) ||
        (samples > 0 && exhausted && samples >= full) ||
        (samples > 0 && now - round.firstAt >= q.batchSendDeadlineMs);
      if (due) {
        this.seal(round, null);
        continue;
      }
      // Samples-free records still move the position: save it when nothing is pending.
      if (samples === 0 && this.rounds.length === 0) this.ack(this.watcher.position());
      await this.pause(this.pollMs);
    }
  }

  /**
   * Ends the round being read at the watcher's position and hands it to the shards;
   * `done` is what each shard had acknowledged of it before a restart.
   */
  private seal(round: Round, done: readonly number[] | null): void {
    round.end = this.watcher.position();
    let unfinished = 0;
    for (let s = 0; s < round.shards; s++) {
      const len = round.cols[s].length;
      if (done !== null) {
        const d = Math.min(done[s], len);
        round.done[s] = d;
        round.taken[s] = d;
        this.pending -= d;
      }
      if (round.done[s] < len) unfinished++;
    }
    round.unfinished = unfinished;
    this.building = null;
    this.rounds.push(round);
    if (unfinished === 0) this.finishRounds();
    // Saved before any of its requests is sent: a request delivered but not acknowledged
    // when the process dies is then rebuilt the same after the restart (a duplicate),
    // never merged with samples the receiver has not seen.
    this.saveProgress();
    for (const w of this.shardWakers) w?.();
    this.maybeRescale();
  }

  /** Waits until a round finishes (or the queue stops). */
  private roundSettled(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      this.settled = () => {
        this.settled = null;
        resolve();
      };
    });
  }

  /** Drops the leading rounds every shard has acknowledged and saves the position. */
  private finishRounds(): void {
    let moved = false;
    while (this.rounds.length > 0 && this.rounds[0].unfinished === 0) {
      const r = this.rounds.shift() as Round;
      for (const c of r.cols) {
        c.length = 0;
        this.freeCols.push(c);
      }
      this.acked = r.end;
      moved = true;
    }
    if (moved) this.settled?.();
  }

  /**
   * Notes an acknowledgement: the progress is saved within {@link PROGRESS_SAVE_MS}, once
   * for all the acknowledgements meanwhile. A save per request cost O(shards × rounds) of
   * JSON each, i.e. O(shards²) per round. Saving later only makes a restart resend more
   * (duplicates); the saved state never passes a sample not acknowledged.
   */
  private progressChanged(): void {
    if (this.saveTimer !== null) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      this.saveProgress();
    }, PROGRESS_SAVE_MS);
  }

  /** Saves the acknowledged position with the progress of every round in flight. */
  private saveProgress(): void {
    if (this.saveTimer !== null) {
      clearTimeout(this.saveTimer);
      this.saveTimer = null;
    }
    const a = this.acked ?? { segment: 0, offset: 0 };
    this.positionWriter.save({
      segment: a.segment,
      offset: a.offset,
      shards: this.numShards,
      rounds: this.rounds.map((r) => ({
        segment: r.end.segment,
        offset: r.end.offset,
        samples: r.samples,
        perRequest: r.perRequest,
        done: r.done,
      })),
    });
  }

  /** The next request of shard `s`: the rest of its part of the oldest round that has one. */
  private nextRequest(s: number): ShardRequest | null {
    for (const round of this.rounds) {
      if (s >= round.shards) return null;
      const len = round.cols[s].length;
      const start = round.taken[s];
      if (start < len) {
        const end = Math.min(len, start + round.perRequest);
        round.taken[s] = end;
        return { round, start, end };
      }
    }
    return null;
  }

  /**
   * The snappy-compressed WriteRequest of `r`: encoded now (the columns are read before
   * this returns), compressed in libuv's thread pool so the main thread reads the WAL
   * and drives HTTP meanwhile.
   */
  private requestBody(s: number, r: ShardRequest): Promise<Buffer> {
    const cols = r.round.cols[s];
    return this.encoders[s].encodeSnappyAsync(
      cols.slots,
      cols.ts,
      cols.vs,
      r.start,
      r.end,
      this.labelTable,
    );
  }

  /**
   * Shard `s`'s sender: its requests one at a time, in round order, the next one encoded
   * while the last is on the wire.
   */
  private async shardLoop(s: number): Promise<void> {
    let req: ShardRequest | null = null;
    let body: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
    while (this.running) {
      if (req === null) {
        // Look again before waiting: a round may have been sealed while a request was
        // on the wire (the wake-up went to no one then).
        req = this.nextRequest(s);
        if (req === null) {
          await new Promise<void>((resolve) => {
            this.shardWakers[s] = () => {
              this.shardWakers[s] = null;
              resolve();
            };
          });
          continue;
        }
        body = this.requestBody(s, req);
      }
      const sent = this.sendBatch(req.round.cols[s], req.start, req.end, await body);
      const next = this.nextRequest(s);
      const nextBody = next === null ? null : this.requestBody(s, next);
      if (!(await sent)) {
        nextBody?.catch(() => {}); // stopped: not acknowledged, and its body is not needed
        return;
      }
      const round = req.round;
      round.done[s] = req.end;
      this.pending -= req.end - req.start;
      if (req.end === round.cols[s].length && --round.unfinished === 0) this.finishRounds();
      this.progressChanged();
      req = next;
      if (nextBody !== null) body = nextBody;
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

  /** Saves `pos` when no round is in flight. */
  private ack(pos: WalPosition): void {
    const a = this.acked;
    if (a !== null && a.segment === pos.segment && a.offset === pos.offset) return;
    this.positionWriter.save(pos);
    this.acked = pos;
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
    // The cost of sending is measured from the first attempt, retries and backoff
    // included, as Prometheus measures it: after an outage the first acknowledgement
    // carries the outage's wait, and the queue scales straight to the shards its backlog
    // needs instead of climbing there over several rescales (each one drains the rounds).
    const firstAt = performance.now();
    for (let attempt = 0; this.running; attempt++) {
      const res: SendResult = await this.client.send(body);
      if (res.status >= 200 && res.status < 300) {
        this.sendSecondsWindow += (performance.now() - firstAt) / 1000;
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
    this.wantShards = desiredShards({
      inRate,
      sendSecondsPerSample: perSample,
      backlog,
      current: this.numShards,
      min: q.minShards,
      max: q.maxShards,
    });
    this.inRead = 0;
    this.sentSamplesWindow = 0;
    this.sendSecondsWindow = 0;
    this.bytesReadAtScale = this.watcher.bytesRead;
    this.lastScaleAt = now;
  }
}
